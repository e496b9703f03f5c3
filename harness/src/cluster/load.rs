//! Reaching into kind-style nodes from the host: which of a cluster's nodes are Docker
//! containers here, loading image archives into their container runtime, and copying out the node's
//! own kubectl.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};

use super::docker::{self, KIND_CLUSTER_LABEL};
use super::error::ClusterError;
use super::node::{NodeContainer, tail};

/// The cluster's nodes, if every one is a kind-style container on this Docker engine (kind
/// names node containers after the node). Empty when any node is elsewhere.
pub async fn reachable_nodes(client: &kube::Client) -> Result<Vec<NodeContainer>, ClusterError> {
    let names: Vec<String> = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|source| ClusterError::Api {
            what: "listing the cluster's nodes".into(),
            source,
        })?
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    let Ok(docker) = docker::connect().await else {
        return Ok(Vec::new());
    };
    let containers = docker::containers_with_label(&docker, KIND_CLUSTER_LABEL).await?;
    let mut nodes = Vec::new();
    for name in &names {
        match containers.iter().find(|c| &c.name == name) {
            Some(c) => nodes.push(NodeContainer::new(docker.clone(), &c.id, &c.name)),
            None => return Ok(Vec::new()),
        }
    }
    Ok(nodes)
}

/// The image a node container runs, for reports.
pub async fn node_image(node: &NodeContainer) -> Option<String> {
    node.docker_image().await
}

/// Copy an image archive into the node and import it into its container runtime's store
/// (containerd's k8s.io namespace, unless the node says otherwise), where the kubelet finds
/// it: pods then use it with imagePullPolicy IfNotPresent.
pub async fn import_archive(node: &NodeContainer, archive: &Path) -> Result<(), ClusterError> {
    let data = tokio::fs::read(archive)
        .await
        .map_err(ClusterError::io(format!("reading {}", archive.display())))?;
    let file_name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image.tar".into());
    // A name of this load's own: other processes may load the same archive at the same time.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let target = format!("/kind/.{}-{nanos}-{file_name}", std::process::id());
    let runtime = super::runtime::NodeRuntime::of(node).await?;
    node.write_file(&target, &data, 0o644).await?;
    let out = node
        .exec(&["sh", "-c", &format!("{} {target}", runtime.import)])
        .await?;
    let _ = node.exec(&["rm", "-f", &target]).await;
    if out.exit_code != 0 {
        return Err(ClusterError::ImageLoad {
            archive: archive.to_path_buf(),
            node: node.name.clone(),
            output: tail(&out.combined(), 10),
        });
    }
    Ok(())
}

/// The node's own kubectl, copied to the host once per server version, so that client and
/// server versions match whatever kubectl the host has.
pub async fn copy_kubectl(
    node: &NodeContainer,
    server_version: &str,
) -> Result<PathBuf, ClusterError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::paths::work_dir()
        .join("kubectl")
        .join(server_version);
    let path = dir.join("kubectl");
    if path.is_file() {
        return Ok(path);
    }
    let io =
        |e: std::io::Error| ClusterError::io(format!("copying kubectl to {}", path.display()))(e);
    let data = node.read_file("/usr/bin/kubectl").await?;
    std::fs::create_dir_all(&dir).map_err(io)?;
    // Write beside and rename: parallel test processes may copy at the same time.
    let partial = dir.join(format!("kubectl.{}", std::process::id()));
    std::fs::write(&partial, data).map_err(io)?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    std::fs::rename(&partial, &path).map_err(io)?;
    Ok(path)
}
