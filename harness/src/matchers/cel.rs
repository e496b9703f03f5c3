//! CEL expressions over API objects (the `cel` crate), the Kubernetes-native way to state a
//! property of an object: `status.containerStatuses[0].restartCount >= 1`.
//!
//! Bindings: every top-level field of the object (`metadata`, `spec`, `status`, `kind`, ...),
//! the whole object as `object`, and, in checks that watch over time (`wait`, `during:`),
//! the object as it was when the step started as `initial`. An expression that cannot be
//! evaluated (a missing key, say) is neither true nor false ([`Miss::Unknown`]): a wait keeps
//! waiting, an assert fails with the reason, and a negated check (`error`) never takes it for
//! "does not hold". Field names are checked against the kind's schema when the suite loads
//! (see [`super::schema`]), so a mistyped field is a load error, not a check that cannot fail.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock};

use cel::{Context, Program, Value as Cel};
use regex::Regex;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Mismatch, Miss};
use crate::fields::template::{TemplateError, Vars, scalar_string};

/// A CEL expression that may hold placeholders (`metadata.namespace == '${namespace}'`).
/// Parsed at load time so a syntax error is a load error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CelTemplate(String);

#[derive(Debug, thiserror::Error)]
pub enum CelError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("invalid CEL expression `{src}`: {msg}")]
    Parse { src: String, msg: String },
}

impl CelTemplate {
    pub fn new(s: impl Into<String>) -> Result<Self, CelError> {
        let t = CelTemplate(s.into());
        t.compile(&Vars::for_validation())?;
        Ok(t)
    }

    pub fn raw(&self) -> &str {
        &self.0
    }

    pub fn compile(&self, vars: &Vars) -> Result<Expr, CelError> {
        let src = vars.render(&self.0)?;
        let program = Program::compile(&src).map_err(|e| CelError::Parse {
            src: src.clone(),
            msg: e.to_string().trim().to_string(),
        })?;
        Ok(Expr {
            src,
            program: Arc::new(program),
        })
    }
}

impl<'de> Deserialize<'de> for CelTemplate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CelTemplate::new(scalar_string(d)?).map_err(de::Error::custom)
    }
}

impl Serialize for CelTemplate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A compiled expression.
#[derive(Clone)]
pub struct Expr {
    pub src: String,
    program: Arc<Program>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expr({})", self.src)
    }
}

/// What an expression sees.
#[derive(Clone, Copy, Default)]
pub struct Bindings<'a> {
    pub object: Option<&'a Value>,
    pub initial: Option<&'a Value>,
}

impl Expr {
    fn context(&self, b: Bindings<'_>) -> Context<'static, 'static> {
        let mut ctx = Context::default();
        match b.object {
            Some(obj) => {
                if let Value::Object(m) = obj {
                    for (k, v) in m {
                        ctx.add_variable_from_value(k.clone(), to_cel(v));
                    }
                }
                ctx.add_variable_from_value("object", to_cel(obj));
            }
            None => ctx.add_variable_from_value("object", Cel::Null),
        }
        if let Some(i) = b.initial {
            ctx.add_variable_from_value("initial", to_cel(i));
        }
        ctx
    }

    /// Evaluate to any value.
    pub fn eval(&self, b: Bindings<'_>) -> Result<Cel, String> {
        self.program
            .execute(&self.context(b))
            .map_err(|e| e.to_string())
    }

    /// The expression as a figure: a duration in seconds, or a number; `Err` says what it
    /// gave instead (or why it could not be evaluated).
    pub fn figure(&self, b: Bindings<'_>) -> Result<f64, String> {
        match self.eval(b)? {
            Cel::Duration(d) => Ok(d.num_milliseconds() as f64 / 1000.0),
            Cel::Int(i) => Ok(i as f64),
            Cel::UInt(u) => Ok(u as f64),
            Cel::Float(f) => Ok(f),
            other => Err(format!("not a duration or a number but {}", show(&other))),
        }
    }

    /// The program, for reading its syntax tree (field names are checked against schemas).
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// `Ok` when the expression is `true`; `False` when it is `false`; `Unknown` when it
    /// cannot be evaluated or is not a bool. Either shows the values of the paths the
    /// expression reads, so "restartCount >= 1" fails with "restartCount = 0".
    pub fn check(&self, b: Bindings<'_>) -> Result<(), Miss> {
        let (actual, known) = match self.eval(b) {
            Ok(Cel::Bool(true)) => return Ok(()),
            Ok(Cel::Bool(false)) => ("false".to_string(), true),
            Ok(other) => (format!("not a bool but {}", show(&other)), false),
            Err(e) => (format!("error: {e}"), false),
        };
        let values = self.path_values(b);
        let actual = if values.is_empty() {
            actual
        } else {
            format!("{actual}, with {}", values.join(", "))
        };
        if known {
            Err(Miss::False(Mismatch::new(
                format!("expression `{}` does not hold", self.src),
                format!("`{}` to be true", self.src),
                actual,
            )))
        } else {
            Err(Miss::Unknown(Mismatch::new(
                format!("expression `{}` cannot be evaluated", self.src),
                format!("`{}` to be true", self.src),
                actual,
            )))
        }
    }

    /// The value of each field path the expression reads (`status.phase = "Running"`).
    fn path_values(&self, b: Bindings<'_>) -> Vec<String> {
        static PATH: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r#"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\['[^']*'\]|\["[^"]*"\])+"#)
                .expect("static regex")
        });
        // Strip string literals first: a path inside quotes is not one.
        static STRING: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r#"'[^']*'|"[^"]*""#).expect("static regex"));
        let code = STRING.replace_all(&self.src, |c: &regex::Captures<'_>| " ".repeat(c[0].len()));
        let mut seen = Vec::new();
        for m in PATH.find_iter(&code) {
            let path = &self.src[m.start()..m.end()];
            if seen.iter().any(|(p, _): &(String, String)| p == path) || seen.len() >= 6 {
                continue;
            }
            let Ok(p) = Program::compile(path) else {
                continue;
            };
            let ctx = self.context(b);
            let v = match p.execute(&ctx) {
                Ok(v) => show(&v),
                Err(e) => format!("<{e}>"),
            };
            seen.push((path.to_string(), v));
        }
        seen.into_iter()
            .map(|(p, v)| format!("{p} = {v}"))
            .collect()
    }
}

/// JSON to CEL: integers stay integers (so `restartCount >= 1` compares ints), maps get
/// string keys.
pub fn to_cel(v: &Value) -> Cel {
    match v {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Cel::Int(i)
            } else if let Some(u) = n.as_u64() {
                Cel::UInt(u)
            } else {
                Cel::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(a) => Cel::List(Arc::new(a.iter().map(to_cel).collect())),
        Value::Object(m) => {
            let map: HashMap<String, Cel> = m.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            Cel::from(map)
        }
    }
}

/// CEL back to JSON-ish text, for messages.
pub fn show(v: &Cel) -> String {
    fn json(v: &Cel) -> Value {
        match v {
            Cel::Null => Value::Null,
            Cel::Bool(b) => Value::Bool(*b),
            Cel::Int(i) => Value::from(*i),
            Cel::UInt(u) => Value::from(*u),
            Cel::Float(f) => Value::from(*f),
            Cel::String(s) => Value::String(s.to_string()),
            Cel::List(l) => Value::Array(l.iter().map(json).collect()),
            Cel::Map(m) => {
                let mut out = serde_json::Map::new();
                for (k, v) in m.map.iter() {
                    let key = match k {
                        cel::objects::Key::String(s) => s.to_string(),
                        cel::objects::Key::Int(i) => i.to_string(),
                        cel::objects::Key::Uint(u) => u.to_string(),
                        cel::objects::Key::Bool(b) => b.to_string(),
                    };
                    out.insert(key, json(v));
                }
                Value::Object(out)
            }
            other => Value::String(format!("{other:?}")),
        }
    }
    let s = serde_json::to_string(&json(v)).unwrap_or_default();
    if s.len() > 300 {
        format!("{}…", super::text::cut(&s, 300))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expr(s: &str) -> Expr {
        CelTemplate::new(s)
            .unwrap()
            .compile(&Vars::for_validation())
            .unwrap()
    }

    fn pod() -> Value {
        json!({
            "kind": "Pod",
            "metadata": {"name": "kuard", "uid": "u1", "labels": {"app": "kuard"}},
            "status": {"phase": "Running", "containerStatuses": [{"name": "kuard", "restartCount": 0}],
                       "conditions": [{"type": "Ready", "status": "True"}]}
        })
    }

    #[test]
    fn top_level_fields_and_object_are_bound() {
        let p = pod();
        let b = Bindings {
            object: Some(&p),
            initial: None,
        };
        expr("status.phase == 'Running'").check(b).unwrap();
        expr("object.metadata.labels.app == 'kuard'")
            .check(b)
            .unwrap();
        expr("status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')")
            .check(b)
            .unwrap();
        expr("has(status.podIP) == false").check(b).unwrap();
    }

    #[test]
    fn a_false_expression_shows_the_values_it_read() {
        let p = pod();
        let Miss::False(e) =
            expr("status.containerStatuses[0].restartCount >= 1 && metadata.name == 'kuard'")
                .check(Bindings {
                    object: Some(&p),
                    initial: None,
                })
                .unwrap_err()
        else {
            panic!("a false expression is false, not unknown")
        };
        assert_eq!(
            e.actual,
            "false, with status.containerStatuses[0].restartCount = 0, metadata.name = \"kuard\""
        );
        assert_eq!(
            e.expected,
            "`status.containerStatuses[0].restartCount >= 1 && metadata.name == 'kuard'` to be true"
        );
    }

    #[test]
    fn an_expression_that_cannot_be_evaluated_is_unknown_not_false() {
        let p = pod();
        let b = Bindings {
            object: Some(&p),
            initial: None,
        };
        for src in [
            "status.podIP == '1.2.3.4'",
            "status.containerStatuses[3].ready",
            "status.phase",
        ] {
            let Miss::Unknown(e) = expr(src).check(b).unwrap_err() else {
                panic!("{src}: unknown, not false")
            };
            assert!(e.summary.ends_with("cannot be evaluated"), "{}", e.summary);
        }
        // The negation of an error is an error too, never true.
        assert!(matches!(
            expr("!(status.podIP == '1.2.3.4')").check(b),
            Err(Miss::Unknown(_))
        ));
    }

    #[test]
    fn the_functions_suites_use() {
        let p = json!({
            "metadata": {"resourceVersion": "1234", "creationTimestamp": "2026-11-28T05:40:12Z",
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"image\":\"x\"}"}},
            "status": {"containerStatuses": [{"state": {"running": {"startedAt": "2026-11-28T05:40:13Z"}}}]}
        });
        let b = Bindings {
            object: Some(&p),
            initial: None,
        };
        for e in [
            "has(status.containerStatuses[0].state.running)",
            "!has(status.containerStatuses[0].state.waiting)",
            "'kubectl.kubernetes.io/last-applied-configuration' in metadata.annotations",
            "metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'].contains('\"image\":\"x\"')",
            "int(metadata.resourceVersion) > 0",
            "timestamp(metadata.creationTimestamp) > timestamp('2020-01-01T00:00:00Z')",
            "timestamp(status.containerStatuses[0].state.running.startedAt) - timestamp(metadata.creationTimestamp) == duration('1s')",
            "size(status.containerStatuses) == 1",
        ] {
            expr(e)
                .check(b)
                .unwrap_or_else(|m| panic!("{e}: {}", m.mismatch()));
        }
    }

    #[test]
    fn initial_is_bound_for_checks_over_time() {
        let now = pod();
        let mut before = pod();
        before["status"]["containerStatuses"][0]["restartCount"] = json!(0);
        expr("status.containerStatuses[0].restartCount == initial.status.containerStatuses[0].restartCount")
            .check(Bindings { object: Some(&now), initial: Some(&before) })
            .unwrap();
    }

    #[test]
    fn syntax_errors_are_load_errors() {
        let e = CelTemplate::new("status.phase ==").unwrap_err().to_string();
        assert!(
            e.starts_with("invalid CEL expression `status.phase ==`"),
            "{e}"
        );
    }

    #[test]
    fn placeholders_are_substituted() {
        let p = json!({"metadata": {"namespace": "pc-1"}});
        let mut v = Vars::for_validation();
        v.namespace = "pc-1".into();
        let e = CelTemplate::new("metadata.namespace == '${namespace}'")
            .unwrap()
            .compile(&v)
            .unwrap();
        e.check(Bindings {
            object: Some(&p),
            initial: None,
        })
        .unwrap();
    }
}
