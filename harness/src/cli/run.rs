//! `podcheck run`: load the suites (exit 2 on bad input, before any cluster), get a cluster,
//! run the selected cases in parallel, write JUnit and JSON, print the summary.

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use regex::Regex;
use tokio_util::sync::CancellationToken;

use super::Outcome;
use crate::cluster::ClusterOptions;
use crate::report::{self, RunFacts, RunReport, progress::Progress};
use crate::runner::result::{CaseResult, CaseStatus, Failure};
use crate::runner::setup::{self, ImagesMode, SetupOptions};
use crate::runner::{self, DEFAULT_PARALLEL, select};
use crate::suite::{self, Case};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A directory of suite files (repeatable). Default: the repository's `suites/`.
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
    /// Run only cases whose `suite::case` matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub filter: Option<String>,
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
    #[arg(long, value_enum, value_name = "offline|book")]
    pub images: Option<ImagesMode>,
    /// Also run cases marked `ignore:`.
    #[arg(long)]
    pub include_ignored: bool,
}

pub async fn run(args: RunArgs) -> Outcome {
    let suites = match suite::load(&args.suites) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("error: {} problem(s) in the suites; nothing ran", e.0.len());
            return Outcome::BadInput;
        }
    };
    let filter = match args.filter.as_deref().map(Regex::new).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --filter: {e}");
            return Outcome::BadInput;
        }
    };
    let (selected, ignored) = select::select(&suites, filter.as_ref(), args.include_ignored);
    if selected.is_empty() && ignored.is_empty() {
        eprintln!(
            "error: no case matches --filter {}",
            args.filter.as_deref().unwrap_or("")
        );
        return Outcome::BadInput;
    }
    let mut cluster_opts = ClusterOptions::from_env();
    if let Some(k) = &args.kubeconfig {
        cluster_opts.kubeconfig = Some(k.clone());
    }
    if let Some(k) = &cluster_opts.kubeconfig
        && let Err(e) = kube::config::Kubeconfig::read_from(k)
    {
        eprintln!("error: kubeconfig {}: {e}", k.display());
        return Outcome::BadInput;
    }
    cluster_opts.context = args.context.clone();
    if args.node_image.is_some() {
        cluster_opts.node_image = args.node_image.clone();
    }
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
    let mut cases: Vec<Case> = selected.into_iter().cloned().collect();
    select::schedule(&mut cases);
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
    });
    let prepared = tokio::select! {
        p = setup => p,
        _ = cancel.cancelled() => {
            eprintln!("cancelled while getting the cluster ready");
            return Outcome::Failed;
        }
    };
    let (mut results, facts, cluster) = match prepared {
        Ok(p) => {
            let facts = RunFacts {
                run_id: run_id.clone(),
                provider: p.env.info.provider.to_string(),
                server_version: p.env.info.server_version.clone(),
                node_image: p.env.info.node_image.clone(),
                images_mode: format!("{:?}", p.images_mode).to_lowercase(),
                images: p.env.images.clone(),
            };
            eprintln!(
                "cluster: {} {} (images: {})",
                facts.provider, facts.server_version, facts.images_mode
            );
            let progress = Progress::new(cases.len() * args.repeat as usize);
            let mut results = Vec::new();
            for round in 1..=args.repeat {
                let round_cases: Vec<Case> = cases
                    .iter()
                    .map(|c| c.in_round(round, args.repeat))
                    .collect();
                let t = Instant::now();
                let r = runner::run_cases(
                    &p.env,
                    &round_cases,
                    args.parallel as usize,
                    &cancel,
                    &progress,
                )
                .await;
                if args.repeat > 1 {
                    let passed = r.iter().filter(|r| r.status == CaseStatus::Passed).count();
                    progress.line(&format!(
                        "round {round}/{}: {passed}/{} passed in {:.1}s",
                        args.repeat,
                        r.len(),
                        t.elapsed().as_secs_f64()
                    ));
                }
                results.extend(r);
            }
            progress.finish();
            (results, facts, Some(p.cluster))
        }
        Err(e) => {
            eprintln!("error: {e}");
            let results = cases
                .iter()
                .map(|c| {
                    let mut r = CaseResult::skipped(c, "");
                    r.status = CaseStatus::Error;
                    r.failure = Some(Failure {
                        step: None,
                        message: format!("no cluster: {e}"),
                        detail: e.to_string(),
                        expected: None,
                        actual: None,
                    });
                    r
                })
                .collect();
            let facts = RunFacts {
                run_id: run_id.clone(),
                ..RunFacts::default()
            };
            (results, facts, None)
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
    let report = RunReport::new(facts, started_at, started.elapsed(), suite_order, results);
    let mut outcome = if report.counts.all_passed() {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    if let Err(e) = write_reports(&report, &junit_path, &json_path) {
        eprintln!("error: writing reports: {e}");
        outcome = Outcome::Failed;
    }
    print!("{}", report::summary::render(&report));
    eprintln!("reports: {} {}", junit_path.display(), json_path.display());
    if let Some(c) = cluster {
        c.shutdown().await;
    }
    outcome
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
