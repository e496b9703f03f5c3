//! Reports of a run: JUnit XML ([`junit`], what CI systems read), JSON with per-step timings
//! ([`json`]), the terminal summary ([`summary`]) and the live progress display
//! ([`progress`]). All are made from one [`RunReport`].

pub mod json;
pub mod junit;
pub mod progress;
pub mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::runner::result::{CaseResult, CaseStatus};

/// Facts about where the run ran, carried as JUnit properties and in the JSON.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunFacts {
    pub run_id: String,
    pub provider: String,
    pub server_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_image: Option<String>,
    pub images_mode: String,
    pub images: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub facts: RunFacts,
    #[serde(serialize_with = "ser_time")]
    pub started: SystemTime,
    #[serde(serialize_with = "ser_secs")]
    pub duration: Duration,
    pub counts: Counts,
    /// Suite names with their files, in load order (reports keep it).
    pub suites: Vec<(String, String)>,
    pub cases: Vec<CaseResult>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> Self {
        let mut c = Counts::default();
        for r in cases {
            match r.status {
                CaseStatus::Passed => c.passed += 1,
                CaseStatus::Failed => c.failed += 1,
                CaseStatus::Error => c.errors += 1,
                CaseStatus::Skipped(_) => c.skipped += 1,
            }
        }
        c
    }

    pub fn total(&self) -> usize {
        self.passed + self.failed + self.errors + self.skipped
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.errors == 0
    }
}

impl RunReport {
    pub fn new(
        facts: RunFacts,
        started: SystemTime,
        duration: Duration,
        suites: Vec<(String, String)>,
        cases: Vec<CaseResult>,
    ) -> Self {
        RunReport {
            facts,
            started,
            duration,
            counts: Counts::of(&cases),
            suites,
            cases,
        }
    }

    /// Results grouped by suite, in suite order.
    pub fn by_suite(&self) -> Vec<(&str, &str, Vec<&CaseResult>)> {
        let mut out: Vec<(&str, &str, Vec<&CaseResult>)> = self
            .suites
            .iter()
            .map(|(n, f)| (n.as_str(), f.as_str(), Vec::new()))
            .collect();
        for c in &self.cases {
            match out.iter_mut().find(|(n, _, _)| *n == c.suite) {
                Some((_, _, v)) => v.push(c),
                None => out.push((c.suite.as_str(), c.file.as_str(), vec![c])),
            }
        }
        out.retain(|(_, _, v)| !v.is_empty());
        out
    }
}

/// Where reports go by default: `reports/` of the repository (git-ignored).
pub fn default_paths() -> (PathBuf, PathBuf) {
    let dir = crate::paths::reports_dir();
    (dir.join("podcheck.junit.xml"), dir.join("podcheck.json"))
}

/// Write `data` to `path`, creating its directory.
pub fn write_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(path, data)
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

fn ser_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let ts = k8s_openapi::jiff::Timestamp::try_from(*t).map_err(serde::ser::Error::custom)?;
    s.collect_str(&ts)
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Results as a run would make them, for report tests.
    use super::*;
    use crate::runner::result::{Failure, StepResult, StepStatus};
    use crate::suite::Mismatch;

    pub fn step(index: usize, status: StepStatus) -> StepResult {
        StepResult {
            index,
            kind: "wait",
            summary: "wait pod/kuard: condition Ready".into(),
            location: "suites/health.yaml:9:9".into(),
            status,
            duration: Duration::from_millis(1250),
            timeout: Duration::from_secs(120),
            log: vec!["pod/kuard: held after 1.25s".into()],
            error: None,
            mismatch: None,
        }
    }

    pub fn case(suite: &str, name: &str, status: CaseStatus) -> CaseResult {
        let failing = status.is_failure();
        CaseResult {
            suite: suite.into(),
            case: name.into(),
            file: format!("suites/{suite}.yaml"),
            covers: vec!["LIVENESS-HTTP".into()],
            namespace: format!("pc-abc123-{suite}-{name}"),
            status,
            duration: Duration::from_millis(if failing { 30_500 } else { 4_200 }),
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
            steps: vec![
                step(1, StepStatus::Passed),
                step(2, if failing { StepStatus::Failed } else { StepStatus::Passed }),
            ],
            failure: failing.then(|| Failure {
                step: Some(2),
                message: "[LIVENESS-HTTP] step 2 (wait pod/kuard: condition Ready) failed: timed out after 30.0s: condition Ready does not hold".into(),
                detail: format!("{}", Mismatch::new("condition Ready does not hold", "Ready=True", "Ready=False, reason: \"ContainersNotReady\"")),
                expected: Some("Ready=True".into()),
                actual: Some("Ready=False, reason: \"ContainersNotReady\"".into()),
            }),
            expected_failure: false,
            diagnostics: if failing { "== kubectl describe pod kuard\nName: kuard\n".into() } else { String::new() },
            cleanup: "namespace deleted in 5.1s".into(),
        }
    }

    pub fn report() -> RunReport {
        RunReport::new(
            RunFacts {
                run_id: "abc123".into(),
                provider: "kind".into(),
                server_version: "v1.37.2".into(),
                node_image: Some("podcheck/node:v1.37.2".into()),
                images_mode: "offline".into(),
                images: [(
                    "kuard".to_string(),
                    "podcheck.local/kuard:0123456789ab".to_string(),
                )]
                .into(),
            },
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
            Duration::from_secs(42),
            vec![
                ("health".into(), "suites/health.yaml".into()),
                ("access".into(), "suites/access.yaml".into()),
            ],
            vec![
                case("health", "liveness", CaseStatus::Passed),
                case("health", "readiness", CaseStatus::Failed),
                case("access", "exec", CaseStatus::Error),
                case(
                    "access",
                    "tty",
                    CaseStatus::Skipped("ignored: needs a tty".into()),
                ),
            ],
        )
    }
}
