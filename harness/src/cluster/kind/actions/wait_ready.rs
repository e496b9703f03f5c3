//! Action: wait, by watching, until every node is Ready and CoreDNS is available. On timeout
//! the error names what is not ready and why, from the objects themselves.

use std::time::Instant;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::wait::{await_condition, conditions};

use super::Context;
use crate::cluster::error::ClusterError;

fn node_ready(node: Option<&Node>) -> bool {
    node.and_then(|n| n.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
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
        await_condition(
            deployments.clone(),
            "coredns",
            conditions::is_deployment_completed(),
        )
        .await
    })
    .await;
    match waited {
        Ok(Ok(_)) => Ok(()),
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
            let why = n
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.type_ == "Ready")
                .map(|c| c.message.unwrap_or(c.reason.unwrap_or_default()))
                .unwrap_or_else(|| "no Ready condition yet".into());
            parts.push(format!("node {node_name} not Ready: {why}"));
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
