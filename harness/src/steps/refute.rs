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

use super::check::{CheckSpec, Predicate, existing_summary};
use super::{Invalid, LoadCx, Mismatch, StepCx, StepError, StepKind};
use crate::api::object::to_json;
use crate::api::watch::{Mode, watch_object};
use crate::fields::Dur;
use crate::matchers::Miss;

/// The `error` step (named so to stay clear of the error types).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Refute(pub CheckSpec);

impl StepKind for Refute {
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
        let s = &self.0;
        let (api, name, shown) = s.object_api(cx).await?;
        let pred = s.compile(cx.vars())?;
        let has = s.has_predicate();
        match s.during {
            None => {
                let obj = s.get(cx, &api, &name).await?;
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
}

/// The negation: `Ok` when the predicate is false (or, without one, when the object is
/// absent); a predicate that holds, or that cannot be evaluated, is a failure.
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
            Err(Miss::False(_)) => Ok(()),
            Err(Miss::Unknown(m)) => Err(Mismatch::new(
                format!(
                    "{shown}: cannot tell whether the check holds ({}), so it cannot be said not to",
                    m.summary
                ),
                format!("{shown} not to satisfy the check"),
                m.actual,
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::template::Vars;

    fn pred(y: &str) -> Predicate {
        let spec: CheckSpec = serde_saphyr::from_str(y).unwrap();
        spec.compile(&Vars::for_validation()).unwrap()
    }

    #[test]
    fn negation_shows_what_matched() {
        let p = pred("{pod: kuard, phase: Running}");
        let running =
            serde_json::json!({"metadata": {"name": "kuard"}, "status": {"phase": "Running"}});
        let m = negated(&p, true, "pod/kuard", Some(&running)).unwrap_err();
        assert_eq!(m.expected, "pod/kuard not to satisfy the check");
        assert_eq!(m.actual, "it does: kuard exists (phase Running)");
        assert!(negated(&p, true, "pod/kuard", None).is_ok());
        assert!(negated(&p, false, "pod/kuard", Some(&running)).is_err());
    }

    /// Before this rule, an expression reading a missing field counted as "does not hold"
    /// and the negation passed without having looked at anything.
    #[test]
    fn an_expression_that_cannot_be_evaluated_is_not_a_negation() {
        let p = pred("{pod: kuard, expr: 'status.containerStatuses[0].restartCount > 0'}");
        let starting =
            serde_json::json!({"metadata": {"name": "kuard"}, "status": {"phase": "Pending"}});
        let m = negated(&p, true, "pod/kuard", Some(&starting)).unwrap_err();
        assert!(
            m.summary.contains("cannot tell whether the check holds"),
            "{}",
            m.summary
        );
        let restarted = serde_json::json!({"metadata": {"name": "kuard"},
            "status": {"containerStatuses": [{"restartCount": 0}]}});
        assert!(negated(&p, true, "pod/kuard", Some(&restarted)).is_ok());
    }
}
