//! Where the cases run: a cluster that podcheck starts (the kind provider) or one it is given
//! (the kubeconfig provider). Either way the rest of podcheck sees one [`Cluster`].

pub mod docker;
mod error;
pub mod kind;
pub mod kubeconfig;
mod load;
pub mod node;
mod preload;
pub mod runtime;

use crate::config::{self, ConfigError};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::ClusterError;
use node::NodeContainer;
pub use preload::{Preload, PreloadSender};

/// Which provider made a cluster; reported as a JUnit property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Kind,
    Kubeconfig,
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProviderKind::Kind => "kind",
            ProviderKind::Kubeconfig => "kubeconfig",
        })
    }
}

/// Facts about the cluster that reports carry.
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    pub provider: ProviderKind,
    /// `gitVersion` of the API server, e.g. `v1.37.2`.
    pub server_version: String,
    /// The node image, for clusters podcheck started.
    pub node_image: Option<String>,
}

/// A reachable cluster. For the kind provider it owns the node container: [`Cluster::shutdown`]
/// removes it (unless the user asked to keep it).
pub struct Cluster {
    pub(crate) client: kube::Client,
    pub(crate) kubeconfig: PathBuf,
    pub(crate) info: ClusterInfo,
    /// The kind node podcheck started, if it started one.
    kind: Option<kind::KindCluster>,
    /// Node containers podcheck can reach through Docker (its own, or a kind cluster's it was
    /// given): what makes image loading and the node's own kubectl possible.
    nodes: Vec<NodeContainer>,
    /// Its nodes imported [`ClusterOptions::preload`]'s archives as it started.
    images_preloaded: bool,
}

/// How to get a cluster: from flags and the environment of the contract.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Use this cluster and start none (`--kubeconfig`, `PODCHECK_KUBECONFIG`).
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (`--context`).
    pub context: Option<String>,
    /// Node image for the kind provider (`--node-image`, `PODCHECK_NODE_IMAGE`).
    pub node_image: Option<String>,
    /// Keep a started node container when podcheck ends.
    pub keep: bool,
    /// Where to write the kubeconfig of a started cluster (`cluster up --kubeconfig-out`).
    pub kubeconfig_out: Option<PathBuf>,
    /// Worker nodes beside the control plane of a started cluster (`--workers`,
    /// `PODCHECK_WORKERS`).
    pub workers: usize,
    /// The registry the fixture images are pushed to (`--registry`, `PODCHECK_REGISTRY`): the
    /// run uses the pushed references, and a kind cluster podcheck starts pulls from it.
    pub registry: Option<crate::image::registry::Registry>,
    /// Whether a started cluster is ready only once CoreDNS is available too (`cluster up`,
    /// whose cluster serves anything), or as soon as its nodes are Ready (a run: CoreDNS
    /// comes up while the first cases run, and a case that needs it waits for it).
    pub wait_for_dns: bool,
    /// Image archives a started cluster's nodes import while its control plane starts.
    pub preload: Option<Preload>,
}

impl ClusterOptions {
    /// Options from the environment alone (`PODCHECK_KUBECONFIG`, `PODCHECK_NODE_IMAGE`,
    /// `TESTCONTAINERS_COMMAND=keep`).
    pub fn from_env() -> Self {
        ClusterOptions {
            kubeconfig: config::KUBECONFIG.path(),
            context: None,
            node_image: config::NODE_IMAGE.get(),
            keep: std::env::var("TESTCONTAINERS_COMMAND").is_ok_and(|v| v == "keep"),
            kubeconfig_out: None,
            workers: workers_from_env(),
            registry: None,
            wait_for_dns: false,
            preload: None,
        }
    }
}

/// `PODCHECK_REGISTRY`, the environment's `--registry`. Not part of [`ClusterOptions::from_env`]:
/// a value that is not an address is an error for the caller to report, not a silent fallback
/// to other images.
pub fn registry_from_env() -> Result<Option<crate::image::registry::Registry>, ConfigError> {
    config::REGISTRY.parse()
}

/// `PODCHECK_WORKERS`, where a value that is not a count is said, not ignored in silence.
fn workers_from_env() -> usize {
    config::WORKERS
        .parse()
        .unwrap_or_else(|e| {
            tracing::warn!("{e}; starting no workers");
            None
        })
        .unwrap_or(0)
}

/// Start a kind cluster, or connect to the one the options name.
pub async fn acquire(opts: &ClusterOptions) -> Result<Cluster, ClusterError> {
    match &opts.kubeconfig {
        Some(path) => connect_existing(path, opts.context.as_deref()).await,
        None => start_kind(opts).await,
    }
}

async fn start_kind(opts: &ClusterOptions) -> Result<Cluster, ClusterError> {
    let node_image = opts
        .node_image
        .clone()
        .unwrap_or_else(|| kind::DEFAULT_NODE_IMAGE.to_string());
    let kind = kind::create(&kind::KindOptions {
        node_image: node_image.clone(),
        keep: opts.keep,
        kubeconfig_out: opts.kubeconfig_out.clone(),
        ready_timeout: Duration::from_secs(240 + 60 * opts.workers as u64),
        workers: opts.workers,
        registry: opts.registry.clone(),
        wait_for_dns: opts.wait_for_dns,
        preload: opts.preload.clone(),
    })
    .await?;
    Ok(Cluster {
        client: kind.client.clone(),
        kubeconfig: kind.kubeconfig.clone(),
        info: ClusterInfo {
            provider: ProviderKind::Kind,
            server_version: kind.server_version.clone(),
            node_image: Some(node_image),
        },
        nodes: kind.nodes.clone(),
        images_preloaded: kind.images_preloaded,
        kind: Some(kind),
    })
}

/// The kubeconfig provider: use the cluster as it is, start and delete nothing.
async fn connect_existing(path: &Path, context: Option<&str>) -> Result<Cluster, ClusterError> {
    let kc = kubeconfig::read(path)?;
    let (client, server_version) = kubeconfig::connect(kc, context, path).await?;
    // If the cluster's nodes are kind-style containers on this Docker engine (a cluster from
    // `podcheck cluster up` or `kind create cluster`), podcheck can still load images into them.
    let nodes = load::reachable_nodes(&client).await.unwrap_or_default();
    let node_image = match nodes.first() {
        Some(n) => load::node_image(n).await,
        None => None,
    };
    Ok(Cluster {
        client,
        kubeconfig: path.to_path_buf(),
        info: ClusterInfo {
            provider: ProviderKind::Kubeconfig,
            server_version,
            node_image,
        },
        kind: None,
        nodes,
        images_preloaded: false,
    })
}

impl Cluster {
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// A kubeconfig file (mode 0600) that kubectl can use against this cluster.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn info(&self) -> &ClusterInfo {
        &self.info
    }

    /// The kind cluster's name, for clusters podcheck started.
    pub fn name(&self) -> Option<&str> {
        self.kind.as_ref().map(|k| k.name.as_str())
    }

    /// The node containers podcheck can reach (empty for clusters elsewhere).
    pub fn nodes(&self) -> &[NodeContainer] {
        &self.nodes
    }

    /// Make image archives (OCI or docker-save tars) available to the cluster's nodes.
    /// Only possible where podcheck can reach the nodes (kind-style node containers);
    /// elsewhere this is an error naming why.
    pub async fn load_images(&self, archives: &[PathBuf]) -> Result<(), ClusterError> {
        if self.nodes.is_empty() {
            return Err(ClusterError::CannotLoadImages);
        }
        for node in &self.nodes {
            for archive in archives {
                load::import_archive(node, archive).await?;
            }
        }
        Ok(())
    }

    /// Whether the nodes imported the archives of [`ClusterOptions::preload`] as the cluster
    /// started (then [`Cluster::load_images`] of the same archives is not needed).
    pub fn images_preloaded(&self) -> bool {
        self.images_preloaded
    }

    /// Whether [`Cluster::load_images`] can work here.
    pub fn can_load_images(&self) -> bool {
        !self.nodes.is_empty()
    }

    /// The kubectl to run against this cluster: for kind-style nodes the node's own kubectl,
    /// copied out once so client and server versions match; otherwise `PODCHECK_KUBECTL`
    /// or `kubectl` on PATH.
    pub async fn kubectl(&self) -> Result<PathBuf, ClusterError> {
        if let Some(path) = config::KUBECTL.path() {
            return Ok(path);
        }
        match self.nodes.first() {
            Some(node) => load::copy_kubectl(node, &self.info.server_version).await,
            None => Ok(PathBuf::from("kubectl")),
        }
    }

    /// Whether [`Cluster::shutdown`] removes the cluster with everything in it (one podcheck
    /// started and does not keep).
    pub fn goes_at_shutdown(&self) -> bool {
        self.kind.as_ref().is_some_and(|k| !k.keep)
    }

    /// Remove what podcheck started for this cluster (nothing for the kubeconfig provider).
    pub async fn shutdown(self) {
        if let Some(kind) = self.kind {
            kind.shutdown().await;
        }
    }
}
