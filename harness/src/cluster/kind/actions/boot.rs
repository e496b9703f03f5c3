//! Action: learn each node's container runtime and wait until its init has brought it up.
//! testcontainers cannot give the node a TTY, so systemd's "Reached target" line is not a
//! dependable signal: poll with short execs instead.

use std::time::{Duration, Instant};

use super::Context;
use crate::cluster::error::ClusterError;
use crate::cluster::node::NodeContainer;
use crate::cluster::runtime::NodeRuntime;

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let nodes = ctx.all_nodes();
    let runtimes = futures::future::try_join_all(nodes.iter().map(|n| async {
        let runtime = NodeRuntime::of(&n.node).await?;
        booted(&n.node, &runtime).await?;
        Ok::<_, ClusterError>(runtime)
    }))
    .await?;
    ctx.runtime = runtimes.into_iter().next().unwrap_or_default();
    Ok(())
}

pub(super) async fn booted(
    node: &NodeContainer,
    runtime: &NodeRuntime,
) -> Result<(), ClusterError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // The runtime's own client answers once its socket does, which is what kubeadm needs.
        let out = node.exec(&["sh", "-c", &runtime.ready]).await?;
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
                    "the container runtime of node {} does not answer (`{}`: {}); systemd says: {}",
                    node.name,
                    runtime.ready,
                    last.trim(),
                    state.trim()
                ),
                timeout_secs: 60,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
