//! A predicate over one API object, shared by `wait` (until it holds), `assert` (it holds
//! now, or throughout `during`) and `error` (it does not hold / the object is absent):
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

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cel::{Bindings, CelError, CelTemplate, Expr};
use super::duration::Dur;
use super::mismatch::Mismatch;
use super::objref::{ObjectRef, target};
use super::one_or_many::OneOrMany;
use super::partial::partial_match;
use super::template::{Template, TemplateError, Vars, scalar_string, validate_value};

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
    pub expr: OneOrMany<CelTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
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

    /// Cross-field rules the schema cannot say.
    pub fn validate(&self) -> Result<(), String> {
        self.target()?;
        if self.absent == Some(true) && self.has_predicate() {
            return Err("`absent: true` cannot be combined with condition/phase/match/expr".into());
        }
        Ok(())
    }

    pub fn compile(&self, vars: &Vars) -> Result<Predicate, CompileError> {
        Ok(Predicate {
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
                .map(|e| e.compile(vars))
                .collect::<Result<_, _>>()?,
        })
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
            parts.push(format!("`{}`", e.raw()));
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

/// A compiled check, ready to apply to observed states of the object.
#[derive(Clone, Debug)]
pub struct Predicate {
    pub absent: bool,
    pub condition: Option<ConditionSpec>,
    pub phase: Option<String>,
    pub matches: Option<Value>,
    pub exprs: Vec<Expr>,
}

impl Predicate {
    /// Whether the (possibly absent) object satisfies everything. `initial` is the object
    /// when the step started, bound as `initial` in expressions.
    pub fn check(&self, obj: Option<&Value>, initial: Option<&Value>) -> Result<(), Mismatch> {
        let Some(obj) = obj else {
            return if self.absent {
                Ok(())
            } else {
                Err(Mismatch::new(
                    "the object does not exist",
                    "the object to exist",
                    "(absent)",
                ))
            };
        };
        if self.absent {
            return Err(Mismatch::new(
                "the object still exists",
                "the object to be absent",
                existing_summary(obj),
            ));
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
                return Err(Mismatch::new(
                    format!("condition {} does not hold", c),
                    format!("{}={}", c.type_, c.status),
                    seen,
                ));
            }
        }
        if let Some(p) = &self.phase {
            let actual = obj.pointer("/status/phase").and_then(Value::as_str);
            if actual != Some(p.as_str()) {
                return Err(Mismatch::new(
                    "the phase differs",
                    format!("phase {p}"),
                    format!("phase {}", actual.unwrap_or("(none)")),
                ));
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

/// The object in a few words, for "it still exists" messages.
pub fn existing_summary(obj: &Value) -> String {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let mut s = format!("{name} exists");
    if let Some(p) = obj.pointer("/status/phase").and_then(Value::as_str) {
        s.push_str(&format!(" (phase {p})"));
    }
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        s.push_str(" (terminating)");
    }
    s
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
        let e = p.check(Some(&pod()), None).unwrap_err();
        assert_eq!(e.expected, "Ready=True");
        assert_eq!(e.actual, "Ready=False, reason: \"ContainersNotReady\"");
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
        assert_eq!(
            p.check(Some(&pod()), None).unwrap_err().actual,
            "kuard exists (phase Running)"
        );
        let p = spec("{pod: kuard}")
            .compile(&Vars::for_validation())
            .unwrap();
        assert_eq!(
            p.check(None, None).unwrap_err().summary,
            "the object does not exist"
        );
    }

    #[test]
    fn cross_field_rules() {
        assert!(
            spec("{pod: a, object: pod/b}")
                .validate()
                .unwrap_err()
                .contains("not both")
        );
        assert!(
            spec("{condition: Ready}")
                .validate()
                .unwrap_err()
                .contains("missing the object")
        );
        assert!(
            spec("{pod: a, absent: true, phase: Running}")
                .validate()
                .is_err()
        );
    }
}
