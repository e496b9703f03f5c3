//! `wait`: until a predicate over one object holds (watched; see [`super::check`]).
//!
//! ```yaml
//! - wait: { pod: kuard, condition: Ready }
//! - wait: { pod: kuard, expr: "status.containerStatuses[0].restartCount >= 1", timeout: 90s }
//! - wait: { pod: kuard, absent: true }
//! - wait:                       # the kubelet restarted the container in place
//!     pod: kuard
//!     expr: >-
//!       status.containerStatuses[0].restartCount == initial.status.containerStatuses[0].restartCount + 1
//!       && status.containerStatuses[0].containerID != initial.status.containerStatuses[0].containerID
//!       && metadata.uid == initial.metadata.uid
//! ```
//! CEL sees the object as it was when the wait started as `initial`, so a wait can say how
//! the object must change, not only where it must end. Unknown (a field not there yet) is
//! "not yet", like false: the field may appear (a container starting).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::check::{self, CheckMode, CheckSpec};
use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::fields::Dur;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Wait(pub CheckSpec);

impl StepKind for Wait {
    /// Long enough for a pod to start with an image that has to be pulled (book images).
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    fn timeout_field(&self) -> Option<Dur> {
        self.0.timeout
    }

    fn summary(&self) -> String {
        self.0.summary_with_target()
    }

    fn validate(&mut self, _: &LoadCx<'_>) -> Result<(), Invalid> {
        let s = &self.0;
        s.validate()?;
        if s.during.is_some() {
            return Err(
                "`during` belongs to `assert` and `error`; `wait` waits until the check holds"
                    .into(),
            );
        }
        if !s.has_predicate() && s.absent.is_none() {
            return Err("nothing to wait for: give condition, phase, match, expr or absent".into());
        }
        Ok(())
    }

    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        check::run(&self.0, CheckMode::Wait, cx).await
    }
}
