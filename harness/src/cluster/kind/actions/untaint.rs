//! Action: a one-node cluster must schedule workloads on its control plane.

use super::Context;
use crate::cluster::error::ClusterError;

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    // The trailing '-' removes the taint; `--all` because the node name is the node's.
    ctx.node_kubectl(&[
        "taint",
        "nodes",
        "--all",
        "node-role.kubernetes.io/control-plane-",
    ])
    .await
}
