//! The matrix's own test: each target says which behaviours must not conform on it and which
//! conform in words of their own (the rest that ran must conform, as far as they were
//! checked), and the matrix checks that it showed exactly that. The baseline and the real
//! runtimes say what they do not do; the fake kubelets, everything a kubelet does.

use super::report::{MatrixReport, Verdict};
use super::target::Target;

/// Every way the matrix differs from what the targets expect (empty: as expected).
pub fn check(report: &MatrixReport, targets: &[Target]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, col) in report.columns.iter().enumerate() {
        let Some(t) = targets.iter().find(|t| t.name == col.target) else {
            continue;
        };
        if col.error.is_some() {
            problems.push(format!(
                "{}: could not run: {}",
                col.target,
                col.error.as_deref().unwrap_or("")
            ));
            continue;
        }
        let all = t.expect.does_not_conform.iter().any(|x| x == "all");
        for row in &report.rows {
            let cell = &row.cells[i];
            if matches!(cell.verdict, Verdict::NotApplicable | Verdict::NotSelected) {
                continue;
            }
            let must_fail = (all && !t.expect.conforms.contains(&row.behaviour))
                || t.expect.does_not_conform.contains(&row.behaviour);
            let want = if must_fail {
                Verdict::Fail
            } else if t.expect.worded_differently.contains(&row.behaviour) {
                Verdict::WordedDifferently
            } else {
                Verdict::Pass
            };
            // Conforming as far as it was checked is what "conforms" can ask of a column
            // whose whole check did not apply (one node).
            let as_wanted = cell.verdict == want
                || (want == Verdict::Pass && cell.verdict == Verdict::CheckedInPart);
            if !as_wanted {
                problems.push(format!(
                    "{}: {} is `{}`, but the target says it must be `{}`{}",
                    col.target,
                    row.behaviour,
                    cell.verdict.word(),
                    want.word(),
                    match (&cell.case, &cell.reason) {
                        (Some(c), Some(r)) => format!(" ({c}: {r})"),
                        _ => String::new(),
                    }
                ));
            }
        }
    }
    problems
}
