//! `error`: the opposite of `assert` (kuttl's name for it): the object must be absent, or,
//! with a predicate, must not satisfy it; with `during:` throughout that time (watched).
//!
//! ```yaml
//! - error: { pod: bad }                               # nothing was created
//! - error: { pod: kuard, condition: Ready, during: 20s }   # never Ready while failing
//! ```

use std::time::Duration;

use super::assert::get_with_retries;
use super::wait::{object_api, to_json};
use super::watch::{Mode, watch_object};
use super::{Mismatch, StepCx, StepError};
use crate::suite::check::{CheckSpec, Predicate, existing_summary};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

pub fn validate(s: &CheckSpec) -> Result<(), String> {
    s.validate()?;
    super::positive(s.timeout, "timeout")?;
    super::positive(s.during, "during")?;
    if s.absent.is_some() {
        return Err("`error` already means absent when it has no predicate; drop `absent`".into());
    }
    Ok(())
}

/// The negation: `Ok` when the predicate does NOT hold (or, without one, when the object
/// is absent).
fn negated(
    pred: &Predicate,
    has_predicate: bool,
    shown: &str,
    obj: Option<&serde_json::Value>,
) -> Result<(), Mismatch> {
    match obj {
        None => Ok(()),
        Some(o) if !has_predicate => Err(Mismatch::new(
            format!("{shown} exists"),
            format!("{shown} to be absent"),
            existing_summary(o),
        )),
        Some(o) => match pred.check(Some(o), None) {
            Ok(()) => Err(Mismatch::new(
                format!("{shown} matches what must not hold"),
                format!("{shown} not to satisfy the check"),
                format!("it does: {}", existing_summary(o)),
            )),
            Err(_) => Ok(()),
        },
    }
}

pub async fn run(s: &CheckSpec, cx: &mut StepCx<'_>) -> Result<(), StepError> {
    let (api, name, shown) = object_api(s, cx).await?;
    let pred = s
        .compile(cx.vars())
        .map_err(|e| StepError::Invalid(e.to_string()))?;
    let has = s.has_predicate();
    match s.during {
        None => {
            let obj = get_with_retries(&api, &name, cx).await?;
            let v = obj.as_ref().map(to_json);
            negated(&pred, has, &shown, v.as_ref()).map_err(StepError::Failed)?;
        }
        Some(d) => {
            watch_object(
                api,
                &name,
                Mode::Hold(d.0),
                cx.deadline,
                &cx.env.cancel,
                |o| {
                    let v = o.map(to_json);
                    negated(&pred, has, &shown, v.as_ref())
                },
            )
            .await?;
        }
    }
    cx.note(format!(
        "{shown}: as required, {}",
        if has { "does not match" } else { "absent" }
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::template::Vars;

    #[test]
    fn negation_shows_what_matched() {
        let spec: CheckSpec = serde_saphyr::from_str("{pod: kuard, phase: Running}").unwrap();
        let p = spec.compile(&Vars::for_validation()).unwrap();
        let running =
            serde_json::json!({"metadata": {"name": "kuard"}, "status": {"phase": "Running"}});
        let m = negated(&p, true, "pod/kuard", Some(&running)).unwrap_err();
        assert_eq!(m.expected, "pod/kuard not to satisfy the check");
        assert_eq!(m.actual, "it does: kuard exists (phase Running)");
        assert!(negated(&p, true, "pod/kuard", None).is_ok());
        assert!(negated(&p, false, "pod/kuard", Some(&running)).is_err());
    }
}
