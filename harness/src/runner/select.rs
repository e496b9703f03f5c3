//! Which cases a run takes: `--filter REGEX` on `suite::case` (podcheck run), or libtest's
//! filters (substring, `--exact`, `--skip`, `--ignored`, `--include-ignored`) in the test
//! harness, which applies them itself through libtest-mimic.

use regex::Regex;

use crate::suite::{Case, Suites};

/// The cases of `suites` whose `suite::case` matches `filter` (all when `None`), split into
/// those to run and those skipped because they are ignored (`ignore:` in the suite).
pub fn select<'a>(
    suites: &'a Suites,
    filter: Option<&Regex>,
    include_ignored: bool,
) -> (Vec<&'a Case>, Vec<&'a Case>) {
    let mut run = Vec::new();
    let mut ignored = Vec::new();
    for c in suites.cases() {
        if filter.is_some_and(|f| !f.is_match(&c.id())) {
            continue;
        }
        if c.ignore.is_some() && !include_ignored {
            ignored.push(c);
        } else {
            run.push(c);
        }
    }
    (run, ignored)
}

/// The order cases start in: the longest first, so that the slowest cases do not start last
/// and stretch the run. How long a case takes is what it took last time (`times`); a case
/// with no record starts before all that have one (it may be long), among themselves by the
/// sum of their steps' deadlines.
pub fn schedule(cases: &mut [Case], times: &super::history::CaseTimes) {
    use std::cmp::Reverse;
    let guess = |c: &Case| {
        c.steps
            .iter()
            .map(|s| s.timeout())
            .sum::<std::time::Duration>()
    };
    cases.sort_by_key(|c| match times.of(&c.id()) {
        None => (0, Reverse(guess(c))),
        Some(t) => (1, Reverse(t)),
    });
}
