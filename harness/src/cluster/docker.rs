//! The Docker engine, as the kind provider needs it: reachability with a clear error, the node
//! image (present, or pulled where a registry answers), and finding node containers by label.

use std::collections::HashMap;
use std::net::IpAddr;

use futures::StreamExt;
use testcontainers::bollard::{
    Docker,
    models::{IpamConfig, NetworkCreateRequest},
    query_parameters::{
        CreateImageOptionsBuilder, InspectNetworkOptions, ListContainersOptions,
        ListNetworksOptions, RemoveContainerOptions,
    },
};

use super::error::ClusterError;

/// Labels kind puts on its node containers; podcheck sets them too, so `kind get clusters`,
/// `kind load` and podcheck's own discovery see the same thing.
pub const KIND_CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";
pub const KIND_ROLE_LABEL: &str = "io.x-k8s.kind.role";
/// Marks containers podcheck created, with the process that owns them; a container whose
/// owner is gone and that was not kept is a leftover of a killed run.
pub const OWNER_PID_LABEL: &str = "io.podcheck.owner-pid";
pub const KEEP_LABEL: &str = "io.podcheck.keep";

/// Connect and ping, so that a missing engine is reported before anything else happens.
pub async fn connect() -> Result<Docker, ClusterError> {
    let docker = Docker::connect_with_defaults().map_err(ClusterError::DockerUnavailable)?;
    docker
        .ping()
        .await
        .map_err(ClusterError::DockerUnavailable)?;
    Ok(docker)
}

/// Make sure the node image is present: use it if it is, pull it if a registry answers, and
/// otherwise say how to build the offline one.
pub async fn ensure_image(docker: &Docker, image: &str) -> Result<(), ClusterError> {
    if docker.inspect_image(image).await.is_ok() {
        return Ok(());
    }
    tracing::info!("pulling node image {image}");
    let opts = CreateImageOptionsBuilder::new().from_image(image).build();
    let mut pull = docker.create_image(Some(opts), None, None);
    while let Some(item) = pull.next().await {
        if let Err(e) = item {
            return Err(ClusterError::NodeImageMissing {
                image: image.to_string(),
                source: e,
            });
        }
    }
    Ok(())
}

/// A node container found by its labels.
#[derive(Debug, Clone)]
pub struct FoundContainer {
    pub id: String,
    /// Name without Docker's leading slash; kind names nodes after their hostnames.
    pub name: String,
    pub labels: HashMap<String, String>,
}

/// Running containers carrying `label` (a key, or `key=value`).
pub async fn containers_with_label(
    docker: &Docker,
    label: &str,
) -> Result<Vec<FoundContainer>, ClusterError> {
    let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let list = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .map_err(ClusterError::docker(format!(
            "listing containers with {label}"
        )))?;
    Ok(list
        .into_iter()
        .filter_map(|c| {
            let name = c.names?.first()?.trim_start_matches('/').to_string();
            Some(FoundContainer {
                id: c.id?,
                name,
                labels: c.labels.unwrap_or_default(),
            })
        })
        .collect())
}

/// Remove a container and its anonymous volumes (the node's /var).
pub async fn remove(docker: &Docker, id: &str) -> Result<(), ClusterError> {
    docker
        .remove_container(
            id,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            }),
        )
        .await
        .map_err(ClusterError::docker(format!("removing container {id}")))
}

/// Whether what carries these labels is a leftover: not kept, and its owner process is gone.
fn is_leftover(labels: &HashMap<String, String>) -> bool {
    if labels.get(KEEP_LABEL).is_some_and(|v| v == "true") {
        return false;
    }
    let owner_alive = labels
        .get(OWNER_PID_LABEL)
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
    !owner_alive
}

/// Remove node containers, then cluster networks, left by podcheck processes that were killed
/// before they could clean up (SIGKILL, a crashed CI job), unless they were started to be kept.
pub async fn reap_leftovers(docker: &Docker) -> Result<(), ClusterError> {
    for c in containers_with_label(docker, OWNER_PID_LABEL).await? {
        if is_leftover(&c.labels) {
            tracing::info!(
                "removing leftover node container {} of a killed run",
                c.name
            );
            remove(docker, &c.id).await?;
        }
    }
    for (name, labels) in networks_with_label(docker, OWNER_PID_LABEL).await? {
        if is_leftover(&labels) {
            tracing::info!("removing leftover cluster network {name} of a killed run");
            remove_network(docker, &name).await?;
        }
    }
    Ok(())
}

/// Create a multi-node cluster's own bridge network, named after the cluster and labelled like
/// its nodes so that `down` and the reaper find it (testcontainers' own networks carry no
/// labels, and a killed owner would leave them behind unrecognised).
pub async fn create_network(
    docker: &Docker,
    cluster: &str,
    keep: bool,
) -> Result<(), ClusterError> {
    let request = NetworkCreateRequest {
        name: cluster.to_string(),
        driver: Some("bridge".into()),
        options: Some(HashMap::from([(
            "com.docker.network.bridge.enable_ip_masquerade".to_string(),
            "true".to_string(),
        )])),
        labels: Some(HashMap::from([
            (KIND_CLUSTER_LABEL.to_string(), cluster.to_string()),
            (OWNER_PID_LABEL.to_string(), std::process::id().to_string()),
            (KEEP_LABEL.to_string(), keep.to_string()),
        ])),
        ..Default::default()
    };
    docker
        .create_network(request)
        .await
        .map_err(ClusterError::docker(format!(
            "creating network {cluster}; hint: Docker hands each network a subnet from its address \
         pools; `docker network prune` frees the pools of networks nothing uses"
        )))?;
    Ok(())
}

/// Remove a cluster network; one that is already gone is fine.
pub async fn remove_network(docker: &Docker, name: &str) -> Result<(), ClusterError> {
    match docker.remove_network(name).await {
        Ok(()) => Ok(()),
        Err(testcontainers::bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }) => Ok(()),
        Err(e) => Err(ClusterError::docker(format!("removing network {name}"))(e)),
    }
}

/// Networks carrying `label` (a key, or `key=value`), by name, with their labels.
async fn networks_with_label(
    docker: &Docker,
    label: &str,
) -> Result<Vec<(String, HashMap<String, String>)>, ClusterError> {
    let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let list = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
        .map_err(ClusterError::docker(format!(
            "listing networks with {label}"
        )))?;
    Ok(list
        .into_iter()
        .filter_map(|n| Some((n.name?, n.labels.unwrap_or_default())))
        .collect())
}

/// Remove every node of a cluster (found by kind's cluster label), then its network if it has
/// one: what `cluster down` and the watcher do.
pub async fn remove_cluster(docker: &Docker, cluster: &str) -> Result<usize, ClusterError> {
    let nodes = containers_with_label(docker, &format!("{KIND_CLUSTER_LABEL}={cluster}")).await?;
    for c in &nodes {
        remove(docker, &c.id).await?;
    }
    for (name, _) in networks_with_label(docker, &format!("{KIND_CLUSTER_LABEL}={cluster}")).await?
    {
        remove_network(docker, &name).await?;
    }
    Ok(nodes.len())
}

/// Remove every node container this process created: what an interrupted start leaves.
/// Waits until they are gone: a start that was cut short may itself be removing the
/// container already, and Docker refuses a second removal while one is in progress.
pub async fn remove_owned_by_this_process(docker: &Docker) -> Result<(), ClusterError> {
    let label = format!("{OWNER_PID_LABEL}={}", std::process::id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let left = containers_with_label(docker, &label).await?;
        if left.is_empty() {
            // Networks last: Docker refuses to remove one that still has nodes on it.
            for (name, _) in networks_with_label(docker, &label).await? {
                remove_network(docker, &name).await?;
            }
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            let names: Vec<_> = left.iter().map(|c| c.name.as_str()).collect();
            return Err(ClusterError::DockerState(format!(
                "could not remove node container(s) {} within 30 s",
                names.join(", ")
            )));
        }
        for c in &left {
            tracing::info!("removing node container {}", c.name);
            if let Err(e) = remove(docker, &c.id).await {
                tracing::debug!("removing {}: {e}", c.name);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The host's address on a Docker network: where a container on it (a kind node) reaches a
/// server on the host (a registry).
pub async fn host_address(docker: &Docker, network: &str) -> Result<IpAddr, ClusterError> {
    let net = docker
        .inspect_network(network, None::<InspectNetworkOptions>)
        .await
        .map_err(ClusterError::docker(format!(
            "inspecting network {network}"
        )))?;
    let config = net.ipam.and_then(|i| i.config).unwrap_or_default();
    gateway_of(&config).ok_or_else(|| {
        ClusterError::DockerState(format!(
            "network {network} has no IPv4 subnet in its IPAM config ({config:?}); hint: \
             `docker network inspect {network}` shows what the engine reports"
        ))
    })
}

/// The gateway of the first IPv4 subnet: the one the engine reports, else the subnet's
/// first address. A freshly installed engine (Debian's docker.io 20.10) lists the default
/// bridge as `{"Subnet": "172.17.0.0/16"}` with no `Gateway`, although `docker0` holds
/// 172.17.0.1: Docker's IPAM gives the gateway the first address of a subnet unless told
/// another, and reports it only once it was told or the engine restarted.
fn gateway_of(config: &[IpamConfig]) -> Option<IpAddr> {
    config.iter().find_map(|c| {
        let subnet = c.subnet.as_deref()?;
        let (net, bits) = subnet.split_once('/')?;
        let net: std::net::Ipv4Addr = net.parse().ok()?;
        let bits: u32 = bits.parse().ok().filter(|b| *b <= 30)?;
        if let Some(gw) = c.gateway.as_deref().and_then(|g| g.parse::<IpAddr>().ok()) {
            return Some(gw);
        }
        let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
        Some(IpAddr::V4((u32::from(net) & mask).wrapping_add(1).into()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipam(subnet: &str, gateway: Option<&str>) -> IpamConfig {
        IpamConfig {
            subnet: Some(subnet.into()),
            gateway: gateway.map(Into::into),
            ..Default::default()
        }
    }

    /// What a Docker engine installed and started minutes before shows for its bridge (seen
    /// on a new machine: no `Gateway`), and what an engine that was told one shows.
    #[test]
    fn the_host_address_holds_on_a_fresh_engine() {
        let fresh: Vec<IpamConfig> =
            serde_json::from_str(r#"[{"Subnet": "172.17.0.0/16"}]"#).unwrap();
        assert_eq!(gateway_of(&fresh), Some("172.17.0.1".parse().unwrap()));
        let told = [ipam("192.168.5.0/24", Some("192.168.5.5"))];
        assert_eq!(gateway_of(&told), Some("192.168.5.5".parse().unwrap()));
        // A user-defined network with an IPv6 subnet first: the IPv4 one is where nodes go.
        let dual = [
            ipam("fd00:dead::/64", Some("fd00:dead::1")),
            ipam("172.19.0.0/16", None),
        ];
        assert_eq!(gateway_of(&dual), Some("172.19.0.1".parse().unwrap()));
        // A subnet not written as CIDR is not guessed at.
        assert_eq!(gateway_of(&[ipam("172.17.0.0", None)]), None);
        assert_eq!(gateway_of(&[]), None);
    }
}
