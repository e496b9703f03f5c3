//! `podcheck run`: load the suites (exit 2 on bad input, before any cluster), get a cluster,
//! run the selected cases in parallel, write JUnit and JSON, print the summary.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use super::Outcome;
use crate::cluster::ClusterOptions;
use crate::report::{self, RunFacts, progress::Progress};
use crate::runner::result::CaseResult;
use crate::runner::select::{Ask, Selection, Share};
use crate::runner::setup::{ImagesMode, SetupOptions};
use crate::runner::{self, DEFAULT_PARALLEL, pipeline};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A directory of suite files (repeatable). Default: the repository's `suites/` (a
    /// standalone binary's built-in copy; `podcheck suites export` writes it out).
    #[arg(long = "suites", value_name = "DIR")]
    pub suites: Vec<PathBuf>,
    /// Use this cluster and start none (also `PODCHECK_KUBECONFIG`).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Node image for the kind cluster podcheck starts (also `PODCHECK_NODE_IMAGE`).
    #[arg(long, value_name = "REF")]
    pub node_image: Option<String>,
    /// Worker nodes beside the control plane of the kind cluster podcheck starts (also
    /// `PODCHECK_WORKERS`); cases with `nodes: N` need N schedulable nodes.
    #[arg(long, value_name = "N", conflicts_with = "kubeconfig")]
    pub workers: Option<usize>,
    /// Run only cases whose `suite::case` matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub filter: Option<String>,
    /// Run only this share of the selected cases, for N runners with a cluster each:
    /// `count:K/N` takes every N-th case by name from the K-th, as nextest partitions tests.
    #[arg(long, value_name = "count:K/N")]
    pub partition: Option<crate::runner::partition::Partition>,
    /// How many cases run at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLEL as u16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// Run a failed case again, up to N times, each time in a namespace of its own; a case
    /// that passes on a retry is reported as flaky (its own verdict, with every failure
    /// before its pass), never as a plain pass.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,
    /// Run the selected cases N times in a row, one round after the other (to show that
    /// they are not flaky); each round's cases are named `<case> #<round>` in the reports.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Where to write the JUnit report (default: reports/podcheck.junit.xml).
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Where to write the JSON report (default: reports/podcheck.json).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Keep the namespaces of failed cases for inspection.
    #[arg(long)]
    pub keep_on_failure: bool,
    /// Fail a case whose texts hold what the behaviour needs but are worded otherwise than
    /// the notes word them (by default that is reported, "worded differently", not failed).
    #[arg(long)]
    pub strict_wording: bool,
    /// Which images `${image.<name>}` means: podcheck's offline images (default where they
    /// can be loaded into the cluster) or the book's (pulled from their registry).
    #[arg(
        long,
        value_enum,
        value_name = "offline|book|book-like",
        conflicts_with = "registry"
    )]
    pub images: Option<ImagesMode>,
    /// Push podcheck's images to this registry and have the cluster pull them from there
    /// (also `PODCHECK_REGISTRY`): for clusters podcheck cannot load images into. `http://`
    /// for a registry without TLS; credentials from PODCHECK_REGISTRY_USERNAME and
    /// PODCHECK_REGISTRY_PASSWORD. A kind cluster podcheck starts is set up to pull from it.
    #[arg(long, value_name = "[http://]HOST[:PORT][/PREFIX]")]
    pub registry: Option<crate::image::registry::Registry>,
    /// Also run cases marked `ignore:`.
    #[arg(long)]
    pub include_ignored: bool,
    #[command(flatten)]
    pub placement: PlacementArgs,
}

/// Where every pod of the run goes, whichever way a case creates it (a
/// MutatingAdmissionPolicy bound to the run's namespaces; Kubernetes 1.34 and later).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PlacementArgs {
    /// Give every pod this `runtimeClassName` (the RuntimeClass must exist).
    #[arg(long, value_name = "NAME")]
    pub runtime_class: Option<String>,
    /// Add this node selector label to every pod (repeatable).
    #[arg(long = "node-selector", value_name = "KEY=VALUE", value_parser = crate::runner::placement::parse_label)]
    pub node_selector: Vec<(String, String)>,
    /// Add this toleration to every pod, as kubectl writes taints (repeatable).
    #[arg(long = "toleration", value_name = "KEY[=VALUE][:EFFECT]")]
    pub tolerations: Vec<crate::runner::placement::Toleration>,
}

impl PlacementArgs {
    pub fn placement(&self) -> crate::runner::placement::Placement {
        crate::runner::placement::Placement {
            runtime_class: self.runtime_class.clone(),
            node_selector: self.node_selector.iter().cloned().collect(),
            tolerations: self.tolerations.clone(),
        }
    }
}

pub async fn run(args: RunArgs) -> Outcome {
    let mut times = runner::history::CaseTimes::load();
    let selection = match Selection::load(&args.ask(), &times) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", crate::errors::chain(&e));
            return Outcome::BadInput;
        }
    };
    if let Some(p) = &args.partition {
        eprintln!("partition {p}: {} selected case(s)", selection.cases.len());
    }
    let cluster_opts = match cluster_options(&args) {
        Ok(o) => o,
        Err(o) => return o,
    };
    let (junit_path, json_path) = {
        let (j, s) = report::default_paths();
        (
            args.junit.clone().unwrap_or(j),
            args.json.clone().unwrap_or(s),
        )
    };

    let cancel = CancellationToken::new();
    watch_ctrl_c(cancel.clone());
    let at = SystemTime::now();
    let clock = Instant::now();
    let run_id = runner::new_run_id();
    eprintln!(
        "podcheck run {run_id}: {} case(s){}, {} at a time",
        selection.cases.len(),
        if args.repeat > 1 {
            format!(" x {} rounds", args.repeat)
        } else {
            String::new()
        },
        args.parallel
    );

    let setup = SetupOptions {
        cluster: cluster_opts,
        images: args.images,
        keep_on_failure: args.keep_on_failure,
        strict_wording: args.strict_wording,
        run_id: run_id.clone(),
        placement: args.placement.placement(),
    };
    let started = tokio::select! {
        s = pipeline::start(setup, None, &cancel) => s,
        _ = cancel.cancelled() => {
            eprintln!("cancelled while getting the cluster ready");
            return Outcome::CouldNotRun;
        }
    };
    let report = match started {
        Ok(run) => {
            let facts = run.facts();
            eprintln!(
                "cluster: {} {} (images: {}{})",
                facts.provider,
                facts.server_version,
                facts.images_mode,
                if facts.placement.is_empty() {
                    String::new()
                } else {
                    format!("; pods: {}", facts.placement)
                }
            );
            let progress = Progress::new(selection.cases.len() * args.repeat as usize);
            let schedule = pipeline::Schedule {
                rounds: args.repeat,
                parallel: args.parallel as usize,
                retries: args.retries,
            };
            let results = run
                .run(&selection.cases, schedule, &cancel, &progress)
                .await;
            progress.finish();
            times.record(&results);
            times.save();
            run.finish(results, &selection, facts).await
        }
        Err(e) => {
            let why = crate::errors::chain(&e);
            eprintln!("error: {why}");
            if e.is_bad_input() {
                return Outcome::BadInput;
            }
            let results = selection
                .cases
                .iter()
                .map(|c| CaseResult::could_not_run(c, &format!("no cluster: {why}")))
                .collect();
            let facts = RunFacts {
                run_id: run_id.clone(),
                ..RunFacts::default()
            };
            pipeline::report(
                facts,
                at,
                clock.elapsed(),
                &selection,
                results,
                Vec::new(),
                Duration::ZERO,
            )
        }
    };
    let mut outcome = Outcome::of(report.verdict);
    if let Err(e) = report::write_run(&report, &junit_path, &json_path) {
        eprintln!("error: writing reports: {}", crate::errors::chain(&e));
        outcome = outcome.worst(Outcome::CouldNotRun);
    }
    print!("{}", report::summary::render(&report));
    eprintln!("reports: {} {}", junit_path.display(), json_path.display());
    outcome
}

impl RunArgs {
    /// What the run takes.
    fn ask(&self) -> Ask {
        Ask {
            suites: self.suites.clone(),
            filter: self.filter.clone(),
            include_ignored: self.include_ignored,
            partition: self.partition.map(|p| (p, Share::Cases)),
        }
    }
}

/// Where the cases run, from the flags over the environment; a kubeconfig that does not
/// parse is bad input.
fn cluster_options(args: &RunArgs) -> Result<ClusterOptions, Outcome> {
    let mut opts = ClusterOptions::from_env();
    if let Some(k) = &args.kubeconfig {
        opts.kubeconfig = Some(k.clone());
    }
    if let Some(k) = &opts.kubeconfig
        && let Err(e) = kube::config::Kubeconfig::read_from(k)
    {
        eprintln!(
            "error: kubeconfig {}: {e}; hint: point --kubeconfig (or PODCHECK_KUBECONFIG) at a readable kubeconfig file",
            k.display()
        );
        return Err(Outcome::BadInput);
    }
    opts.context = args.context.clone();
    if args.node_image.is_some() {
        opts.node_image = args.node_image.clone();
    }
    if let Some(w) = args.workers {
        opts.workers = w;
    }
    opts.registry = match &args.registry {
        Some(r) => Some(r.clone()),
        None if args.images.is_some() => None,
        None => crate::cluster::registry_from_env().map_err(|e| {
            eprintln!("error: {}", crate::errors::chain(&e));
            Outcome::BadInput
        })?,
    };
    Ok(opts)
}

/// First Ctrl-C: cancel (running cases stop, namespaces are cleaned up, reports written).
/// Second: leave at once.
fn watch_ctrl_c(cancel: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\ninterrupted: cancelling the running cases, cleaning up (Ctrl-C again to quit now)"
            );
            cancel.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
}
