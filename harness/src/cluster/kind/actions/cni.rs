//! Action: give pods a network.
//!
//! One node: the node image's default CNI, as kind installs it: the manifest at
//! /kind/manifests/default-cni.yaml with `{{ .PodSubnet }}` replaced by the pod subnet (the
//! offline image's is a bridge over the whole pod subnet, right for one node only).
//!
//! Several nodes: what kind's kindnetd computes, written once, since a cluster podcheck
//! starts never gains or loses nodes: on each node the standard CNI plugins (bridge with
//! host-local IPAM on that node's `spec.podCIDR`, portmap), a route to every other node's
//! podCIDR through that node's address, and masquerading for traffic that leaves the pod
//! subnet. Pod-to-pod traffic across nodes keeps its pod addresses.

use std::time::Duration;

use k8s_openapi::api::core::v1::Node as ApiNode;
use kube::api::Api;
use kube::runtime::wait::await_condition;

use super::{Context, Node};
use crate::cluster::error::ClusterError;

pub const MANIFEST: &str = "/kind/manifests/default-cni.yaml";
pub const CONFLIST: &str = "/etc/cni/net.d/10-podcheck.conflist";

/// The only template field kind's CNI manifests use.
pub fn template(manifest: &str, pod_subnet: &str) -> String {
    manifest.replace("{{ .PodSubnet }}", pod_subnet)
}

pub async fn run(ctx: &Context) -> Result<(), ClusterError> {
    if ctx.workers.is_empty() {
        return default_cni(ctx).await;
    }
    let client = ctx.client()?;
    let nodes = ctx.all_nodes();
    let mut cidrs = Vec::with_capacity(nodes.len());
    for n in &nodes {
        cidrs.push(pod_cidr(&client, &n.node.name).await?);
    }
    let routed: Vec<(&Node, &str)> = nodes.iter().zip(cidrs.iter().map(String::as_str)).collect();
    for (node, cidr) in &routed {
        let others: Vec<(&str, &str)> = routed
            .iter()
            .filter(|(o, _)| o.node.name != node.node.name)
            .map(|(o, c)| (*c, o.ip.as_str()))
            .collect();
        configure(node, cidr, &others, ctx).await?;
    }
    Ok(())
}

async fn default_cni(ctx: &Context) -> Result<(), ClusterError> {
    let manifest = ctx
        .node
        .read_file(MANIFEST)
        .await
        .map_err(|e| ClusterError::NodeStart {
            what: format!("the node image has no {MANIFEST}; hint: it is not a kind node image"),
            source: Some(Box::new(e)),
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

/// The podCIDR the controller manager gives a node when it registers, by watching for it.
async fn pod_cidr(client: &kube::Client, node: &str) -> Result<String, ClusterError> {
    let nodes: Api<ApiNode> = Api::all(client.clone());
    let has_cidr = |n: Option<&ApiNode>| {
        n.and_then(|n| n.spec.as_ref())
            .and_then(|s| s.pod_cidr.as_ref())
            .is_some()
    };
    let timeout = Duration::from_secs(60);
    let found = tokio::time::timeout(timeout, await_condition(nodes, node, has_cidr)).await;
    match found {
        Ok(Ok(Some(n))) => Ok(n.spec.and_then(|s| s.pod_cidr).unwrap_or_default()),
        Ok(Err(e)) => Err(ClusterError::NotReady {
            what: format!("watching node {node} for its podCIDR: {e}"),
            timeout_secs: timeout.as_secs(),
        }),
        _ => Err(ClusterError::NotReady {
            what: format!(
                "node {node} has no spec.podCIDR (the controller manager allocates them from the pod subnet)"
            ),
            timeout_secs: timeout.as_secs(),
        }),
    }
}

/// The configuration the node image's default CNI (its `cni-installer`) writes on a one-node
/// cluster: a bridge over the whole pod subnet, masquerading what leaves it.
pub fn default_conflist(pod_subnet: &str, cni_version: &str) -> serde_json::Value {
    let mut c = conflist(pod_subnet, cni_version);
    c["plugins"][0]["ipMasq"] = serde_json::Value::Bool(true);
    c
}

/// The CNI configuration of one node of a multi-node cluster, in the version its runtime
/// reads.
pub fn conflist(pod_cidr: &str, cni_version: &str) -> serde_json::Value {
    serde_json::json!({
        "cniVersion": cni_version,
        "name": "podcheck",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": true,
                // Masquerading is the node's rule below, which leaves other nodes' pods alone.
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{ "subnet": pod_cidr }]],
                    "routes": [{ "dst": "0.0.0.0/0" }]
                }
            },
            { "type": "portmap", "capabilities": { "portMappings": true } }
        ]
    })
}

/// The shell that sets up one node's routes and masquerading; idempotent.
pub fn network_script(others: &[(&str, &str)], pod_subnet: &str) -> String {
    let mut script = String::from("set -e\n");
    for (cidr, via) in others {
        script.push_str(&format!("ip route replace {cidr} via {via}\n"));
    }
    let rule = format!(
        "POSTROUTING -s {pod_subnet} ! -d {pod_subnet} -m addrtype ! --dst-type LOCAL \
         -m comment --comment podcheck-masquerade -j MASQUERADE"
    );
    script.push_str(&format!(
        "iptables -t nat -C {rule} 2>/dev/null || iptables -t nat -A {rule}\n"
    ));
    script
}

async fn configure(
    node: &Node,
    pod_cidr: &str,
    others: &[(&str, &str)],
    ctx: &Context,
) -> Result<(), ClusterError> {
    node.node
        .run(&["sh", "-c", &network_script(others, &ctx.pod_subnet)])
        .await?;
    node.node.run(&["mkdir", "-p", "/etc/cni/net.d"]).await?;
    let text = serde_json::to_vec_pretty(&conflist(pod_cidr, &ctx.runtime.cni_version))
        .unwrap_or_default();
    // Beside the target, then renamed: containerd must never read half a file.
    let tmp = format!("{CONFLIST}.tmp");
    node.node.write_file(&tmp, &text, 0o644).await?;
    node.node.run(&["mv", &tmp, CONFLIST]).await?;
    Ok(())
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

    #[test]
    fn each_node_gets_its_own_range_and_routes_to_the_others() {
        let c = super::conflist("10.244.1.0/24", "1.0.0");
        assert_eq!(
            c["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            "10.244.1.0/24"
        );
        assert_eq!(c["plugins"][0]["ipMasq"], false);
        assert_eq!(
            super::conflist("10.244.1.0/24", "0.4.0")["cniVersion"],
            "0.4.0"
        );
        let s = super::network_script(
            &[
                ("10.244.0.0/24", "172.19.0.2"),
                ("10.244.2.0/24", "172.19.0.4"),
            ],
            "10.244.0.0/16",
        );
        assert!(s.contains("ip route replace 10.244.0.0/24 via 172.19.0.2\n"));
        assert!(s.contains("ip route replace 10.244.2.0/24 via 172.19.0.4\n"));
        assert!(s.contains("-s 10.244.0.0/16 ! -d 10.244.0.0/16"));
    }
}
