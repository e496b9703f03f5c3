//! The step kinds, one file each. A step is one typed operation against the cluster with a
//! deadline of its own (its `timeout:`, else the kind's default).
//!
//! Each kind's file holds its schema (the YAML it accepts, `deny_unknown_fields`), its
//! load-time checks and what it does. What they share lives beside them: [`watch`] (the one
//! "until a predicate over watched objects holds" mechanism), [`resolve`] (kinds to API
//! resources) and the context a step runs in ([`CaseEnv`], [`StepCx`]).

pub mod apply;
pub mod assert;
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
pub mod resolve;
pub mod sleep;
pub mod wait;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use crate::suite::Mismatch;
use crate::suite::check::CheckSpec;
use crate::suite::template::{TemplateError, Vars};

/// One step as written in a suite: a map with a single key, the kind.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Apply(apply::Apply),
    Create(create::Create),
    Delete(delete::Delete),
    Kubectl(kubectl::KubectlStep),
    Wait(CheckSpec),
    Assert(CheckSpec),
    Error(CheckSpec),
    Logs(logs::Logs),
    Exec(exec::Exec),
    Describe(describe::Describe),
    Events(events::Events),
    Probe(probe::Probe),
    Endpoints(endpoints::Endpoints),
    Sleep(sleep::Sleep),
}

/// The names of all step kinds, for docs and errors.
pub const KINDS: &[&str] = &[
    "apply",
    "create",
    "delete",
    "kubectl",
    "wait",
    "assert",
    "error",
    "logs",
    "exec",
    "describe",
    "events",
    "probe",
    "endpoints",
    "sleep",
];

/// What the loader gives a step to check itself with.
pub struct LoadCx<'a> {
    /// The directory of the suite file: manifests and `${file:}` are relative to it.
    pub dir: &'a Path,
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Apply(_) => "apply",
            Step::Create(_) => "create",
            Step::Delete(_) => "delete",
            Step::Kubectl(_) => "kubectl",
            Step::Wait(_) => "wait",
            Step::Assert(_) => "assert",
            Step::Error(_) => "error",
            Step::Logs(_) => "logs",
            Step::Exec(_) => "exec",
            Step::Describe(_) => "describe",
            Step::Events(_) => "events",
            Step::Probe(_) => "probe",
            Step::Endpoints(_) => "endpoints",
            Step::Sleep(_) => "sleep",
        }
    }

    /// The deadline of this step: its `timeout:` or its kind's default, plus any `during:`
    /// (a check that must hold for 20s needs at least 20s).
    pub fn timeout(&self) -> Duration {
        match self {
            Step::Apply(s) => s.timeout.map_or(apply::DEFAULT_TIMEOUT, |d| d.0),
            Step::Create(s) => s.timeout.map_or(create::DEFAULT_TIMEOUT, |d| d.0),
            Step::Delete(s) => s.timeout.map_or(delete::DEFAULT_TIMEOUT, |d| d.0),
            Step::Kubectl(s) => s.timeout.map_or(kubectl::DEFAULT_TIMEOUT, |d| d.0),
            Step::Wait(s) => s.timeout.map_or(wait::DEFAULT_TIMEOUT, |d| d.0),
            Step::Assert(s) => {
                s.timeout.map_or(assert::DEFAULT_TIMEOUT, |d| d.0)
                    + s.during.map_or(Duration::ZERO, |d| d.0)
            }
            Step::Error(s) => {
                s.timeout.map_or(error::DEFAULT_TIMEOUT, |d| d.0)
                    + s.during.map_or(Duration::ZERO, |d| d.0)
            }
            Step::Logs(s) => s.timeout.map_or(logs::DEFAULT_TIMEOUT, |d| d.0),
            Step::Exec(s) => s.timeout.map_or(exec::DEFAULT_TIMEOUT, |d| d.0),
            Step::Describe(s) => s.timeout.map_or(describe::DEFAULT_TIMEOUT, |d| d.0),
            Step::Events(s) => s.timeout.map_or(events::DEFAULT_TIMEOUT, |d| d.0),
            Step::Probe(s) => s.timeout.map_or(probe::DEFAULT_TIMEOUT, |d| d.0),
            Step::Endpoints(s) => {
                s.timeout.map_or(endpoints::DEFAULT_TIMEOUT, |d| d.0)
                    + s.during.map_or(Duration::ZERO, |d| d.0)
            }
            Step::Sleep(s) => s.duration.0 + sleep::SLACK,
        }
    }

    /// One line for logs and reports: `wait pod/kuard: condition Ready`.
    pub fn summary(&self) -> String {
        let detail = match self {
            Step::Apply(s) => s.summary(),
            Step::Create(s) => s.summary(),
            Step::Delete(s) => s.summary(),
            Step::Kubectl(s) => s.summary(),
            Step::Wait(s) | Step::Assert(s) | Step::Error(s) => {
                let t = s.target().map(|t| t.to_string()).unwrap_or_default();
                let rest = s.summary();
                if rest.is_empty() {
                    t
                } else {
                    format!("{t}: {rest}")
                }
            }
            Step::Logs(s) => s.summary(),
            Step::Exec(s) => s.summary(),
            Step::Describe(s) => s.summary(),
            Step::Events(s) => s.summary(),
            Step::Probe(s) => s.summary(),
            Step::Endpoints(s) => s.summary(),
            Step::Sleep(s) => format!("{} ({})", s.duration, s.why),
        };
        format!("{} {detail}", self.kind())
    }

    /// Load-time checks beyond the schema; resolves files relative to the suite.
    pub fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), String> {
        match self {
            Step::Apply(s) => s.validate(cx),
            Step::Create(s) => s.validate(cx),
            Step::Delete(s) => s.validate(cx),
            Step::Kubectl(s) => s.validate(cx),
            Step::Wait(s) => wait::validate(s),
            Step::Assert(s) => assert::validate(s),
            Step::Error(s) => error::validate(s),
            Step::Logs(s) => s.validate(),
            Step::Exec(s) => s.validate(),
            Step::Describe(s) => s.validate(cx),
            Step::Events(s) => s.validate(),
            Step::Probe(s) => s.validate(),
            Step::Endpoints(s) => s.validate(),
            Step::Sleep(s) => s.validate(),
        }
    }

    pub async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        match self {
            Step::Apply(s) => s.run(cx).await,
            Step::Create(s) => s.run(cx).await,
            Step::Delete(s) => s.run(cx).await,
            Step::Kubectl(s) => s.run(cx).await,
            Step::Wait(s) => wait::run(s, cx).await,
            Step::Assert(s) => assert::run(s, cx).await,
            Step::Error(s) => error::run(s, cx).await,
            Step::Logs(s) => s.run(cx).await,
            Step::Exec(s) => s.run(cx).await,
            Step::Describe(s) => s.run(cx).await,
            Step::Events(s) => s.run(cx).await,
            Step::Probe(s) => s.run(cx).await,
            Step::Endpoints(s) => s.run(cx).await,
            Step::Sleep(s) => s.run(cx).await,
        }
    }
}

/// Why a step failed.
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
    /// The API server answered with an error (or not at all).
    #[error("API error: {0}")]
    Api(String),
    /// The step cannot run as written (an unmapped image, an unknown kind).
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
    /// Expected and actual, when the failure has them.
    pub fn mismatch(&self) -> Option<&Mismatch> {
        match self {
            StepError::Failed(m) => Some(m),
            StepError::Timeout { last, .. } => last.as_ref(),
            _ => None,
        }
    }
}

impl From<TemplateError> for StepError {
    fn from(e: TemplateError) -> Self {
        StepError::Invalid(e.to_string())
    }
}

impl From<kube::Error> for StepError {
    fn from(e: kube::Error) -> Self {
        StepError::Api(api_error_text(&e))
    }
}

/// A kube error as a person wants to read it: the API server's own message when it sent one.
pub fn api_error_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({} {})", s.message, s.code, s.reason),
        other => other.to_string(),
    }
}

/// What every step of a case shares.
pub struct CaseEnv {
    pub client: kube::Client,
    pub namespace: String,
    pub vars: Vars,
    /// kubectl with a kubeconfig whose context is the case's namespace.
    pub kubectl: crate::kubectl::Kubectl,
    pub resolver: Arc<resolve::Resolver>,
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
}

impl<'a> StepCx<'a> {
    pub fn new(env: &'a CaseEnv, deadline: Instant) -> Self {
        StepCx {
            env,
            deadline,
            log: Vec::new(),
        }
    }

    pub fn note(&mut self, line: impl Into<String>) {
        self.log.push(line.into());
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
        fut: impl std::future::Future<Output = Result<T, StepError>>,
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
}

/// Shared schema check: `timeout: 0s` can never pass.
pub(crate) fn positive(d: Option<crate::suite::Dur>, field: &str) -> Result<(), String> {
    match d {
        Some(d) if d.0.is_zero() => Err(format!("`{field}` must be more than 0s")),
        _ => Ok(()),
    }
}
