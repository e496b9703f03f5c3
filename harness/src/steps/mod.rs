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

use serde::{Deserialize, Serialize};

pub use crate::matchers::Mismatch;
pub use error::{Invalid, StepError};
pub use kind::{CaseEnv, LoadCx, StepCx, StepKind};

/// One table of every step kind: the suite key, the enum variant and the type that
/// implements it. Adding a kind is a file of its own and one line here.
macro_rules! step_kinds {
    ($($key:literal => $variant:ident($ty:ty),)*) => {
        /// One step as written in a suite: a map with a single key, the kind.
        #[derive(Clone, Debug, Deserialize, Serialize)]
        pub enum Step {
            $(#[serde(rename = $key)] $variant($ty),)*
        }

        impl Step {
            /// Every kind's key, in the table's order.
            #[cfg(test)]
            pub const KINDS: &[&str] = &[$($key),*];

            pub fn kind(&self) -> &'static str {
                match self { $(Step::$variant(_) => $key,)* }
            }

            /// The deadline of this step: its `timeout:` or its kind's default, plus its window.
            pub fn timeout(&self) -> Duration {
                match self { $(Step::$variant(s) => kind::deadline(s),)* }
            }

            /// `wait pod/kuard: condition Ready`.
            pub fn summary(&self) -> String {
                match self { $(Step::$variant(s) => format!("{} {}", $key, s.summary()),)* }
            }

            pub fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid> {
                match self { $(Step::$variant(s) => kind::validate(s, cx),)* }
            }

            pub async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
                match self { $(Step::$variant(s) => s.run(cx).await,)* }
            }
        }
    };
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
        for key in Step::KINDS {
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
}
