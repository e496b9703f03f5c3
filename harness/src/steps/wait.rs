//! `wait`: until a predicate over one object holds (watched; see [`crate::suite::check`]).
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

use kube::api::{Api, DynamicObject};
use serde_json::Value;

use super::watch::{Mode, watch_object};
use super::{StepCx, StepError};
use crate::suite::check::CheckSpec;

/// Long enough for a pod to start with an image that has to be pulled (book images).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

pub fn validate(s: &CheckSpec) -> Result<(), String> {
    s.validate()?;
    super::positive(s.timeout, "timeout")?;
    if s.during.is_some() {
        return Err(
            "`during` belongs to `assert` and `error`; `wait` waits until the check holds".into(),
        );
    }
    Ok(())
}

pub async fn run(s: &CheckSpec, cx: &mut StepCx<'_>) -> Result<(), StepError> {
    let (api, name, shown) = object_api(s, cx).await?;
    let pred = s
        .compile(cx.vars())
        .map_err(|e| StepError::Invalid(e.to_string()))?;
    let mut initial: Option<Option<serde_json::Value>> = None;
    let (_, took) = watch_object(api, &name, Mode::Until, cx.deadline, &cx.env.cancel, |o| {
        let v = o.map(to_json);
        let first = initial.get_or_insert_with(|| v.clone());
        pred.check(v.as_ref(), first.as_ref())
    })
    .await?;
    cx.note(format!("{shown}: held after {:.2}s", took.as_secs_f64()));
    Ok(())
}

/// The API, rendered name and display name of a check's object.
pub(crate) async fn object_api(
    s: &CheckSpec,
    cx: &StepCx<'_>,
) -> Result<(Api<DynamicObject>, String, String), StepError> {
    let target = s.target().map_err(StepError::Invalid)?;
    let (kind, name) = target.render(cx.vars())?;
    let r = cx.env.resolver.by_name(&kind).await?;
    Ok((
        cx.env.resolver.api(&r, cx.ns()),
        name.clone(),
        format!("{kind}/{name}"),
    ))
}

/// A dynamic object as the JSON that predicates and CEL see (apiVersion, kind, metadata,
/// spec, status, ...).
pub(crate) fn to_json(o: &DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}
