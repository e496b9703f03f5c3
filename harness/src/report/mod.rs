//! Reports of a run: JUnit XML ([`junit`], what CI systems read), JSON with per-step timings
//! ([`json`]), the terminal summary ([`summary`]) and the live progress display
//! ([`progress`]). All are made from one [`RunReport`].

pub mod diff;
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
    /// Where the run's pods went (`runtimeClassName …, nodeSelector …`), when placed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub placement: String,
}

impl RunFacts {
    /// The facts of a run on `env`.
    pub fn of(
        run_id: &str,
        env: &crate::runner::Environment,
        images_mode: crate::runner::setup::ImagesMode,
    ) -> Self {
        RunFacts {
            run_id: run_id.to_string(),
            provider: env.info.provider.to_string(),
            server_version: env.info.server_version.clone(),
            node_image: env.info.node_image.clone(),
            images_mode: images_mode.name().to_string(),
            images: env.images.clone(),
            placement: env.placement.summary(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub facts: RunFacts,
    #[serde(serialize_with = "ser_time")]
    pub started: SystemTime,
    /// The whole run: cluster set-up, cases, the wait for their cleanup.
    #[serde(serialize_with = "ser_secs")]
    pub duration: Duration,
    pub counts: Counts,
    /// What the run means: conforms, does not conform, or could not check.
    pub verdict: Verdict,
    /// The run's timing against its longest case.
    pub timing: Timing,
    /// Per behaviour of the catalogue: conforms when every case covering it passed.
    pub behaviours: Vec<BehaviourVerdict>,
    /// Namespaces of the run still there after its cleanup (must be none).
    pub leftovers: Vec<String>,
    /// Suite names with their files, in load order (reports keep it).
    pub suites: Vec<(String, String)>,
    pub cases: Vec<CaseResult>,
}

/// A run's verdict: what a nightly job needs to tell apart. The exit code follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every case ran and passed, and nothing was left behind.
    Conforms,
    /// At least one behaviour did not hold: the implementation does not conform.
    DoesNotConform,
    /// No behaviour failed, but something could not be checked (the cluster was
    /// unreachable, a set-up failed, the run was interrupted or left namespaces behind).
    CouldNotCheck,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Conforms => "ok",
            Verdict::DoesNotConform => "DOES NOT CONFORM",
            Verdict::CouldNotCheck => "COULD NOT CHECK",
        }
    }
}

/// How long the cases took against the longest of them: the run cannot be faster than its
/// longest case, so this is what "fast" is measured against.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timing {
    /// From the run's start (before its cluster) to the first case's start: the run's fixed
    /// cost before any case can run.
    #[serde(serialize_with = "ser_secs")]
    pub first_case_after: Duration,
    /// From the first case's start to the last case's verdict.
    #[serde(serialize_with = "ser_secs")]
    pub cases_wall: Duration,
    /// From the last verdict until every namespace of the run was gone.
    #[serde(serialize_with = "ser_secs")]
    pub cleanup_tail: Duration,
    /// The case with the longest step time, and that time.
    pub longest_case: String,
    #[serde(serialize_with = "ser_secs")]
    pub longest_steps: Duration,
    /// Rounds of the run (`--repeat`): the figures are those of its median round.
    pub rounds: usize,
}

impl Timing {
    /// `cases_wall / longest_steps`: 1.0 is as fast as the slowest case allows.
    pub fn ratio(&self) -> f64 {
        if self.longest_steps.is_zero() {
            0.0
        } else {
            self.cases_wall.as_secs_f64() / self.longest_steps.as_secs_f64()
        }
    }
}

/// What a run says of one behaviour, from the cases that cover it (self-tests and mutants do
/// not count).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Judgement {
    /// Every covering case that ran passed, one that checks it whole among them, and every
    /// text was worded as the notes word it.
    Conforms,
    /// As `Conforms`, but a text held what the behaviour needs in other words than the notes'.
    WordedDifferently,
    /// The covering cases that ran passed, but none of them checks the behaviour whole (the
    /// one that does did not apply here): it is not said to conform.
    CheckedInPart,
    /// A covering case failed: the behaviour did not hold.
    DoesNotConform,
    /// A covering case could not be carried out.
    CouldNotCheck,
    /// The covering cases passed, one only after failing first (`--retries`): its own
    /// verdict, never a silent pass.
    Flaky,
    /// Cases of the run cover it, but none applied (what it needs the run lacks) or ran.
    NotChecked,
    /// No case of the run's selection covers it (`--filter` or `--partition` left them out).
    NotSelected,
}

impl Judgement {
    pub fn word(self) -> &'static str {
        match self {
            Judgement::Conforms => "conforms",
            Judgement::WordedDifferently => "conforms, worded differently",
            Judgement::CheckedInPart => "checked in part",
            Judgement::DoesNotConform => "does not conform",
            Judgement::CouldNotCheck => "could not check",
            Judgement::Flaky => "conforms, flaky",
            Judgement::NotChecked => "not checked",
            Judgement::NotSelected => "not selected",
        }
    }

    /// The behaviour was checked and held (in the notes' words or others).
    pub fn holds(self) -> bool {
        matches!(self, Judgement::Conforms | Judgement::WordedDifferently)
    }
}

/// A text a case saw in other words than the notes'.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Wording {
    pub case: String,
    pub step: usize,
    /// The notes' text (as the suite gives it).
    pub notes: String,
    /// The text seen.
    pub seen: String,
}

/// One behaviour's verdict in a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BehaviourVerdict {
    pub id: String,
    pub verdict: Judgement,
    /// The cases that cover it (self-tests and mutants do not count).
    pub cases: Vec<String>,
    /// Those that failed or could not run, with their one-line messages.
    pub problems: Vec<(String, String)>,
    /// Texts worded otherwise than the notes word them, when it conforms so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wording: Vec<Wording>,
    /// Why it was not checked, or checked only in part: the reason of a covering case that
    /// did not apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchecked: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
    /// Of `passed`, those that passed only on a retry.
    pub flaky: usize,
}

impl Counts {
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> Self {
        let mut c = Counts::default();
        for r in cases {
            c.flaky += usize::from(r.is_flaky());
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
        let mut r = RunReport {
            facts,
            started,
            duration,
            counts: Counts::of(&cases),
            verdict: Verdict::Conforms,
            timing: Timing::default(),
            behaviours: Vec::new(),
            leftovers: Vec::new(),
            suites,
            cases,
        };
        r.timing = r.measure(Duration::ZERO);
        r.verdict = r.judge();
        r
    }

    /// The namespaces the run left, and how long its cleanup ran after the last verdict.
    pub fn with_cleanup(mut self, leftovers: Vec<String>, tail: Duration) -> Self {
        self.leftovers = leftovers;
        self.timing = self.measure(tail);
        self.verdict = self.judge();
        self
    }

    /// A verdict per behaviour of `catalogue`, from the cases that cover it.
    pub fn with_behaviours<'a>(mut self, ids: impl IntoIterator<Item = &'a str>) -> Self {
        self.behaviours = ids
            .into_iter()
            .map(|id| judge_behaviour(id, &self.cases))
            .collect();
        self
    }

    fn judge(&self) -> Verdict {
        if self.counts.failed > 0 {
            Verdict::DoesNotConform
        } else if self.counts.errors > 0 || !self.leftovers.is_empty() || self.counts.passed == 0 {
            // A run in which no case passed checked nothing, even when nothing failed: every
            // case skipped (not applicable here) is no evidence of conformance.
            Verdict::CouldNotCheck
        } else {
            Verdict::Conforms
        }
    }

    /// The run's timing; with `--repeat`, that of the round with the median ratio (the
    /// rounds run one after the other, so the whole run's wall time says nothing).
    fn measure(&self, cleanup_tail: Duration) -> Timing {
        let mut rounds: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
        for c in self
            .cases
            .iter()
            .filter(|c| !matches!(c.status, CaseStatus::Skipped(_)))
        {
            let round = c.case.rsplit_once(" #").map_or("", |(_, r)| r);
            rounds.entry(round).or_default().push(c);
        }
        let first_case_after = rounds
            .values()
            .flatten()
            .map(|c| c.started)
            .min()
            .and_then(|f| f.duration_since(self.started).ok())
            .unwrap_or_default();
        let mut timings: Vec<Timing> = rounds
            .values()
            .map(|ran| {
                let first = ran.iter().map(|c| c.started).min();
                let last = ran.iter().map(|c| c.started + c.duration).max();
                let longest = ran.iter().max_by_key(|c| c.step_time);
                Timing {
                    first_case_after,
                    cases_wall: match (first, last) {
                        (Some(f), Some(l)) => l.duration_since(f).unwrap_or_default(),
                        _ => Duration::ZERO,
                    },
                    cleanup_tail,
                    longest_case: longest.map(|c| c.id()).unwrap_or_default(),
                    longest_steps: longest.map(|c| c.step_time).unwrap_or_default(),
                    rounds: rounds.len(),
                }
            })
            .collect();
        timings.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
        let n = timings.len();
        if n == 0 {
            return Timing {
                cleanup_tail,
                ..Timing::default()
            };
        }
        timings.swap_remove(n / 2)
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

/// What the cases that cover `id` say of it.
fn judge_behaviour(id: &str, cases: &[CaseResult]) -> BehaviourVerdict {
    let covering: Vec<&CaseResult> = cases
        .iter()
        .filter(|c| !c.self_test && c.covers.iter().any(|x| x == id))
        .collect();
    let problems: Vec<(String, String)> = covering
        .iter()
        .filter(|c| c.status.is_failure())
        .map(|c| {
            let message = c.failure.as_ref().map(|f| f.message.clone());
            (c.id(), message.unwrap_or_default())
        })
        .collect();
    let passed: Vec<&&CaseResult> = covering
        .iter()
        .filter(|c| c.status == CaseStatus::Passed)
        .collect();
    let whole = passed
        .iter()
        .any(|c| !c.covers_in_part.iter().any(|x| x == id));
    let wording: Vec<Wording> = passed
        .iter()
        .flat_map(|c| {
            c.steps.iter().flat_map(move |s| {
                s.wording.iter().map(move |w| Wording {
                    case: c.id(),
                    step: s.index,
                    notes: w.expected.clone(),
                    seen: w.actual.clone(),
                })
            })
        })
        .collect();
    // A covering case that did not run, and why: what a "not checked" or "in part" says.
    let unchecked = covering.iter().find_map(|c| match &c.status {
        CaseStatus::Skipped(why) => Some(format!("{}: {why}", c.id())),
        _ => None,
    });
    let verdict = if covering.is_empty() {
        Judgement::NotSelected
    } else if covering.iter().any(|c| c.status == CaseStatus::Failed) {
        Judgement::DoesNotConform
    } else if covering.iter().any(|c| c.status == CaseStatus::Error) {
        Judgement::CouldNotCheck
    } else if passed.is_empty() {
        Judgement::NotChecked
    } else if !whole {
        Judgement::CheckedInPart
    } else if passed.iter().any(|c| c.is_flaky()) {
        Judgement::Flaky
    } else if !wording.is_empty() {
        Judgement::WordedDifferently
    } else {
        Judgement::Conforms
    };
    BehaviourVerdict {
        id: id.to_string(),
        verdict,
        cases: covering.iter().map(|c| c.id()).collect(),
        problems,
        unchecked: (!matches!(verdict, Judgement::Conforms | Judgement::WordedDifferently))
            .then_some(unchecked)
            .flatten(),
        wording,
    }
}

/// Where reports go by default: `reports/` of the repository (git-ignored).
pub fn default_paths() -> (PathBuf, PathBuf) {
    let dir = crate::paths::reports_dir();
    (dir.join("podcheck.junit.xml"), dir.join("podcheck.json"))
}

/// A report that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing {}", .0.display())]
    Io(PathBuf, #[source] std::io::Error),
    #[error("the JUnit report")]
    Junit(#[from] quick_junit::SerializeError),
    #[error("the JSON report")]
    Json(#[from] serde_json::Error),
}

/// Write `data` to `path`, creating its directory.
pub fn write_file(path: &Path, data: &[u8]) -> Result<(), WriteError> {
    let io = |e| WriteError::Io(path.to_path_buf(), e);
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io)?;
    }
    std::fs::write(path, data).map_err(io)
}

/// A run's JUnit and JSON reports, at these paths.
pub fn write_run(r: &RunReport, junit: &Path, json: &Path) -> Result<(), WriteError> {
    write_file(junit, junit::to_string(r)?.as_bytes())?;
    write_file(json, json::to_string(r)?.as_bytes())
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

fn ser_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let ts = k8s_openapi::jiff::Timestamp::try_from(*t).map_err(serde::ser::Error::custom)?;
    s.collect_str(&ts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::Mismatch;

    fn case(name: &str, status: CaseStatus) -> CaseResult {
        let mut c = fixtures::case("s", name, status);
        c.covers = vec!["B".into()];
        c
    }

    fn judged(cases: &[CaseResult]) -> BehaviourVerdict {
        judge_behaviour("B", cases)
    }

    /// A behaviour is said to conform only on a whole check that ran and passed; what was
    /// worded otherwise, checked in part, not checked or not selected is said as such.
    #[test]
    fn a_behaviour_is_judged_on_what_checked_it() {
        let pass = case("whole", CaseStatus::Passed);
        assert_eq!(
            judged(std::slice::from_ref(&pass)).verdict,
            Judgement::Conforms
        );

        let mut worded = pass.clone();
        worded.steps[1].wording.push(Mismatch::new(
            "stderr is worded otherwise",
            "the notes' text",
            "another",
        ));
        let v = judged(&[worded.clone()]);
        assert_eq!(v.verdict, Judgement::WordedDifferently);
        assert_eq!(
            (v.wording[0].notes.as_str(), v.wording[0].seen.as_str()),
            ("the notes' text", "another")
        );
        assert_eq!(v.wording[0].step, 2);

        let mut in_part = case("weak", CaseStatus::Passed);
        in_part.covers_in_part = vec!["B".into()];
        let n_a = case(
            "strong",
            CaseStatus::Skipped(
                "not applicable: needs 2 schedulable nodes, the cluster has 1".into(),
            ),
        );
        let v = judged(&[in_part.clone(), n_a.clone()]);
        assert_eq!(v.verdict, Judgement::CheckedInPart);
        assert!(
            v.unchecked
                .as_deref()
                .unwrap()
                .contains("needs 2 schedulable nodes")
        );
        // The strong case passing makes it conform; a failure anywhere does not.
        assert_eq!(
            judged(&[in_part.clone(), pass.clone()]).verdict,
            Judgement::Conforms
        );
        assert_eq!(
            judged(&[pass.clone(), case("bad", CaseStatus::Failed)]).verdict,
            Judgement::DoesNotConform
        );
        assert_eq!(judged(&[n_a]).verdict, Judgement::NotChecked);
        assert_eq!(judged(&[]).verdict, Judgement::NotSelected);
        // A pass after a failure is its own verdict, in every report.
        let mut flaky = pass.clone();
        flaky.earlier.push(crate::runner::result::Attempt {
            namespace: "pc-abc123-s-whole".into(),
            failure: fixtures::case("s", "whole", CaseStatus::Failed)
                .failure
                .unwrap(),
        });
        assert_eq!(judged(&[flaky.clone()]).verdict, Judgement::Flaky);
        let mut r = fixtures::report();
        r.cases = vec![flaky];
        r.counts = Counts::of(&r.cases);
        assert_eq!(r.counts.flaky, 1);
        let xml = junit::to_string(&r).unwrap();
        assert!(xml.contains("<flakyFailure"), "{xml}");
        let text = summary::render(&r);
        assert!(text.contains("--- FLAKY s::whole"), "{text}");
        assert!(text.contains("(1 of the passed flaky)"), "{text}");
        let mut mutant = case("mutant", CaseStatus::Passed);
        mutant.self_test = true;
        assert_eq!(judged(&[mutant]).verdict, Judgement::NotSelected);
    }

    #[test]
    fn the_closing_line_says_how_much_the_run_covers() {
        let mut r = fixtures::report();
        r.cases = vec![case("whole", CaseStatus::Passed)];
        r.counts = Counts::of(&r.cases);
        r.verdict = r.judge();
        let r = r.with_behaviours(["B", "OTHER"]);
        let s = summary::render(&r);
        assert!(
            s.contains("ok: conforms on 1 of 2 behaviours; 1 not selected: OTHER (on kind v1.37.2"),
            "{s}"
        );
    }
    /// Nothing failed, but nothing passed either: every case was not applicable here. That
    /// checked nothing, and says so.
    #[test]
    fn a_run_in_which_every_case_was_skipped_could_not_check() {
        let mut r = fixtures::report();
        r.cases = vec![
            case(
                "a",
                CaseStatus::Skipped(
                    "not applicable: needs 1 schedulable nodes, the cluster has 0".into(),
                ),
            ),
            case(
                "b",
                CaseStatus::Skipped(
                    "not applicable: needs 1 schedulable nodes, the cluster has 0".into(),
                ),
            ),
        ];
        r.counts = Counts::of(&r.cases);
        r.verdict = r.judge();
        assert_eq!(r.verdict, Verdict::CouldNotCheck);
        let s = summary::render(&r.with_behaviours(["B"]));
        assert!(
            s.contains("COULD NOT CHECK: no case passed: nothing was checked"),
            "{s}"
        );
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Results as a run would make them, for report tests.
    use super::*;
    use crate::matchers::Mismatch;
    use crate::runner::result::{Failure, StepResult, StepStatus};

    pub fn step(index: usize, status: StepStatus) -> StepResult {
        StepResult {
            index,
            kind: "wait",
            title: "wait pod/kuard: condition Ready".into(),
            summary: "wait pod/kuard: condition Ready".into(),
            location: "suites/health.yaml:9:9".into(),
            status,
            duration: Duration::from_millis(1250),
            timeout: Duration::from_secs(120),
            log: vec!["pod/kuard: held after 1.25s".into()],
            metrics: Default::default(),
            wording: Vec::new(),
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
            covers_in_part: Vec::new(),
            namespace: format!("pc-abc123-{suite}-{name}"),
            status,
            duration: Duration::from_millis(if failing { 30_500 } else { 4_200 }),
            step_time: Duration::from_millis(if failing { 30_100 } else { 3_900 }),
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000),
            steps: vec![
                step(1, StepStatus::Passed),
                step(2, if failing { StepStatus::Failed } else { StepStatus::Passed }),
            ],
            failure: failing.then(|| Failure {
                step: Some(2),
                message: "[LIVENESS-HTTP] step 2 (wait pod/kuard: condition Ready) failed: timed out after 30.0s: condition Ready does not hold".into(),
                detail: format!("{}", Mismatch::new("condition Ready does not hold", "Ready=True", "Ready=False, reason: \"ContainersNotReady\"")),
                summary: Some("condition Ready does not hold".into()),
                expected: Some("Ready=True".into()),
                actual: Some("Ready=False, reason: \"ContainersNotReady\"".into()),
            }),
            self_test: false,
            expected_failure: false,
            metrics: Default::default(),
            diagnostics: if failing { "== kubectl describe pod kuard\nName: kuard\n".into() } else { String::new() },
            cleanup: crate::runner::janitor::Cleanup {
                status: crate::runner::janitor::CleanupStatus::Deleted,
                detail: "namespace deleted in 5.1s".into(),
                duration: Duration::from_millis(5_100),
            },
            earlier: Vec::new(),
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
                placement: String::new(),
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
