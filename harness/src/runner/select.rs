//! Which cases a run takes, in one place for every command: the suites loaded, `--filter
//! REGEX` on `suite::case`, the ignored ones set aside, a `--partition` share (of the cases,
//! or of the catalogue's behaviours), and the order they start in ([`Selection::load`]). The
//! test harness applies libtest's own filters (substring, `--exact`, `--skip`, `--ignored`)
//! through libtest-mimic instead, on [`select`].

use std::path::PathBuf;

use regex::Regex;

use super::partition::Partition;
use crate::suite::{self, Case, LoadErrors, Suites};

/// What a run was asked to take.
#[derive(Clone, Debug, Default)]
pub struct Ask {
    /// Suite directories (none: the default suites).
    pub suites: Vec<PathBuf>,
    pub filter: Option<String>,
    pub include_ignored: bool,
    pub partition: Option<(Partition, Share)>,
}

/// What a `--partition` splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Share {
    /// The selected cases, by name (`podcheck run`; nextest's partitions).
    Cases,
    /// The catalogue's behaviours, by ID, with every selected case that covers one of them
    /// (`podcheck matrix`: each behaviour's verdict is judged whole within one job).
    Behaviours,
}

/// The cases a run takes, and the behaviours it gives verdicts on.
#[derive(Clone, Debug)]
pub struct Selection {
    pub suites: Suites,
    /// The cases to run, in the order they start (see [`schedule`]).
    pub cases: Vec<Case>,
    /// Cases the filter matched that are `ignore:`d: reported as skipped, not run.
    pub ignored: Vec<Case>,
    /// The behaviours judged, `(id, text)`: the catalogue, or a partition's share of it.
    pub behaviours: Vec<(String, String)>,
}

/// A selection that cannot be had: bad input (exit 2), found before any cluster is touched.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("{0}\n{n} problem(s) in the suites; nothing ran", n = .0.0.len())]
    Suites(LoadErrors),
    #[error("--filter: not a regex")]
    Filter(#[source] regex::Error),
    #[error("no case matches --filter {0}")]
    NoMatch(String),
    #[error(
        "--filter {filter} selects only ignored cases ({ids}): nothing would run; hint: add \
         --include-ignored to run them"
    )]
    OnlyIgnored { filter: String, ids: String },
    #[error(
        "--partition {partition} of {of} selected case(s) is empty: nothing would run; hint: \
         fewer partitions than cases"
    )]
    EmptyShare { partition: Partition, of: usize },
    #[error(
        "--partition {0}: no selected case covers its behaviours: nothing would run; hint: \
         fewer partitions, or a wider --filter"
    )]
    UncoveredShare(Partition),
}

impl Selection {
    /// Load the suites and take what `ask` says, in the order the cases start (`times`: how
    /// long each took last time).
    pub fn load(ask: &Ask, times: &super::history::CaseTimes) -> Result<Self, SelectError> {
        let suites = suite::load(&ask.suites).map_err(SelectError::Suites)?;
        let filter = ask
            .filter
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(SelectError::Filter)?;
        let shown = ask.filter.clone().unwrap_or_default();
        let (run, ignored) = select(&suites, filter.as_ref(), ask.include_ignored);
        if run.is_empty() && ignored.is_empty() {
            return Err(SelectError::NoMatch(shown));
        }
        if run.is_empty() {
            let ids: Vec<String> = ignored.iter().map(|c| c.id()).collect();
            return Err(SelectError::OnlyIgnored {
                filter: shown,
                ids: ids.join(", "),
            });
        }
        let mut cases: Vec<Case> = run.into_iter().cloned().collect();
        let ignored = ignored.into_iter().cloned().collect();
        let mut behaviours: Vec<(String, String)> = suites
            .catalogue
            .behaviours
            .iter()
            .map(|b| (b.id.clone(), b.text.clone()))
            .collect();
        match ask.partition {
            None => {}
            Some((p, Share::Cases)) => {
                let of = cases.len();
                cases = p.take(cases, Case::id);
                if cases.is_empty() {
                    return Err(SelectError::EmptyShare { partition: p, of });
                }
            }
            Some((p, Share::Behaviours)) => {
                behaviours = p.take(behaviours, |(id, _)| id.clone());
                cases.retain(|c| {
                    c.covers
                        .iter()
                        .any(|b| behaviours.iter().any(|(id, _)| id == b))
                });
                if cases.is_empty() {
                    return Err(SelectError::UncoveredShare(p));
                }
            }
        }
        schedule(&mut cases, times);
        Ok(Selection {
            suites,
            cases,
            ignored,
            behaviours,
        })
    }

    /// Suite names with their files, in load order (the reports keep it).
    pub fn suite_order(&self) -> Vec<(String, String)> {
        self.suites
            .suites
            .iter()
            .map(|s| (s.name.clone(), s.file.display().to_string()))
            .collect()
    }

    /// The IDs of the behaviours judged.
    pub fn behaviour_ids(&self) -> impl Iterator<Item = &str> {
        self.behaviours.iter().map(|(id, _)| id.as_str())
    }
}

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
