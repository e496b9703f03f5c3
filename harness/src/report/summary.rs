//! The summary printed at the end of a run: failures with expected vs actual, a table of
//! suites (passed / failed / skipped), the slowest cases, and the closing count line.

use std::fmt::Write;

use super::{Counts, RunReport};
use crate::runner::result::CaseStatus;

/// How many of the slowest cases to show.
const SLOWEST: usize = 5;

pub fn render(r: &RunReport) -> String {
    let mut s = String::new();
    let failed: Vec<_> = r.cases.iter().filter(|c| c.status.is_failure()).collect();
    if !failed.is_empty() {
        let _ = writeln!(s, "\nfailures:");
        for c in &failed {
            let _ = writeln!(s, "\n--- {} {} ({})", c.status.word(), c.id(), c.file);
            if let Some(f) = &c.failure {
                for l in f.detail.lines() {
                    let _ = writeln!(s, "    {l}");
                }
            }
            if !c.cleanup.is_empty() {
                let _ = writeln!(s, "    cleanup: {}", c.cleanup);
            }
        }
    }
    let w = r
        .by_suite()
        .iter()
        .map(|(n, _, _)| n.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        s,
        "\n{:<w$}  {:>6}  {:>6}  {:>7}  {:>8}",
        "suite", "passed", "failed", "skipped", "time"
    );
    for (name, _, cases) in r.by_suite() {
        let c = Counts::of(cases.iter().copied());
        let time = cases.iter().map(|c| c.duration).max().unwrap_or_default();
        let _ = writeln!(
            s,
            "{name:<w$}  {:>6}  {:>6}  {:>7}  {:>7.1}s",
            c.passed,
            c.failed + c.errors,
            c.skipped,
            time.as_secs_f64()
        );
    }
    let mut ran: Vec<_> = r
        .cases
        .iter()
        .filter(|c| !matches!(c.status, CaseStatus::Skipped(_)))
        .collect();
    ran.sort_by_key(|c| std::cmp::Reverse(c.duration));
    if !ran.is_empty() {
        let _ = writeln!(s, "\nslowest:");
        for c in ran.iter().take(SLOWEST) {
            let _ = writeln!(s, "  {:>7.1}s  {}", c.duration.as_secs_f64(), c.id());
        }
    }
    let cnt = r.counts;
    let on = if r.facts.provider.is_empty() {
        "no cluster".to_string()
    } else {
        format!("{} {}", r.facts.provider, r.facts.server_version)
    };
    let verdict = if cnt.all_passed() { "ok" } else { "FAILED" };
    let _ = writeln!(s, "\n{verdict} on {on} in {:.1}s", r.duration.as_secs_f64());
    // The plain closing line CI reads.
    let _ = writeln!(
        s,
        "{} passed, {} failed, {} skipped",
        cnt.passed,
        cnt.failed + cnt.errors,
        cnt.skipped
    );
    s
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn shows_failures_table_slowest_and_counts() {
        let s = render(&fixtures::report());
        assert!(
            s.contains("--- FAIL health::readiness (suites/health.yaml)"),
            "{s}"
        );
        assert!(s.contains("expected: Ready=True"), "{s}");
        assert!(
            s.contains("health       1       1        0     30.5s"),
            "{s}"
        );
        assert!(
            s.contains("access       0       1        1     30.5s"),
            "{s}"
        );
        assert!(s.contains("slowest:\n     30.5s  health::readiness"), "{s}");
        assert!(s.ends_with("1 passed, 2 failed, 1 skipped\n"), "{s}");
    }
}
