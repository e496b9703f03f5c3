//! The step kinds, one file each. A step is one typed operation against the cluster with a
//! deadline of its own (its `timeout:`, else the kind's default).
//!
//! Each kind's file holds its schema (the YAML it accepts, `deny_unknown_fields`), its
//! load-time checks and what it does, as one [`StepKind`] implementation; the table at the
//! bottom of this file (`step_kinds!`) names every kind once. What kinds share lives in
//! [`check`] (the predicate of `wait`, `assert` and `error`), [`outcome`] (what `kubectl`
//! and `exec` check of a command) and, below the steps, [`crate::api`] (watching, reading
//! and resolving objects).

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
pub mod kubectl;
pub mod logs;
pub mod outcome;
pub mod probe;
pub mod sleep;
pub mod wait;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::api::resolve::{ResolveError, Resolver};
use crate::api::watch::WatchError;
use crate::fields::Dur;
use crate::fields::template::{TemplateError, Vars};
pub use crate::matchers::Mismatch;

/// What one kind of step is: its schema is the implementing type; these are its rules and
/// its behaviour.
pub trait StepKind {
    /// The deadline when the step gives no `timeout:`.
    const DEFAULT_TIMEOUT: Duration;

    /// The step's own `timeout:`, if it has one.
    fn timeout_field(&self) -> Option<Dur>;

    /// Time the step needs beyond its deadline: a `during:` window (a check that must hold
    /// for 20s needs at least 20s).
    fn window(&self) -> Duration {
        Duration::ZERO
    }

    /// One line for logs and reports, after the kind: `pod/kuard: condition Ready`.
    fn summary(&self) -> String;

    /// Load-time checks beyond the schema; resolves files relative to the suite.
    fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid>;

    fn run(&self, cx: &mut StepCx<'_>) -> impl Future<Output = Result<(), StepError>>;
}

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
                match self {
                    $(Step::$variant(s) => {
                        s.timeout_field().map_or(<$ty as StepKind>::DEFAULT_TIMEOUT, |d| d.0)
                            + s.window()
                    })*
                }
            }

            /// `wait pod/kuard: condition Ready`.
            pub fn summary(&self) -> String {
                match self { $(Step::$variant(s) => format!("{} {}", $key, s.summary()),)* }
            }

            pub fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid> {
                match self { $(Step::$variant(s) => s.validate(cx),)* }
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
    "error" => Error(error::Refute),
    "logs" => Logs(logs::Logs),
    "exec" => Exec(exec::Exec),
    "describe" => Describe(describe::Describe),
    "events" => Events(events::Events),
    "probe" => Probe(probe::Probe),
    "endpoints" => Endpoints(endpoints::Endpoints),
    "sleep" => Sleep(sleep::Sleep),
}

/// What the loader gives a step to check itself with.
pub struct LoadCx<'a> {
    /// The directory of the suite file: manifests and `${file:}` are relative to it.
    pub dir: &'a Path,
}

/// A step that cannot be right as written, found when the suite loads (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
            source: None,
        }
    }

    /// A rule broken because of another error (a file that cannot be read, a bad regex).
    pub fn because(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Invalid {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The message with every source in the chain: what the loader prints.
    pub fn full_text(&self) -> String {
        let mut s = self.message.clone();
        let mut src = std::error::Error::source(self);
        while let Some(e) = src {
            s.push_str(&format!(": {e}"));
            src = e.source();
        }
        s
    }
}

impl From<String> for Invalid {
    fn from(message: String) -> Self {
        Invalid::new(message)
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Self {
        Invalid::new(message)
    }
}

/// Why a step did not pass. [`StepError::is_behaviour`] tells a behaviour that did not hold
/// (the implementation's fault) from a step that could not check (the cluster's, or the
/// suite's).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The behaviour did not hold.
    #[error("{0}")]
    Failed(Mismatch),
    /// A wait ran out of time; the last state seen says why.
    #[error("{}", timeout_text(.after, .last, .api_error))]
    Timeout {
        after: Duration,
        last: Option<Mismatch>,
        api_error: Option<String>,
    },
    /// A check over time could not observe all of its window.
    #[error(transparent)]
    Unobserved(WatchError),
    /// The API server answered with an error (or not at all).
    #[error("{what}: {}; hint: the API server refused or did not answer", crate::api::error_text(.source))]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    /// Reading what the API server streams (a log) broke off.
    #[error("{what}: {source}")]
    Stream {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// API discovery failed (a kind the API does not serve is a [`StepError::Failed`]).
    #[error(transparent)]
    Resolve(ResolveError),
    /// The step cannot run as written (an unmapped image, a placeholder without a value).
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Kubectl(#[from] crate::kubectl::KubectlError),
    #[error("cancelled")]
    Cancelled,
}

fn timeout_text(after: &Duration, last: &Option<Mismatch>, api: &Option<String>) -> String {
    let mut s = format!("timed out after {:.1}s", after.as_secs_f64());
    if let Some(m) = last {
        s.push_str(&format!(": {m}"));
    }
    if let Some(e) = api {
        s.push_str(&format!("\n  last API error: {e}"));
    }
    s
}

impl StepError {
    /// An API call that failed, with what was being done. When the API server (or the
    /// kubelet behind it) answered — refused the request, or could not do it — the answer
    /// is the implementation's behaviour, and the step failed: expected success, actual
    /// the answer. Only when nothing answered (a connection refused or cut, a gateway or
    /// an unavailable server: 502, 503, 504) could the step not check.
    pub fn api(what: impl Into<String>, source: kube::Error) -> Self {
        let what = what.into();
        let answered = match &source {
            kube::Error::Api(s) if ![502, 503, 504].contains(&s.code) => {
                Some(format!("{} {}: {}", s.code, s.reason, s.message))
            }
            kube::Error::UpgradeConnection(
                kube::client::UpgradeConnectionError::ProtocolSwitch(code),
            ) if ![502, 503, 504].contains(&code.as_u16()) => {
                Some(format!("{code} instead of switching to a stream"))
            }
            _ => None,
        };
        match answered {
            Some(actual) => StepError::Failed(Mismatch::new(
                format!("{what}: the API server refused"),
                format!("{what} to succeed"),
                actual,
            )),
            None => StepError::Api { what, source },
        }
    }

    /// Expected and actual, when the failure has them.
    pub fn mismatch(&self) -> Option<&Mismatch> {
        match self {
            StepError::Failed(m) => Some(m),
            StepError::Timeout { last, .. } => last.as_ref(),
            _ => None,
        }
    }

    /// Whether this says the behaviour did not hold (a check failed, or never held before
    /// the deadline) rather than that the step could not check.
    pub fn is_behaviour(&self) -> bool {
        matches!(self, StepError::Failed(_) | StepError::Timeout { .. })
    }
}

/// A kind the API server does not serve is its answer, so the step failed; a discovery that
/// could not be made is an error.
impl From<ResolveError> for StepError {
    fn from(e: ResolveError) -> Self {
        match &e {
            ResolveError::Discovery(_) => StepError::Resolve(e),
            ResolveError::UnknownKind(k) => StepError::Failed(Mismatch::new(
                e.to_string(),
                format!("the API server to serve a resource kind `{k}`"),
                "no such kind in its API discovery",
            )),
            ResolveError::NotServed { kind, api_version } => StepError::Failed(Mismatch::new(
                e.to_string(),
                format!("the API server to serve kind `{kind}` in `{api_version}`"),
                "not in its API discovery",
            )),
        }
    }
}

/// An API call inside a step, without more to say about it than the call itself does.
impl From<kube::Error> for StepError {
    fn from(source: kube::Error) -> Self {
        StepError::api("API request", source)
    }
}

impl From<WatchError> for StepError {
    fn from(e: WatchError) -> Self {
        match e {
            WatchError::Timeout {
                after,
                last,
                api_error,
            } => StepError::Timeout {
                after,
                last,
                api_error,
            },
            WatchError::Broken(m) => StepError::Failed(m),
            WatchError::Cancelled => StepError::Cancelled,
            e @ (WatchError::Unobserved { .. } | WatchError::Ended) => StepError::Unobserved(e),
        }
    }
}

/// What every step of a case shares.
pub struct CaseEnv {
    pub client: kube::Client,
    pub namespace: String,
    pub vars: Vars,
    /// kubectl with a kubeconfig whose context is the case's namespace.
    pub kubectl: crate::kubectl::Kubectl,
    pub resolver: Arc<Resolver>,
    /// Scratch directory of the case (rendered files, its kubeconfig).
    pub workdir: PathBuf,
    pub suite_dir: PathBuf,
    pub cancel: CancellationToken,
}

/// What one step runs with.
pub struct StepCx<'a> {
    pub env: &'a CaseEnv,
    pub deadline: Instant,
    /// Lines for the step log in the report: commands run, their output, what was seen.
    pub log: Vec<String>,
    /// Figures the step measured (`record:`), in seconds or as numbers, by name.
    pub metrics: std::collections::BTreeMap<String, f64>,
}

impl<'a> StepCx<'a> {
    pub fn new(env: &'a CaseEnv, deadline: Instant) -> Self {
        StepCx {
            env,
            deadline,
            log: Vec::new(),
            metrics: Default::default(),
        }
    }

    pub fn note(&mut self, line: impl Into<String>) {
        self.log.push(line.into());
    }

    /// Keep a figure the step measured, for the reports (and the matrix's timing table).
    pub fn record(&mut self, name: &str, value: f64) {
        self.note(format!("recorded {name} = {value:.3}"));
        self.metrics.insert(name.to_string(), value);
    }

    pub fn ns(&self) -> &str {
        &self.env.namespace
    }

    pub fn vars(&self) -> &Vars {
        &self.env.vars
    }

    pub fn client(&self) -> kube::Client {
        self.env.client.clone()
    }

    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Run a future against this step's deadline and the case's cancellation.
    pub async fn bounded<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, StepError>>,
    ) -> Result<T, StepError> {
        let started = Instant::now();
        tokio::select! {
            biased;
            _ = self.env.cancel.cancelled() => Err(StepError::Cancelled),
            r = tokio::time::timeout(self.remaining(), fut) => match r {
                Ok(r) => r,
                Err(_) => Err(StepError::Timeout {
                    after: started.elapsed(),
                    last: Some(Mismatch::new(format!("{what} did not finish"), format!("{what} to finish"), "still running")),
                    api_error: None,
                }),
            },
        }
    }

    /// A manifest document placed in the case's namespace (see [`crate::api::object::place`]).
    pub async fn place(
        &self,
        doc: serde_json::Value,
    ) -> Result<
        (
            kube::Api<kube::api::DynamicObject>,
            String,
            serde_json::Value,
        ),
        StepError,
    > {
        Ok(crate::api::object::place(&self.env.resolver, self.ns(), doc).await?)
    }
}

/// Shared schema check: `timeout: 0s` can never pass.
pub(crate) fn positive(d: Option<Dur>, field: &str) -> Result<(), Invalid> {
    match d {
        Some(d) if d.0.is_zero() => Err(Invalid::new(format!("`{field}` must be more than 0s"))),
        _ => Ok(()),
    }
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
