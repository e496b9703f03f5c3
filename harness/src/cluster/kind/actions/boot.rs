//! Action: wait until every node's init has brought up containerd. testcontainers cannot give
//! the node a TTY, so systemd's "Reached target" line is not a dependable signal: poll with
//! short execs instead.

use std::time::{Duration, Instant};

use super::Context;
use crate::cluster::error::ClusterError;
use crate::cluster::node::NodeContainer;

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let nodes = ctx.all_nodes();
    futures::future::try_join_all(nodes.iter().map(|n| booted(&n.node))).await?;
    Ok(())
}

pub(super) async fn booted(node: &NodeContainer) -> Result<(), ClusterError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // `ctr version` needs the containerd socket to answer, which is what kubeadm needs.
        let out = node.exec(&["ctr", "--timeout", "2s", "version"]).await?;
        if out.exit_code == 0 {
            return Ok(());
        }
        let last = out.combined();
        if Instant::now() > deadline {
            let state = node
                .exec(&["systemctl", "is-system-running"])
                .await
                .map(|o| o.combined())
                .unwrap_or_default();
            return Err(ClusterError::NotReady {
                what: format!(
                    "containerd in node {} does not answer ({}); systemd says: {}",
                    node.name,
                    last.trim(),
                    state.trim()
                ),
                timeout_secs: 60,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
