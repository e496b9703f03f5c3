//! The kind provider: what `kind create cluster` does for one control-plane node, through
//! testcontainers. The node container is started the way kind starts nodes (container.rs),
//! then the bootstrap actions run in order (actions/).

pub mod actions;
mod container;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use testcontainers::{ContainerAsync, GenericImage};

use super::docker;
use super::error::ClusterError;
use super::node::NodeContainer;

/// The node image used when none is given: an official kind image, pinned by digest.
pub const DEFAULT_NODE_IMAGE: &str =
    "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f";

pub const POD_SUBNET: &str = "10.244.0.0/16";
pub const SERVICE_SUBNET: &str = "10.96.0.0/16";

#[derive(Debug, Clone)]
pub struct KindOptions {
    pub node_image: String,
    /// Keep the node when podcheck ends (`cluster up`, `--keep`, `TESTCONTAINERS_COMMAND=keep`).
    pub keep: bool,
    /// Where the host-side kubeconfig goes; default under target/podcheck/clusters.
    pub kubeconfig_out: Option<PathBuf>,
    /// Deadline for node Ready and CoreDNS available.
    pub ready_timeout: Duration,
}

/// A running kind node and what the bootstrap produced.
pub struct KindCluster {
    /// testcontainers owns the container's lifetime: dropping it removes the container.
    container: Option<ContainerAsync<GenericImage>>,
    pub node: NodeContainer,
    pub name: String,
    pub keep: bool,
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
    pub server_version: String,
    pub node_image: String,
}

/// A short random cluster name, so that runs can share a Docker engine.
fn new_cluster_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "podcheck-{:06x}",
        (nanos ^ std::process::id().rotate_left(16)) & 0xff_ffff
    )
}

pub async fn create(opts: &KindOptions) -> Result<KindCluster, ClusterError> {
    let started = Instant::now();
    let docker = docker::connect().await?;
    docker::reap_leftovers(&docker).await?;
    docker::ensure_image(&docker, &opts.node_image).await?;

    let name = new_cluster_name();
    tracing::info!("creating cluster {name} from {}", opts.node_image);
    let container = container::start(&opts.node_image, &name, opts.keep).await?;
    let node = NodeContainer::new(docker, container.id(), format!("{name}-control-plane"));
    let node_ip = container
        .get_bridge_ip_address()
        .await
        .map_err(|e| ClusterError::NodeStart(e.to_string()))?
        .to_string();
    let api_port = container
        .get_host_port_ipv4(6443)
        .await
        .map_err(|e| ClusterError::NodeStart(e.to_string()))?;
    let kubeconfig = opts
        .kubeconfig_out
        .clone()
        .unwrap_or_else(|| super::kubeconfig::default_path(&name));

    let mut ctx = actions::Context {
        node: node.clone(),
        cluster_name: name.clone(),
        node_ip,
        api_port,
        pod_subnet: POD_SUBNET.into(),
        service_subnet: SERVICE_SUBNET.into(),
        kubeconfig_path: kubeconfig.clone(),
        ready_timeout: opts.ready_timeout,
        kubernetes_version: String::new(),
        client: None,
        server_version: String::new(),
    };
    // On failure `container` is dropped here, which removes the node (unless kept).
    actions::run_all(&mut ctx).await?;
    tracing::info!(
        "cluster {name} ready in {:.1} s (Kubernetes {})",
        started.elapsed().as_secs_f64(),
        ctx.server_version
    );
    Ok(KindCluster {
        client: ctx.client()?,
        container: Some(container),
        node,
        name,
        keep: opts.keep,
        kubeconfig,
        server_version: ctx.server_version,
        node_image: opts.node_image.clone(),
    })
}

impl KindCluster {
    /// Remove the node container and the kubeconfig, unless the cluster is to be kept.
    pub async fn shutdown(mut self) {
        let Some(container) = self.container.take() else {
            return;
        };
        if self.keep {
            // Dropping a ContainerAsync removes it; a kept node must outlive this process.
            std::mem::forget(container);
            return;
        }
        if let Err(e) = container.rm().await {
            tracing::warn!("removing node container {}: {e}", self.node.name);
        }
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}
