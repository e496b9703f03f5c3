//! `podcheck cluster up | down | status`: a kind cluster that outlives one run, for repeated
//! runs against the same cluster and for nextest's setup script. `up` remembers what it made
//! in a state file; `down` removes exactly that.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Outcome;
use crate::cluster::{self, ClusterOptions, docker};
use crate::runner::setup;

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Start a kind cluster, load the offline fixture images into it, and keep it.
    Up(UpArgs),
    /// Remove the cluster `up` started (its node containers, network and kubeconfig).
    Down,
    /// Show the cluster `up` started and whether it answers.
    Status,
    /// Remove a node container once a process has exited (started by `up --remove-after-pid`).
    #[command(hide = true)]
    Watch(WatchArgs),
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[arg(long)]
    pub pid: u32,
    /// The cluster whose nodes (and network) to remove.
    #[arg(long)]
    pub cluster: String,
    #[arg(long)]
    pub kubeconfig: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Node image (default: PODCHECK_NODE_IMAGE, else a pinned official kindest/node).
    #[arg(long, value_name = "REF")]
    pub node_image: Option<String>,
    /// Worker nodes beside the control plane (also `PODCHECK_WORKERS`); the nodes then share
    /// a Docker network of the cluster's own.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Where to write the kubeconfig (mode 0600). Default: target/podcheck/clusters/NAME.kubeconfig.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Do not build and load podcheck's offline fixture images.
    #[arg(long)]
    pub no_images: bool,
    /// Set every node's containerd up to pull from this registry (a `hosts.toml`), for
    /// `podcheck run --kubeconfig … --registry` with the same address.
    #[arg(long, value_name = "[http://]HOST[:PORT][/PREFIX]")]
    pub registry: Option<crate::image::registry::Registry>,
    /// Remove the cluster when this process exits, instead of keeping it until `down`
    /// (the nextest setup script passes nextest's PID: nextest has no teardown scripts).
    #[arg(long, value_name = "PID")]
    pub remove_after_pid: Option<u32>,
}

/// What `up` made, for `down` and `status`.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    name: String,
    container: String,
    kubeconfig: PathBuf,
    node_image: String,
    server_version: String,
}

fn state_path() -> PathBuf {
    crate::paths::work_dir().join("cluster-up.json")
}

fn read_state() -> Option<State> {
    let text = std::fs::read_to_string(state_path()).ok()?;
    serde_json::from_str(&text).ok()
}

pub async fn run(cmd: ClusterCommand) -> Outcome {
    match cmd {
        ClusterCommand::Up(args) => up(args).await,
        ClusterCommand::Down => down().await,
        ClusterCommand::Status => status().await,
        ClusterCommand::Watch(args) => watch(args).await,
    }
}

async fn up(args: UpArgs) -> Outcome {
    if let Some(s) = read_state() {
        eprintln!(
            "note: a cluster from an earlier `cluster up` is recorded ({}); `podcheck cluster down` removes it",
            s.name
        );
    }
    let mut opts = ClusterOptions::from_env();
    opts.kubeconfig = None;
    opts.keep = true;
    opts.node_image = args.node_image.or(opts.node_image);
    opts.workers = args.workers.unwrap_or(opts.workers);
    opts.kubeconfig_out = args.kubeconfig_out;
    opts.registry = args.registry;
    // A cluster others will use (tests, a user's kubectl): it is up when DNS serves too.
    opts.wait_for_dns = true;
    let started = tokio::select! {
        // A cluster tied to a process is removed by its watcher, not by `down`: recording it
        // would overwrite the record of a cluster that `down` must still find.
        r = start(opts, !args.no_images, args.remove_after_pid.is_none()) => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    match started {
        Ok(state) => {
            eprintln!(
                "cluster {} is up (Kubernetes {})",
                state.name, state.server_version
            );
            match args.remove_after_pid {
                Some(pid) => {
                    if let Err(e) = spawn_watcher(pid, &state) {
                        eprintln!("error: cannot start the watcher that removes the cluster: {e}");
                        return Outcome::Failed;
                    }
                    eprintln!("it is removed when process {pid} exits");
                }
                None => eprintln!("remove it with: podcheck cluster down"),
            }
            println!("export PODCHECK_KUBECONFIG={}", state.kubeconfig.display());
            Outcome::Success
        }
        Err(e) => {
            // Whatever this process started must not outlive a failed or interrupted `up`.
            if let Ok(d) = docker::connect().await
                && let Err(cleanup) = docker::remove_owned_by_this_process(&d).await
            {
                eprintln!("error: {cleanup}");
            }
            eprintln!("error: {e}");
            Outcome::BadInput
        }
    }
}

async fn start(opts: ClusterOptions, load_images: bool, record: bool) -> Result<State, String> {
    let told = |e: &(dyn std::error::Error + 'static)| crate::errors::chain(e);
    // The fixture images are built while the cluster starts: neither needs the other.
    let (cluster, built) = if load_images {
        let (cluster, built) = setup::acquire_while_building(opts, true).await;
        (cluster, Some(built))
    } else {
        (cluster::acquire(&opts).await, None)
    };
    let cluster = cluster.map_err(|e| told(&e))?;
    if let Some(built) = built {
        let archives: Vec<PathBuf> = built
            .map_err(|e| told(&e))?
            .iter()
            .map(|i| i.archive.clone())
            .collect();
        if !cluster.images_preloaded() {
            cluster.load_images(&archives).await.map_err(|e| told(&e))?;
        }
        eprintln!("loaded {} fixture images", archives.len());
    }
    // Copy the node's kubectl now, once, instead of in every test process.
    cluster.kubectl().await.map_err(|e| told(&e))?;
    let node = cluster
        .nodes()
        .first()
        .ok_or("the cluster has no node container")?;
    let state = State {
        name: cluster.name().unwrap_or_default().to_string(),
        container: node.id.clone(),
        kubeconfig: std::fs::canonicalize(cluster.kubeconfig())
            .unwrap_or_else(|_| cluster.kubeconfig().to_path_buf()),
        node_image: cluster.info().node_image.clone().unwrap_or_default(),
        server_version: cluster.info().server_version.clone(),
    };
    if record {
        let path = state_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap_or_default())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    cluster.shutdown().await; // keeps the node: it was started with keep
    Ok(state)
}

/// A detached `podcheck cluster watch`: in its own process group, so that a Ctrl-C sent to
/// the owner's terminal does not kill it before it has removed the node.
fn spawn_watcher(pid: u32, state: &State) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    std::process::Command::new(std::env::current_exe()?)
        .args([
            "cluster",
            "watch",
            "--pid",
            &pid.to_string(),
            "--cluster",
            &state.name,
        ])
        .arg("--kubeconfig")
        .arg(&state.kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(|_| ())
}

async fn watch(args: WatchArgs) -> Outcome {
    // No portable way to be told of another process's exit: check its /proc entry.
    let proc_dir = PathBuf::from(format!("/proc/{}", args.pid));
    while proc_dir.exists() {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let Ok(d) = docker::connect().await else {
        return Outcome::Failed;
    };
    // Kubeconfig and state first: once the node is gone, nothing should point at it.
    let _ = std::fs::remove_file(&args.kubeconfig);
    if read_state().is_some_and(|s| s.name == args.cluster) {
        let _ = std::fs::remove_file(state_path());
    }
    let removed = docker::remove_cluster(&d, &args.cluster).await.is_ok();
    if removed {
        Outcome::Success
    } else {
        Outcome::Failed
    }
}

async fn down() -> Outcome {
    let Some(state) = read_state() else {
        eprintln!("no cluster from `podcheck cluster up` is recorded; nothing to remove");
        return Outcome::Success;
    };
    let d = match docker::connect().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
    };
    // Every node carrying the cluster's label, then its network; already gone is fine.
    if let Err(e) = docker::remove_cluster(&d, &state.name).await {
        eprintln!("error: removing {}: {e}", state.name);
        return Outcome::Failed;
    }
    let _ = std::fs::remove_file(&state.kubeconfig);
    let _ = std::fs::remove_file(state_path());
    eprintln!("cluster {} removed", state.name);
    Outcome::Success
}

async fn status() -> Outcome {
    let Some(state) = read_state() else {
        println!("no cluster from `podcheck cluster up`");
        return Outcome::Failed;
    };
    println!("cluster:    {}", state.name);
    println!("node image: {}", state.node_image);
    println!("kubeconfig: {}", state.kubeconfig.display());
    let kc = match cluster::kubeconfig::read(&state.kubeconfig) {
        Ok(kc) => kc,
        Err(e) => {
            println!("state:      broken ({e})");
            return Outcome::Failed;
        }
    };
    match cluster::kubeconfig::connect(kc, None, &state.kubeconfig).await {
        Ok((_, version)) => {
            println!("state:      up, API server answers (Kubernetes {version})");
            println!("export PODCHECK_KUBECONFIG={}", state.kubeconfig.display());
            Outcome::Success
        }
        Err(e) => {
            println!("state:      not answering ({e})");
            Outcome::Failed
        }
    }
}
