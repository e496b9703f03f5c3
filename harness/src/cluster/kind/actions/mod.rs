//! The bootstrap of a kind cluster, one action per file, run in this order (as kind's
//! `create/actions`): wait for the nodes' init, point the nodes' DNS at Docker's (on a
//! cluster network), let containerd pull from `--registry`, start importing the fixture
//! images in the background, write the kubeadm config, write
//! the pod network ahead (one node of podcheck's image), `kubeadm init`, export the
//! kubeconfig, join the workers, then together: probe CoreDNS every second, untaint, install
//! the CNI, install storage; wait until ready, wait for the image import.

pub mod boot;
pub mod cni;
pub mod config;
pub mod coredns;
pub mod dns;
pub mod init;
pub mod join;
pub mod kubeconfig;
pub mod network_ahead;
pub mod preload;
pub mod preloaded;
pub mod registry;
pub mod storage;
pub mod untaint;
pub mod wait_ready;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cluster::error::ClusterError;
use crate::cluster::node::NodeContainer;

/// A node container and its address on the cluster's network.
#[derive(Clone)]
pub struct Node {
    pub node: NodeContainer,
    pub ip: String,
}

/// What the actions share: facts about the nodes, and what earlier actions produced.
pub struct Context {
    /// The control plane.
    pub node: NodeContainer,
    pub node_ip: String,
    pub workers: Vec<Node>,
    /// The nodes are on a network of the cluster's own (not Docker's default bridge).
    pub own_network: bool,
    pub cluster_name: String,
    /// The host port Docker mapped to the API server's 6443 (on 127.0.0.1).
    pub api_port: u16,
    pub pod_subnet: String,
    pub service_subnet: String,
    /// Where the host-side kubeconfig is written.
    pub kubeconfig_path: PathBuf,
    /// The registry the fixture images are pushed to (`--registry`), for the nodes to pull from.
    pub registry: Option<crate::image::registry::Registry>,
    /// Deadline for the whole bootstrap's waits.
    pub ready_timeout: Duration,
    /// When podcheck began creating the cluster: what the start's figures count from.
    pub started: Instant,
    /// `wait_ready` waits for CoreDNS too.
    pub wait_for_dns: bool,
    /// Image archives to import while the control plane starts (`preload`).
    pub preload: Option<crate::cluster::Preload>,
    /// The import `preload` started: whether it imported anything.
    pub preloading: Option<tokio::task::JoinHandle<Result<bool, ClusterError>>>,
    /// Set by `preloaded`.
    pub images_preloaded: bool,
    /// Filled by `boot`: the nodes' container runtime (the control plane's description).
    pub runtime: crate::cluster::runtime::NodeRuntime,
    /// Filled by `config`.
    pub kubernetes_version: String,
    /// Filled by `kubeconfig`.
    pub client: Option<kube::Client>,
    pub server_version: String,
}

impl Context {
    /// Every node, the control plane first.
    pub fn all_nodes(&self) -> Vec<Node> {
        std::iter::once(Node {
            node: self.node.clone(),
            ip: self.node_ip.clone(),
        })
        .chain(self.workers.iter().cloned())
        .collect()
    }

    /// The client built by the `kubeconfig` action.
    pub fn client(&self) -> Result<kube::Client, ClusterError> {
        self.client.clone().ok_or_else(|| ClusterError::NodeStart {
            what: "no client yet: the kubeconfig action has not run".into(),
            source: None,
        })
    }

    /// kubectl inside the node, as the cluster admin.
    pub async fn node_kubectl(&self, args: &[&str]) -> Result<(), ClusterError> {
        let mut argv = vec!["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf"];
        argv.extend_from_slice(args);
        self.node.run(&argv).await.map(|_| ())
    }
}

macro_rules! action {
    ($ctx:expr, $what:literal, $module:ident) => {{
        let started = Instant::now();
        tracing::info!(concat!(" • ", $what));
        $module::run($ctx).await?;
        tracing::info!(
            concat!(" ✓ ", $what, " ({:.1} s)"),
            started.elapsed().as_secs_f64()
        );
    }};
}

/// Independent actions at once, each logged as it ends: they only read the context.
macro_rules! together {
    ($ctx:expr, $( $what:literal => $module:ident ),+ $(,)?) => {{
        let ctx: &Context = $ctx;
        let started = Instant::now();
        $( tracing::info!(concat!(" • ", $what)); )+
        tokio::try_join!($(async {
            $module::run(ctx).await?;
            tracing::info!(
                concat!(" ✓ ", $what, " ({:.1} s)"),
                started.elapsed().as_secs_f64()
            );
            Ok::<(), ClusterError>(())
        }),+)?;
    }};
}

pub async fn run_all(ctx: &mut Context) -> Result<(), ClusterError> {
    action!(
        ctx,
        "waiting for the nodes' systemd and container runtime",
        boot
    );
    if ctx.own_network {
        action!(ctx, "pointing the nodes' DNS at Docker's", dns);
    }
    if ctx.registry.is_some() {
        action!(
            ctx,
            "letting containerd pull from the fixture registry",
            registry
        );
    }
    action!(
        ctx,
        "importing the fixture images, beside the control plane's start",
        preload
    );
    action!(ctx, "writing the kubeadm configuration", config);
    action!(
        ctx,
        "writing the pod network ahead of the kubelet",
        network_ahead
    );
    action!(ctx, "starting the control plane (kubeadm init)", init);
    action!(ctx, "exporting the kubeconfig", kubeconfig);
    if !ctx.workers.is_empty() {
        action!(ctx, "joining the workers (kubeadm join)", join);
    }
    // Each is a kubectl or two in the node, between kubeadm init and the controller manager
    // taking the node's not-ready taint off: at once, they stay off that path.
    together!(ctx,
        "probing CoreDNS's readiness every second" => coredns,
        "removing the control-plane taint" => untaint,
        "installing the CNI" => cni,
        "installing the default storage class" => storage,
    );
    action!(
        ctx,
        "waiting for the nodes to be Ready (and CoreDNS available for `cluster up`)",
        wait_ready
    );
    action!(ctx, "waiting for the fixture images' import", preloaded);
    Ok(())
}
