//! The kind provider: what `kind create cluster` does, through testcontainers: one
//! control-plane node, and optionally workers on a network of the cluster's own. The node
//! containers are started the way kind starts nodes (container.rs), then the bootstrap actions
//! run in order (actions/).

pub mod actions;
mod container;
mod network;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use testcontainers::{ContainerAsync, GenericImage};

use container::Role;
use network::ClusterNetwork;

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
    /// Worker nodes beside the control plane (`--workers`); 0 is a one-node cluster.
    pub workers: usize,
    /// The nodes pull the fixture images from here (`--registry`).
    pub registry: Option<crate::image::registry::Registry>,
    /// Ready means CoreDNS available too, not only every node Ready.
    pub wait_for_dns: bool,
    /// Image archives to import into every node while the control plane starts.
    pub preload: Option<super::Preload>,
}

/// Running kind nodes and what the bootstrap produced.
pub struct KindCluster {
    /// testcontainers owns the containers' lifetimes: dropping one removes it. Declared before
    /// the network, so that on drop the nodes go first and the network can be removed.
    containers: Vec<ContainerAsync<GenericImage>>,
    network: Option<ClusterNetwork>,
    /// The control plane first, then the workers.
    pub nodes: Vec<NodeContainer>,
    pub name: String,
    pub keep: bool,
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
    pub server_version: String,
    pub node_image: String,
    /// Every node imported the preload archives.
    pub images_preloaded: bool,
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
    tracing::info!(
        "creating cluster {name} from {} ({} node(s))",
        opts.node_image,
        opts.workers + 1
    );
    // A one-node cluster stays on Docker's default bridge, as it always has; several nodes
    // need a network where they resolve each other by name. On an error below, the locals
    // drop in reverse order: the node containers are removed first, then the network.
    let network = match opts.workers {
        0 => None,
        _ => Some(ClusterNetwork::create(&docker, &name, opts.keep).await?),
    };
    let network_name = network.as_ref().map_or("bridge", |n| n.name.as_str());
    let roles: Vec<Role> = std::iter::once(Role::ControlPlane)
        .chain((1..=opts.workers).map(Role::Worker))
        .collect();
    let containers = futures::future::try_join_all(
        roles
            .iter()
            .map(|&role| container::start(&opts.node_image, &name, role, network_name, opts.keep)),
    )
    .await?;
    let mut nodes = Vec::with_capacity(containers.len());
    for (c, role) in containers.iter().zip(&roles) {
        let ip = c
            .get_bridge_ip_address()
            .await
            .map_err(ClusterError::node_start("reading its address"))?
            .to_string();
        let node = NodeContainer::new(docker.clone(), c.id(), role.node_name(&name));
        nodes.push(actions::Node { node, ip });
    }
    let api_port =
        containers[0]
            .get_host_port_ipv4(6443)
            .await
            .map_err(ClusterError::node_start(
                "reading the host port of its API server",
            ))?;
    let kubeconfig = opts
        .kubeconfig_out
        .clone()
        .unwrap_or_else(|| super::kubeconfig::default_path(&name));

    let control_plane = nodes.remove(0);
    let mut ctx = actions::Context {
        node: control_plane.node,
        node_ip: control_plane.ip,
        workers: nodes,
        own_network: network.is_some(),
        cluster_name: name.clone(),
        api_port,
        pod_subnet: POD_SUBNET.into(),
        service_subnet: SERVICE_SUBNET.into(),
        kubeconfig_path: kubeconfig.clone(),
        ready_timeout: opts.ready_timeout,
        started,
        wait_for_dns: opts.wait_for_dns,
        preload: opts.preload.clone(),
        preloading: None,
        images_preloaded: false,
        registry: opts.registry.clone(),
        runtime: Default::default(),
        kubernetes_version: String::new(),
        client: None,
        server_version: String::new(),
    };
    actions::run_all(&mut ctx).await?;
    tracing::info!(
        "cluster {name} ready in {:.1} s (Kubernetes {}, {} node(s))",
        started.elapsed().as_secs_f64(),
        ctx.server_version,
        ctx.workers.len() + 1
    );
    Ok(KindCluster {
        client: ctx.client()?,
        nodes: ctx.all_nodes().into_iter().map(|n| n.node).collect(),
        containers,
        network,
        name,
        keep: opts.keep,
        kubeconfig,
        server_version: ctx.server_version,
        node_image: opts.node_image.clone(),
        images_preloaded: ctx.images_preloaded,
    })
}

impl KindCluster {
    /// Remove the node containers, then the network and the kubeconfig, unless the cluster is
    /// to be kept.
    pub async fn shutdown(mut self) {
        let containers = std::mem::take(&mut self.containers);
        let network = self.network.take();
        if self.keep {
            // Dropping a ContainerAsync removes it; kept nodes must outlive this process.
            containers.into_iter().for_each(std::mem::forget);
            if let Some(n) = network {
                n.keep();
            }
            return;
        }
        let removals = containers.into_iter().map(|c| async move {
            let id = c.id().to_string();
            if let Err(e) = c.rm().await {
                tracing::warn!("removing node container {id}: {e}");
            }
        });
        futures::future::join_all(removals).await;
        if let Some(n) = network {
            n.remove().await;
        }
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}
