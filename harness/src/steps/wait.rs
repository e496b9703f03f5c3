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
//! the object must change, not only where it must end.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::check::CheckSpec;
use super::{Invalid, LoadCx, StepCx, StepError, StepKind};
use crate::api::object::to_json;
use crate::api::watch::{Mode, WatchError, watch_object};
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
        super::positive(s.timeout, "timeout")?;
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
        let s = &self.0;
        let (api, name, shown) = s.object_api(cx).await?;
        let pred = s.compile(cx.vars())?;
        let mut initial: Option<Option<serde_json::Value>> = None;
        // The last miss while the object still existed: when it then goes away, the
        // failure says what it was before, not only that it is gone.
        let mut before_gone: Option<super::Mismatch> = None;
        let (last, took) =
            watch_object(api, &name, Mode::Until, cx.deadline, &cx.env.cancel, |o| {
                let v = o.map(to_json);
                let first = initial.get_or_insert_with(|| v.clone());
                // Unknown is "not yet" too: the field may appear (a container starting).
                let r = pred
                    .check(v.as_ref(), first.as_ref())
                    .map_err(|m| m.into_mismatch());
                if let (Err(m), Some(_)) = (&r, &v) {
                    before_gone = Some(m.clone());
                }
                r
            })
            .await
            .map_err(|e| match (e, before_gone.take()) {
                (
                    WatchError::Timeout {
                        after,
                        last: Some(mut m),
                        api_error,
                    },
                    Some(b),
                ) if m.actual == "(absent)" => {
                    m.actual = format!("(absent); before it went: {}: {}", b.summary, b.actual);
                    WatchError::Timeout {
                        after,
                        last: Some(m),
                        api_error,
                    }
                }
                (e, _) => e,
            })?;
        cx.note(format!("{shown}: held after {:.2}s", took.as_secs_f64()));
        let last = last.as_ref().map(to_json);
        s.record(cx, last.as_ref(), initial.flatten().as_ref())
    }
}
