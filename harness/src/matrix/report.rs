//! The matrix: behaviour × target. Each cell says whether the behaviour conforms on that
//! implementation (every case covering it passed), conforms in other words than the notes'
//! (the text seen beside the notes'), was checked only in part, does not conform (a case
//! failed: which, and why in one line), could not be checked (an error), was not applicable
//! there (its cases need what the target lacks), or was not selected (the run's filter left
//! its cases out); a column whose cluster could not be had is "could not run", with why. Rows
//! where a column that ran differs from the first that ran come first: the differences are
//! the news. A column that could not run differs in nothing: it showed nothing.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::column::Column;
use crate::report::Judgement;

/// One cell's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    /// Conforms, in other words than the notes'.
    WordedDifferently,
    /// Conforms, but a case passed only on a retry.
    Flaky,
    CheckedInPart,
    Fail,
    CouldNotCheck,
    /// Its cases need what the target lacks (nodes, image features).
    NotApplicable,
    /// No selected case covers it.
    NotSelected,
    CouldNotRun,
}

impl Verdict {
    /// One character for the terminal grid.
    pub fn mark(self) -> &'static str {
        match self {
            Verdict::Pass => "✓",
            Verdict::WordedDifferently => "≈",
            Verdict::Flaky => "~",
            Verdict::CheckedInPart => "◐",
            Verdict::Fail => "✗",
            Verdict::CouldNotCheck => "!",
            Verdict::NotApplicable => "·",
            Verdict::NotSelected => " ",
            Verdict::CouldNotRun => "?",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::WordedDifferently => "worded differently",
            Verdict::Flaky => "flaky",
            Verdict::CheckedInPart => "checked in part",
            Verdict::Fail => "fail",
            Verdict::CouldNotCheck => "could not check",
            Verdict::NotApplicable => "not applicable",
            Verdict::NotSelected => "not selected",
            Verdict::CouldNotRun => "could not run",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub verdict: Verdict,
    /// The first case that failed (or erred), when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// Its one-line reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a text worded differently: the notes' text and the one seen (the first of them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wording: Option<crate::report::Wording>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub behaviour: String,
    pub text: String,
    /// Whether some column's verdict differs from the first column's.
    pub differs: bool,
    pub cells: Vec<Cell>,
}

/// Per column: how many behaviours got each verdict.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    pub worded_differently: usize,
    pub flaky: usize,
    pub checked_in_part: usize,
    pub fail: usize,
    pub could_not_check: usize,
    pub not_applicable: usize,
    pub not_selected: usize,
    pub could_not_run: usize,
}

/// A figure the cases measured (`record:`), per column: the median of its values, seconds.
#[derive(Clone, Debug, Serialize)]
pub struct TimingRow {
    pub metric: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Serialize)]
pub struct MatrixReport {
    #[serde(serialize_with = "ser_time")]
    pub generated: SystemTime,
    #[serde(serialize_with = "crate::runner::result::secs::serialize")]
    pub duration: Duration,
    pub columns: Vec<Column>,
    pub counts: Vec<Counts>,
    pub rows: Vec<Row>,
    pub timing: Vec<TimingRow>,
}

fn ser_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let ts = k8s_openapi::jiff::Timestamp::try_from(*t).map_err(serde::ser::Error::custom)?;
    s.collect_str(&ts)
}

/// The cell of `behaviour` in `col`.
fn cell(col: &Column, behaviour: &str) -> Cell {
    let Some(report) = &col.report else {
        return Cell {
            verdict: Verdict::CouldNotRun,
            case: None,
            reason: col.error.clone(),
            wording: None,
        };
    };
    let Some(b) = report.behaviours.iter().find(|b| b.id == behaviour) else {
        return Cell {
            verdict: Verdict::NotSelected,
            case: None,
            reason: None,
            wording: None,
        };
    };
    let verdict = match b.verdict {
        Judgement::Conforms => Verdict::Pass,
        Judgement::WordedDifferently => Verdict::WordedDifferently,
        Judgement::Flaky => Verdict::Flaky,
        Judgement::CheckedInPart => Verdict::CheckedInPart,
        Judgement::DoesNotConform => Verdict::Fail,
        Judgement::CouldNotCheck => Verdict::CouldNotCheck,
        Judgement::NotChecked => Verdict::NotApplicable,
        Judgement::NotSelected => Verdict::NotSelected,
    };
    let wording = b.wording.first().cloned();
    let (case, reason) = match (b.problems.first(), &wording, &b.unchecked) {
        (Some((c, m)), _, _) => (
            Some(c.clone()),
            Some(m.lines().next().unwrap_or("").to_string()),
        ),
        (None, Some(w), _) => (Some(w.case.clone()), Some(format!("seen: {}", w.seen))),
        (None, None, Some(why)) => (None, Some(why.clone())),
        (None, None, None) => (None, None),
    };
    Cell {
        verdict,
        case,
        reason,
        wording,
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

impl MatrixReport {
    /// The matrix of `columns` over the catalogue (`(id, text)`, in catalogue order).
    pub fn new(
        columns: Vec<Column>,
        catalogue: &[(String, String)],
        generated: SystemTime,
        duration: Duration,
    ) -> Self {
        let mut rows: Vec<Row> = catalogue
            .iter()
            .map(|(id, text)| {
                let cells: Vec<Cell> = columns.iter().map(|c| cell(c, id)).collect();
                // Among the columns that ran: one that could not run showed nothing.
                let ran: Vec<Verdict> = cells
                    .iter()
                    .map(|c| c.verdict)
                    .filter(|v| *v != Verdict::CouldNotRun)
                    .collect();
                let differs = ran.iter().any(|v| *v != ran[0]);
                Row {
                    behaviour: id.clone(),
                    text: text.clone(),
                    differs,
                    cells,
                }
            })
            .collect();
        // Differences first; each group in catalogue order (the sort is stable).
        rows.sort_by_key(|r| !r.differs);
        let counts = (0..columns.len())
            .map(|i| {
                let mut c = Counts::default();
                for r in &rows {
                    match r.cells[i].verdict {
                        Verdict::Pass => c.pass += 1,
                        Verdict::WordedDifferently => c.worded_differently += 1,
                        Verdict::Flaky => c.flaky += 1,
                        Verdict::CheckedInPart => c.checked_in_part += 1,
                        Verdict::Fail => c.fail += 1,
                        Verdict::CouldNotCheck => c.could_not_check += 1,
                        Verdict::NotApplicable => c.not_applicable += 1,
                        Verdict::NotSelected => c.not_selected += 1,
                        Verdict::CouldNotRun => c.could_not_run += 1,
                    }
                }
                c
            })
            .collect();
        let mut metrics: BTreeMap<String, Vec<Vec<f64>>> = BTreeMap::new();
        for (i, col) in columns.iter().enumerate() {
            for case in col.report.iter().flat_map(|r| r.cases.iter()) {
                for (name, v) in &case.metrics {
                    metrics
                        .entry(name.clone())
                        .or_insert_with(|| vec![Vec::new(); columns.len()])[i]
                        .push(*v);
                }
            }
        }
        let timing = metrics
            .into_iter()
            .map(|(metric, per)| TimingRow {
                metric,
                values: per.into_iter().map(median).collect(),
            })
            .collect();
        MatrixReport {
            generated,
            duration,
            columns,
            counts,
            rows,
            timing,
        }
    }

    /// Whether every column that ran agrees with the first on everything.
    pub fn differences(&self) -> usize {
        self.rows.iter().filter(|r| r.differs).count()
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A matrix as a run would make it: a baseline that passes, a fake kubelet that fails
    //! what needs a kubelet, a column that could not run.
    use super::*;
    use crate::matrix::column::{Column, Facts};
    use crate::matrix::target::TargetKind;
    use crate::report::{RunFacts, RunReport};
    use crate::runner::result::{CaseResult, CaseStatus, Failure};

    fn case(name: &str, covers: &[&str], status: CaseStatus, metric: Option<f64>) -> CaseResult {
        let mut r = crate::report::fixtures::case("s", name, status.clone());
        r.covers = covers.iter().map(|s| s.to_string()).collect();
        r.status = status;
        if r.status == CaseStatus::Failed {
            r.failure = Some(Failure {
                step: Some(3),
                message: format!(
                    "[{}] step 3 (logs pod/kuard) failed: the log did not match",
                    covers.join(", ")
                ),
                detail: String::new(),
                summary: Some("the log did not match".into()),
                expected: Some("x".into()),
                actual: Some("y".into()),
            });
        }
        if let Some(m) = metric {
            r.metrics.insert("liveness_kill_to_running".into(), m);
        }
        r
    }

    fn column(target: &str, kind: TargetKind, cases: Vec<CaseResult>) -> Column {
        let report = RunReport::new(
            RunFacts::default(),
            SystemTime::UNIX_EPOCH,
            Duration::from_secs(60),
            vec![("s".into(), "s.yaml".into())],
            cases,
        )
        .with_behaviours([
            "LOGS",
            "MANIFEST-VALIDATE",
            "POD-COLOCATE",
            "EXEC-NO-BASH",
            "CP",
        ]);
        Column {
            target: target.into(),
            kind,
            description: format!("the {target} column"),
            facts: Facts {
                kubernetes: "v1.37.2".into(),
                container_runtime: "containerd://1.6.20".into(),
                ..Facts::default()
            },
            report: Some(report),
            error: None,
            took: Duration::from_secs(90),
        }
    }

    /// POD-COLOCATE's one-node case checks it in part; the two-node one does not apply.
    fn colocate(kind: &str) -> Vec<CaseResult> {
        let mut in_part = case("one-node", &["POD-COLOCATE"], CaseStatus::Passed, None);
        in_part.covers_in_part = vec!["POD-COLOCATE".into()];
        let two = case(
            "two-nodes",
            &["POD-COLOCATE"],
            CaseStatus::Skipped(format!(
                "not applicable: needs 2 schedulable nodes, the {kind} cluster has 1"
            )),
            None,
        );
        vec![in_part, two]
    }

    /// EXEC-NO-BASH with the runtime's error worded as the notes word it, or otherwise.
    fn no_bash(worded_otherwise: bool) -> CaseResult {
        let mut c = case("no-bash", &["EXEC-NO-BASH"], CaseStatus::Passed, None);
        if worded_otherwise {
            c.steps[1].wording.push(crate::matchers::Mismatch::new(
                "stderr is worded otherwise than the notes word it",
                "as the notes word it: stderr to match /: unknown$/",
                "stderr: \"exec: \\\"bash\\\": executable file not found in $PATH\"",
            ));
        }
        c
    }

    pub fn matrix() -> MatrixReport {
        let mut kind_cases = vec![
            case("logs", &["LOGS"], CaseStatus::Passed, Some(1.0)),
            case("validate", &["MANIFEST-VALIDATE"], CaseStatus::Passed, None),
            no_bash(false),
        ];
        kind_cases.extend(colocate("kind"));
        let kind = column("kind", TargetKind::Baseline, kind_cases);
        let mut kwok_cases = vec![
            case("logs", &["LOGS"], CaseStatus::Failed, None),
            case("validate", &["MANIFEST-VALIDATE"], CaseStatus::Passed, None),
            no_bash(true),
        ];
        kwok_cases.extend(colocate("kwok").into_iter().skip(1));
        let kwok = column("kwok", TargetKind::NegativeControl, kwok_cases);
        let mut down = column("gvisor", TargetKind::Runtime, Vec::new());
        down.report = None;
        down.error = Some("the recipe gvisor/build failed".into());
        let catalogue = [
            ("LOGS".to_string(), "logs".to_string()),
            ("MANIFEST-VALIDATE".into(), "validate".into()),
            ("POD-COLOCATE".into(), "colocate".into()),
            ("EXEC-NO-BASH".into(), "no bash".into()),
            ("CP".into(), "cp".into()),
        ];
        MatrixReport::new(
            vec![kind, kwok, down],
            &catalogue,
            SystemTime::UNIX_EPOCH,
            Duration::from_secs(300),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_counts_and_the_differences_first() {
        let m = fixtures::matrix();
        // The rows where kwok differs from kind come first, in catalogue order; the column
        // that could not run differs in nothing, and a behaviour no case covers is the same
        // (not selected) everywhere.
        let order: Vec<(&str, bool)> = m
            .rows
            .iter()
            .map(|r| (r.behaviour.as_str(), r.differs))
            .collect();
        assert_eq!(
            order,
            [
                ("LOGS", true),
                ("POD-COLOCATE", true),
                ("EXEC-NO-BASH", true),
                ("MANIFEST-VALIDATE", false),
                ("CP", false)
            ]
        );
        assert_eq!(m.differences(), 3);
        assert_eq!(m.rows[0].behaviour, "LOGS");
        let logs = &m.rows[0];
        assert_eq!(
            logs.cells.iter().map(|c| c.verdict).collect::<Vec<_>>(),
            [Verdict::Pass, Verdict::Fail, Verdict::CouldNotRun]
        );
        assert_eq!(logs.cells[1].case.as_deref(), Some("s::logs"));
        assert!(
            logs.cells[1]
                .reason
                .as_deref()
                .unwrap()
                .contains("the log did not match")
        );
        let colocate = m
            .rows
            .iter()
            .find(|r| r.behaviour == "POD-COLOCATE")
            .unwrap();
        // In part on one node where the one-node case ran; not applicable where none did.
        assert_eq!(
            colocate.cells.iter().map(|c| c.verdict).collect::<Vec<_>>(),
            [
                Verdict::CheckedInPart,
                Verdict::NotApplicable,
                Verdict::CouldNotRun
            ]
        );
        assert!(
            colocate.cells[1]
                .reason
                .as_deref()
                .unwrap()
                .contains("needs 2 schedulable nodes"),
            "{:?}",
            colocate.cells[1]
        );
        let no_bash = m
            .rows
            .iter()
            .find(|r| r.behaviour == "EXEC-NO-BASH")
            .unwrap();
        assert_eq!(no_bash.cells[0].verdict, Verdict::Pass);
        assert_eq!(no_bash.cells[1].verdict, Verdict::WordedDifferently);
        let w = no_bash.cells[1].wording.as_ref().unwrap();
        assert_eq!(
            w.notes,
            "as the notes word it: stderr to match /: unknown$/"
        );
        assert!(
            w.seen.contains("executable file not found in $PATH"),
            "{w:?}"
        );
        let cp = m.rows.iter().find(|r| r.behaviour == "CP").unwrap();
        assert_eq!(cp.cells[0].verdict, Verdict::NotSelected);
        assert_eq!(
            m.counts[1],
            Counts {
                pass: 1,
                worded_differently: 1,
                fail: 1,
                not_applicable: 1,
                not_selected: 1,
                ..Counts::default()
            }
        );
        assert_eq!(m.counts[2].could_not_run, 5);
        assert_eq!(m.timing[0].metric, "liveness_kill_to_running");
        assert_eq!(m.timing[0].values, vec![Some(1.0), None, None]);
    }

    #[test]
    fn the_renderings_say_the_same() {
        let m = fixtures::matrix();
        let t = crate::matrix::render::terminal(&m);
        assert!(
            t.contains("LOGS on kwok: fail — s::logs: [LOGS] step 3"),
            "{t}"
        );
        assert!(
            t.contains("EXEC-NO-BASH on kwok: worded differently — s::no-bash: as the notes word it: stderr to match /: unknown$/; seen: stderr:"),
            "{t}"
        );
        assert!(
            t.contains("3 behaviour(s) differ between the 2 target(s) that ran; 1 could not run and show nothing; 1 not selected by the run's filter"),
            "{t}"
        );
        assert!(
            t.contains("gvisor could not run: the recipe gvisor/build failed"),
            "{t}"
        );
        let md = crate::matrix::render::markdown(&m);
        assert!(
            md.contains("| **LOGS** | ✓ pass | ✗ fail: s::logs: [LOGS] step 3"),
            "{md}"
        );
        let html = crate::matrix::render::html(&m);
        assert_eq!(html.matches("data-verdict=\"fail\"").count(), 1);
        assert_eq!(
            html.matches("data-verdict=\"worded-differently\"").count(),
            1
        );
        assert!(
            html.contains("data-target=\"kwok\" data-count=\"pass\" data-value=\"1\""),
            "{html}"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://") && !html.contains("src="),
            "self-contained"
        );
    }
}
