//! `podcheck suites export DIR`: write the default suites and the files they use to DIR
//! (`DIR/suites`, `DIR/fixtures/manifests`, `DIR/fixtures/files`), to edit and run with
//! `--suites DIR/suites`.
//! From a checkout they are the repository's; a standalone binary writes the ones it carries.

use std::path::{Path, PathBuf};

use super::Outcome;

#[derive(Debug, clap::Subcommand)]
pub enum SuitesCommand {
    /// Write the default suites and their manifests to DIR, to edit and run with --suites.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Where to write them; must not hold a `suites/` already.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

pub fn run(cmd: SuitesCommand) -> Outcome {
    match cmd {
        SuitesCommand::Export(args) => export(&args.dir),
    }
}

fn export(dir: &Path) -> Outcome {
    let suites = dir.join("suites");
    if suites.exists() {
        eprintln!(
            "error: {} exists; hint: export to a new directory, or remove it first",
            suites.display()
        );
        return Outcome::BadInput;
    }
    let root = crate::paths::repo_root();
    let copies = [
        (crate::paths::suites_dir(), suites),
        (
            root.join("fixtures/manifests"),
            dir.join("fixtures/manifests"),
        ),
    ];
    for (from, to) in &copies {
        if let Err(e) = copy_tree(from, to) {
            eprintln!("error: copying {} to {}: {e}", from.display(), to.display());
            return Outcome::CouldNotRun;
        }
    }
    println!(
        "wrote {d}/suites and {d}/fixtures; run them with: podcheck run --suites {d}/suites",
        d = dir.display()
    );
    Outcome::Success
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
