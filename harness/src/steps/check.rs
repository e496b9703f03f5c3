//! A predicate over one API object, and the one way `wait` (until it holds), `assert` (it
//! holds now, or throughout `during`) and `error` (it does not hold / the object is absent)
//! judge it ([`run`], in a [`CheckMode`] each):
//!
//! ```yaml
//! pod: kuard                  # or object: <kind>/<name>
//! condition: Ready            # status.conditions[type=Ready].status == "True"; or `Ready=False`
//! phase: Running              # status.phase
//! match:                      # partial object (maps as subsets, list items by predicate)
//!   status: {containerStatuses: [{name: kuard, ready: true}]}
//! expr: "status.containerStatuses[0].restartCount >= 1"   # CEL; one or a list
//! absent: true                # the object does not exist (alone)
//! during: 20s                 # assert/error: must hold throughout, watched
//! timeout: 60s
//! ```
//!
//! A check is true, false, or unknown (an expression that cannot be evaluated on this state):
//! `wait` keeps waiting on false and unknown, `assert` fails on both, and `error` passes only
//! on false — never on unknown. Field names are checked against the kind's schema at load.
//! When a check on a pod fails, the pod says why in its own terms ([`pod_story`]): phase,
//! scheduling and readiness reasons, container waiting and termination reasons.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use kube::api::{Api, DynamicObject};

use super::error::{Invalid, StepError};
use super::kind::StepCx;
use crate::api::object::{get_with_retries, to_json};
use crate::api::watch::{Mode, WatchError, watch_object};
use crate::fields::Dur;
use crate::fields::objref::{ObjectRef, target};
use crate::fields::one_or_many::OneOrMany;
use crate::fields::template::{Template, TemplateError, Vars, scalar_string, validate_value};
use crate::fields::versioned::Versioned;
use crate::matchers::cel::{Bindings, CelError, CelTemplate, Expr};
use crate::matchers::partial::partial_match;
use crate::matchers::pod::{existing_summary, pod_blocked, pod_story};
use crate::matchers::{Mismatch, Miss, schema};

/// `Ready` or `Ready=False` (any condition type, any status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionSpec {
    pub type_: String,
    pub status: String,
}

impl std::str::FromStr for ConditionSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (t, st) = match s.split_once('=') {
            Some((t, st)) => (t.trim(), st.trim()),
            None => (s.trim(), "True"),
        };
        let status = match st.to_ascii_lowercase().as_str() {
            "true" => "True",
            "false" => "False",
            "unknown" => "Unknown",
            _ => {
                return Err(format!(
                    "invalid condition `{s}`: the status must be True, False or Unknown"
                ));
            }
        };
        if t.is_empty() || t.contains(char::is_whitespace) {
            return Err(format!(
                "invalid condition `{s}`: expected `<Type>` or `<Type>=<True|False|Unknown>`"
            ));
        }
        Ok(ConditionSpec {
            type_: t.to_string(),
            status: status.to_string(),
        })
    }
}

impl fmt::Display for ConditionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.status == "True" {
            f.write_str(&self.type_)
        } else {
            write!(f, "{}={}", self.type_, self.status)
        }
    }
}

impl<'de> Deserialize<'de> for ConditionSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar_string(d)?.parse().map_err(de::Error::custom)
    }
}

impl Serialize for ConditionSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A partial object, checked for placeholder syntax at load time.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PartialSpec(pub Value);

impl<'de> Deserialize<'de> for PartialSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if !v.is_object() {
            return Err(de::Error::custom(
                "`match` must be a map (a partial object)",
            ));
        }
        validate_value(&v).map_err(de::Error::custom)?;
        Ok(PartialSpec(v))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Template>,
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub matches: Option<PartialSpec>,
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    /// Each expression may be given `by_version` (a field a release added, read only where
    /// it exists).
    pub expr: OneOrMany<Versioned<CelTemplate>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    /// Figures to keep when the check holds: name → a CEL expression (a duration or a number)
    /// over the object that made it hold, with `initial` bound.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub record: std::collections::BTreeMap<String, CelTemplate>,
}

impl CheckSpec {
    pub fn target(&self) -> Result<ObjectRef, String> {
        target(&self.pod, &self.object)
    }

    /// Whether anything is said about the object besides its existence.
    pub fn has_predicate(&self) -> bool {
        self.condition.is_some()
            || self.phase.is_some()
            || self.matches.is_some()
            || !self.expr.is_empty()
    }

    /// Cross-field rules the schema cannot say, and the field names of `match` and `expr`
    /// against the kind's API schema.
    pub fn validate(&self) -> Result<(), Invalid> {
        let target = self.target()?;
        if self.absent == Some(true) && self.has_predicate() {
            return Err("`absent: true` cannot be combined with condition/phase/match/expr".into());
        }
        let Some(kind) = schema::for_kind(&target.kind) else {
            return Ok(());
        };
        let mut problems = Vec::new();
        if let Some(m) = &self.matches {
            problems.extend(
                schema::check_partial(kind, &m.0)
                    .into_iter()
                    .map(|p| format!("match: {p}")),
            );
        }
        let forms = self
            .expr
            .iter()
            .flat_map(|e| e.forms().into_iter().map(|(_, t)| t));
        for e in forms.chain(self.record.values()) {
            let compiled = e
                .compile(&Vars::for_validation())
                .map_err(|err| Invalid::because("expr", err))?;
            problems.extend(
                schema::check_expr(kind, compiled.program())
                    .into_iter()
                    .map(|p| format!("expr `{}`: {p}", e.raw())),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Invalid::new(format!(
                "{}; hint: a field the kind does not have is never there, so the check could not fail for the right reason",
                problems.join("; ")
            )))
        }
    }

    pub fn compile(&self, vars: &Vars) -> Result<Predicate, CompileError> {
        let is_pod = self
            .target()
            .ok()
            .and_then(|t| schema::for_kind(&t.kind))
            .is_some_and(|s| s.kind == "Pod");
        Ok(Predicate {
            is_pod,
            absent: self.absent == Some(true),
            condition: self.condition.clone(),
            phase: self.phase.as_ref().map(|p| p.render(vars)).transpose()?,
            matches: self
                .matches
                .as_ref()
                .map(|m| vars.render_value(&m.0))
                .transpose()?,
            exprs: self
                .expr
                .iter()
                .map(|e| {
                    let (form, _) = e
                        .pick(vars.kubernetes.as_ref())
                        .map_err(TemplateError::NoForm)?;
                    Ok::<_, CompileError>(form.compile(vars)?)
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// `pod/kuard: condition Ready, ...`: the object and the check.
    pub fn summary_with_target(&self) -> String {
        let t = self.target().map(|t| t.to_string()).unwrap_or_default();
        let rest = self.summary();
        if rest.is_empty() {
            t
        } else {
            format!("{t}: {rest}")
        }
    }

    /// The API, rendered name and display name of the check's object.
    pub async fn object_api(
        &self,
        cx: &StepCx<'_>,
    ) -> Result<(Api<DynamicObject>, String, String), StepError> {
        let target = self.target().map_err(StepError::Invalid)?;
        let (kind, name) = target.render(cx.vars())?;
        let r = cx.env.resolver.by_name(&kind).await?;
        Ok((
            cx.env.resolver.api(&r, cx.ns()),
            name.clone(),
            format!("{kind}/{name}"),
        ))
    }

    /// The object now (`None`: absent), within the step's deadline.
    pub async fn get(
        &self,
        cx: &StepCx<'_>,
        api: &Api<DynamicObject>,
        name: &str,
    ) -> Result<Option<DynamicObject>, StepError> {
        cx.bounded("get", async {
            get_with_retries(api, name, cx.deadline)
                .await
                .map_err(|e| StepError::api(format!("reading {name}"), e))
        })
        .await
    }

    /// Evaluate `record:` on the object that made the check hold, and keep the figures.
    pub fn record(
        &self,
        cx: &mut StepCx<'_>,
        obj: Option<&Value>,
        initial: Option<&Value>,
    ) -> Result<(), StepError> {
        for (name, e) in &self.record {
            let expr = e
                .compile(cx.vars())
                .map_err(|e| StepError::Invalid(e.to_string()))?;
            let v = expr
                .figure(Bindings {
                    object: obj,
                    initial,
                })
                .map_err(|why| {
                    StepError::Failed(Mismatch::new(
                        format!("the figure `{name}` cannot be taken"),
                        format!("`{}` to give a duration or a number", e.raw()),
                        why,
                    ))
                })?;
            cx.record(name, v);
        }
        Ok(())
    }

    /// A short description for step logs: `condition Ready, expr ...`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.absent == Some(true) {
            parts.push("absent".to_string());
        }
        if let Some(c) = &self.condition {
            parts.push(format!("condition {c}"));
        }
        if let Some(p) = &self.phase {
            parts.push(format!("phase {p}"));
        }
        if self.matches.is_some() {
            parts.push("match".to_string());
        }
        for e in &self.expr {
            // The newest form: what the step says of itself before it meets a cluster.
            if let Some((_, form)) = e.forms().last() {
                parts.push(format!("`{}`", form.raw()));
            }
        }
        if let Some(d) = self.during {
            parts.push(format!("during {d}"));
        }
        parts.join(", ")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Cel(#[from] CelError),
}

impl From<CompileError> for StepError {
    fn from(e: CompileError) -> Self {
        match e {
            CompileError::Template(t) => StepError::Template(t),
            CompileError::Cel(c) => StepError::Invalid(c.to_string()),
        }
    }
}

/// A compiled check, ready to apply to observed states of the object.
#[derive(Clone, Debug)]
pub struct Predicate {
    /// The object is a pod: a failure tells the pod's own story.
    pub is_pod: bool,
    pub absent: bool,
    pub condition: Option<ConditionSpec>,
    pub phase: Option<String>,
    pub matches: Option<Value>,
    pub exprs: Vec<Expr>,
}

impl Predicate {
    /// Whether the (possibly absent) object satisfies everything. `initial` is the object
    /// when the step started, bound as `initial` in expressions. A failure on a pod carries
    /// the pod's own account of its state ([`pod_story`]) in its `actual`.
    pub fn check(&self, obj: Option<&Value>, initial: Option<&Value>) -> Result<(), Miss> {
        let story = obj.filter(|_| self.is_pod).map(pod_story);
        let blocked = obj.filter(|_| self.is_pod).and_then(pod_blocked);
        self.check_bare(obj, initial).map_err(|miss| match story {
            Some(story) => {
                let with = |mut m: Mismatch| {
                    m.actual = format!("{}; the pod: {story}", m.actual);
                    // What keeps the pod from getting there, in its own words, goes in the
                    // first line: the cause, not only the symptom.
                    if let Some(b) = &blocked {
                        m.summary = format!("{}: {b}", m.summary);
                    }
                    m
                };
                match miss {
                    Miss::False(m) => Miss::False(with(m)),
                    Miss::Unknown(m) => Miss::Unknown(with(m)),
                }
            }
            None => miss,
        })
    }

    fn check_bare(&self, obj: Option<&Value>, initial: Option<&Value>) -> Result<(), Miss> {
        let Some(obj) = obj else {
            return if self.absent {
                Ok(())
            } else {
                Err(Miss::False(Mismatch::new(
                    "the object does not exist",
                    "the object to exist",
                    "(absent)",
                )))
            };
        };
        if self.absent {
            return Err(Miss::False(Mismatch::new(
                "the object still exists",
                "the object to be absent",
                existing_summary(obj),
            )));
        }
        if let Some(c) = &self.condition {
            let actual = obj
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find(|x| x.get("type").and_then(Value::as_str) == Some(&c.type_))
                });
            let status = actual.and_then(|x| x.get("status")).and_then(Value::as_str);
            if status != Some(c.status.as_str()) {
                let seen = match actual {
                    None => "no such condition".to_string(),
                    Some(x) => {
                        let mut s = format!("{}={}", c.type_, status.unwrap_or("?"));
                        for k in ["reason", "message"] {
                            if let Some(v) = x.get(k).and_then(Value::as_str) {
                                s.push_str(&format!(", {k}: {v:?}"));
                            }
                        }
                        s
                    }
                };
                return Err(Miss::False(Mismatch::new(
                    format!("condition {} does not hold", c),
                    format!("{}={}", c.type_, c.status),
                    seen,
                )));
            }
        }
        if let Some(p) = &self.phase {
            let actual = obj.pointer("/status/phase").and_then(Value::as_str);
            if actual != Some(p.as_str()) {
                return Err(Miss::False(Mismatch::new(
                    "the phase differs",
                    format!("phase {p}"),
                    format!("phase {}", actual.unwrap_or("(none)")),
                )));
            }
        }
        if let Some(m) = &self.matches {
            partial_match(m, obj)?;
        }
        for e in &self.exprs {
            e.check(Bindings {
                object: Some(obj),
                initial,
            })?;
        }
        Ok(())
    }
}

/// How a check step judges its predicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckMode {
    /// `wait`: until it holds; false and unknown are both "not yet".
    Wait,
    /// `assert`: it holds now, or on every state for `during`; false and unknown both fail.
    Assert,
    /// `error`: it is false now, or on every state for `during` (without a predicate: the
    /// object is absent); unknown fails, since it proves nothing.
    Refute,
}

/// Judge `spec` as `mode` says: a GET for a check of now, a watch for a wait or a `during:`
/// window. In a watch, CEL sees the object as it was first seen as `initial`.
pub async fn run(spec: &CheckSpec, mode: CheckMode, cx: &mut StepCx<'_>) -> Result<(), StepError> {
    let (api, name, shown) = spec.object_api(cx).await?;
    let pred = spec.compile(cx.vars())?;
    let has_predicate = spec.has_predicate();
    let judge = |v: Option<&Value>, initial: Option<&Value>| match mode {
        CheckMode::Refute => negated(&pred, has_predicate, &shown, v),
        CheckMode::Wait | CheckMode::Assert => pred.check(v, initial).map_err(Miss::into_mismatch),
    };
    let watched = match (mode, spec.during) {
        (CheckMode::Wait, _) => Some(Mode::Until),
        (_, Some(d)) => Some(Mode::Hold(d.0)),
        (_, None) => None,
    };
    let (last, initial) = match watched {
        None => {
            let obj = spec.get(cx, &api, &name).await?;
            let v = obj.as_ref().map(to_json);
            judge(v.as_ref(), None).map_err(StepError::Failed)?;
            (v, None)
        }
        Some(watch) => {
            let mut initial: Option<Option<Value>> = None;
            // The last miss while the object still existed: when it then goes away, a
            // timeout says what it was before, not only that it is gone.
            let mut before_gone: Option<Mismatch> = None;
            let (last, took) = watch_object(api, &name, watch, cx.deadline, &cx.env.cancel, |o| {
                let v = o.map(to_json);
                let first = initial.get_or_insert_with(|| v.clone());
                let r = judge(v.as_ref(), first.as_ref());
                if let (Err(m), Some(_)) = (&r, &v) {
                    before_gone = Some(m.clone());
                }
                r
            })
            .await
            .map_err(|e| match (e, before_gone.take()) {
                (WatchError::Timeout(mut t), Some(b))
                    if t.last.as_ref().is_some_and(|m| m.actual == "(absent)") =>
                {
                    if let Some(m) = &mut t.last {
                        m.actual = format!("(absent); before it went: {}: {}", b.summary, b.actual);
                    }
                    WatchError::Timeout(t)
                }
                (e, _) => e,
            })?;
            match watch {
                Mode::Until => cx.note(format!("{shown}: held after {:.2}s", took.as_secs_f64())),
                Mode::Hold(d) => cx.note(format!("{shown}: held throughout {}", Dur(d))),
            }
            (last.as_ref().map(to_json), initial.flatten())
        }
    };
    match mode {
        CheckMode::Refute => {
            cx.note(format!(
                "{shown}: as required, {}",
                if has_predicate {
                    "does not match"
                } else {
                    "absent"
                }
            ));
            Ok(())
        }
        CheckMode::Wait | CheckMode::Assert => {
            if watched.is_none() {
                cx.note(format!("{shown}: holds"));
            }
            spec.record(cx, last.as_ref(), initial.as_ref())
        }
    }
}

/// The negation: `Ok` when the predicate is false (or, without one, when the object is
/// absent); a predicate that holds, or that cannot be evaluated, is a failure.
fn negated(
    pred: &Predicate,
    has_predicate: bool,
    shown: &str,
    obj: Option<&Value>,
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
    use serde_json::json;

    fn spec(y: &str) -> CheckSpec {
        serde_saphyr::from_str(y).unwrap()
    }

    fn pod() -> Value {
        json!({"metadata": {"name": "kuard"},
               "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}]}})
    }

    #[test]
    fn conditions_parse_with_and_without_status() {
        assert_eq!("Ready".parse::<ConditionSpec>().unwrap().status, "True");
        assert_eq!(
            "Ready=false".parse::<ConditionSpec>().unwrap().status,
            "False"
        );
        assert!("Ready=maybe".parse::<ConditionSpec>().is_err());
    }

    #[test]
    fn condition_mismatch_shows_reason() {
        let p = spec("{pod: kuard, condition: Ready}")
            .compile(&Vars::for_validation())
            .unwrap();
        let e = p.check(Some(&pod()), None).unwrap_err().into_mismatch();
        assert_eq!(e.expected, "Ready=True");
        assert_eq!(
            e.actual,
            "Ready=False, reason: \"ContainersNotReady\"; the pod: phase Running, Ready=False (ContainersNotReady)"
        );
        let p = spec("{pod: kuard, condition: Ready=False, phase: Running}")
            .compile(&Vars::for_validation())
            .unwrap();
        p.check(Some(&pod()), None).unwrap();
    }

    #[test]
    fn absence() {
        let p = spec("{pod: kuard, absent: true}")
            .compile(&Vars::for_validation())
            .unwrap();
        p.check(None, None).unwrap();
        assert!(
            p.check(Some(&pod()), None)
                .unwrap_err()
                .mismatch()
                .actual
                .starts_with("kuard exists (phase Running)")
        );
        let p = spec("{pod: kuard}")
            .compile(&Vars::for_validation())
            .unwrap();
        assert_eq!(
            p.check(None, None).unwrap_err().mismatch().summary,
            "the object does not exist"
        );
    }

    /// A check on a pod that is held back says why in its first line, in the pod's words.
    #[test]
    fn an_unschedulable_pod_says_why() {
        let pending = json!({"kind": "Pod", "metadata": {"name": "kuard"}, "spec": {"containers": []},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
              "reason": "Unschedulable", "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}]}});
        let p = spec("{pod: kuard, condition: Ready}")
            .compile(&Vars::for_validation())
            .unwrap();
        let m = p.check(Some(&pending), None).unwrap_err().into_mismatch();
        assert_eq!(
            m.actual,
            "no such condition; the pod: phase Pending, PodScheduled=False (Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.)"
        );
        assert_eq!(
            m.summary,
            "condition Ready does not hold: PodScheduled=False (Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.)"
        );
    }

    #[test]
    fn cross_field_rules() {
        assert!(
            spec("{pod: a, object: pod/b}")
                .validate()
                .unwrap_err()
                .message
                .contains("not both")
        );
        assert!(
            spec("{condition: Ready}")
                .validate()
                .unwrap_err()
                .message
                .contains("missing the object")
        );
        assert!(
            spec("{pod: a, absent: true, phase: Running}")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn mistyped_fields_are_load_errors() {
        let e = spec("{pod: kuard, expr: 'status.containerStatus[0].restartCount > 0'}")
            .validate()
            .unwrap_err()
            .message;
        assert!(
            e.starts_with("expr `status.containerStatus[0].restartCount > 0`: `status.containerStatus`: a Pod has no field `containerStatus` (did you mean `containerStatuses`?)"),
            "{e}"
        );
        let e = spec("{object: svc/kuard, match: {spec: {selectr: {app: kuard}}}}")
            .validate()
            .unwrap_err()
            .message;
        assert!(
            e.contains("a Service has no field `selectr` (did you mean `selector`?)"),
            "{e}"
        );
        spec("{object: widget.example.com/w, expr: 'spec.anything'}")
            .validate()
            .unwrap();
    }

    fn pred(y: &str) -> Predicate {
        spec(y).compile(&Vars::for_validation()).unwrap()
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
    /// An expression given by version is the form of the cluster's version, and it fails
    /// there when its object says otherwise: a 1.23 pod with a generation fails `<1.33`'s
    /// form, a 1.37 pod without one fails (cannot be evaluated) `>=1.33`'s.
    #[test]
    fn an_expression_by_version_is_checked_in_its_versions_form() {
        let s = spec(
            "{pod: kuard, expr: [{by_version: {\"<1.33\": \"!has(metadata.generation)\", \">=1.33\": \"metadata.generation == 1\"}}]}",
        );
        let at = |minor: u64| {
            let mut v = Vars::for_validation();
            v.kubernetes = Some(semver::Version::new(1, minor, 0));
            s.compile(&v).unwrap()
        };
        let with = json!({"metadata": {"name": "kuard", "generation": 1}});
        let without = json!({"metadata": {"name": "kuard"}});
        assert!(at(23).check(Some(&without), None).is_ok());
        assert!(at(23).check(Some(&with), None).is_err());
        assert!(at(37).check(Some(&with), None).is_ok());
        assert!(at(37).check(Some(&without), None).is_err());
    }

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
