//! Action (one node, on podcheck's node image): write the network configuration of the image's
//! default CNI before `kubeadm init`, as its DaemonSet would write it later. The kubelet then
//! finds the network ready as it registers the node, instead of after the controller manager
//! has started the DaemonSet controller and the DaemonSet's pod has run (about ten seconds
//! on two cores). The DaemonSet is still installed afterwards, as kind installs it, and
//! writes the same file.
//!
//! Only where the configuration is known beforehand: one node, whose default CNI is
//! podcheck's bridge over the whole pod subnet. A kind image's kindnetd, or the nodes of a
//! multi-node cluster (each on the podCIDR it is given), are left to do it themselves.

use super::Context;
use super::cni::{CONFLIST, MANIFEST, default_conflist};
use crate::cluster::error::ClusterError;

/// What marks the default CNI as podcheck's own (the node image's manifest names it).
const OWN_CNI_MARK: &str = "name: podcheck-cni";

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    if !ctx.workers.is_empty() {
        return Ok(());
    }
    let manifest = match ctx.node.read_file(MANIFEST).await {
        Ok(m) => String::from_utf8_lossy(&m).into_owned(),
        Err(_) => return Ok(()),
    };
    if !manifest.contains(OWN_CNI_MARK) {
        tracing::info!("   the node's default CNI is not podcheck's: it configures itself");
        return Ok(());
    }
    let conf =
        serde_json::to_vec_pretty(&default_conflist(&ctx.pod_subnet, &ctx.runtime.cni_version))
            .expect("a JSON value serializes");
    ctx.node.run(&["mkdir", "-p", "/etc/cni/net.d"]).await?;
    ctx.node.write_file(CONFLIST, &conf, 0o644).await
}
