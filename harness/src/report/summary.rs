//! The summary printed at the end of a run: failures with expected vs actual, a table of
//! suites (passed / failed / skipped), the slowest cases, and the closing count line.

use std::fmt::Write;

use super::{Counts, Judgement, RunReport, Verdict};
use crate::runner::result::CaseStatus;

/// How many of the slowest cases to show.
const SLOWEST: usize = 5;

pub fn render(r: &RunReport) -> String {
    let mut s = String::new();
    failures(&mut s, r);
    flaky(&mut s, r);
    suites_table(&mut s, r);
    slowest(&mut s, r);
    closing(&mut s, r);
    s
}

/// The cases that passed only on a retry, with the failures each had first.
fn flaky(s: &mut String, r: &RunReport) {
    let flaky: Vec<_> = r.cases.iter().filter(|c| c.is_flaky()).collect();
    if flaky.is_empty() {
        return;
    }
    let _ = writeln!(s, "\nflaky (passed only on a retry):");
    for c in flaky {
        let _ = writeln!(s, "\n--- FLAKY {} ({})", c.id(), c.file);
        for a in &c.earlier {
            let _ = writeln!(
                s,
                "    failed first in {}: {}",
                a.namespace, a.failure.message
            );
        }
    }
}

fn failures(s: &mut String, r: &RunReport) {
    let failed: Vec<_> = r.cases.iter().filter(|c| c.status.is_failure()).collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(s, "\nfailures:");
    for c in &failed {
        let _ = writeln!(s, "\n--- {} {} ({})", c.status.word(), c.id(), c.file);
        if let Some(f) = &c.failure {
            for l in f.detail.lines() {
                let _ = writeln!(s, "    {l}");
            }
        }
        if !c.cleanup.detail.is_empty() {
            let _ = writeln!(s, "    cleanup: {}", c.cleanup.detail);
        }
    }
}

fn suites_table(s: &mut String, r: &RunReport) {
    let w = r
        .by_suite()
        .iter()
        .map(|(n, _, _)| n.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        s,
        "\n{:<w$}  {:>6}  {:>6}  {:>6}  {:>7}  {:>8}",
        "suite", "passed", "failed", "errors", "skipped", "time"
    );
    for (name, _, cases) in r.by_suite() {
        let c = Counts::of(cases.iter().copied());
        let time = cases.iter().map(|c| c.duration).max().unwrap_or_default();
        let _ = writeln!(
            s,
            "{name:<w$}  {:>6}  {:>6}  {:>6}  {:>7}  {:>7.1}s",
            c.passed,
            c.failed,
            c.errors,
            c.skipped,
            time.as_secs_f64()
        );
    }
}

fn slowest(s: &mut String, r: &RunReport) {
    let mut ran: Vec<_> = r
        .cases
        .iter()
        .filter(|c| !matches!(c.status, CaseStatus::Skipped(_)))
        .collect();
    ran.sort_by_key(|c| std::cmp::Reverse(c.step_time));
    if ran.is_empty() {
        return;
    }
    let _ = writeln!(s, "\nslowest (steps, then cleanup after the verdict):");
    for c in ran.iter().take(SLOWEST) {
        let _ = writeln!(
            s,
            "  {:>7.1}s  +{:>5.1}s  {}",
            c.step_time.as_secs_f64(),
            c.cleanup.duration.as_secs_f64(),
            c.id()
        );
    }
}

/// How much of the catalogue the run checked: `conforms on 27 of 32 behaviours; 1 worded
/// differently: EXEC-NO-BASH; 4 not checked: …`. Empty without behaviours.
fn coverage(r: &RunReport) -> String {
    let total = r.behaviours.len();
    if total == 0 {
        return String::new();
    }
    let of = |j: Judgement| -> Vec<&str> {
        r.behaviours
            .iter()
            .filter(|b| b.verdict == j)
            .map(|b| b.id.as_str())
            .collect()
    };
    let held = r.behaviours.iter().filter(|b| b.verdict.holds()).count();
    let mut s = format!("conforms on {held} of {total} behaviours");
    for j in [
        Judgement::Flaky,
        Judgement::WordedDifferently,
        Judgement::CheckedInPart,
        Judgement::NotChecked,
        Judgement::NotSelected,
    ] {
        let ids = of(j);
        if !ids.is_empty() {
            s.push_str(&format!("; {} {}: {}", ids.len(), j.word(), ids.join(", ")));
        }
    }
    s
}

fn closing(s: &mut String, r: &RunReport) {
    let cnt = r.counts;
    let on = if r.facts.provider.is_empty() {
        "no cluster".to_string()
    } else {
        format!("{} {}", r.facts.provider, r.facts.server_version)
    };
    let t = &r.timing;
    if !t.longest_case.is_empty() {
        // Namespaces left terminating go with the cluster: the tail is then the wait for
        // the API server to take their deletion, not for them to be gone.
        let terminating = r
            .cases
            .iter()
            .any(|c| c.cleanup.status == crate::runner::janitor::CleanupStatus::Terminating);
        let cleanup = if terminating {
            "the namespaces' deletion taken"
        } else {
            "cleanup finished"
        };
        let _ = writeln!(
            s,
            "\nthe first case started {:.1}s into the run; {}cases ran in {:.1}s against their longest, {} ({:.1}s of steps): x{:.2}; {cleanup} {:.1}s after the last verdict",
            t.first_case_after.as_secs_f64(),
            if t.rounds > 1 {
                format!("in its median round of {}, ", t.rounds)
            } else {
                String::new()
            },
            t.cases_wall.as_secs_f64(),
            t.longest_case,
            t.longest_steps.as_secs_f64(),
            t.ratio(),
            t.cleanup_tail.as_secs_f64()
        );
    }
    if !r.leftovers.is_empty() {
        let _ = writeln!(
            s,
            "left behind: {} (delete them with `kubectl delete ns -l podcheck.io/run={}`)",
            r.leftovers.join(", "),
            r.facts.run_id
        );
    }
    let why = match r.verdict {
        Verdict::Conforms => String::new(),
        Verdict::DoesNotConform => {
            let ids: Vec<&str> = r
                .behaviours
                .iter()
                .filter(|b| b.verdict == Judgement::DoesNotConform)
                .map(|b| b.id.as_str())
                .collect();
            if ids.is_empty() {
                format!(": {} case(s) failed", cnt.failed)
            } else {
                format!(
                    ": {} case(s) failed; behaviours that did not hold: {}",
                    cnt.failed,
                    ids.join(", ")
                )
            }
        }
        Verdict::CouldNotCheck => {
            let mut why = Vec::new();
            if cnt.errors > 0 {
                why.push(format!("{} case(s) could not run", cnt.errors));
            }
            if !r.leftovers.is_empty() {
                why.push("namespaces left behind".to_string());
            }
            if cnt.passed == 0 && cnt.failed == 0 {
                why.push("no case passed: nothing was checked".to_string());
            }
            format!(": {}", why.join(", "))
        }
    };
    let covered = match coverage(r) {
        c if c.is_empty() => c,
        c if why.is_empty() => format!(": {c}"),
        c => format!("; {c}"),
    };
    let _ = writeln!(
        s,
        "\n{}{why}{covered} (on {on}, {:.1}s)",
        r.verdict.word(),
        r.duration.as_secs_f64()
    );
    // The plain closing line CI reads.
    let _ = writeln!(
        s,
        "{} passed, {} failed, {} could not run, {} skipped{}",
        cnt.passed,
        cnt.failed,
        cnt.errors,
        cnt.skipped,
        if cnt.flaky > 0 {
            format!(" ({} of the passed flaky)", cnt.flaky)
        } else {
            String::new()
        }
    );
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
            s.contains("health       1       1       0        0     30.5s"),
            "{s}"
        );
        assert!(
            s.contains("access       0       0       1        1     30.5s"),
            "{s}"
        );
        assert!(
            s.contains("slowest (steps, then cleanup after the verdict):\n     30.1s  +  5.1s  health::readiness"),
            "{s}"
        );
        assert!(s.contains("\nDOES NOT CONFORM: 1 case(s) failed"), "{s}");
        assert!(
            s.ends_with("1 passed, 1 failed, 1 could not run, 1 skipped\n"),
            "{s}"
        );
    }
}
