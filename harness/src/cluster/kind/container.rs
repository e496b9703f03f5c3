//! The node container, started as kind starts nodes: privileged, seccomp and AppArmor
//! unconfined, tmpfs /tmp and /run, an anonymous /var volume, /lib/modules read-only, a private
//! cgroup namespace, kind's labels, and the API server's 6443 published on 127.0.0.1 only.

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

/// The Docker settings testcontainers has no builder for: the anonymous /var volume (Docker
/// fills it from the image, as with kind) and the API port bound to loopback only.
fn host_config(hc: &mut HostConfig) {
    hc.mounts.get_or_insert_with(Vec::new).push(DockerMount {
        target: Some("/var".into()),
        typ: Some(MountType::VOLUME),
        ..Default::default()
    });
    hc.port_bindings = Some(HashMap::from([(
        "6443/tcp".to_string(),
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(String::new()),
        }]),
    )]));
}

pub async fn start(
    image: &str,
    cluster: &str,
    keep: bool,
) -> Result<ContainerAsync<GenericImage>, ClusterError> {
    let (name, tag) = split_reference(image);
    let node_name = format!("{cluster}-control-plane");
    let mut request = GenericImage::new(name, tag)
        .with_exposed_port(6443.tcp())
        .with_container_name(&node_name)
        .with_hostname(&node_name)
        // Docker 20.10 calls the default network "bridge"; testcontainers would look up "default".
        .with_network("bridge")
        .with_privileged(true)
        .with_security_opt("seccomp=unconfined")
        .with_security_opt("apparmor=unconfined")
        .with_cgroupns_mode(CgroupnsMode::Private)
        .with_mount(Mount::tmpfs_mount("/tmp"))
        .with_mount(Mount::tmpfs_mount("/run"))
        .with_label(KIND_CLUSTER_LABEL, cluster)
        .with_label(KIND_ROLE_LABEL, "control-plane")
        .with_label(OWNER_PID_LABEL, std::process::id().to_string())
        .with_label(KEEP_LABEL, keep.to_string())
        .with_env_var("container", "docker")
        .with_startup_timeout(Duration::from_secs(60))
        .with_host_config_modifier(host_config);
    if std::path::Path::new("/lib/modules").is_dir() {
        request = request.with_mount(
            Mount::bind_mount("/lib/modules", "/lib/modules")
                .with_access_mode(AccessMode::ReadOnly),
        );
    }
    request
        .start()
        .await
        .map_err(|e| ClusterError::NodeStart(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::split_reference;

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
