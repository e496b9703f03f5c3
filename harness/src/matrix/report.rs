//! The matrix: behaviour × target. Each cell says whether the behaviour conforms on that
//! implementation (every case covering it passed), does not (a case failed: which, and why
//! in one line), could not be checked (an error), or was not run (no selected case covers
//! it); a column whose cluster could not be had is "could not run", with why. Rows where a
//! column differs from the first come first: the differences are the news.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::column::Column;

/// One cell's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    CouldNotCheck,
    NotApplicable,
    CouldNotRun,
}

impl Verdict {
    /// One character for the terminal grid.
    pub fn mark(self) -> &'static str {
        match self {
            Verdict::Pass => "✓",
            Verdict::Fail => "✗",
            Verdict::CouldNotCheck => "!",
            Verdict::NotApplicable => "·",
            Verdict::CouldNotRun => "?",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::CouldNotCheck => "could not check",
            Verdict::NotApplicable => "not applicable",
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
    pub fail: usize,
    pub could_not_check: usize,
    pub not_applicable: usize,
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
        };
    };
    let Some(b) = report.behaviours.iter().find(|b| b.id == behaviour) else {
        return Cell {
            verdict: Verdict::NotApplicable,
            case: None,
            reason: None,
        };
    };
    let verdict = match b.verdict {
        "conforms" => Verdict::Pass,
        "does-not-conform" => Verdict::Fail,
        "could-not-check" => Verdict::CouldNotCheck,
        _ => Verdict::NotApplicable,
    };
    let first = b.problems.first();
    Cell {
        verdict,
        case: first.map(|(c, _)| c.clone()),
        reason: first.map(|(_, m)| m.lines().next().unwrap_or("").to_string()),
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
                let differs = cells.iter().any(|c| c.verdict != cells[0].verdict);
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
                        Verdict::Fail => c.fail += 1,
                        Verdict::CouldNotCheck => c.could_not_check += 1,
                        Verdict::NotApplicable => c.not_applicable += 1,
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
