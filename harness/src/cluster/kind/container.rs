//! The node container, started as kind starts nodes: privileged, seccomp and AppArmor
//! unconfined, tmpfs /tmp and /run, an anonymous /var volume, /lib/modules read-only, a private
//! cgroup namespace, kind's labels, and (on the control plane) the API server's 6443 published
//! on 127.0.0.1 only.

use std::collections::HashMap;
use std::time::Duration;

use testcontainers::bollard::models::{HostConfig, Mount as DockerMount, MountType, PortBinding};
use testcontainers::core::{AccessMode, CgroupnsMode, IntoContainerPort, Mount};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use crate::cluster::docker::{KEEP_LABEL, KIND_CLUSTER_LABEL, KIND_ROLE_LABEL, OWNER_PID_LABEL};
use crate::cluster::error::ClusterError;

/// Split `name[:tag][@digest]` into what testcontainers wants (it always writes `name:tag`).
pub fn split_reference(reference: &str) -> (String, String) {
    let (base, digest) = match reference.split_once('@') {
        Some((b, d)) => (b, Some(d)),
        None => (reference, None),
    };
    let slash = base.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match base[slash..].rfind(':') {
        Some(i) => (&base[..slash + i], &base[slash + i + 1..]),
        None => (base, "latest"),
    };
    let tag = match digest {
        // Docker resolves `name:tag@digest` by the digest alone.
        Some(d) => format!("{tag}@{d}"),
        None => tag.to_string(),
    };
    (name.to_string(), tag)
}

/// What a node is in its cluster; kind's names and role labels follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    ControlPlane,
    /// The n-th worker, from 1: kind names them `-worker`, `-worker2`, `-worker3`, …
    Worker(usize),
}

impl Role {
    pub fn node_name(self, cluster: &str) -> String {
        match self {
            Role::ControlPlane => format!("{cluster}-control-plane"),
            Role::Worker(1) => format!("{cluster}-worker"),
            Role::Worker(n) => format!("{cluster}-worker{n}"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Role::ControlPlane => "control-plane",
            Role::Worker(_) => "worker",
        }
    }
}

/// The anonymous /var volume testcontainers has no builder for (Docker fills it from the
/// image, as with kind).
fn var_volume(hc: &mut HostConfig) {
    hc.mounts.get_or_insert_with(Vec::new).push(DockerMount {
        target: Some("/var".into()),
        typ: Some(MountType::VOLUME),
        ..Default::default()
    });
}

/// The control plane's settings: the /var volume and the API port bound to loopback only.
fn control_plane_host_config(hc: &mut HostConfig) {
    var_volume(hc);
    hc.port_bindings = Some(HashMap::from([(
        "6443/tcp".to_string(),
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(String::new()),
        }]),
    )]));
}

/// Start one node. `network` is the cluster's own network, or Docker's default `bridge` for a
/// one-node cluster (Docker 20.10 calls it "bridge"; testcontainers would look up "default").
pub async fn start(
    image: &str,
    cluster: &str,
    role: Role,
    network: &str,
    keep: bool,
) -> Result<ContainerAsync<GenericImage>, ClusterError> {
    let (name, tag) = split_reference(image);
    let node_name = role.node_name(cluster);
    let image = GenericImage::new(name, tag);
    let image = match role {
        Role::ControlPlane => image.with_exposed_port(6443.tcp()),
        Role::Worker(_) => image,
    };
    let mut request = image
        .with_container_name(&node_name)
        .with_hostname(&node_name)
        .with_network(network)
        .with_privileged(true)
        .with_security_opt("seccomp=unconfined")
        .with_security_opt("apparmor=unconfined")
        .with_cgroupns_mode(CgroupnsMode::Private)
        .with_mount(Mount::tmpfs_mount("/tmp"))
        .with_mount(Mount::tmpfs_mount("/run"))
        .with_label(KIND_CLUSTER_LABEL, cluster)
        .with_label(KIND_ROLE_LABEL, role.label())
        .with_label(OWNER_PID_LABEL, std::process::id().to_string())
        .with_label(KEEP_LABEL, keep.to_string())
        .with_env_var("container", "docker")
        .with_startup_timeout(Duration::from_secs(60))
        .with_host_config_modifier(match role {
            Role::ControlPlane => control_plane_host_config,
            Role::Worker(_) => var_volume,
        });
    if std::path::Path::new("/lib/modules").is_dir() {
        request = request.with_mount(
            Mount::bind_mount("/lib/modules", "/lib/modules")
                .with_access_mode(AccessMode::ReadOnly),
        );
    }
    request
        .start()
        .await
        .map_err(ClusterError::node_start("creating it"))
}

#[cfg(test)]
mod tests {
    use super::{Role, split_reference};

    #[test]
    fn nodes_are_named_as_kind_names_them() {
        assert_eq!(Role::ControlPlane.node_name("c"), "c-control-plane");
        assert_eq!(Role::Worker(1).node_name("c"), "c-worker");
        assert_eq!(Role::Worker(2).node_name("c"), "c-worker2");
    }

    #[test]
    fn references_split_for_testcontainers() {
        let cases = [
            ("kindest/node:v1.35.0", ("kindest/node", "v1.35.0")),
            (
                "kindest/node:v1.35.0@sha256:ab",
                ("kindest/node", "v1.35.0@sha256:ab"),
            ),
            (
                "kindest/node@sha256:ab",
                ("kindest/node", "latest@sha256:ab"),
            ),
            ("localhost:5000/node", ("localhost:5000/node", "latest")),
            ("localhost:5000/node:x", ("localhost:5000/node", "x")),
            (
                "podcheck.local/node:v1.37.2-abc",
                ("podcheck.local/node", "v1.37.2-abc"),
            ),
        ];
        for (input, (name, tag)) in cases {
            assert_eq!(
                split_reference(input),
                (name.to_string(), tag.to_string()),
                "{input}"
            );
        }
    }
}
