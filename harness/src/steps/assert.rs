//! `assert`: a predicate over one object holds now, or, with `during:`, on every state the
//! object goes through for that long (watched, failing at the first state that breaks it,
//! and erring when the watch could not see the whole window). In `during` checks, CEL sees
//! the object as it was at the start as `initial`:
//!
//! ```yaml
//! - assert: { pod: kuard, expr: "status.containerStatuses[0].restartCount >= 1" }
//! - assert:                                    # no restart while readiness fails
//!     pod: kuard
//!     expr: "status.containerStatuses[0].restartCount == initial.status.containerStatuses[0].restartCount"
//!     during: 30s
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::check::{self, CheckMode, CheckSpec};
use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::fields::Dur;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Assert(pub CheckSpec);

impl StepKind for Assert {
    /// A one-shot check needs only a GET; the deadline covers retries of transient API errors.
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

    fn timeout_field(&self) -> Option<Dur> {
        self.0.timeout
    }

    fn during_field(&self) -> Option<Dur> {
        self.0.during
    }

    fn summary(&self) -> String {
        self.0.summary_with_target()
    }

    fn validate(&mut self, _: &LoadCx<'_>) -> Result<(), Invalid> {
        let s = &self.0;
        s.validate()?;
        if !s.has_predicate() && s.absent.is_none() {
            return Err("nothing to assert: give condition, phase, match, expr or absent".into());
        }
        Ok(())
    }

    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        check::run(&self.0, CheckMode::Assert, cx).await
    }
}
