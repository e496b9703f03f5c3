//! The bootstrap of a kind node, one action per file, run in this order (as kind's
//! `create/actions`): wait for the node's init, write the kubeadm config, `kubeadm init`,
//! export the kubeconfig, untaint, install the CNI, install storage, wait until ready.

pub mod boot;
pub mod cni;
pub mod config;
pub mod init;
pub mod kubeconfig;
pub mod storage;
pub mod untaint;
pub mod wait_ready;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cluster::error::ClusterError;
use crate::cluster::node::NodeContainer;

/// What the actions share: facts about the node, and what earlier actions produced.
pub struct Context {
    pub node: NodeContainer,
    pub cluster_name: String,
    pub node_ip: String,
    /// The host port Docker mapped to the API server's 6443 (on 127.0.0.1).
    pub api_port: u16,
    pub pod_subnet: String,
    pub service_subnet: String,
    /// Where the host-side kubeconfig is written.
    pub kubeconfig_path: PathBuf,
    /// Deadline for the whole bootstrap's waits.
    pub ready_timeout: Duration,
    /// Filled by `config`.
    pub kubernetes_version: String,
    /// Filled by `kubeconfig`.
    pub client: Option<kube::Client>,
    pub server_version: String,
}

impl Context {
    /// The client built by the `kubeconfig` action.
    pub fn client(&self) -> Result<kube::Client, ClusterError> {
        self.client.clone().ok_or_else(|| {
            ClusterError::NodeStart("no client yet: kubeconfig action not run".into())
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

pub async fn run_all(ctx: &mut Context) -> Result<(), ClusterError> {
    action!(ctx, "waiting for the node's systemd and containerd", boot);
    action!(ctx, "writing the kubeadm configuration", config);
    action!(ctx, "starting the control plane (kubeadm init)", init);
    action!(ctx, "exporting the kubeconfig", kubeconfig);
    action!(ctx, "removing the control-plane taint", untaint);
    action!(ctx, "installing the CNI", cni);
    action!(ctx, "installing the default storage class", storage);
    action!(
        ctx,
        "waiting for the node to be Ready and CoreDNS available",
        wait_ready
    );
    Ok(())
}
