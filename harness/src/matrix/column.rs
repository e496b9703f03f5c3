//! One column of the matrix: a target's cluster made ready (its node image built, a kind
//! cluster started on it, or its kubeconfig read), its prepare steps, the run's placement,
//! the cases, and the facts its header shows. A column that cannot be had says why and
//! never costs the others their results.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::target::{NodeImage, OciRuntime, Target, TargetKind};
use crate::cluster::ClusterOptions;
use crate::report::RunReport;
use crate::runner::result::CaseResult;
use crate::runner::select::Selection;
use crate::runner::setup::SetupOptions;
use crate::runner::{self, Observer, pipeline};

/// What a column's header says about the implementation.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Facts {
    pub kubernetes: String,
    /// `containerd://2.4.2`, as the node the cases ran on reports it.
    pub container_runtime: String,
    pub oci_runtime: String,
    pub kubelet: String,
    pub cni: String,
    pub nodes: usize,
    pub node_image: String,
    /// Where the pods went (the run's placement).
    pub placement: String,
}

#[derive(Debug, Serialize)]
pub struct Column {
    pub target: String,
    pub kind: TargetKind,
    pub description: String,
    pub facts: Facts,
    /// The run, when the column could run.
    pub report: Option<RunReport>,
    /// Why it could not run.
    pub error: Option<String>,
    #[serde(serialize_with = "crate::runner::result::secs::serialize")]
    pub took: Duration,
}

/// Prints each finished case with its column's name.
struct Lines<'a>(&'a str);

impl Observer for Lines<'_> {
    fn finished(&self, r: &CaseResult) {
        eprintln!("[{}] {}", self.0, crate::report::progress::case_line(r));
    }

    fn note(&self, line: &str) {
        eprintln!("[{}] {line}", self.0);
    }
}

/// Why a column could not run: its report says so in the column's place.
#[derive(Debug, thiserror::Error)]
pub enum ColumnError {
    #[error("running the recipe {}", .script.display())]
    Recipe {
        script: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the recipe {} {}; hint: run it alone to see its whole output",
        .script.display(),
        if *.ran { "printed no image" } else { "failed" }
    )]
    RecipeFailed { script: PathBuf, ran: bool },
    #[error("no cluster given; hint: set {0} to a kubeconfig of the cluster to check")]
    NoKubeconfig(String),
    #[error("the target names no cluster; hint: give it a node_image or a kubeconfig_env")]
    NoCluster,
    #[error(transparent)]
    Setup(#[from] crate::runner::setup::SetupError),
}

/// The base node image for the targets' recipes: of Kubernetes `minor`, what
/// `ci/node-image/build --kubernetes MINOR` (beside `targets_dir`) builds; of the default
/// version, `PODCHECK_NODE_IMAGE`, else what `ci/node-image/build` builds.
pub async fn base_image(targets_dir: &Path, minor: Option<&str>) -> Result<String, ColumnError> {
    let script = targets_dir.join("../node-image/build");
    match minor {
        Some(m) => build_image(&script, &["--kubernetes", m]).await,
        None => match crate::config::NODE_IMAGE.get() {
            Some(i) => Ok(i),
            None => build_image(&script, &[]).await,
        },
    }
}

/// Run a recipe; its last line of stdout is the image. Its stderr goes to ours.
async fn build_image(script: &Path, args: &[&str]) -> Result<String, ColumnError> {
    let mut cmd = tokio::process::Command::new(script);
    cmd.args(args);
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .await
        .map_err(|source| ColumnError::Recipe {
            script: script.to_path_buf(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match (
        out.status.success(),
        stdout.lines().rev().find(|l| !l.trim().is_empty()),
    ) {
        (true, Some(r)) => Ok(r.trim().to_string()),
        (ran, _) => Err(ColumnError::RecipeFailed {
            script: script.to_path_buf(),
            ran,
        }),
    }
}

/// Options every column shares.
pub struct ColumnOptions {
    /// The base node image of each Kubernetes minor asked for (`None`: the default one).
    pub base_images: std::collections::BTreeMap<Option<String>, String>,
    pub parallel: usize,
    pub strict_wording: bool,
    pub retries: u32,
}

/// Have the target's cluster, run the selected cases on it, and tell what it is.
pub async fn run(
    t: &Target,
    selection: &Selection,
    opts: &ColumnOptions,
    cancel: &CancellationToken,
) -> Column {
    let started = Instant::now();
    let mut col = Column {
        target: t.name.clone(),
        kind: t.kind,
        description: t.description.clone(),
        facts: Facts {
            placement: t.placement.summary(),
            ..Facts::default()
        },
        report: None,
        error: None,
        took: Duration::ZERO,
    };
    if let Err(e) = fill(&mut col, t, selection, opts, cancel).await {
        let why = crate::errors::chain(&e);
        eprintln!("[{}] could not run: {why}", t.name);
        col.error = Some(why);
    }
    col.took = started.elapsed();
    col
}

/// The target's cluster options: a node image (built by its recipe) or its kubeconfig.
async fn cluster_of(t: &Target, opts: &ColumnOptions) -> Result<ClusterOptions, ColumnError> {
    let mut cluster = ClusterOptions {
        keep: false,
        ..ClusterOptions::from_env()
    };
    cluster.kubeconfig = None;
    let base = opts.base_images.get(&t.kubernetes).map(String::as_str);
    match (&t.node_image, &t.kubeconfig_env) {
        (Some(NodeImage::Image(i)), _) => cluster.node_image = Some(i.clone()),
        (Some(NodeImage::Base), _) => cluster.node_image = base.map(str::to_string),
        (Some(NodeImage::Build(script)), _) => {
            eprintln!("[{}] building its node image ({script})", t.name);
            let args: Vec<&str> = base.into_iter().collect();
            cluster.node_image = Some(build_image(&t.dir().join(script), &args).await?);
        }
        (None, Some(env)) => {
            let kc = std::env::var(env)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ColumnError::NoKubeconfig(env.clone()))?;
            cluster.kubeconfig = Some(kc.into());
        }
        (None, None) => return Err(ColumnError::NoCluster),
    }
    Ok(cluster)
}

/// The run pipeline on the target's cluster, with its prepare steps and placement.
async fn fill(
    col: &mut Column,
    t: &Target,
    selection: &Selection,
    opts: &ColumnOptions,
    cancel: &CancellationToken,
) -> Result<(), ColumnError> {
    let cluster = cluster_of(t, opts).await?;
    col.facts.node_image = cluster.node_image.clone().unwrap_or_default();
    let setup = SetupOptions {
        cluster,
        images: None,
        keep_on_failure: false,
        strict_wording: opts.strict_wording,
        run_id: runner::new_run_id(),
        placement: t.placement.clone(),
    };
    let prepare = pipeline::Prepare {
        steps: &t.prepare,
        diagnose: t.diagnose.as_deref(),
    };
    let run = pipeline::start(setup, Some(prepare), cancel).await?;
    col.facts = facts(&run.env, t).await;
    let schedule = pipeline::Schedule {
        rounds: 1,
        parallel: opts.parallel,
        retries: opts.retries,
    };
    let results = run
        .run(&selection.cases, schedule, cancel, &Lines(&t.name))
        .await;
    let mut facts = run.facts();
    facts.provider = format!("{} ({})", facts.provider, t.name);
    col.report = Some(run.finish(results, selection, facts).await);
    Ok(())
}

/// The header: versions, runtimes, CNI, nodes — of the node the cases' pods are placed on.
async fn facts(env: &runner::Environment, t: &Target) -> Facts {
    let mut f = Facts {
        kubernetes: env.info.server_version.clone(),
        node_image: env.info.node_image.clone().unwrap_or_default(),
        placement: t.placement.summary(),
        ..Facts::default()
    };
    let nodes: Api<Node> = Api::all(env.client.clone());
    let list = nodes
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    f.nodes = list.len();
    let placed = list.iter().find(|n| {
        t.placement.node_selector.iter().all(|(k, v)| {
            n.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(k))
                .is_some_and(|x| x == v)
        })
    });
    if let Some(n) = placed
        .and_then(|n| n.status.as_ref())
        .and_then(|s| s.node_info.as_ref())
    {
        f.container_runtime = n.container_runtime_version.clone();
        f.kubelet = n.kubelet_version.clone();
    }
    let container = placed
        .and_then(|n| n.metadata.name.as_deref())
        .and_then(|name| env.nodes.iter().find(|c| c.name == name));
    let in_node = |cmd: String| async move {
        match container {
            Some(c) => c
                .exec(&["sh", "-c", &cmd])
                .await
                .ok()
                .filter(|o| o.exit_code == 0)
                .and_then(|o| o.stdout.lines().next().map(str::to_string))
                .unwrap_or_else(|| "?".into()),
            None => "— (not a node container)".into(),
        }
    };
    f.oci_runtime = match &t.oci_runtime {
        Some(OciRuntime::Is(s)) => s.clone(),
        Some(OciRuntime::Command(cmd)) => in_node(cmd.clone()).await,
        None => in_node("runc --version | head -n 1".into()).await,
    };
    f.cni = in_node(
        "for f in /etc/cni/net.d/*.conflist; do jq -r '.name + \" (\" + ([.plugins[].type] | join(\", \")) + \")\"' \"$f\"; done | head -n 1".into(),
    )
    .await;
    f
}
