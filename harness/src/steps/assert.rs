//! `assert`: a predicate over one object holds now, or, with `during:`, on every state the
//! object goes through for that long (watched, failing at the first state that breaks it).
//! In `during` checks, CEL sees the object as it was at the start as `initial`:
//!
//! ```yaml
//! - assert: { pod: kuard, expr: "status.containerStatuses[0].restartCount >= 1" }
//! - assert:                                    # no restart while readiness fails
//!     pod: kuard
//!     expr: "status.containerStatuses[0].restartCount == initial.status.containerStatuses[0].restartCount"
//!     during: 30s
//! ```

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use super::wait::{object_api, to_json};
use super::watch::{Mode, watch_object};
use super::{StepCx, StepError};
use crate::suite::check::CheckSpec;

/// A one-shot check needs only a GET; the deadline covers retries of transient API errors.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

pub fn validate(s: &CheckSpec) -> Result<(), String> {
    s.validate()?;
    super::positive(s.timeout, "timeout")?;
    super::positive(s.during, "during")?;
    if !s.has_predicate() && s.absent.is_none() {
        return Err("nothing to assert: give condition, phase, match, expr or absent".into());
    }
    Ok(())
}

pub async fn run(s: &CheckSpec, cx: &mut StepCx<'_>) -> Result<(), StepError> {
    let (api, name, shown) = object_api(s, cx).await?;
    let pred = s
        .compile(cx.vars())
        .map_err(|e| StepError::Invalid(e.to_string()))?;
    match s.during {
        None => {
            let obj = get_with_retries(&api, &name, cx).await?;
            let v = obj.as_ref().map(to_json);
            pred.check(v.as_ref(), None).map_err(StepError::Failed)?;
            cx.note(format!("{shown}: holds"));
        }
        Some(d) => {
            let mut initial = None;
            watch_object(
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
                },
            )
            .await?;
            cx.note(format!("{shown}: held throughout {d}"));
        }
    }
    Ok(())
}

/// GET an object, retrying transport errors (not API answers) until the step's deadline.
pub(crate) async fn get_with_retries(
    api: &kube::Api<kube::api::DynamicObject>,
    name: &str,
    cx: &StepCx<'_>,
) -> Result<Option<kube::api::DynamicObject>, StepError> {
    let get = || async { api.get_opt(name).await };
    let retrying = get
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_secs(2))
                .with_total_delay(Some(cx.remaining()))
                .without_max_times(),
        )
        .when(|e| !matches!(e, kube::Error::Api(_)));
    cx.bounded("get", async { Ok(retrying.await?) }).await
}
