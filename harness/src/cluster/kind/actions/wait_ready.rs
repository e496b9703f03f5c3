//! Action: wait, by watching, until every node is Ready and takes pods and, for a cluster others will use
//! (`cluster up`), CoreDNS is available (one replica ready serves the cluster's DNS; its
//! Deployment says so in its Available condition). A run does not wait for CoreDNS: most
//! cases do not need cluster DNS, and those that do (`needs: [cluster-dns]`) wait for it
//! themselves ([`crate::runner::cluster_dns`]); a case's namespace waits for its own default
//! ServiceAccount, which is what a new cluster gives last that pods need. On timeout the
//! error names what is not ready and why, from the objects themselves.

use std::time::Instant;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::wait::await_condition;

use super::Context;
use crate::cluster::error::ClusterError;

fn available(d: Option<&Deployment>) -> bool {
    d.and_then(|d| d.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True")
            })
        })
        && d.and_then(|d| d.status.as_ref())
            .and_then(|s| s.available_replicas)
            .is_some_and(|n| n >= 1)
}

/// The taint the kubelet registers a node with and the node lifecycle controller (in the
/// controller manager) removes once the node is Ready: until then the node takes no pods.
const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";

/// Ready, and taking pods: its Ready condition is true and the not-ready taint is gone.
fn node_ready(node: Option<&Node>) -> bool {
    let ready = node
        .and_then(|n| n.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let tainted = node
        .and_then(|n| n.spec.as_ref())
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|ts| ts.iter().any(|t| t.key == NOT_READY_TAINT));
    ready && !tainted
}

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let client = ctx.client()?;
    let nodes: Api<Node> = Api::all(client.clone());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "kube-system");
    let started = Instant::now();
    let timeout = ctx.ready_timeout;

    let names: Vec<String> = ctx.all_nodes().into_iter().map(|n| n.node.name).collect();
    let waited = tokio::time::timeout(timeout, async {
        for name in &names {
            await_condition(nodes.clone(), name, node_ready).await?;
        }
        let nodes_ready = ctx.started.elapsed();
        if ctx.wait_for_dns {
            await_condition(deployments.clone(), "coredns", available).await?;
        }
        Ok::<_, kube::runtime::wait::Error>(nodes_ready)
    })
    .await;
    match waited {
        Ok(Ok(nodes_ready)) => {
            // The figures of a start (ci/bench/cluster reads them): what cases need, Ready
            // nodes, and what the cluster's own services need, DNS.
            let dns = if ctx.wait_for_dns {
                format!(
                    "CoreDNS available {:.1} s",
                    ctx.started.elapsed().as_secs_f64()
                )
            } else {
                "CoreDNS not waited for".to_string()
            };
            tracing::info!(
                "   after the cluster's creation began: nodes Ready {:.1} s, {dns}",
                nodes_ready.as_secs_f64(),
            );
            Ok(())
        }
        Ok(Err(e)) => Err(ClusterError::NotReady {
            what: format!("watch failed: {e}"),
            timeout_secs: started.elapsed().as_secs(),
        }),
        Err(_) => Err(ClusterError::NotReady {
            what: describe_unready(&client, &names).await,
            timeout_secs: timeout.as_secs(),
        }),
    }
}

/// A one-paragraph account of what is not ready: the node's failing conditions, the CoreDNS
/// deployment's status and the kube-system pods that are not running.
async fn describe_unready(client: &kube::Client, node_names: &[String]) -> String {
    let mut parts = Vec::new();
    for node_name in node_names {
        describe_node(client, node_name, &mut parts).await;
    }
    describe_system(client, &mut parts).await;
    parts.join("; ")
}

async fn describe_node(client: &kube::Client, node_name: &str, parts: &mut Vec<String>) {
    match Api::<Node>::all(client.clone()).get_opt(node_name).await {
        Ok(Some(n)) if !node_ready(Some(&n)) => {
            let ready = n
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.type_ == "Ready");
            parts.push(match ready {
                Some(c) if c.status == "True" => format!(
                    "node {node_name} is Ready but still has the {NOT_READY_TAINT} taint \
                     (the controller manager's node lifecycle controller removes it)"
                ),
                Some(c) => format!(
                    "node {node_name} not Ready: {}",
                    c.message.unwrap_or(c.reason.unwrap_or_default())
                ),
                None => format!("node {node_name} not Ready: no Ready condition yet"),
            });
        }
        Ok(None) => parts.push(format!("node {node_name} never registered")),
        Err(e) => parts.push(format!("node {node_name}: {e}")),
        _ => {}
    }
}

/// CoreDNS and the kube-system pods that are not running.
async fn describe_system(client: &kube::Client, parts: &mut Vec<String>) {
    if let Ok(Some(d)) = Api::<Deployment>::namespaced(client.clone(), "kube-system")
        .get_opt("coredns")
        .await
    {
        let s = d.status.unwrap_or_default();
        parts.push(format!(
            "coredns: {}/{} available",
            s.available_replicas.unwrap_or(0),
            s.replicas.unwrap_or(0)
        ));
    }
    if let Ok(pods) = Api::<Pod>::namespaced(client.clone(), "kube-system")
        .list(&ListParams::default())
        .await
    {
        for p in pods {
            let phase = p
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default();
            if phase != "Running" {
                let waiting = p
                    .status
                    .and_then(|s| s.container_statuses)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.state?.waiting)
                    .map(|w| {
                        format!(
                            "{}: {}",
                            w.reason.unwrap_or_default(),
                            w.message.unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                parts.push(format!(
                    "pod {} is {phase} {waiting}",
                    p.metadata.name.unwrap_or_default()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(v: serde_json::Value) -> Node {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_node_is_ready_for_pods_once_ready_and_no_longer_tainted_not_ready() {
        let ready = serde_json::json!({"conditions": [{"type": "Ready", "status": "True"}]});
        let taint =
            serde_json::json!({"taints": [{"key": NOT_READY_TAINT, "effect": "NoSchedule"}]});
        assert!(!node_ready(None));
        assert!(!node_ready(Some(&node(
            serde_json::json!({"metadata": {"name": "n"}})
        ))));
        assert!(!node_ready(Some(&node(
            serde_json::json!({"metadata": {"name": "n"}, "status": ready, "spec": taint})
        ))));
        assert!(!node_ready(Some(&node(serde_json::json!({
            "metadata": {"name": "n"},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]}
        })))));
        assert!(node_ready(Some(&node(
            serde_json::json!({"metadata": {"name": "n"}, "status": ready})
        ))));
    }
}
