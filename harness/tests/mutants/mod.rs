//! Mutants (`fixtures/mutants/<suite>.yaml`): proof that the suites have teeth. A mutant is
//! a REAL case of `suites/`, run with a small edit of its text that makes what it runs look
//! like a non-conforming implementation (a manifest without the probe, an image with bash,
//! a Service that misses the pod, a sidecar in namespaces of its own, …). The mutated case
//! must fail, at the step the mutant names, with its message, and that message must name
//! the behaviour the mutant breaks.
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
//! Each mutant runs as the test `mutant-<suite>::<name>`, in its own namespace, on the
//! cluster of the suites. A mutant passes when its case fails as said: the runner's
//! `expect_failure`, plus a check that the failure's first line reads
//! `[… <breaks> …] step <step> (…) failed`.

use std::path::{Path, PathBuf};

use libtest_mimic::{Failed, Trial};
use podcheck::suite::loader::{from_yaml, parse_suite};
use podcheck::suite::model::ExpectFailure;
use podcheck::suite::text::{RegexTemplate, TextSpec};
use podcheck::suite::{Case, Suites};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MutantFile {
    suite: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    mutants: Vec<MutantSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MutantSpec {
    name: String,
    case: String,
    breaks: String,
    why: String,
    edit: Vec<Edit>,
    fails: Fails,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    replace: String,
    with: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fails {
    step: usize,
    message: TextSpec,
}

/// The directory of the mutant files.
pub fn dir(root: &Path) -> PathBuf {
    root.join("fixtures/mutants")
}

/// Replace each edit's text, which must occur exactly once in `text[range]`.
fn apply_edits(
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
fn case_range(text: &str, line: u64, next_line: Option<u64>) -> std::ops::Range<usize> {
    let offset = |l: u64| -> usize {
        text.split_inclusive('\n')
            .take(l.saturating_sub(1) as usize)
            .map(str::len)
            .sum()
    };
    offset(line)..next_line.map_or(text.len(), offset)
}

/// Every mutant as a case that must fail. Errors name the mutant file and the mutant.
pub fn load(root: &Path, suites: &Suites) -> Result<Vec<Case>, String> {
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
                Ok(c) => cases.push(c),
                Err(e) => errors.push(format!("{}: mutant `{}`: {e}", file.display(), m.name)),
            }
        }
    }
    let mut names: Vec<String> = cases.iter().map(Case::id).collect();
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
    let mut message = m.fails.message.clone();
    // The message must name the behaviour: the runner heads a failure with the case's
    // behaviour IDs and the failing step.
    let head = format!(
        r"^\[(?:[A-Z-]+, )*{}(?:, [A-Z-]+)*\] step {} \(",
        regex::escape(&m.breaks),
        m.fails.step
    );
    message
        .0
        .regex
        .0
        .push(RegexTemplate::new(head).map_err(|e| e.to_string())?);
    case.expect_failure = Some(ExpectFailure {
        step: Some(m.fails.step),
        message: Some(message),
    });
    case.description = Some(format!("mutant of {}::{}: {}", suite, m.case, m.why.trim()));
    case.suite = format!("mutant-{suite}");
    case.name = m.name.clone();
    Ok(case)
}

/// The mutant trials: every mutant (run by `run`, ignored like the suite cases when
/// `PODCHECK_E2E=0`), and, without a cluster, that every suite has at least one.
pub fn trials(root: &Path, suites: &Suites, run: fn(&Case) -> Result<(), Failed>) -> Vec<Trial> {
    let e2e = crate::e2e_enabled();
    let cases = match load(root, suites) {
        Ok(c) => c,
        Err(e) => return vec![Trial::test("mutants::load", move || Err(e.into()))],
    };
    let without: Vec<String> = suites
        .suites
        .iter()
        .filter(|s| {
            !cases
                .iter()
                .any(|c| c.suite == format!("mutant-{}", s.name))
        })
        .map(|s| s.name.clone())
        .collect();
    let mut trials = vec![Trial::test(
        "mutants::every-suite-has-a-mutant",
        move || {
            if without.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "expected: a mutant in fixtures/mutants/ for every suite; actual: none for {}",
                    without.join(", ")
                )
                .into())
            }
        },
    )];
    trials.extend(self_tests());
    trials.extend(cases.into_iter().map(|c| {
        let ignored = c.ignore.is_some() || !e2e;
        Trial::test(c.id(), move || run(&c)).with_ignored_flag(ignored)
    }));
    trials
}

/// The edit rules, checked without a cluster.
fn self_tests() -> Vec<Trial> {
    let edit = |r: &str, w: &str| Edit {
        replace: r.into(),
        with: w.into(),
    };
    vec![Trial::test(
        "mutants::edits-apply-once-inside-their-case",
        move || {
            let text = "cases:\n  - name: a\n    x: 1\n  - name: b\n    x: 1\n    y: 2\n";
            let r = case_range(text, 4, None);
            if &text[r.clone()] != "  - name: b\n    x: 1\n    y: 2\n" {
                return Err(format!("case range: {:?}", &text[r]).into());
            }
            let out = apply_edits(text, r.clone(), &[edit("x: 1", "x: 9")])?;
            if out != "cases:\n  - name: a\n    x: 1\n  - name: b\n    x: 9\n    y: 2\n" {
                return Err(format!("edited only case b, got {out:?}").into());
            }
            let e = apply_edits(text, case_range(text, 2, Some(4)), &[edit("y: 2", "")])
                .expect_err("an edit whose text is in another case");
            if !e.contains("occurs 0 times") {
                return Err(e.into());
            }
            let twice = "  - name: c\n    z: 1\n    z: 1\n";
            let e = apply_edits(twice, 0..twice.len(), &[edit("z: 1", "z: 2")])
                .expect_err("an ambiguous edit");
            if !e.contains("occurs 2 times") {
                return Err(e.into());
            }
            Ok(())
        },
    )]
}
