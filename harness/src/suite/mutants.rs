//! Mutants (`fixtures/mutants/<suite>.yaml`): proof that the suites have teeth. A mutant is
//! a REAL case of `suites/`, run with a small edit of its text that makes what it runs look
//! like a non-conforming implementation (a manifest without the probe, an image with bash,
//! a Service that misses the pod, a sidecar in namespaces of its own, …). The mutated case
//! must fail — a check that fails, not an error — at the step the mutant names, with expected
//! and actual values that match its message.
//!
//! Editing the real case rather than keeping a copy means a mutant always tests the case
//! as it is now: when the case changes so that an edit no longer applies (its text is not
//! there exactly once), loading fails and says so.
//!
//! ```yaml
//! suite: probes                                # the suite whose cases are mutated
//! mutants:
//!   - name: tcp-probe-on-a-port-nothing-listens-on
//!     case: tcp-probe-follows-the-port         # a case of that suite
//!     breaks: PROBE-TCP                        # one of the case's `covers`
//!     why: the probe is aimed at a port nothing listens on
//!     edit:                                    # text replacements inside the case
//!       - replace: "file: ../fixtures/manifests/kuard-pod-tcp-probe.yaml"
//!         with: "file: ../fixtures/mutants/manifests/kuard-pod-tcp-probe-wrong-port.yaml"
//!     fails:
//!       step: 2                                # 1-based, as in the case
//!       message: "expected: Ready=True"        # a text match on the failure
//! ```
//! Each mutant runs as the test `mutant-<suite>::<name>` (harness/tests/mutants.rs), in its
//! own namespace, on the cluster of the suites. A mutant passes when its case fails as said:
//! the runner's `expect_failure` (see [`crate::runner::case::judge_expected_failure`]).
//! `podcheck coverage` counts the mutants of each behaviour.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::loader::{from_yaml, parse_suite};
use super::model::ExpectFailure;
use super::{Case, Suites};
use crate::matchers::text::TextSpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutantFile {
    pub suite: String,
    #[serde(default)]
    pub description: Option<String>,
    pub mutants: Vec<MutantSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutantSpec {
    pub name: String,
    pub case: String,
    pub breaks: String,
    pub why: String,
    pub edit: Vec<Edit>,
    pub fails: Fails,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    pub replace: String,
    pub with: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fails {
    pub step: usize,
    pub message: TextSpec,
}

/// The directory of the mutant files.
pub fn dir(root: &Path) -> PathBuf {
    root.join("fixtures/mutants")
}

/// Replace each edit's text, which must occur exactly once in `text[range]`.
pub fn apply_edits(
    text: &str,
    range: std::ops::Range<usize>,
    edits: &[Edit],
) -> Result<String, String> {
    let mut body = text[range.clone()].to_string();
    for e in edits {
        if e.replace.is_empty() {
            return Err("an edit replaces nothing: `replace` is empty".into());
        }
        let n = body.matches(&e.replace).count();
        if n != 1 {
            return Err(format!(
                "the edit no longer applies: `{}` occurs {n} times in the case (it must occur once)",
                e.replace
            ));
        }
        body = body.replacen(&e.replace, &e.with, 1);
    }
    Ok(format!(
        "{}{}{}",
        &text[..range.start],
        body,
        &text[range.end..]
    ))
}

/// Byte range of a case's text: from the start of its `name:` line to the start of the
/// next case's (by line), or the end of the file.
pub fn case_range(text: &str, line: u64, next_line: Option<u64>) -> std::ops::Range<usize> {
    let offset = |l: u64| -> usize {
        text.split_inclusive('\n')
            .take(l.saturating_sub(1) as usize)
            .map(str::len)
            .sum()
    };
    offset(line)..next_line.map_or(text.len(), offset)
}

/// A mutant as loaded: the case that must fail and the behaviour it breaks.
#[derive(Clone, Debug)]
pub struct Mutant {
    pub breaks: String,
    pub case: Case,
}

/// Every mutant as a case that must fail. Errors name the mutant file and the mutant.
pub fn load(root: &Path, suites: &Suites) -> Result<Vec<Mutant>, String> {
    let dir = dir(root);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mf: MutantFile = match from_yaml(file, &text) {
            Ok(m) => m,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        for m in &mf.mutants {
            match mutate(suites, &mf.suite, m) {
                Ok(case) => cases.push(Mutant {
                    breaks: m.breaks.clone(),
                    case,
                }),
                Err(e) => errors.push(format!("{}: mutant `{}`: {e}", file.display(), m.name)),
            }
        }
    }
    let mut names: Vec<String> = cases.iter().map(|m| m.case.id()).collect();
    names.sort();
    for w in names.windows(2) {
        if w[0] == w[1] {
            errors.push(format!("duplicate mutant `{}`", w[0]));
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors.join("\n"))
    }
}

fn mutate(suites: &Suites, suite: &str, m: &MutantSpec) -> Result<Case, String> {
    let s = suites
        .suites
        .iter()
        .find(|s| s.name == suite)
        .ok_or_else(|| format!("no suite `{suite}` in suites/"))?;
    let original = s
        .cases
        .iter()
        .find(|c| c.name == m.case)
        .ok_or_else(|| format!("suite `{suite}` has no case `{}`", m.case))?;
    if !original.covers.contains(&m.breaks) {
        return Err(format!(
            "breaks `{}`, which case `{}` does not cover ({})",
            m.breaks,
            m.case,
            original.covers.join(", ")
        ));
    }
    if original.expect_failure.is_some() {
        return Err(format!("case `{}` is already an expected failure", m.case));
    }
    if m.fails.step == 0 || m.fails.step > original.steps.len() {
        return Err(format!(
            "fails.step: there is no step {} (the case has {})",
            m.fails.step,
            original.steps.len()
        ));
    }
    if m.edit.is_empty() {
        return Err("no edit: a mutant changes the case".into());
    }
    let text =
        std::fs::read_to_string(&s.file).map_err(|e| format!("{}: {e}", s.file.display()))?;
    let next = s
        .cases
        .iter()
        .map(|c| c.line)
        .filter(|l| *l > original.line)
        .min();
    let mutated = apply_edits(&text, case_range(&text, original.line, next), &m.edit)
        .map_err(|e| format!("case `{}`: {e}", m.case))?;
    let parsed = parse_suite(&s.file, &mutated, &suites.catalogue).map_err(|errs| {
        let errs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        format!("the edited case does not load: {}", errs.join("; "))
    })?;
    let mut case = parsed
        .cases
        .into_iter()
        .find(|c| c.name == m.case)
        .ok_or_else(|| format!("the edit renamed case `{}`", m.case))?;
    if m.fails.message.is_empty() {
        return Err("fails.message: say what the failure's expected or actual values show".into());
    }
    // The runner heads the failure with the case's behaviour IDs, `breaks` among them
    // (checked above), and matches the message against the failure's expected and actual.
    case.expect_failure = Some(ExpectFailure {
        step: m.fails.step,
        message: m.fails.message.clone(),
    });
    case.description = Some(format!("mutant of {}::{}: {}", suite, m.case, m.why.trim()));
    case.suite = format!("mutant-{suite}");
    case.name = m.name.clone();
    Ok(case)
}
