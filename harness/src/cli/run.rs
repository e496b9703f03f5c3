//! `podcheck run`: load the suites (exit 2 on bad input, before any cluster), get a cluster,
//! run the selected cases in parallel, write JUnit and JSON, print the summary.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use regex::Regex;
use tokio_util::sync::CancellationToken;

use super::Outcome;
use crate::cluster::ClusterOptions;
use crate::report::{self, RunFacts, RunReport, progress::Progress};
use crate::runner::result::{CaseResult, CaseStatus};
use crate::runner::setup::{self, ImagesMode, SetupOptions};
use crate::runner::{self, DEFAULT_PARALLEL, select};
use crate::suite::{self, Case};

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
    /// Which images `${image.<name>}` means: podcheck's offline images (default where they
    /// can be loaded into the cluster) or the book's (pulled from their registry).
    #[arg(
        long,
        value_enum,
        value_name = "offline|book",
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
    let (suites, mut cases, ignored) = match select_cases(&args) {
        Ok(x) => x,
        Err(o) => return o,
    };
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
    let started_at = SystemTime::now();
    let started = Instant::now();
    let run_id = runner::new_run_id();
    let mut times = runner::history::CaseTimes::load();
    select::schedule(&mut cases, &times);
    eprintln!(
        "podcheck run {run_id}: {} case(s){}, {} at a time",
        cases.len(),
        if args.repeat > 1 {
            format!(" x {} rounds", args.repeat)
        } else {
            String::new()
        },
        args.parallel
    );

    let setup = setup::prepare(SetupOptions {
        cluster: cluster_opts,
        images: args.images,
        keep_on_failure: args.keep_on_failure,
        run_id: run_id.clone(),
        placement: args.placement.placement(),
    });
    let prepared = tokio::select! {
        p = setup => p,
        _ = cancel.cancelled() => {
            eprintln!("cancelled while getting the cluster ready");
            return Outcome::CouldNotRun;
        }
    };
    let (mut results, facts, cluster, leftovers, tail) = match prepared {
        Ok(p) => {
            let facts = RunFacts::of(&run_id, &p.env, p.images_mode);
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
            let mut results = run_rounds(&p.env, &cases, &args, &cancel).await;
            times.record(&results);
            times.save();
            let last_verdict = Instant::now();
            let leftovers = p.env.finish_cleanup(&mut results).await;
            (
                results,
                facts,
                Some(p.cluster),
                leftovers,
                last_verdict.elapsed(),
            )
        }
        Err(e) => {
            eprintln!("error: {e}");
            if e.is_bad_input() {
                return Outcome::BadInput;
            }
            let results = cases
                .iter()
                .map(|c| CaseResult::could_not_run(c, &format!("no cluster: {e}")))
                .collect();
            let facts = RunFacts {
                run_id: run_id.clone(),
                ..RunFacts::default()
            };
            (results, facts, None, Vec::new(), Duration::ZERO)
        }
    };
    results.extend(ignored.iter().map(|c| {
        CaseResult::skipped(c, format!("ignored: {}", c.ignore.as_deref().unwrap_or("")))
    }));
    let suite_order = suites
        .suites
        .iter()
        .map(|s| (s.name.clone(), s.file.display().to_string()))
        .collect();
    let report = RunReport::new(facts, started_at, started.elapsed(), suite_order, results)
        .with_cleanup(leftovers, tail)
        .with_behaviours(suites.catalogue.ids());
    let mut outcome = Outcome::of(report.verdict);
    if let Err(e) = write_reports(&report, &junit_path, &json_path) {
        eprintln!("error: writing reports: {e}");
        outcome = outcome.worst(Outcome::CouldNotRun);
    }
    print!("{}", report::summary::render(&report));
    eprintln!("reports: {} {}", junit_path.display(), json_path.display());
    if let Some(c) = cluster {
        c.shutdown().await;
    }
    outcome
}

/// Load the suites and pick the cases to run: bad input (a broken suite, a bad regex, a
/// filter that selects nothing that would run) is exit 2 before any cluster is touched.
fn select_cases(args: &RunArgs) -> Result<(suite::Suites, Vec<Case>, Vec<Case>), Outcome> {
    let suites = suite::load(&args.suites).map_err(|e| {
        eprintln!("{e}");
        eprintln!("error: {} problem(s) in the suites; nothing ran", e.0.len());
        Outcome::BadInput
    })?;
    let filter = args
        .filter
        .as_deref()
        .map(Regex::new)
        .transpose()
        .map_err(|e| {
            eprintln!("error: --filter: {e}");
            Outcome::BadInput
        })?;
    let (selected, ignored) = select::select(&suites, filter.as_ref(), args.include_ignored);
    let shown = args.filter.as_deref().unwrap_or("");
    if selected.is_empty() && ignored.is_empty() {
        eprintln!("error: no case matches --filter {shown}");
        return Err(Outcome::BadInput);
    }
    if selected.is_empty() {
        eprintln!(
            "error: --filter {shown} selects only ignored cases ({}): nothing would run; add --include-ignored to run them",
            ignored
                .iter()
                .map(|c| c.id())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Err(Outcome::BadInput);
    }
    let mut selected: Vec<Case> = selected.into_iter().cloned().collect();
    if let Some(p) = &args.partition {
        let of = selected.len();
        selected = p.take(selected, Case::id);
        if selected.is_empty() {
            eprintln!(
                "error: --partition {p} of {of} selected case(s) is empty: nothing would run; hint: fewer partitions than cases"
            );
            return Err(Outcome::BadInput);
        }
        eprintln!("partition {p}: {} of {of} selected case(s)", selected.len());
    }
    let ignored = ignored.into_iter().cloned().collect();
    Ok((suites, selected, ignored))
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
            eprintln!("error: {e}; hint: unset it, or give an address as --registry takes it");
            Outcome::BadInput
        })?,
    };
    Ok(opts)
}

/// Every round of the selected cases, one after the other (`--repeat`).
async fn run_rounds(
    env: &runner::Environment,
    cases: &[Case],
    args: &RunArgs,
    cancel: &CancellationToken,
) -> Vec<CaseResult> {
    let progress = Progress::new(cases.len() * args.repeat as usize);
    let mut results = Vec::new();
    for round in 1..=args.repeat {
        let round_cases: Vec<Case> = cases
            .iter()
            .map(|c| c.in_round(round, args.repeat))
            .collect();
        let t = Instant::now();
        let r =
            runner::run_cases(env, &round_cases, args.parallel as usize, cancel, &progress).await;
        if args.repeat > 1 {
            let passed = r.iter().filter(|r| r.status == CaseStatus::Passed).count();
            let wall = t.elapsed();
            let longest = r.iter().map(|c| c.step_time).max().unwrap_or_default();
            progress.line(&format!(
                "round {round}/{}: {passed}/{} passed in {:.1}s against its longest case's {:.1}s of steps (x{:.2})",
                args.repeat,
                r.len(),
                wall.as_secs_f64(),
                longest.as_secs_f64(),
                wall.as_secs_f64() / longest.as_secs_f64().max(0.001)
            ));
        }
        results.extend(r);
    }
    progress.finish();
    results
}

fn write_reports(
    r: &RunReport,
    junit: &std::path::Path,
    json: &std::path::Path,
) -> Result<(), String> {
    let xml = report::junit::to_string(r).map_err(|e| e.to_string())?;
    report::write_file(junit, xml.as_bytes()).map_err(|e| format!("{}: {e}", junit.display()))?;
    let js = report::json::to_string(r).map_err(|e| e.to_string())?;
    report::write_file(json, js.as_bytes()).map_err(|e| format!("{}: {e}", json.display()))
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
