//! What a case may need beyond pods on schedulable nodes (`needs:`), named once here so the
//! loader, the runner and the reports agree. A need is of one of two sorts:
//! - a feature of the workload images ([`crate::image::FEATURES`]): a run whose images lack it
//!   finds the case not applicable, never failed;
//! - a service of the cluster, [`CLUSTER_DNS`]: the case waits for it before it starts, so a
//!   cluster podcheck has just started can run the cases that need nothing more at once.

/// The cluster's DNS answers for Service names (`http://kuard:8080`). A run on a cluster
/// podcheck starts begins before CoreDNS is ready; a case that names a Service waits for it.
pub const CLUSTER_DNS: &str = "cluster-dns";

/// One entry of `needs:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// A feature of the workload images, with what it is.
    ImageFeature(&'static str),
    /// The cluster's DNS serving Service names.
    ClusterDns,
}

impl Need {
    pub fn parse(name: &str) -> Option<Need> {
        if name == CLUSTER_DNS {
            return Some(Need::ClusterDns);
        }
        crate::image::feature(name).map(Need::ImageFeature)
    }
}

/// Every name `needs:` takes, for error messages.
pub fn known() -> String {
    crate::image::FEATURES
        .iter()
        .map(|(name, _)| *name)
        .chain([CLUSTER_DNS])
        .collect::<Vec<_>>()
        .join(", ")
}
