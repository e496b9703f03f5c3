//! Everything that can go wrong getting or using a cluster, each with what to do about it.

use std::path::PathBuf;

/// What caused an error that is not of one type (testcontainers', the tar crate's, ...).
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no Docker engine answers; hint: the kind provider runs its nodes in Docker: start the \
         engine (on these machines: ../shared/tools/docker-up; elsewhere: `systemctl start \
         docker`), or point podcheck at an existing cluster with --kubeconfig / PODCHECK_KUBECONFIG"
    )]
    DockerUnavailable(#[source] testcontainers::bollard::errors::Error),

    #[error(
        "node image {image} is not present locally and could not be pulled; hint: without a \
         registry, build the offline node image and use it: \
         `export PODCHECK_NODE_IMAGE=$(ci/node-image/build)`"
    )]
    NodeImageMissing {
        image: String,
        #[source]
        source: testcontainers::bollard::errors::Error,
    },

    /// The Docker engine refused a request.
    #[error("docker: {what}")]
    Docker {
        what: String,
        #[source]
        source: testcontainers::bollard::errors::Error,
    },

    /// The Docker engine answered, but not as needed.
    #[error("docker: {0}")]
    DockerState(String),

    #[error("starting the node container: {what}")]
    NodeStart {
        what: String,
        #[source]
        source: Option<Cause>,
    },

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

    #[error("kubeconfig {path}: {what}", path = path.display())]
    Kubeconfig {
        path: PathBuf,
        what: String,
        #[source]
        source: Option<Cause>,
    },

    #[error("cannot reach the API server at {server}")]
    Unreachable {
        server: String,
        #[source]
        source: kube::Error,
    },

    /// The API server answered a request of the provider's own with an error.
    #[error("{what}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },

    #[error(
        "images cannot be loaded into this cluster: its nodes are not containers podcheck can \
         reach through Docker; hint: use --images book, or --registry, or preload the images \
         yourself"
    )]
    CannotLoadImages,

    #[error("loading {archive} into node {node}: {output}", archive = archive.display())]
    ImageLoad {
        archive: PathBuf,
        node: String,
        /// What the import printed.
        output: String,
    },

    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: Cause,
    },
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
    /// The engine refused what was being done.
    pub(crate) fn docker(
        what: impl Into<String>,
    ) -> impl FnOnce(testcontainers::bollard::errors::Error) -> Self {
        let what = what.into();
        move |source| ClusterError::Docker { what, source }
    }

    /// Reading or writing a file (on the host, or in a node through Docker) failed.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |e| ClusterError::Io {
            what,
            source: Box::new(e),
        }
    }

    /// The node container could not be had from testcontainers.
    pub(crate) fn node_start(
        what: impl Into<String>,
    ) -> impl FnOnce(testcontainers::TestcontainersError) -> Self {
        let what = what.into();
        move |e| ClusterError::NodeStart {
            what,
            source: Some(Box::new(e)),
        }
    }
}
