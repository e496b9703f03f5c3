//! What a step kind is, and what it runs with: the skeleton every step file fills in.
//!
//! A kind is its schema (the type, `deny_unknown_fields`) and a [`StepKind`] implementation:
//! its default deadline, its load-time rules, its one-line summary and what it does. What is
//! the same for every kind lives here once: the deadline of a step ([`deadline`]), the rules
//! of `timeout:` and `during:` ([`validate`]), and the context a step runs in ([`StepCx`]:
//! the case's namespace, client and placeholders, the step's deadline, its log and figures).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::error::{Invalid, StepError};
use crate::api::resolve::Resolver;
use crate::api::watch::TimedOut;
use crate::fields::Dur;
use crate::fields::template::Vars;
use crate::matchers::Mismatch;
use crate::matchers::text::{CompiledText, TextSpec};

/// What one kind of step is: its schema is the implementing type; these are its rules and
/// its behaviour.
pub trait StepKind {
    /// The deadline when the step gives no `timeout:`.
    const DEFAULT_TIMEOUT: Duration;

    /// The step's own `timeout:`, if it has one.
    fn timeout_field(&self) -> Option<Dur>;

    /// The step's own `during:`, for kinds that check over time.
    fn during_field(&self) -> Option<Dur> {
        None
    }

    /// Time the step needs beyond its deadline: its `during:` window (a check that must hold
    /// for 20s needs at least 20s), or what else it spends by design (a sleep).
    fn window(&self) -> Duration {
        self.during_field().map_or(Duration::ZERO, |d| d.0)
    }

    /// One line for logs and reports, after the kind: `pod/kuard: condition Ready`.
    fn summary(&self) -> String;

    /// Load-time checks beyond the schema and the rules every kind shares (which
    /// [`validate`] applies first); resolves files relative to the suite.
    fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid>;

    fn run(&self, cx: &mut StepCx<'_>) -> impl Future<Output = Result<(), StepError>>;
}

/// The deadline of a step: its `timeout:` or its kind's default, plus its `during:` window.
pub fn deadline<K: StepKind>(step: &K) -> Duration {
    step.timeout_field().map_or(K::DEFAULT_TIMEOUT, |d| d.0) + step.window()
}

/// The rules every kind shares, then the kind's own.
pub fn validate<K: StepKind>(step: &mut K, cx: &LoadCx<'_>) -> Result<(), Invalid> {
    positive(step.timeout_field(), "timeout")?;
    positive(step.during_field(), "during")?;
    step.validate(cx)
}

/// Shared schema check: `timeout: 0s` can never pass.
fn positive(d: Option<Dur>, field: &str) -> Result<(), Invalid> {
    match d {
        Some(d) if d.0.is_zero() => Err(Invalid::new(format!("`{field}` must be more than 0s"))),
        _ => Ok(()),
    }
}

/// What the loader gives a step to check itself with.
pub struct LoadCx<'a> {
    /// The directory of the suite file: manifests and `${file:}` are relative to it.
    pub dir: &'a Path,
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
    /// Texts that held every clause but are worded otherwise than the notes word them.
    pub wording: Vec<Mismatch>,
}

impl<'a> StepCx<'a> {
    pub fn new(env: &'a CaseEnv, deadline: Instant) -> Self {
        StepCx {
            env,
            deadline,
            log: Vec::new(),
            metrics: Default::default(),
            wording: Vec::new(),
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

    /// Judge `text` by `spec` (see [`StepCx::judge_text`]).
    pub fn check_text(&mut self, spec: &TextSpec, what: &str, text: &str) -> Result<(), StepError> {
        let m = spec
            .compile(self.vars())
            .map_err(|e| StepError::Invalid(e.to_string()))?;
        self.judge_text(&m, what, text)
    }

    /// A clause `text` breaks fails the step; when it holds every clause but is worded
    /// otherwise than the notes word it, the difference is kept for the reports.
    pub fn judge_text(
        &mut self,
        m: &CompiledText,
        what: &str,
        text: &str,
    ) -> Result<(), StepError> {
        m.check(what, text).map_err(StepError::Failed)?;
        if let Some(w) = m.wording_differs(what, text) {
            self.note(format!("{}: {}", w.summary, w.expected));
            self.wording.push(w);
        }
        Ok(())
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
                Err(_) => Err(StepError::Timeout(TimedOut {
                    after: started.elapsed(),
                    last: Some(Mismatch::new(format!("{what} did not finish"), format!("{what} to finish"), "still running")),
                    api_error: None,
                })),
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
