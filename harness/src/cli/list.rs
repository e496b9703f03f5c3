//! `podcheck list`: every case with the behaviour IDs it covers. Never touches a cluster.
use super::{Outcome, SuitesArgs};

pub fn run(args: SuitesArgs) -> Outcome {
    let suites = match crate::suite::load(&args.suites) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Outcome::BadInput;
        }
    };
    let w = suites.cases().map(|c| c.id().len()).max().unwrap_or(0);
    for c in suites.cases() {
        let mut line = format!("{:<w$}  {}", c.id(), c.covers.join(", "));
        if c.expect_failure.is_some() {
            line.push_str("  (must fail)");
        }
        if c.nodes > 1 {
            line.push_str(&format!("  (needs {} nodes)", c.nodes));
        }
        if !c.needs.is_empty() {
            line.push_str(&format!("  (needs {})", c.needs.join(", ")));
        }
        if let Some(why) = &c.ignore {
            line.push_str(&format!("  (ignored: {why})"));
        }
        println!("{line}");
    }
    Outcome::Success
}
