//! Action: read the admin kubeconfig kubeadm wrote in the node, point it at the port Docker
//! mapped on 127.0.0.1, write it on the host (0600) and build the client the rest uses.

use super::Context;
use crate::cluster::error::ClusterError;
use crate::cluster::kubeconfig;

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let admin = ctx.node.read_file("/etc/kubernetes/admin.conf").await?;
    let admin = String::from_utf8_lossy(&admin);
    let server = format!("https://127.0.0.1:{}", ctx.api_port);
    let kc = kubeconfig::rewrite_for_host(&admin, &server, &ctx.cluster_name).map_err(|what| {
        ClusterError::Kubeconfig {
            path: "/etc/kubernetes/admin.conf (in the node)".into(),
            what,
            source: None,
        }
    })?;
    kubeconfig::write(&kc, &ctx.kubeconfig_path)?;
    let (client, version) = kubeconfig::connect(kc, None, &ctx.kubeconfig_path).await?;
    ctx.client = Some(client);
    ctx.server_version = version;
    Ok(())
}
