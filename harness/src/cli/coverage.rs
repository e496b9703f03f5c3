//! `podcheck coverage`: the catalogue x cases matrix, with where each behaviour comes from in
//! the chapter notes, how many mutants break it, and which are only weakly checked. Exit 1
//! when a behaviour has no case that runs, or neither a mutant nor a written waiver.
//! Cases that must fail (self-tests) and ignored cases do not count as covering.
use std::collections::BTreeMap;

use super::{Outcome, SuitesArgs};
use crate::suite::mutants;

pub fn run(args: SuitesArgs) -> Outcome {
    let suites = match crate::suite::load(&args.suites) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Outcome::BadInput;
        }
    };
    let mutants = match mutants::load(&crate::paths::repo_root(), &suites) {
        Ok(m) => m,
        Err(e) if args.suites.is_empty() => {
            eprintln!("{e}");
            return Outcome::BadInput;
        }
        // Suites of the user's own: the repository's mutants do not apply to them.
        Err(_) => Vec::new(),
    };
    let mut covering: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut ignored: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in suites.cases().filter(|c| c.expect_failure.is_none()) {
        let into = if c.ignore.is_some() {
            &mut ignored
        } else {
            &mut covering
        };
        for id in &c.covers {
            into.entry(id.as_str()).or_default().push(c.id());
        }
    }
    let mut broken: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &mutants {
        *broken.entry(m.breaks.as_str()).or_default() += 1;
    }
    let w = suites.catalogue.ids().map(str::len).max().unwrap_or(0);
    println!(
        "{:<w$}  {:>5}  {:>7}  {:<13}  cases",
        "behaviour", "cases", "mutants", "notes lines"
    );
    let (mut missing, mut unbroken) = (0, 0);
    for b in &suites.catalogue.behaviours {
        let cases = covering.get(b.id.as_str()).cloned().unwrap_or_default();
        let n_mutants = broken.get(b.id.as_str()).copied().unwrap_or(0);
        let notes = b
            .notes
            .iter()
            .map(|(a, z)| {
                if a == z {
                    a.to_string()
                } else {
                    format!("{a}-{z}")
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let mutants_col = match (n_mutants, &b.no_mutant) {
            (0, Some(_)) => "waived".to_string(),
            (0, None) => {
                unbroken += 1;
                "NONE".to_string()
            }
            (n, _) => n.to_string(),
        };
        let listed = if cases.is_empty() {
            missing += 1;
            "-- NO CASE --".to_string()
        } else {
            cases.join(", ")
        };
        println!(
            "{:<w$}  {:>5}  {:>7}  {:<13}  {listed}",
            b.id,
            cases.len(),
            mutants_col,
            if notes.is_empty() { "-".into() } else { notes }
        );
        if let Some(why) = &b.weak {
            println!("{:<w$}  {:>5}  {:>7}  {:<13}  WEAK: {why}", "", "", "", "");
        }
        if let (0, Some(why)) = (n_mutants, &b.no_mutant) {
            println!(
                "{:<w$}  {:>5}  {:>7}  {:<13}  no mutant: {why}",
                "", "", "", ""
            );
        }
        if let Some(ign) = ignored.get(b.id.as_str()) {
            println!(
                "{:<w$}  {:>5}  {:>7}  {:<13}  ignored (not counted): {}",
                "",
                "",
                "",
                "",
                ign.join(", ")
            );
        }
    }
    let total = suites.catalogue.behaviours.len();
    println!(
        "\n{} of {total} behaviours covered by {} case(s) that run; {} mutant(s); {} behaviour(s) weakly checked",
        total - missing,
        suites
            .cases()
            .filter(|c| c.expect_failure.is_none() && c.ignore.is_none())
            .count(),
        mutants.len(),
        suites
            .catalogue
            .behaviours
            .iter()
            .filter(|b| b.weak.is_some())
            .count()
    );
    println!(
        "notes lines: of the chapter notes podcheck is specified from (pods-chapter-notes.ko.md; English digest: README.md beside it)"
    );
    if missing > 0 || unbroken > 0 {
        if unbroken > 0 {
            eprintln!(
                "error: {unbroken} behaviour(s) with neither a mutant nor a `no_mutant:` waiver"
            );
        }
        Outcome::Failed
    } else {
        Outcome::Success
    }
}
