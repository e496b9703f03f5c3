//! `podcheck diff OLD.json NEW.json`: what changed between two reports of `run` or `matrix`
//! (see [`crate::report::diff`]). Exit 1 when something newly fails, 2 for a report that
//! cannot be read.

use std::path::PathBuf;

use super::Outcome;
use crate::report::diff::{Diff, Snapshot};

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier report (reports/podcheck.json of a run, or a matrix.json).
    #[arg(value_name = "OLD.json")]
    pub old: PathBuf,
    /// The later report, of the same kind.
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,
    /// List a figure (a case's step time, a recorded figure) that moved by more than this
    /// many percent (and by half a second at least).
    #[arg(long, value_name = "PERCENT", default_value_t = 25.0)]
    pub threshold: f64,
    /// Also write the changes as Markdown here (a CI summary).
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
    /// Also write the changes as JSON here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

pub fn run(args: DiffArgs) -> Outcome {
    let (old, new) = match (Snapshot::read(&args.old), Snapshot::read(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {}", crate::errors::chain(&e));
            return Outcome::BadInput;
        }
    };
    let diff = Diff::between(&old, &new, args.threshold);
    print!("{}", diff.text());
    let written = [
        (args.markdown.as_ref(), diff.markdown()),
        (
            args.json.as_ref(),
            serde_json::to_string_pretty(&diff).unwrap_or_default(),
        ),
    ];
    for (path, text) in written {
        if let Some(p) = path
            && let Err(e) = crate::report::write_file(p, text.as_bytes())
        {
            eprintln!("error: {}", crate::errors::chain(&e));
            return Outcome::CouldNotRun;
        }
    }
    if diff.newly_fails() {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}
