//! Action: a one-node cluster must schedule workloads on its control plane.

use super::Context;
use super::config::minor_of;
use crate::cluster::error::ClusterError;

/// The taints kubeadm of a minor puts on the control plane: `master` until 1.24, both in
/// 1.24, `control-plane` from 1.25.
fn control_plane_taints(minor: u32) -> &'static [&'static str] {
    match minor {
        ..=23 => &["node-role.kubernetes.io/master"],
        24 => &[
            "node-role.kubernetes.io/master",
            "node-role.kubernetes.io/control-plane",
        ],
        _ => &["node-role.kubernetes.io/control-plane"],
    }
}

pub async fn run(ctx: &Context) -> Result<(), ClusterError> {
    // The trailing '-' removes the taint. By name, not `--all`: a node image may bring a
    // node agent of its own (a virtual kubelet) whose node registers as soon as the API
    // server answers and has no such taint, which `--all` reports as an error.
    let node = ctx.node.name.clone();
    let minor = minor_of(&ctx.kubernetes_version).unwrap_or(u32::MAX);
    let removals: Vec<String> = control_plane_taints(minor)
        .iter()
        .map(|t| format!("{t}-"))
        .collect();
    let mut args = vec!["taint", "nodes", node.as_str()];
    args.extend(removals.iter().map(String::as_str));
    ctx.node_kubectl(&args).await
}

#[cfg(test)]
mod tests {
    use super::control_plane_taints;

    #[test]
    fn the_taint_kubeadm_of_each_minor_puts() {
        assert_eq!(control_plane_taints(23), ["node-role.kubernetes.io/master"]);
        assert_eq!(control_plane_taints(24).len(), 2);
        assert_eq!(
            control_plane_taints(37),
            ["node-role.kubernetes.io/control-plane"]
        );
    }
}
