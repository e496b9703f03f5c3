//! `podcheck matrix --target A --target B …`: the selected cases on each target, one after
//! the other (two clusters at once halve a 2-core machine for no gain), into one report:
//! `matrix.json`, `matrix.md`, `matrix.html` and a JUnit and JSON report per column under
//! `--out`, and the grid on the terminal. Exit 0 when every column ran and each target's
//! expectations held; 1 when one did not; 2 for bad input (an unknown target); 3 when a
//! column could not run.

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use super::Outcome;
use crate::matrix::{self, MatrixReport, column::ColumnOptions};
use crate::report::{WriteError, write_file};
use crate::runner::DEFAULT_PARALLEL;
use crate::runner::select::{Ask, Selection, Share};

#[derive(Debug, clap::Args)]
pub struct MatrixArgs {
    /// A target to run (repeatable; in the order given; the first is what the others are
    /// compared with). `--target all` runs every target: the baseline first, a kubeconfig
    /// target only when its variable is set. `NAME@MINOR` runs it on another Kubernetes
    /// minor (`kind@1.35`: its recipe on that version's base node image). A target that
    /// exists on one minor only (`dockershim`: 1.23) runs there, and compares with `kind@1.23`.
    #[arg(long = "target", value_name = "NAME[@MINOR]", required = true)]
    pub targets: Vec<String>,
    /// Each target on each of these Kubernetes minors, one column each: a behaviour × version
    /// table (`--target kind --versions 1.35,1.36,1.37`).
    #[arg(long, value_name = "MINOR,...", value_delimiter = ',')]
    pub versions: Vec<String>,
    /// Where the target files are (default: the repository's `ci/targets/`).
    #[arg(long, value_name = "DIR")]
    pub targets_dir: Option<PathBuf>,
    /// A directory of suite files (repeatable). Default: the repository's `suites/` (a
    /// standalone binary's built-in copy; `podcheck suites export` writes it out).
    #[arg(long = "suites", value_name = "DIR")]
    pub suites: Vec<PathBuf>,
    /// Run only cases whose `suite::case` matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub filter: Option<String>,
    /// Judge only this share of the catalogue's behaviours, for N jobs per target:
    /// `count:K/N` takes every N-th behaviour by ID from the K-th, and runs every selected
    /// case that covers one of them (a case covering behaviours of two partitions runs in
    /// both), so each behaviour's verdict and each target's expectation are whole.
    #[arg(long, value_name = "count:K/N")]
    pub partition: Option<crate::runner::partition::Partition>,
    /// How many cases run at once on each target.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLEL as u16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Run a failed case again, up to N times (see `run --retries`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,
    /// Fail what is worded otherwise than the notes word it (see `run --strict-wording`).
    #[arg(long)]
    pub strict_wording: bool,
    /// Where to write the reports (default: reports/matrix/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub async fn run(args: MatrixArgs) -> Outcome {
    let ask = Ask {
        suites: args.suites.clone(),
        filter: args.filter.clone(),
        include_ignored: false,
        partition: args.partition.map(|p| (p, Share::Behaviours)),
    };
    let selection = match Selection::load(&ask, &crate::runner::history::CaseTimes::load()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", crate::errors::chain(&e));
            return Outcome::BadInput;
        }
    };
    if let Some(p) = &args.partition {
        eprintln!(
            "partition {p}: {} behaviour(s), {} case(s)",
            selection.behaviours.len(),
            selection.cases.len()
        );
    }
    let dir = args
        .targets_dir
        .clone()
        .unwrap_or_else(|| crate::paths::repo_root().join("ci/targets"));
    let targets = match targets(&args, &dir, &selection) {
        Ok(t) => t,
        Err(o) => return o,
    };
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: cancelling the running column");
            c2.cancel();
        }
    });
    let base_images = match base_images(&targets, &dir).await {
        Ok(b) => b,
        Err(o) => return o,
    };
    let opts = ColumnOptions {
        base_images,
        parallel: args.parallel as usize,
        strict_wording: args.strict_wording,
        retries: args.retries,
    };
    let generated = SystemTime::now();
    let started = Instant::now();
    eprintln!(
        "podcheck matrix: {} case(s) on {} target(s): {}",
        selection.cases.len(),
        targets.len(),
        targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut columns = Vec::new();
    for t in &targets {
        if cancel.is_cancelled() {
            break;
        }
        eprintln!("[{}] {}", t.name, t.description);
        columns.push(matrix::column::run(t, &selection, &opts, &cancel).await);
    }
    let report = MatrixReport::new(columns, &selection.behaviours, generated, started.elapsed());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::paths::reports_dir().join("matrix"));
    if let Err(e) = write(&report, &out) {
        eprintln!(
            "error: writing the matrix to {}: {}",
            out.display(),
            crate::errors::chain(&e)
        );
        return Outcome::CouldNotRun;
    }
    print!("{}", matrix::render::terminal(&report));
    eprintln!("reports: {}", out.display());
    verdict(&report, &targets, cancel.is_cancelled())
}

/// What the matrix says of the targets: could not run (a column could not, or Ctrl-C), as
/// the targets expect, or not.
fn verdict(report: &MatrixReport, targets: &[matrix::target::Target], cancelled: bool) -> Outcome {
    let problems = matrix::expect::check(report, targets);
    if report.columns.iter().any(|c| c.error.is_some()) || cancelled {
        for p in &problems {
            eprintln!("  {p}");
        }
        println!(
            "COULD NOT CHECK: a column could not run ({:.0}s)",
            report.duration.as_secs_f64()
        );
        return Outcome::CouldNotRun;
    }
    if problems.is_empty() {
        println!(
            "ok: every target showed what it says it does ({} behaviour(s) differ, {:.0}s)",
            report.differences(),
            report.duration.as_secs_f64()
        );
        Outcome::Success
    } else {
        println!("UNEXPECTED: the matrix is not what the targets say:");
        for p in &problems {
            println!("  {p}");
        }
        Outcome::Failed
    }
}

/// The targets the arguments name: each known target (or all of them), at the Kubernetes
/// minor it is named with, else at each of `--versions`. Bad input is exit 2.
fn targets(
    args: &MatrixArgs,
    dir: &std::path::Path,
    selection: &Selection,
) -> Result<Vec<matrix::target::Target>, Outcome> {
    let known = match matrix::target::load(dir, &selection.suites.catalogue) {
        Ok(t) => t,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return Err(Outcome::BadInput);
        }
    };
    let mut named = Vec::new();
    for spec in &args.targets {
        let (name, minor) = match spec.split_once('@') {
            Some((n, m)) => (n, Some(m)),
            None => (spec.as_str(), None),
        };
        let found: Vec<matrix::target::Target> = if name == "all" {
            all_here(&known)
        } else {
            known.iter().filter(|t| t.name == name).cloned().collect()
        };
        if found.is_empty() {
            eprintln!(
                "error: --target {name}: no such target in {} (known: {}); hint: add {}/{name}.yaml",
                dir.display(),
                known
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                dir.display()
            );
            return Err(Outcome::BadInput);
        }
        named.extend(found.into_iter().map(|t| (t, minor)));
    }
    // Each target at the version it was named with, else at each of --versions.
    let mut targets = Vec::new();
    for (t, minor) in named {
        let minors: Vec<Option<&str>> = match (minor, args.versions.is_empty()) {
            (Some(m), _) => vec![Some(m)],
            (None, true) => vec![None],
            (None, false) => args.versions.iter().map(|m| Some(m.as_str())).collect(),
        };
        for m in minors {
            match m.map(|m| t.at(m)).transpose() {
                Ok(at) => targets.push(at.unwrap_or_else(|| t.clone())),
                Err(e) => {
                    eprintln!("error: --target {}@{}: {e}", t.name, m.unwrap_or_default());
                    return Err(Outcome::BadInput);
                }
            }
        }
    }

    Ok(targets)
}

/// The base node image of every Kubernetes minor the targets need.
async fn base_images(
    targets: &[matrix::target::Target],
    dir: &std::path::Path,
) -> Result<std::collections::BTreeMap<Option<String>, String>, Outcome> {
    // The base node image of every version a target needs, built (or found) once.
    let mut base_images = std::collections::BTreeMap::new();
    for t in targets {
        let needs_base = matches!(
            t.node_image,
            Some(matrix::target::NodeImage::Build(_) | matrix::target::NodeImage::Base)
        );
        if !needs_base || base_images.contains_key(&t.kubernetes) {
            continue;
        }
        match matrix::column::base_image(dir, t.kubernetes.as_deref()).await {
            Ok(i) => {
                base_images.insert(t.kubernetes.clone(), i);
            }
            Err(e) => {
                eprintln!(
                    "error: the base node image{}: {}",
                    t.kubernetes
                        .as_deref()
                        .map_or(String::new(), |m| format!(" of Kubernetes {m}")),
                    crate::errors::chain(&e)
                );
                return Err(Outcome::CouldNotRun);
            }
        }
    }
    Ok(base_images)
}

fn write(r: &MatrixReport, out: &std::path::Path) -> Result<(), WriteError> {
    let w = |name: &str, data: &[u8]| write_file(&out.join(name), data);
    w("matrix.json", serde_json::to_string_pretty(r)?.as_bytes())?;
    w("matrix.md", matrix::render::markdown(r).as_bytes())?;
    w("matrix.html", matrix::render::html(r).as_bytes())?;
    for c in &r.columns {
        if let Some(rep) = &c.report {
            crate::report::write_run(
                rep,
                &out.join(format!("{}.junit.xml", c.target)),
                &out.join(format!("{}.json", c.target)),
            )?;
        }
    }
    Ok(())
}

/// What `--target all` means: every target that can run here, the baselines first (the
/// first column is what the others are compared with), then the rest in file order. A
/// cluster target whose kubeconfig variable is unset is left out, with a note: it has no
/// cluster to run on, and asking for all should not make the run "could not run".
fn all_here(known: &[matrix::target::Target]) -> Vec<matrix::target::Target> {
    use matrix::target::TargetKind;
    let (mut first, rest): (Vec<_>, Vec<_>) = known
        .iter()
        .filter(|t| match &t.kubeconfig_env {
            Some(var) if std::env::var_os(var).is_none() => {
                eprintln!(
                    "note: --target all leaves out `{}`: {var} is not set",
                    t.name
                );
                false
            }
            _ => true,
        })
        .cloned()
        .partition(|t| t.kind == TargetKind::Baseline);
    first.extend(rest);
    first
}
