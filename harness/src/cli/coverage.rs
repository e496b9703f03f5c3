//! `podcheck coverage`: the catalogue x cases matrix. Exit 1 when a behaviour has no case
//! (cases that must fail — mutants — do not count as covering).
use std::collections::BTreeMap;

use super::{Outcome, SuitesArgs};

pub fn run(args: SuitesArgs) -> Outcome {
    let suites = match crate::suite::load(&args.suites) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Outcome::BadInput;
        }
    };
    let mut by_id: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in suites.cases().filter(|c| c.expect_failure.is_none()) {
        for id in &c.covers {
            by_id.entry(id.as_str()).or_default().push(c.id());
        }
    }
    let w = suites.catalogue.ids().map(str::len).max().unwrap_or(0);
    let mut missing = 0;
    for b in &suites.catalogue.behaviours {
        let cases = by_id.get(b.id.as_str()).cloned().unwrap_or_default();
        if cases.is_empty() {
            missing += 1;
            println!("{:<w$}  -- NO CASE --  ({})", b.id, b.text);
        } else {
            println!("{:<w$}  {}", b.id, cases.join(", "));
        }
    }
    let total = suites.catalogue.behaviours.len();
    println!(
        "\n{} of {total} behaviours covered by {} case(s)",
        total - missing,
        suites.cases().count()
    );
    if missing > 0 {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}
