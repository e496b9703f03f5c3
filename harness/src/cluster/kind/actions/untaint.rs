//! Action: a one-node cluster must schedule workloads on its control plane.

use super::Context;
use crate::cluster::error::ClusterError;

pub async fn run(ctx: &Context) -> Result<(), ClusterError> {
    // The trailing '-' removes the taint. By name, not `--all`: a node image may bring a
    // node agent of its own (a virtual kubelet) whose node registers as soon as the API
    // server answers and has no such taint, which `--all` reports as an error.
    let node = ctx.node.name.clone();
    ctx.node_kubectl(&[
        "taint",
        "nodes",
        &node,
        "node-role.kubernetes.io/control-plane-",
    ])
    .await
}
