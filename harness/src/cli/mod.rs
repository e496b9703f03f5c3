//! The `podcheck` command line. Each subcommand lives in its own file; this one only parses
//! and dispatches, and maps outcomes to the exit codes of the contract:
//! 0 all passed; 1 a behaviour did not hold (the implementation does not conform); 2 bad
//! input (suite file, flags, kubeconfig); 3 could not check (the cluster or its set-up
//! failed, the run was interrupted, or it left namespaces behind) and nothing failed.

mod cluster;
mod coverage;
mod diff;
mod image;
mod list;
mod matrix;
mod run;
mod suites;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// End-to-end conformance harness for the Kubernetes Pod.
///
/// Starts a real cluster (a kind node through testcontainers) or uses one given by kubeconfig,
/// runs the data-driven suites and writes JUnit and JSON reports.
///
/// Exit codes: 0 every case passed; 1 a behaviour did not hold (does not conform); 2 bad
/// input (a suite file, a flag, a kubeconfig); 3 could not check (no cluster, a failed
/// set-up, an interrupted run, namespaces left behind) and no behaviour failed.
#[derive(Debug, Parser)]
#[command(
    name = "podcheck",
    version,
    propagate_version = true,
    after_long_help = crate::config::help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the suites against a cluster (a kind cluster podcheck starts, unless given one).
    Run(run::RunArgs),
    /// List every case with the behaviour IDs it covers.
    List(SuitesArgs),
    /// Print the catalogue x cases matrix; exit 1 when a behaviour has no case.
    Coverage(SuitesArgs),
    /// Start, stop or inspect a kind cluster that outlives one run.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Build the fixture images, or push them to a registry.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Run the cases on several implementations (targets) and report behaviour x target.
    Matrix(matrix::MatrixArgs),
    /// Write out the default suites (those built into a standalone binary) to edit them.
    #[command(subcommand)]
    Suites(suites::SuitesCommand),
    /// What changed between two reports (of `run` or `matrix`); exit 1 when something newly
    /// fails.
    Diff(diff::DiffArgs),
}

/// Where the suites are read from.
#[derive(Debug, Args)]
pub struct SuitesArgs {
    /// A directory of suite files (repeatable). Default: the repository's `suites/` (a
    /// standalone binary's built-in copy; `podcheck suites export` writes it out).
    #[arg(long = "suites", value_name = "DIR")]
    pub suites: Vec<PathBuf>,
}

/// What a subcommand ended with; mapped to the process exit code in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Success,
    /// Exit 3: nothing failed, but something could not be checked.
    CouldNotRun,
    /// Exit 1: a behaviour did not hold.
    Failed,
    /// Exit 2: the input is wrong; nothing ran.
    BadInput,
}

impl Outcome {
    /// The outcome of a run with this verdict.
    pub fn of(v: crate::report::Verdict) -> Self {
        match v {
            crate::report::Verdict::Conforms => Outcome::Success,
            crate::report::Verdict::DoesNotConform => Outcome::Failed,
            crate::report::Verdict::CouldNotCheck => Outcome::CouldNotRun,
        }
    }

    /// The more serious of two outcomes.
    pub fn worst(self, other: Outcome) -> Outcome {
        self.max(other)
    }

    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::BadInput => 2,
            Outcome::CouldNotRun => 3,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        ExitCode::from(o.code())
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run::run(args).await,
            Command::List(args) => list::run(args),
            Command::Coverage(args) => coverage::run(args),
            Command::Cluster(cmd) => cluster::run(cmd).await,
            Command::Image(cmd) => image::run(cmd).await,
            Command::Matrix(args) => matrix::run(args).await,
            Command::Suites(cmd) => suites::run(cmd),
            Command::Diff(args) => diff::run(args),
        }
    });
    outcome.into()
}
