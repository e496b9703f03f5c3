//! What a run found, case by case and step by step: the data every report is made from.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::janitor::Cleanup;
use crate::matchers::Mismatch;

/// How a case ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum CaseStatus {
    Passed,
    /// The behaviour did not hold (a step's check failed or timed out).
    Failed,
    /// The case could not be carried out (API errors, setup, cancellation).
    Error,
    /// Not run: ignored, filtered by `--ignored`, cancelled before it started, or not
    /// applicable to this cluster (it needs more nodes than take the run's pods).
    Skipped(String),
}

/// How the reason of a case that does not apply to the cluster begins.
const NOT_APPLICABLE: &str = "not applicable: ";

impl CaseStatus {
    /// The case does not apply here: it checks nothing, and no one may expect it to pass.
    pub fn is_not_applicable(&self) -> bool {
        matches!(self, CaseStatus::Skipped(why) if why.starts_with(NOT_APPLICABLE))
    }

    pub fn is_failure(&self) -> bool {
        matches!(self, CaseStatus::Failed | CaseStatus::Error)
    }

    /// The word of a result: FLAKY for a case that passed only on a retry.
    pub fn word_of(r: &CaseResult) -> &'static str {
        if r.is_flaky() {
            "FLAKY"
        } else {
            r.status.word()
        }
    }

    pub fn word(&self) -> &'static str {
        match self {
            CaseStatus::Passed => "PASS",
            CaseStatus::Failed => "FAIL",
            CaseStatus::Error => "ERROR",
            CaseStatus::Skipped(_) => "SKIP",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Passed,
    Failed,
    Error,
    /// After a failed step: not run.
    NotRun,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    /// 1-based, as `expect_failure.step` counts.
    pub index: usize,
    pub kind: &'static str,
    /// The step in one line (its `title:`, or its summary's first line).
    pub title: String,
    pub summary: String,
    /// Where the step is written: `file:line:column`.
    pub location: String,
    pub status: StepStatus,
    #[serde(with = "secs")]
    pub duration: Duration,
    #[serde(with = "secs")]
    pub timeout: Duration,
    pub log: Vec<String>,
    /// What the step measured (`record:`): seconds, or plain numbers.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// Texts that held every clause but are worded otherwise than the notes word them: the
    /// notes' text as expected, the text seen as actual.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wording: Vec<Mismatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<Mismatch>,
}

/// The first failure of a case, as reports show it.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// 1-based step index, if a step failed (not setup or the case deadline).
    pub step: Option<usize>,
    /// One line: `step 4 (events pod/kuard ...): missing events: ...`.
    pub message: String,
    /// The full text with expected and actual.
    pub detail: String,
    /// What did not hold, in one line (the mismatch's own summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

impl Failure {
    /// The namespace could not be made ready: nothing was checked.
    pub fn setup(ns: &str, error: &str) -> Self {
        Failure {
            step: None,
            message: format!("setting up namespace {ns}: {}", first_line(error)),
            detail: error.to_string(),
            summary: None,
            expected: None,
            actual: None,
        }
    }

    /// Step `i` (0-based) of `case` failed with `e`, written at `location`.
    pub fn at_step(
        case: &crate::suite::Case,
        i: usize,
        e: &crate::steps::StepError,
        location: &str,
    ) -> Self {
        let covers = case.covers.join(", ");
        // One line names the step by its title (a script's first line); the detail has it
        // whole.
        let line = format!(
            "[{covers}] step {} ({}) failed",
            i + 1,
            case.steps[i].title()
        );
        let head = format!(
            "[{covers}] step {} ({}) failed",
            i + 1,
            case.steps[i].summary()
        );
        let m = e.mismatch();
        Failure {
            step: Some(i + 1),
            message: format!("{line}: {}", crate::errors::headline(e)),
            detail: format!("{head}: {}\n  at {location}", crate::errors::chain(e)),
            summary: m.map(|m| m.summary.clone()),
            expected: m.map(|m| m.expected.clone()),
            actual: m.map(|m| m.actual.clone()),
        }
    }

    /// The failure's own words — summary, expected, actual — as a mismatch shows them;
    /// `None` when it has none (an error, a timeout that saw nothing).
    pub fn mismatch_text(&self) -> Option<String> {
        let (e, a) = (self.expected.as_ref()?, self.actual.as_ref()?);
        Some(format!(
            "{}\n  expected: {e}\n  actual:   {a}",
            self.summary.as_deref().unwrap_or_default()
        ))
    }
}

pub(crate) fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    pub suite: String,
    pub case: String,
    /// The suite file.
    pub file: String,
    pub covers: Vec<String>,
    /// Of `covers`, those the case checks only in part.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub covers_in_part: Vec<String>,
    pub namespace: String,
    #[serde(flatten)]
    pub status: CaseStatus,
    /// From start to verdict: setup, steps, diagnostics (the case's critical path;
    /// cleanup runs after, in the background).
    #[serde(with = "secs")]
    pub duration: Duration,
    /// The steps alone.
    #[serde(with = "secs")]
    pub step_time: Duration,
    #[serde(with = "epoch")]
    pub started: SystemTime,
    pub steps: Vec<StepResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The case is a mutant or self-test (`expect_failure`): it says nothing about the
    /// behaviours it names, only about podcheck's checks.
    pub self_test: bool,
    /// The case was a mutant or self-test that had to fail, and did as described.
    pub expected_failure: bool,
    /// Everything its steps measured (`record:`), by name.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// describe / events / logs collected on failure.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diagnostics: String,
    /// Namespace cleanup, which runs after the verdict: deleted (and how long it took),
    /// kept, or failed and why.
    pub cleanup: Cleanup,
    /// Attempts that failed before this one (`--retries`): a case that passed after them
    /// is flaky.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<Attempt>,
}

/// An attempt at a case that failed, before the one reported.
#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    pub namespace: String,
    pub failure: Failure,
}

impl CaseResult {
    pub fn id(&self) -> String {
        format!("{}::{}", self.suite, self.case)
    }

    /// A result for a case about to run in `namespace`: passed until a step says otherwise.
    pub fn starting(case: &crate::suite::Case, namespace: &str, started: SystemTime) -> Self {
        CaseResult {
            suite: case.suite.clone(),
            case: case.name.clone(),
            file: case.file.display().to_string(),
            covers: case.covers.clone(),
            covers_in_part: case.covers_in_part.clone(),
            namespace: namespace.to_string(),
            status: CaseStatus::Passed,
            duration: Duration::ZERO,
            step_time: Duration::ZERO,
            started,
            steps: Vec::new(),
            failure: None,
            self_test: case.expect_failure.is_some(),
            expected_failure: false,
            metrics: Default::default(),
            diagnostics: String::new(),
            cleanup: Cleanup::none(),
            earlier: Vec::new(),
        }
    }

    /// It passed, after failing first: its own verdict, never silently a pass.
    pub fn is_flaky(&self) -> bool {
        self.status == CaseStatus::Passed && !self.earlier.is_empty()
    }

    /// A result for a case that did not run.
    pub fn skipped(case: &crate::suite::Case, reason: impl Into<String>) -> Self {
        let mut r = CaseResult::starting(case, "", SystemTime::now());
        r.status = CaseStatus::Skipped(reason.into());
        r
    }

    /// A result for a case that does not apply to this cluster, saying why.
    pub fn not_applicable(case: &crate::suite::Case, why: impl std::fmt::Display) -> Self {
        CaseResult::skipped(case, format!("{NOT_APPLICABLE}{why}"))
    }

    /// A case that could not run at all (no cluster): an error, not a failure.
    pub fn could_not_run(case: &crate::suite::Case, why: &str) -> Self {
        let mut r = CaseResult::starting(case, "", SystemTime::now());
        r.status = CaseStatus::Error;
        r.failure = Some(Failure {
            step: None,
            message: format!("could not run: {}", first_line(why)),
            detail: why.to_string(),
            summary: None,
            expected: None,
            actual: None,
        });
        r
    }

    /// Texts its steps saw in other words than the notes', by step.
    pub fn wording(&self) -> impl Iterator<Item = (usize, &Mismatch)> {
        self.steps
            .iter()
            .flat_map(|s| s.wording.iter().map(move |w| (s.index, w)))
    }

    /// Why the case did not pass, whole: its failure as the reports show it in detail, or
    /// why it did not run.
    pub fn account(&self) -> String {
        match (&self.status, &self.failure) {
            (CaseStatus::Passed, _) => "it passed".into(),
            (CaseStatus::Skipped(why), _) => format!("it did not run: {why}"),
            (_, Some(f)) => f.detail.clone(),
            (s, None) => format!("{} without an account of why", s.word()),
        }
    }

    /// The step log as text, for JUnit's system-out and terminal output.
    pub fn step_log(&self) -> String {
        let mut s = String::new();
        for (step, w) in self.wording() {
            s.push_str(&format!(
                "worded differently at step {step}: {}\n  {}\n  seen: {}\n",
                w.summary, w.expected, w.actual
            ));
        }
        for st in &self.steps {
            s.push_str(&format!(
                "[{}] step {} {} ({}) {:.2}s  at {}\n",
                match st.status {
                    StepStatus::Passed => "ok",
                    StepStatus::Failed => "FAILED",
                    StepStatus::Error => "ERROR",
                    StepStatus::NotRun => "not run",
                },
                st.index,
                st.summary,
                st.kind,
                st.duration.as_secs_f64(),
                st.location
            ));
            for l in &st.log {
                for line in l.lines() {
                    s.push_str("    ");
                    s.push_str(line);
                    s.push('\n');
                }
            }
            if let Some(e) = &st.error {
                for line in e.lines() {
                    s.push_str("    ! ");
                    s.push_str(line);
                    s.push('\n');
                }
            }
        }
        if !self.cleanup.detail.is_empty() {
            s.push_str(&format!("cleanup: {}\n", self.cleanup.detail));
        }
        s
    }
}

/// Durations as seconds with millisecond precision in JSON.
pub(crate) mod secs {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
    }
}

/// Wall-clock instants as RFC 3339 in JSON.
mod epoch {
    use std::time::SystemTime;
    pub fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let ts = k8s_openapi::jiff::Timestamp::try_from(*t).map_err(serde::ser::Error::custom)?;
        s.collect_str(&ts)
    }
}
