//! Namespace cleanup off the critical path. A case's verdict does not depend on how long
//! its namespace takes to go (pods' grace periods, finalizers: often ten seconds), so the
//! case hands its namespace to the janitor and the next case starts at once; the run then
//! waits for the janitor before it writes its reports, and checks that no namespace of the
//! run is left.
//!
//! Why this is safe: every case has a namespace of its own and creates only namespaced
//! objects in it, so nothing a case checks can see another case's namespace going away;
//! the run's namespaces carry its run label, so [`Janitor::leftovers`] finds any that the
//! deletions missed; and an interrupted run still awaits the janitor before it exits.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use serde::Serialize;
use tokio::task::JoinSet;

use super::namespace::{self, RUN_LABEL};

/// Namespace deletion waits this long for the namespace to go (pods' grace periods).
pub const CLEANUP_TIMEOUT: Duration = Duration::from_secs(120);

/// What became of a case's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupStatus {
    /// Deleted, and gone.
    Deleted,
    /// Kept on purpose (`--keep-on-failure`).
    Kept,
    /// Not gone: the detail says why.
    Failed,
    /// The case made no namespace (it did not run).
    None,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cleanup {
    pub status: CleanupStatus,
    /// `namespace pc-… deleted in 9.8s`, or why not.
    pub detail: String,
    #[serde(with = "super::result::secs")]
    pub duration: Duration,
}

impl Cleanup {
    pub fn none() -> Self {
        Cleanup {
            status: CleanupStatus::None,
            detail: String::new(),
            duration: Duration::ZERO,
        }
    }

    pub fn kept(ns: &str) -> Self {
        Cleanup {
            status: CleanupStatus::Kept,
            detail: format!("kept namespace {ns} (--keep-on-failure)"),
            duration: Duration::ZERO,
        }
    }
}

/// Deletes namespaces in the background; one per run.
pub struct Janitor {
    client: kube::Client,
    run_id: String,
    /// How long one namespace's deletion may take, retries included.
    timeout: Duration,
    tasks: Mutex<JoinSet<(String, Cleanup)>>,
    /// Cleanups already known without a task (kept namespaces).
    done: Mutex<BTreeMap<String, Cleanup>>,
    /// Every namespace handed to this janitor, deleted or kept.
    handed: Mutex<BTreeSet<String>>,
    /// Other processes run cases under the same run id at the same time (nextest runs each
    /// test in a process of its own, all with the setup script's run id): their namespaces
    /// are theirs to account for, so only those handed to this janitor can be left over.
    shared_run: bool,
}

impl Janitor {
    pub fn new(client: kube::Client, run_id: &str) -> Self {
        Janitor {
            client,
            run_id: run_id.to_string(),
            timeout: CLEANUP_TIMEOUT,
            tasks: Mutex::new(JoinSet::new()),
            done: Mutex::new(BTreeMap::new()),
            handed: Mutex::new(BTreeSet::new()),
            shared_run: false,
        }
    }

    /// The same janitor, for a run id that other processes use at the same time.
    pub fn shared_with_other_processes(mut self) -> Self {
        self.shared_run = true;
        self
    }

    /// The same janitor with another deadline per namespace (tests of unreachable servers).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Start deleting `ns` (and remove the case's local directory `workdir`); the outcome is
    /// collected by [`Janitor::finish`].
    pub fn remove(&self, ns: &str, workdir: std::path::PathBuf) {
        let client = self.client.clone();
        let timeout = self.timeout;
        let ns = ns.to_string();
        self.handed.lock().expect("janitor lock").insert(ns.clone());
        let mut tasks = self.tasks.lock().expect("janitor lock");
        tasks.spawn(async move {
            // What kubectl wrote there (its kubeconfig, rendered files, `kubectl cp`
            // copies) is of no use once the namespace is gone.
            let _ = tokio::fs::remove_dir_all(&workdir).await;
            let started = Instant::now();
            let deadline = started + timeout;
            // An API server that is away for a while (restarting, overloaded) is retried
            // until the deadline: a namespace must not stay behind for a blip.
            let delete = || namespace::delete(&client, &ns, deadline);
            let retried = delete
                .retry(
                    ExponentialBuilder::default()
                        .with_min_delay(Duration::from_millis(500))
                        .with_max_delay(Duration::from_secs(5))
                        .with_total_delay(Some(timeout))
                        .without_max_times(),
                )
                .when(|_| Instant::now() < deadline);
            let cleanup = match retried.await {
                Ok(d) => Cleanup {
                    status: CleanupStatus::Deleted,
                    detail: format!("namespace {ns} deleted in {:.1}s", d.as_secs_f64()),
                    duration: d,
                },
                Err(e) => Cleanup {
                    status: CleanupStatus::Failed,
                    detail: format!("namespace {ns} not cleaned up: {e}"),
                    duration: started.elapsed(),
                },
            };
            (ns, cleanup)
        });
    }

    /// Record a namespace that stays.
    pub fn keep(&self, ns: &str) {
        self.handed
            .lock()
            .expect("janitor lock")
            .insert(ns.to_string());
        self.done
            .lock()
            .expect("janitor lock")
            .insert(ns.to_string(), Cleanup::kept(ns));
    }

    /// Wait for every deletion started so far; the outcome of each, by namespace.
    pub async fn finish(&self) -> BTreeMap<String, Cleanup> {
        let mut out = std::mem::take(&mut *self.done.lock().expect("janitor lock"));
        loop {
            let mut tasks = std::mem::take(&mut *self.tasks.lock().expect("janitor lock"));
            if tasks.is_empty() {
                break;
            }
            while let Some(r) = tasks.join_next().await {
                if let Ok((ns, c)) = r {
                    out.insert(ns, c);
                }
            }
        }
        out
    }

    /// Namespaces of this run that still exist (not counting those being kept): what a
    /// run that cleaned up after itself leaves, which must be none.
    pub async fn leftovers(&self, kept: &[String]) -> Result<Vec<String>, kube::Error> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let lp = ListParams::default().labels(&format!(
            "{RUN_LABEL}={}",
            namespace::label_value(&self.run_id)
        ));
        Ok(api
            .list(&lp)
            .await?
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .filter(|n| !kept.contains(n))
            .filter(|n| !self.shared_run || self.handed.lock().expect("janitor lock").contains(n))
            .collect())
    }
}
