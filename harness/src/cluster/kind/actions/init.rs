//! Action: `kubeadm init`, as kind runs it. On failure the error carries the last lines of
//! kubeadm's output and of the kubelet's journal, which is where the reason usually is.

use super::Context;
use crate::cluster::error::ClusterError;
use crate::cluster::node::tail;

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let argv = [
        "kubeadm",
        "init",
        "--skip-phases=preflight",
        "--config=/kind/kubeadm.conf",
        "--skip-token-print",
        "--v=6",
    ];
    let out = ctx.node.exec(&argv).await?;
    if out.exit_code == 0 {
        return Ok(());
    }
    let journal = ctx
        .node
        .exec(&["journalctl", "-u", "kubelet", "--no-pager", "-n", "40"])
        .await
        .map(|o| o.combined())
        .unwrap_or_else(|e| format!("(journal unavailable: {e})"));
    Err(ClusterError::Bootstrap {
        command: argv.join(" "),
        exit_code: out.exit_code,
        output_tail: tail(&out.combined(), 30),
        kubelet_tail: tail(&journal, 40),
    })
}
