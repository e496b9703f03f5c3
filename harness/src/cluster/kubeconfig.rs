//! Kubeconfig files: reading the one a node wrote, pointing it at the port Docker mapped,
//! writing it where kubectl and the user can use it (mode 0600: it holds admin credentials),
//! and building a client from one.

use std::io::Write;
use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::error::ClusterError;

/// A kubeconfig that could not be read, written or used: what was being done, and why.
fn invalid<E: std::error::Error + Send + Sync + 'static>(
    path: &Path,
    what: &str,
) -> impl FnOnce(E) -> ClusterError {
    let (path, what) = (path.to_path_buf(), what.to_string());
    move |e| ClusterError::Kubeconfig {
        path,
        what,
        source: Some(Box::new(e)),
    }
}

/// Rewrite a node's admin kubeconfig for use from the host: every cluster entry's server
/// becomes `server`, and cluster, user and context are named after the podcheck cluster (as
/// kind names them `kind-<name>`) so several clusters can live in one kubeconfig.
pub fn rewrite_for_host(admin_conf: &str, server: &str, name: &str) -> Result<Kubeconfig, String> {
    let mut kc = Kubeconfig::from_yaml(admin_conf).map_err(|e| e.to_string())?;
    if kc.clusters.len() != 1 || kc.auth_infos.len() != 1 || kc.contexts.len() != 1 {
        return Err(format!(
            "expected one cluster, user and context, found {}, {} and {}",
            kc.clusters.len(),
            kc.auth_infos.len(),
            kc.contexts.len()
        ));
    }
    let full = format!("podcheck-{name}");
    kc.clusters[0].name = full.clone();
    if let Some(c) = kc.clusters[0].cluster.as_mut() {
        c.server = Some(server.to_string());
    }
    kc.auth_infos[0].name = full.clone();
    kc.contexts[0].name = full.clone();
    if let Some(ctx) = kc.contexts[0].context.as_mut() {
        ctx.cluster = full.clone();
        ctx.user = Some(full.clone());
    }
    kc.current_context = Some(full);
    Ok(kc)
}

/// Write a kubeconfig with mode 0600 (created so, never world-readable even briefly).
pub fn write(kc: &Kubeconfig, path: &Path) -> Result<(), ClusterError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let yaml = serde_saphyr::to_string(kc).map_err(invalid(path, "writing it as YAML"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(invalid(path, "making its directory"))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(invalid(path, "opening it"))?;
    // An existing file keeps its old mode through open(); tighten it explicitly.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(invalid(path, "making it private"))?;
    f.write_all(yaml.as_bytes())
        .map_err(invalid(path, "writing it"))
}

/// Read a kubeconfig file the user gave.
pub fn read(path: &Path) -> Result<Kubeconfig, ClusterError> {
    Kubeconfig::read_from(path).map_err(invalid(path, "reading it"))
}

/// A client for `kc` (its current context, or `context`), checked by asking the server its
/// version; returns the client and the server's gitVersion.
pub async fn connect(
    kc: Kubeconfig,
    context: Option<&str>,
    path: &Path,
) -> Result<(kube::Client, String), ClusterError> {
    let opts = KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(invalid(path, "taking its context"))?;
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(invalid(path, "making a client"))?;
    let version = client
        .apiserver_version()
        .await
        .map_err(|source| ClusterError::Unreachable { server, source })?;
    Ok((client, version.git_version))
}

/// Where podcheck keeps the kubeconfig of a cluster it started.
pub fn default_path(cluster_name: &str) -> PathBuf {
    crate::paths::work_dir()
        .join("clusters")
        .join(format!("{cluster_name}.kubeconfig"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN_CONF: &str = r#"apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://podcheck-x-control-plane:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
"#;

    #[test]
    fn points_at_the_mapped_port_and_renames_consistently() {
        let kc = rewrite_for_host(ADMIN_CONF, "https://127.0.0.1:40123", "x").unwrap();
        let cluster = kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:40123"));
        assert_eq!(
            cluster.certificate_authority_data.as_deref(),
            Some("Q0E="),
            "the CA must survive the rewrite"
        );
        assert_eq!(kc.clusters[0].name, "podcheck-x");
        assert_eq!(kc.auth_infos[0].name, "podcheck-x");
        let ctx = kc.contexts[0].context.as_ref().unwrap();
        assert_eq!(
            (ctx.cluster.as_str(), ctx.user.as_deref()),
            ("podcheck-x", Some("podcheck-x"))
        );
        assert_eq!(kc.current_context.as_deref(), Some("podcheck-x"));
    }

    #[test]
    fn refuses_a_kubeconfig_with_several_clusters() {
        let two = ADMIN_CONF.replacen(
            "clusters:\n",
            "clusters:\n- cluster:\n    server: https://other:6443\n  name: other\n",
            1,
        );
        let err = rewrite_for_host(&two, "https://127.0.0.1:1", "x").unwrap_err();
        assert!(err.contains("found 2, 1 and 1"), "{err}");
    }

    #[test]
    fn written_file_is_private_and_reads_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.conf");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let kc = rewrite_for_host(ADMIN_CONF, "https://127.0.0.1:40123", "x").unwrap();
        write(&kc, &path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = read(&path).unwrap();
        assert_eq!(
            back.clusters[0].cluster.as_ref().unwrap().server.as_deref(),
            Some("https://127.0.0.1:40123")
        );
    }

    #[test]
    fn unreadable_kubeconfig_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.conf");
        std::fs::write(&path, "clusters: [ {").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("broken.conf"), "{err}");
    }
}
