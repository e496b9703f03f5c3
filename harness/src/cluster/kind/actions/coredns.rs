//! Action: have CoreDNS's readiness probed every second instead of every ten. The kubelet
//! starts each probe after a random part of its period when it has itself just started, so
//! on a new cluster CoreDNS's readiness is noticed up to ten seconds late, every time. The
//! probe asks CoreDNS's own `/ready`: how often it is asked changes when its readiness is
//! seen, nothing of what it serves. Patched right after `kubeadm init`, before any of its
//! pods can run (the node is not Ready yet), so no running pod is replaced.

use super::Context;
use crate::cluster::error::ClusterError;

const PATCH: &str = r#"[{"op": "replace", "path": "/spec/template/spec/containers/0/readinessProbe/periodSeconds", "value": 1}]"#;

pub async fn run(ctx: &Context) -> Result<(), ClusterError> {
    ctx.node_kubectl(&[
        "-n",
        "kube-system",
        "patch",
        "deployment",
        "coredns",
        "--type=json",
        &format!("-p={PATCH}"),
    ])
    .await
}
