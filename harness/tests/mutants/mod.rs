//! The mutant trials (fixtures/mutants/, loaded by `podcheck::suite::mutants`): every mutant
//! as a test that must fail as it says, and the rules of the mutant files, checked without
//! a cluster.

use std::path::Path;

use libtest_mimic::{Failed, Trial};
use podcheck::suite::mutants::{self, Edit, apply_edits, case_range};
use podcheck::suite::{Case, Suites};

/// The mutant trials: every mutant (run by `run`, ignored like the suite cases when
/// `PODCHECK_E2E=0`), and, without a cluster, that every suite has at least one.
pub fn trials(root: &Path, suites: &Suites, run: fn(&Case) -> Result<(), Failed>) -> Vec<Trial> {
    let e2e = crate::e2e_enabled();
    let loaded = match mutants::load(root, suites) {
        Ok(m) => m,
        Err(e) => return vec![Trial::test("mutants::load", move || Err(e.into()))],
    };
    // Every behaviour is broken by a mutant, or the catalogue says why none can be.
    let unbroken: Vec<String> = suites
        .catalogue
        .behaviours
        .iter()
        .filter(|b| b.no_mutant.is_none() && !loaded.iter().any(|m| m.breaks == b.id))
        .map(|b| b.id.clone())
        .collect();
    let cases: Vec<Case> = loaded.into_iter().map(|m| m.case).collect();
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
    trials.push(Trial::test(
        "mutants::every-behaviour-has-a-mutant-or-a-waiver",
        move || {
            if unbroken.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "expected: a mutant in fixtures/mutants/ that breaks each behaviour, or a `no_mutant:` waiver in behaviours.yaml; actual: none for {}",
                    unbroken.join(", ")
                )
                .into())
            }
        },
    ));
    trials.extend(self_tests());
    trials.extend(cases.into_iter().map(|c| {
        let ignored = c.ignore.is_some() || !e2e || c.nodes > crate::declared_nodes();
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
