//! `sleep`: let time pass, only where time itself is what is tested ("nothing happens for
//! 20s"), and so it must say why. Prefer `assert`/`error`/`endpoints` with `during:`, which
//! watch the object all that time and fail at the first state that breaks the rule.
//!
//! ```yaml
//! - sleep: { for: 12s, why: "initialDelaySeconds is 10: no probe may run before" }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::fields::Dur;
use crate::matchers::Mismatch;

/// A sleep's deadline is its duration plus this.
pub const SLACK: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sleep {
    #[serde(rename = "for")]
    pub duration: Dur,
    pub why: String,
}

impl StepKind for Sleep {
    const DEFAULT_TIMEOUT: Duration = SLACK;

    fn timeout_field(&self) -> Option<Dur> {
        None
    }

    fn window(&self) -> Duration {
        self.duration.0
    }

    fn summary(&self) -> String {
        format!("{} ({})", self.duration, self.why)
    }

    fn validate(&mut self, _: &LoadCx<'_>) -> Result<(), Invalid> {
        if self.why.trim().is_empty() {
            return Err("`why` is empty: say what the time passing tests".into());
        }
        Ok(())
    }
    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        // The case's deadline may leave less than the sleep: say so now, not after waiting.
        let left = cx.remaining();
        if left < self.duration.0 {
            return Err(StepError::Failed(Mismatch::new(
                "the sleep is longer than the time the case has left",
                format!("{} to fit before the deadline", self.duration),
                format!("{:.1}s left", left.as_secs_f64()),
            )));
        }
        tokio::select! {
            _ = cx.env.cancel.cancelled() => Err(StepError::Cancelled),
            _ = tokio::time::sleep(self.duration.0) => {
                cx.note(format!("slept {}", self.duration));
                Ok(())
            }
        }
    }
}
