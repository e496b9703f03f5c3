//! Action: `kubeadm init`, as kind runs it. On failure the error carries the last lines of
//! kubeadm's output and of the kubelet's journal, which is where the reason usually is.

use super::Context;
use crate::cluster::error::ClusterError;
use crate::cluster::node::{NodeContainer, tail};

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    bootstrap(
        &ctx.node,
        &[
            "kubeadm",
            "init",
            "--skip-phases=preflight",
            "--config=/kind/kubeadm.conf",
            "--skip-token-print",
            "--v=6",
        ],
    )
    .await
}

/// Run a kubeadm phase in `node`; a failure names the node and carries the tails of kubeadm's
/// output and of the kubelet's journal.
pub async fn bootstrap(node: &NodeContainer, argv: &[&str]) -> Result<(), ClusterError> {
    let out = node.exec(argv).await?;
    if out.exit_code == 0 {
        return Ok(());
    }
    let journal = node
        .exec(&["journalctl", "-u", "kubelet", "--no-pager", "-n", "40"])
        .await
        .map(|o| o.combined())
        .unwrap_or_else(|e| format!("(journal unavailable: {e})"));
    Err(ClusterError::Bootstrap {
        node: node.name.clone(),
        command: argv.join(" "),
        exit_code: out.exit_code,
        output_tail: tail(&out.combined(), 30),
        kubelet_tail: tail(&journal, 40),
    })
}
