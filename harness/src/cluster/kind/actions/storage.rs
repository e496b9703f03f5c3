//! Action: the node image's default storage (/kind/manifests/default-storage.yaml), as kind
//! installs it. Images without one get none: storage is not what the Pod suites test.

use super::Context;
use crate::cluster::error::ClusterError;

const MANIFEST: &str = "/kind/manifests/default-storage.yaml";

pub async fn run(ctx: &Context) -> Result<(), ClusterError> {
    if ctx.node.exec(&["test", "-f", MANIFEST]).await?.exit_code != 0 {
        tracing::info!("   the node image has no {MANIFEST}; no default storage class");
        return Ok(());
    }
    ctx.node_kubectl(&["apply", "-f", MANIFEST]).await
}
