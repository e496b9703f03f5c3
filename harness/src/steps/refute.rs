//! `error`: the opposite of `assert` (kuttl's name for it): the object must be absent, or,
//! with a predicate, must not satisfy it; with `during:` throughout that time (watched).
//!
//! ```yaml
//! - error: { pod: bad }                               # nothing was created
//! - error: { pod: kuard, condition: Ready, during: 20s }   # never Ready while failing
//! ```
//! "Does not satisfy" means the predicate was evaluated and is false. An expression that
//! cannot be evaluated on the object (a field it reads is not there) proves nothing, so it
//! fails the step instead of passing it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::check::{self, CheckMode, CheckSpec};
use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::fields::Dur;

/// The `error` step (named so to stay clear of the error types).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Refute(pub CheckSpec);

impl StepKind for Refute {
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
        if s.absent.is_some() {
            return Err(
                "`error` already means absent when it has no predicate; drop `absent`".into(),
            );
        }
        if !s.record.is_empty() {
            return Err(
                "`record` takes figures from an object that holds a check; `error` has none".into(),
            );
        }
        Ok(())
    }

    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        check::run(&self.0, CheckMode::Refute, cx).await
    }
}
