//! The runner: from loaded cases and a cluster to results.
//!
//! - [`setup`]: get the cluster, the images and kubectl ready ([`Environment`]);
//! - [`select`]: which cases run (filters as libtest has them);
//! - [`case`]: one case in its own namespace ([`namespace`]), step by step, with
//!   [`diagnostics`] on failure and cleanup after;
//! - [`run_cases`]: many cases at once (`--parallel`), cancellable (Ctrl-C);
//! - [`result`]: what the reports are made from.

pub mod case;
pub mod diagnostics;
pub mod namespace;
pub mod result;
pub mod select;
pub mod setup;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::cluster::ClusterInfo;
use crate::kubectl::Kubectl;
use crate::steps::resolve::Resolver;
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
}

/// Hears about cases as they start and end (progress display, test harness output).
pub trait Observer: Send + Sync {
    fn started(&self, _case: &Case) {}
    fn finished(&self, _result: &CaseResult) {}
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

/// Run `cases`, `parallel` at a time, in the given order of starting. Cases not started
/// when `cancel` fires are reported as skipped. Results come back in the input order.
pub async fn run_cases(
    env: &Environment,
    cases: &[Case],
    parallel: usize,
    cancel: &CancellationToken,
    observer: &dyn Observer,
) -> Vec<CaseResult> {
    let mut results: Vec<(usize, CaseResult)> = futures::stream::iter(cases.iter().enumerate())
        .map(|(i, c)| async move {
            if cancel.is_cancelled() {
                return (i, CaseResult::skipped(c, "cancelled before it started"));
            }
            observer.started(c);
            let r = case::run(env, c, cancel).await;
            observer.finished(&r);
            (i, r)
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
