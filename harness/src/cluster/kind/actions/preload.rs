//! Action: start importing the preload image archives into every node, in the background,
//! as soon as the nodes' containerd runs: the import then overlaps `kubeadm init` instead of
//! following the whole start. `preloaded` waits for it before the cluster is called ready.

use super::Context;
use crate::cluster::error::ClusterError;
use crate::cluster::load;

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let Some(preload) = ctx.preload.clone() else {
        return Ok(());
    };
    let nodes: Vec<_> = ctx.all_nodes().into_iter().map(|n| n.node).collect();
    ctx.preloading = Some(tokio::spawn(async move {
        // No archives: their build failed, and whoever built them reports it.
        let Some(archives) = preload.archives().await else {
            return Ok(false);
        };
        let started = std::time::Instant::now();
        for node in &nodes {
            for archive in archives.iter() {
                load::import_archive(node, archive).await?;
            }
        }
        tracing::info!(
            "   imported {} image archive(s) into {} node(s) in {:.1} s",
            archives.len(),
            nodes.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(true)
    }));
    Ok(())
}
