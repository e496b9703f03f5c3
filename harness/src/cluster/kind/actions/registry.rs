//! Action (with `--registry` only): let every node's containerd pull from the registry podcheck
//! pushes its images to, the way kind documents local registries: a `hosts.toml` under
//! `/etc/containerd/certs.d/<HOST[:PORT]>/`, which containerd reads when its CRI registry
//! `config_path` points there. kind's own node images set `config_path`; podcheck's offline
//! image does not, so the action adds it and restarts containerd, before the kubelet starts.

use super::Context;
use crate::cluster::error::ClusterError;
use crate::image::registry::Registry;

pub const CERTS_D: &str = "/etc/containerd/certs.d";
const CONFIG: &str = "/etc/containerd/config.toml";

/// The registry's `hosts.toml`: pull and resolve at the address podcheck pushed to, over the
/// scheme it pushed with.
pub fn hosts_toml(registry: &Registry) -> String {
    let scheme = if registry.plain_http { "http" } else { "https" };
    let url = format!("{scheme}://{}", registry.host);
    format!("server = \"{url}\"\n\n[host.\"{url}\"]\n  capabilities = [\"pull\", \"resolve\"]\n")
}

/// The TOML table that holds `config_path`: containerd 2 (config version 3) moved it.
pub fn config_path_section(config: &str) -> Option<String> {
    if config.contains("config_path") {
        return None;
    }
    let table = if config.lines().any(|l| l.trim() == "version = 3") {
        "plugins.\"io.containerd.cri.v1.images\".registry"
    } else {
        "plugins.\"io.containerd.grpc.v1.cri\".registry"
    };
    Some(format!(
        "\n# Added by podcheck (--registry): read registry hosts from {CERTS_D}.\n[{table}]\n  config_path = \"{CERTS_D}\"\n"
    ))
}

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let Some(registry) = ctx.registry.clone() else {
        return Ok(());
    };
    if !ctx.runtime.is_containerd() {
        return Err(ClusterError::NodeStart {
            what: format!(
                "--registry sets up containerd's registry hosts, and this node's kubelet drives \
                 another runtime (CRI socket {}); hint: leave out --registry, and podcheck \
                 loads the images into the nodes",
                ctx.runtime.cri_socket
            ),
            source: None,
        });
    }
    let nodes = ctx.all_nodes();
    futures::future::try_join_all(nodes.iter().map(|n| async {
        let node = &n.node;
        let dir = format!("{CERTS_D}/{}", registry.host);
        node.run(&["mkdir", "-p", &dir]).await?;
        node.write_file(
            &format!("{dir}/hosts.toml"),
            hosts_toml(&registry).as_bytes(),
            0o644,
        )
        .await?;
        let config = String::from_utf8_lossy(&node.read_file(CONFIG).await?).into_owned();
        if let Some(section) = config_path_section(&config) {
            node.write_file(CONFIG, format!("{config}{section}").as_bytes(), 0o644)
                .await?;
            node.run(&["systemctl", "restart", "containerd"]).await?;
            super::boot::booted(node, &ctx.runtime).await?;
        }
        Ok::<_, ClusterError>(())
    }))
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_toml_pulls_over_the_scheme_podcheck_pushed_with() {
        let r: Registry = "http://172.17.0.1:5000/podcheck".parse().unwrap();
        assert_eq!(
            hosts_toml(&r),
            "server = \"http://172.17.0.1:5000\"\n\n[host.\"http://172.17.0.1:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        );
    }

    #[test]
    fn config_path_is_added_once_in_the_table_of_the_config_version() {
        let v2 = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n";
        let added = config_path_section(v2).unwrap();
        assert!(added.contains("[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\""), "{added}");
        assert_eq!(config_path_section(&format!("{v2}{added}")), None);
        let v3 = "version = 3\n";
        assert!(
            config_path_section(v3)
                .unwrap()
                .contains("io.containerd.cri.v1.images")
        );
    }
}
