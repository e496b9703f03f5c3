//! A multi-node cluster's own Docker network, where nodes reach each other by name (Docker's
//! embedded DNS answers only on user-defined networks). It is removed after the nodes: when
//! this guard is dropped, or by the reaper once its owner is gone.

use testcontainers::bollard::Docker;

use crate::cluster::docker;
use crate::cluster::error::ClusterError;

pub struct ClusterNetwork {
    docker: Docker,
    pub name: String,
    keep: bool,
    removed: bool,
}

impl ClusterNetwork {
    pub async fn create(docker: &Docker, cluster: &str, keep: bool) -> Result<Self, ClusterError> {
        docker::create_network(docker, cluster, keep).await?;
        Ok(ClusterNetwork {
            docker: docker.clone(),
            name: cluster.to_string(),
            keep,
            removed: false,
        })
    }

    /// Remove the network now (its nodes must be gone already).
    pub async fn remove(mut self) {
        self.removed = true;
        if let Err(e) = docker::remove_network(&self.docker, &self.name).await {
            tracing::warn!("{e}");
        }
    }

    /// Leave the network in place when this process ends (a kept cluster).
    pub fn keep(mut self) {
        self.removed = true;
    }
}

impl Drop for ClusterNetwork {
    /// An error or a cancelled start drops the guard after the node containers (which
    /// testcontainers removes, blocking, on drop): remove the network the same way.
    fn drop(&mut self) {
        if self.removed || self.keep {
            return;
        }
        let docker = self.docker.clone();
        let name = self.name.clone();
        let remove = async move {
            if let Err(e) = docker::remove_network(&docker, &name).await {
                tracing::warn!("{e}");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| h.block_on(remove));
            }
            // A current-thread runtime cannot block on itself: use a runtime of its own.
            _ => {
                let _ = std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map(|rt| rt.block_on(remove))
                })
                .join();
            }
        }
    }
}
