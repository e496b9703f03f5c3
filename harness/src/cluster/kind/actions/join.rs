//! Action: join the workers, all at once, as kind does: `kubeadm join` with the
//! JoinConfiguration the config action wrote on each (bootstrap token, the control plane by
//! name, this node's address). A worker that cannot join fails the cluster with its kubeadm
//! and kubelet lines; every node is then removed.

use super::Context;
use super::init::bootstrap;
use crate::cluster::error::ClusterError;

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let argv = ["kubeadm", "join", "--config=/kind/kubeadm.conf", "--v=6"];
    futures::future::try_join_all(ctx.workers.iter().map(|w| bootstrap(&w.node, &argv))).await?;
    Ok(())
}
