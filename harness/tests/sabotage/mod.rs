//! Cluster sabotage (fixtures/sabotage/, loaded by `podcheck::suite::sabotage`, run by
//! `podcheck::runner::sabotage`): each sabotage as a test `sabotage::<name>` that breaks
//! the cluster of the suites for a run of its own, runs a suite under it and passes only when
//! exactly the cases it names fail as it says and the others pass; and, without a cluster,
//! that every suite has a sabotage.

use std::path::Path;

use libtest_mimic::{Failed, Trial};
use podcheck::suite::Suites;
use podcheck::suite::sabotage::{self, Sabotage};

pub fn trials(
    root: &Path,
    suites: &Suites,
    run: fn(&Sabotage) -> Result<(), Failed>,
) -> Vec<Trial> {
    let e2e = crate::e2e_enabled();
    let loaded = match sabotage::load(&sabotage::dir(root), suites) {
        Ok(s) => s,
        Err(errors) => {
            let text = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            return vec![Trial::test("sabotage::load", move || Err(text.into()))];
        }
    };
    let without: Vec<String> = suites
        .suites
        .iter()
        .filter(|s| !loaded.iter().any(|x| x.suite == s.name))
        .map(|s| s.name.clone())
        .collect();
    let mut trials = vec![Trial::test(
        "sabotage::every-suite-has-a-sabotage",
        move || {
            if without.is_empty() {
                Ok(())
            } else {
                Err(format!(
                "expected: a sabotage in fixtures/sabotage/ for every suite; actual: none for {}",
                without.join(", ")
            )
            .into())
            }
        },
    )];
    trials.extend(loaded.into_iter().map(|s| {
        let name = format!("sabotage::{}", s.name);
        Trial::test(name, move || run(&s)).with_ignored_flag(!e2e)
    }));
    trials
}
