//! Everything that can go wrong getting or using a cluster, each with what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no Docker engine answers ({detail}). The kind provider runs its node in Docker: start \
         the engine (on these machines: ../shared/tools/docker-up; elsewhere: `systemctl start \
         docker`), or point podcheck at an existing cluster with --kubeconfig / PODCHECK_KUBECONFIG"
    )]
    DockerUnavailable { detail: String },

    #[error(
        "node image {image} is not present locally and could not be pulled ({detail}). \
         Without a registry, build the offline node image and use it: \
         `export PODCHECK_NODE_IMAGE=$(ci/node-image/build)`"
    )]
    NodeImageMissing { image: String, detail: String },

    #[error("docker: {0}")]
    Docker(String),

    #[error("starting the node container: {0}")]
    NodeStart(String),

    #[error("`{command}` failed in node {node} (exit {exit_code}).\n{diagnosis}")]
    Bootstrap {
        node: String,
        command: String,
        exit_code: i64,
        diagnosis: Box<BootstrapDiagnosis>,
    },

    #[error("node command `{command}` failed (exit {exit_code}): {output}")]
    NodeCommand {
        command: String,
        exit_code: i64,
        output: String,
    },

    #[error("the cluster was not ready within {timeout_secs} s: {what}")]
    NotReady { what: String, timeout_secs: u64 },

    #[error("kubeconfig {path}: {detail}", path = path.display())]
    Kubeconfig { path: PathBuf, detail: String },

    #[error("cannot reach the API server at {server}: {detail}")]
    Unreachable { server: String, detail: String },

    #[error(
        "images cannot be loaded into this cluster: its nodes are not containers podcheck can \
         reach through Docker (use --images book, or preload the images yourself)"
    )]
    CannotLoadImages,

    #[error("loading {archive} into node {node}: {detail}", archive = archive.display())]
    ImageLoad {
        archive: PathBuf,
        node: String,
        detail: String,
    },

    #[error("{0}")]
    Io(String),
}

/// What a node shows about a failed kubeadm phase, where the reason usually is.
#[derive(Debug)]
pub struct BootstrapDiagnosis {
    pub output_tail: String,
    pub kubelet_tail: String,
    pub restarted_tail: String,
    pub disk: String,
}

impl std::fmt::Display for BootstrapDiagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- last lines of its output ---\n{}\n\
             --- last lines of the kubelet's journal ---\n{}\n\
             --- containers restarted on the node, last lines of each ---\n{}\n{}",
            self.output_tail, self.kubelet_tail, self.restarted_tail, self.disk
        )
    }
}

impl ClusterError {
    pub(crate) fn docker(e: impl std::fmt::Display) -> Self {
        ClusterError::Docker(e.to_string())
    }
}
