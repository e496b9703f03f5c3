//! The runner: from loaded cases and a cluster to results.
//!
//! - [`pipeline`]: one run from set-up to report, in order, for every command that runs
//!   cases; [`setup`] is its first step: the cluster, the images and kubectl
//!   ([`Environment`]);
//! - [`select`]: which cases run (loaded, filtered, partitioned, scheduled);
//! - [`case`]: one case in its own namespace ([`namespace`]), step by step, with
//!   [`diagnostics`] on failure; its namespace then goes to the [`janitor`], which
//!   deletes it off the case's critical path;
//! - [`run_cases`]: many cases at once (`--parallel`), cancellable (Ctrl-C);
//! - [`result`]: what the reports are made from.

pub mod case;
pub mod cluster_dns;
pub mod diagnostics;
pub mod history;
pub mod janitor;
pub mod namespace;
pub mod partition;
pub mod pipeline;
pub mod placement;
pub mod result;
pub mod sabotage;
pub mod select;
pub mod setup;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
#[cfg(test)]
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::api::resolve::Resolver;
use crate::cluster::ClusterInfo;
use crate::fields::template::Vars;
use crate::kubectl::Kubectl;
use crate::suite::Case;
pub use result::{CaseResult, CaseStatus};

/// Default number of cases run at once: most of a case is waiting on the cluster.
pub const DEFAULT_PARALLEL: usize = 16;

/// What every case of a run shares.
pub struct Environment {
    pub client: kube::Client,
    /// kubectl bound to the cluster's kubeconfig (each case derives its own).
    pub kubectl: Kubectl,
    pub context: Option<String>,
    pub resolver: Arc<Resolver>,
    /// Logical image name -> reference, for `${image.<name>}`.
    pub images: BTreeMap<String, String>,
    pub info: ClusterInfo,
    /// Labels namespaces and names them.
    pub run_id: String,
    /// Scratch space: per-case kubeconfigs and rendered files.
    pub work_dir: PathBuf,
    pub keep_on_failure: bool,
    /// Deletes the cases' namespaces in the background; awaited before reports are written.
    pub janitor: janitor::Janitor,
    /// The cluster's node containers podcheck can reach (none for clusters elsewhere).
    pub nodes: Vec<crate::cluster::node::NodeContainer>,
    /// How many nodes the run's pods can be scheduled on (cases with `nodes: N` need N).
    pub schedulable_nodes: usize,
    /// What the run's images offer beyond the book's (cases with `needs:` need it).
    pub image_features: std::collections::BTreeSet<String>,
    /// When set, every case holds one of these while it runs: how many cases the cluster
    /// runs at once, whoever starts them (the test harness runs suites, mutants and
    /// sabotage runs side by side; `podcheck run` bounds its own cases instead).
    pub slots: Option<Arc<tokio::sync::Semaphore>>,
    /// Where the run's pods go (runtime class, node selector, tolerations); in place from
    /// set-up until [`Environment::finish_cleanup`].
    pub placement: placement::Placement,
    /// A text worded otherwise than the notes word it fails its step (`--strict-wording`).
    pub strict_wording: bool,
}

impl Environment {
    /// An environment on `client` with nothing else in it, for unit tests of the runner.
    #[cfg(test)]
    pub(crate) fn for_tests(client: kube::Client) -> Self {
        Environment {
            client: client.clone(),
            kubectl: Kubectl::new("kubectl", "/dev/null"),
            context: None,
            resolver: Arc::new(Resolver::new(client.clone())),
            images: Default::default(),
            info: crate::cluster::ClusterInfo {
                provider: crate::cluster::ProviderKind::Kubeconfig,
                server_version: String::new(),
                node_image: None,
            },
            run_id: "t1".into(),
            work_dir: std::env::temp_dir().join("podcheck-case-test"),
            keep_on_failure: false,
            janitor: janitor::Janitor::new(client, "t1").with_timeout(Duration::from_secs(2)),
            nodes: Vec::new(),
            schedulable_nodes: 1,
            image_features: crate::image::FEATURES
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
            slots: None,
            placement: Default::default(),
            strict_wording: false,
        }
    }

    /// The same cluster and images for another run: its own run id (so its own namespaces
    /// and label) and its own janitor.
    pub fn for_run(&self, run_id: &str) -> Environment {
        Environment {
            client: self.client.clone(),
            kubectl: self.kubectl.clone(),
            context: self.context.clone(),
            resolver: self.resolver.clone(),
            images: self.images.clone(),
            info: self.info.clone(),
            run_id: run_id.to_string(),
            work_dir: self.work_dir.with_file_name(run_id),
            keep_on_failure: self.keep_on_failure,
            janitor: janitor::Janitor::new(self.client.clone(), run_id),
            nodes: self.nodes.clone(),
            schedulable_nodes: self.schedulable_nodes,
            image_features: self.image_features.clone(),
            slots: self.slots.clone(),
            placement: self.placement.clone(),
            strict_wording: self.strict_wording,
        }
    }

    /// The placeholders of this run outside any case (for messages judged after the run).
    pub fn vars_of_run(&self) -> Vars {
        Vars {
            run: self.run_id.clone(),
            images: self.images.clone(),
            any_image: false,
            kubernetes: crate::fields::versioned::parse_server_version(&self.info.server_version),
            ..Vars::for_validation()
        }
    }

    /// Wait for every namespace cleanup of the run, give each result its cleanup, and check
    /// that no namespace of the run is left: the names of those that are (an empty list
    /// when the run cleaned up after itself).
    ///
    /// `until`: [`janitor::Until::Terminating`] only where the cluster goes with the run.
    pub async fn finish_cleanup(
        &self,
        results: &mut [CaseResult],
        until: janitor::Until,
    ) -> Vec<String> {
        let mut done = self.janitor.finish_until(until).await;
        let mut kept = Vec::new();
        for r in results.iter_mut() {
            if let Some(c) = done.remove(&r.namespace) {
                if c.status == janitor::CleanupStatus::Kept {
                    kept.push(r.namespace.clone());
                }
                r.cleanup = c;
            }
        }
        let mut left = match self.janitor.leftovers(&kept, until).await {
            Ok(left) => left,
            Err(e) => vec![format!(
                "(cannot list the run's namespaces: {})",
                crate::api::error_text(&e)
            )],
        };
        if !self.placement.is_empty()
            && let Some(p) =
                placement::remove(&self.client, &self.resolver, &self.placement, &self.run_id).await
        {
            left.push(format!("(the placement policy: {p})"));
        }
        left
    }
}

/// Hears about cases as they start and end (progress display, test harness output).
pub trait Observer: Send + Sync {
    fn started(&self, _case: &Case) {}
    fn finished(&self, _result: &CaseResult) {}
    /// A line about the run as a whole (a round's figures).
    fn note(&self, line: &str) {
        eprintln!("{line}");
    }
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// A fresh run id: 6 hex digits from the clock and the process id, short enough for
/// namespace names, distinct between runs that overlap.
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mixed = (nanos as u64) ^ ((std::process::id() as u64) << 20);
    let h = mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{:06x}", (h >> 40) & 0xFF_FFFF)
}

/// Run `cases`, `parallel` at a time, in the given order of starting, each failed case
/// again up to `retries` times. Cases not started when `cancel` fires are reported as
/// skipped. Results come back in the input order.
pub async fn run_cases(
    env: &Environment,
    cases: &[Case],
    parallel: usize,
    retries: u32,
    cancel: &CancellationToken,
    observer: &dyn Observer,
) -> Vec<CaseResult> {
    let mut results: Vec<(usize, CaseResult)> = futures::stream::iter(cases.iter().enumerate())
        .map(|(i, c)| async move {
            if cancel.is_cancelled() {
                return (i, CaseResult::skipped(c, "cancelled before it started"));
            }
            observer.started(c);
            let r = case::run_with_retries(env, c, retries, cancel).await;
            observer.finished(&r);
            (i, r)
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
