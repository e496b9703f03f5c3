//! Action: install the node image's default CNI, as kind does: the manifest at
//! /kind/manifests/default-cni.yaml with `{{ .PodSubnet }}` replaced by the pod subnet.

use super::Context;
use crate::cluster::error::ClusterError;

pub const MANIFEST: &str = "/kind/manifests/default-cni.yaml";

/// The only template field kind's CNI manifests use.
pub fn template(manifest: &str, pod_subnet: &str) -> String {
    manifest.replace("{{ .PodSubnet }}", pod_subnet)
}

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let manifest = ctx.node.read_file(MANIFEST).await.map_err(|e| {
        ClusterError::NodeStart(format!(
            "the node image has no {MANIFEST} ({e}); it is not a kind node image"
        ))
    })?;
    let rendered = template(&String::from_utf8_lossy(&manifest), &ctx.pod_subnet);
    ctx.node
        .write_file(
            "/kind/manifests/cni-rendered.yaml",
            rendered.as_bytes(),
            0o644,
        )
        .await?;
    ctx.node_kubectl(&["apply", "-f", "/kind/manifests/cni-rendered.yaml"])
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn fills_in_the_pod_subnet_everywhere() {
        let m = "value: \"{{ .PodSubnet }}\"\nother: {{ .PodSubnet }}\n";
        assert_eq!(
            super::template(m, "10.244.0.0/16"),
            "value: \"10.244.0.0/16\"\nother: 10.244.0.0/16\n"
        );
    }
}
