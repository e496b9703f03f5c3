//! How podcheck drives a node's container runtime: the CRI socket kubeadm points the kubelet
//! at, how to tell the runtime answers, its cgroup driver, how to import an image archive,
//! and the CNI version its network plugins are run with.
//!
//! kind's images and podcheck's own node run containerd, which needs nothing said. A node
//! image with another runtime says so in `/kind/runtime.env`, one `KEY=VALUE` a line (the
//! dockershim target's is the example): the bootstrap actions and the image loading then
//! read one description instead of knowing each runtime.

use super::error::ClusterError;
use super::node::NodeContainer;

/// Where a node image describes a runtime other than containerd.
pub const RUNTIME_ENV: &str = "/kind/runtime.env";

/// A node's container runtime, as the bootstrap and the image loading need it. The commands
/// run under `sh -c` in the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRuntime {
    /// `nodeRegistration.criSocket` of the kubeadm configuration.
    pub cri_socket: String,
    /// Exits 0 once the runtime answers (what kubeadm needs of it).
    pub ready: String,
    /// Prints `systemd` or `cgroupfs`: the kubelet's driver must be the runtime's.
    pub cgroup_driver: String,
    /// Imports the image archive whose path is appended.
    pub import: String,
    /// `cniVersion` of the network configuration podcheck writes on the node.
    pub cni_version: String,
}

impl Default for NodeRuntime {
    /// containerd, as kind's images run it.
    fn default() -> Self {
        NodeRuntime {
            cri_socket: "unix:///run/containerd/containerd.sock".into(),
            ready: "ctr --timeout 2s version".into(),
            // Official kindest/node images use systemd, podcheck's offline node cgroupfs.
            cgroup_driver: "containerd config dump | tr -d ' ' | grep -qx 'SystemdCgroup=true' \
                            && echo systemd || echo cgroupfs"
                .into(),
            import: "ctr --namespace=k8s.io images import --all-platforms".into(),
            cni_version: "1.0.0".into(),
        }
    }
}

impl NodeRuntime {
    /// Whether the kubelet drives containerd (what `--registry`'s set-up configures).
    pub fn is_containerd(&self) -> bool {
        self.cri_socket == NodeRuntime::default().cri_socket
    }

    /// The runtime of `node`: its `/kind/runtime.env` over containerd's defaults.
    pub async fn of(node: &NodeContainer) -> Result<NodeRuntime, ClusterError> {
        let out = node.exec(&["cat", RUNTIME_ENV]).await?;
        if out.exit_code != 0 {
            return Ok(NodeRuntime::default());
        }
        NodeRuntime::parse(&out.stdout).map_err(|what| ClusterError::NodeStart {
            what: format!(
                "node {}: {RUNTIME_ENV}: {what}; hint: the node image's description of its \
                 container runtime is broken",
                node.name
            ),
            source: None,
        })
    }

    /// `KEY=VALUE` lines over the defaults; `#` starts a comment line.
    pub fn parse(text: &str) -> Result<NodeRuntime, String> {
        let mut r = NodeRuntime::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("line {}: `{line}` is not KEY=VALUE", i + 1));
            };
            let slot = match key.trim() {
                "CRI_SOCKET" => &mut r.cri_socket,
                "CRI_READY" => &mut r.ready,
                "CRI_CGROUP_DRIVER" => &mut r.cgroup_driver,
                "CRI_IMPORT" => &mut r.import,
                "CNI_VERSION" => &mut r.cni_version,
                other => {
                    return Err(format!(
                        "line {}: unknown key `{other}` (known: CRI_SOCKET, CRI_READY, \
                         CRI_CGROUP_DRIVER, CRI_IMPORT, CNI_VERSION)",
                        i + 1
                    ));
                }
            };
            *slot = value.trim().to_string();
        }
        Ok(r)
    }

    /// The runtime's cgroup driver, as the node reports it.
    pub async fn cgroup_driver_of(&self, node: &NodeContainer) -> Result<String, ClusterError> {
        let out = node.run(&["sh", "-c", &self.cgroup_driver]).await?;
        match out.stdout.trim() {
            d @ ("systemd" | "cgroupfs") => Ok(d.to_string()),
            other => Err(ClusterError::NodeStart {
                what: format!(
                    "node {}: `{}` printed {other:?}, not `systemd` or `cgroupfs`",
                    node.name, self.cgroup_driver
                ),
                source: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_means_containerd() {
        let r = NodeRuntime::parse("# nothing said\n\n").unwrap();
        assert_eq!(r, NodeRuntime::default());
        assert_eq!(r.cri_socket, "unix:///run/containerd/containerd.sock");
        assert!(r.is_containerd());
    }

    #[test]
    fn the_dockershim_nodes_file_is_read_whole() {
        let text = std::fs::read_to_string(
            crate::paths::repo_root().join("ci/targets/dockershim/files/kind/runtime.env"),
        )
        .unwrap();
        let r = NodeRuntime::parse(&text).unwrap();
        assert_eq!(r.cri_socket, "/var/run/dockershim.sock");
        assert!(!r.is_containerd());
        assert_eq!(r.import, "docker load --input");
        assert_eq!(r.cni_version, "0.4.0");
        assert!(r.cgroup_driver.contains("{{.CgroupDriver}}"), "{r:?}");
    }

    #[test]
    fn a_broken_line_is_named() {
        let e = NodeRuntime::parse("CRI_SOCKET=/x\nCRI_SOKET=/y\n").unwrap_err();
        assert!(e.starts_with("line 2: unknown key `CRI_SOKET`"), "{e}");
        let e = NodeRuntime::parse("just words\n").unwrap_err();
        assert_eq!(e, "line 1: `just words` is not KEY=VALUE");
    }
}
