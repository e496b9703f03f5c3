//! Where the cases run: a cluster that podcheck starts (the kind provider) or one it is given
//! (the kubeconfig provider). Either way the rest of podcheck sees one [`Cluster`].

use std::path::{Path, PathBuf};

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

/// A reachable cluster. For the kind provider it owns the node container: dropping the
/// cluster removes it (unless the user asked to keep it).
pub struct Cluster {
    pub(crate) client: kube::Client,
    pub(crate) kubeconfig: PathBuf,
    pub(crate) info: ClusterInfo,
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
}

/// Everything that can go wrong getting or using a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{0}")]
    Other(String),
}

impl ClusterOptions {
    /// Options from the environment alone (`PODCHECK_KUBECONFIG`, `PODCHECK_NODE_IMAGE`,
    /// `TESTCONTAINERS_COMMAND=keep`).
    pub fn from_env() -> Self {
        ClusterOptions {
            kubeconfig: std::env::var_os("PODCHECK_KUBECONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            context: None,
            node_image: std::env::var("PODCHECK_NODE_IMAGE")
                .ok()
                .filter(|v| !v.is_empty()),
            keep: std::env::var("TESTCONTAINERS_COMMAND").is_ok_and(|v| v == "keep"),
        }
    }
}

/// Start a kind cluster, or connect to the one the options name.
pub async fn acquire(_opts: &ClusterOptions) -> Result<Cluster, ClusterError> {
    Err(ClusterError::Other("not implemented yet".into()))
}

impl Cluster {
    /// Make image archives (OCI or docker-save tars) available to the cluster's nodes.
    /// Only possible where podcheck can reach the nodes (kind-style node containers);
    /// elsewhere this is an error naming why.
    pub async fn load_images(&self, _archives: &[PathBuf]) -> Result<(), ClusterError> {
        Err(ClusterError::Other("not implemented yet".into()))
    }

    /// Whether [`Cluster::load_images`] can work here.
    pub fn can_load_images(&self) -> bool {
        false
    }

    /// The kubectl to run against this cluster: for kind-style nodes the node's own kubectl,
    /// copied out once so client and server versions match; otherwise `PODCHECK_KUBECTL`
    /// or `kubectl` on PATH.
    pub async fn kubectl(&self) -> Result<PathBuf, ClusterError> {
        Err(ClusterError::Other("not implemented yet".into()))
    }

    /// Remove what podcheck started for this cluster (nothing for the kubeconfig provider).
    pub async fn shutdown(self) {}
}
