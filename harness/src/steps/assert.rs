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

use super::check::CheckSpec;
use super::{Invalid, LoadCx, StepCx, StepError, StepKind};
use crate::api::object::to_json;
use crate::api::watch::{Mode, watch_object};
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

    fn window(&self) -> Duration {
        self.0.during.map_or(Duration::ZERO, |d| d.0)
    }

    fn summary(&self) -> String {
        self.0.summary_with_target()
    }

    fn validate(&mut self, _: &LoadCx<'_>) -> Result<(), Invalid> {
        let s = &self.0;
        s.validate()?;
        super::positive(s.timeout, "timeout")?;
        super::positive(s.during, "during")?;
        if !s.has_predicate() && s.absent.is_none() {
            return Err("nothing to assert: give condition, phase, match, expr or absent".into());
        }
        Ok(())
    }

    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let s = &self.0;
        let (api, name, shown) = s.object_api(cx).await?;
        let pred = s.compile(cx.vars())?;
        match s.during {
            None => {
                let obj = s.get(cx, &api, &name).await?;
                let v = obj.as_ref().map(to_json);
                pred.check(v.as_ref(), None)
                    .map_err(|m| StepError::Failed(m.into_mismatch()))?;
                cx.note(format!("{shown}: holds"));
                s.record(cx, v.as_ref(), None)?;
            }
            Some(d) => {
                let mut initial = None;
                let (last, _) = watch_object(
                    api,
                    &name,
                    Mode::Hold(d.0),
                    cx.deadline,
                    &cx.env.cancel,
                    |o| {
                        let v = o.map(to_json);
                        if initial.is_none() {
                            initial = Some(v.clone());
                        }
                        pred.check(v.as_ref(), initial.as_ref().and_then(|i| i.as_ref()))
                            .map_err(|m| m.into_mismatch())
                    },
                )
                .await?;
                cx.note(format!("{shown}: held throughout {d}"));
                let last = last.as_ref().map(to_json);
                s.record(cx, last.as_ref(), initial.flatten().as_ref())?;
            }
        }
        Ok(())
    }
}
