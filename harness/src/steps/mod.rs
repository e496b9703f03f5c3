//! The step kinds, one file each. A step is one typed operation against the cluster with a
//! deadline of its own (its `timeout:`, else the kind's default).
//!
//! Each kind's file holds its schema (the YAML it accepts, `deny_unknown_fields`), its
//! load-time checks and what it does, as one [`StepKind`] implementation; the table below
//! (`step_kinds!`) names every kind once. The skeleton they fill in is [`kind`] (the trait,
//! the rules every kind shares, the context a step runs in) and [`error`] (why a step did not
//! pass). What several kinds share lives in [`check`] (the predicate of `wait`, `assert` and
//! `error`), [`outcome`] (what `kubectl` and `exec` check of a command) and, below the steps,
//! [`crate::api`] (watching objects and logs, reading and resolving objects).

pub mod apply;
pub mod assert;
pub mod check;
pub mod create;
pub mod delete;
pub mod describe;
pub mod endpoints;
pub mod error;
pub mod events;
pub mod exec;
pub mod kind;
pub mod kubectl;
pub mod logs;
pub mod outcome;
pub mod probe;
pub mod refute;
pub mod sleep;
pub mod wait;

use std::time::Duration;

use serde::de;
use serde::{Deserialize, Serialize};

pub use crate::matchers::Mismatch;
pub use error::{Invalid, StepError};
pub use kind::{CaseEnv, LoadCx, StepCx, StepKind};

/// One table of every step kind: the suite key, the enum variant and the type that
/// implements it. Adding a kind is a file of its own and one line here.
macro_rules! step_kinds {
    ($($key:literal => $variant:ident($ty:ty),)*) => {
        /// What a step does: one kind, with its own fields.
        #[derive(Clone, Debug, Serialize)]
        pub enum Kind {
            $(#[serde(rename = $key)] $variant($ty),)*
        }

        impl Kind {
            /// Every kind's key, in the table's order.
            pub const KEYS: &[&str] = &[$($key),*];

            /// The kind under `key`, its value read from `map` (so an error in it keeps its
            /// place in the file).
            fn read<'de, A: de::MapAccess<'de>>(key: &str, map: &mut A) -> Result<Kind, A::Error> {
                match key {
                    $($key => Ok(Kind::$variant(map.next_value()?)),)*
                    other => Err(de::Error::unknown_variant(other, Kind::KEYS)),
                }
            }

            pub fn key(&self) -> &'static str {
                match self { $(Kind::$variant(_) => $key,)* }
            }

            fn timeout(&self) -> Duration {
                match self { $(Kind::$variant(s) => kind::deadline(s),)* }
            }

            fn summary(&self) -> String {
                match self { $(Kind::$variant(s) => format!("{} {}", $key, s.summary()),)* }
            }

            fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid> {
                match self { $(Kind::$variant(s) => kind::validate(s, cx),)* }
            }

            async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
                match self { $(Kind::$variant(s) => s.run(cx).await,)* }
            }
        }
    };
}

/// One step as written in a suite: a map with the key of its kind (`wait: {…}`) and, beside
/// it, an optional `title:` that names the step where a line must say what failed (a
/// report's first line, a CI summary).
///
/// ```yaml
/// - title: the sidecar answers on localhost
///   exec: { pod: kuard, command: [ash, -c, "…"] }
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(flatten)]
    pub kind: Kind,
}

impl Step {
    /// The key of its kind: `wait`.
    pub fn kind(&self) -> &'static str {
        self.kind.key()
    }

    /// The deadline of this step: its `timeout:` or its kind's default, plus its window.
    pub fn timeout(&self) -> Duration {
        self.kind.timeout()
    }

    /// All the step says: `wait pod/kuard: condition Ready`, a script whole.
    pub fn summary(&self) -> String {
        self.kind.summary()
    }

    /// The step in one short line: its `title:`, else the first line of its summary (a
    /// script's first line), cut short.
    pub fn title(&self) -> String {
        const MAX: usize = 100;
        if let Some(t) = &self.title {
            return t.clone();
        }
        let summary = self.summary();
        let first = summary.lines().next().unwrap_or_default();
        let short = crate::matchers::text::cut(first, MAX);
        if short.len() < summary.trim_end().len() {
            format!("{short} …")
        } else {
            short.to_string()
        }
    }

    pub fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid> {
        if self.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(
                "`title` is empty: say in a few words what the step does, or leave it out".into(),
            );
        }
        self.kind.validate(cx)
    }

    pub async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        self.kind.run(cx).await
    }
}

/// A step's map: `title:` and one kind's key, each read in place.
impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Step;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    "a step: one of {}, with an optional title",
                    Kind::KEYS.join(", ")
                )
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Step, A::Error> {
                let mut title = None;
                let mut kind: Option<Kind> = None;
                while let Some(key) = m.next_key_seed(StepKey)? {
                    if key == "title" {
                        title = Some(m.next_value()?);
                    } else if let Some(k) = &kind {
                        return Err(de::Error::custom(format_args!(
                            "a step is one kind: `{}` and `{key}` are two; hint: give each its own step",
                            k.key()
                        )));
                    } else {
                        kind = Some(Kind::read(key, &mut m)?);
                    }
                }
                let kind = kind.ok_or_else(|| {
                    de::Error::custom(format_args!(
                        "a step needs a kind: one of {}",
                        Kind::KEYS.join(", ")
                    ))
                })?;
                Ok(Step { title, kind })
            }
        }
        d.deserialize_map(V)
    }
}

/// A key of a step's map: `title`, or a kind's key; anything else is an unknown kind, told
/// where the key is.
struct StepKey;

impl<'de> de::DeserializeSeed<'de> for StepKey {
    type Value = &'static str;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl de::Visitor<'_> for StepKey {
    type Value = &'static str;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a step kind or `title`")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<&'static str, E> {
        if v == "title" {
            return Ok("title");
        }
        Kind::KEYS
            .iter()
            .find(|k| **k == v)
            .copied()
            .ok_or_else(|| E::unknown_variant(v, Kind::KEYS))
    }
}

step_kinds! {
    "apply" => Apply(apply::Apply),
    "create" => Create(create::Create),
    "delete" => Delete(delete::Delete),
    "kubectl" => Kubectl(kubectl::KubectlStep),
    "wait" => Wait(wait::Wait),
    "assert" => Assert(assert::Assert),
    "error" => Error(refute::Refute),
    "logs" => Logs(logs::Logs),
    "exec" => Exec(exec::Exec),
    "describe" => Describe(describe::Describe),
    "events" => Events(events::Events),
    "probe" => Probe(probe::Probe),
    "endpoints" => Endpoints(endpoints::Endpoints),
    "sleep" => Sleep(sleep::Sleep),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's keys are what the loader accepts, and every kind has one.
    #[test]
    fn every_kind_in_the_table_loads_under_its_key() {
        for key in Kind::KEYS {
            let err = serde_saphyr::from_str::<Step>(&format!("{key}: {{ nonsense: 1 }}"))
                .unwrap_err()
                .to_string();
            assert!(!err.contains("unknown variant"), "{key}: {err}");
        }
        let err = serde_saphyr::from_str::<Step>("waitt: {}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant"), "{err}");
    }

    /// A title names the step in one line; without one, the first line of what it does.
    #[test]
    fn a_step_has_a_title_of_one_line() {
        let s: Step = serde_saphyr::from_str(
            "{ title: the sidecar answers, exec: { pod: kuard, command: [ash, -c, \"a\\nb\"] } }",
        )
        .unwrap();
        assert_eq!(s.title(), "the sidecar answers");
        assert_eq!(s.kind(), "exec");
        let s: Step = serde_saphyr::from_str(
            "exec: { pod: kuard, command: [ash, -c, \"first line\\nsecond line\"] }",
        )
        .unwrap();
        assert_eq!(s.title(), "exec pod/kuard -- ash -c 'first line …");
        assert!(s.summary().contains("second line"), "{}", s.summary());
        for bad in [
            "{ title: x }",
            "{ wait: { pod: a, condition: Ready }, assert: { pod: a, condition: Ready } }",
        ] {
            assert!(serde_saphyr::from_str::<Step>(bad).is_err(), "{bad}");
        }
    }
}
