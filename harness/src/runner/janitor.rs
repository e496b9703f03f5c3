//! Namespace cleanup off the critical path. A case's verdict does not depend on how long
//! its namespace takes to go (pods' grace periods, finalizers: often ten seconds), so the
//! case hands its namespace to the janitor and the next case starts at once; the run then
//! waits for the janitor before it writes its reports, and checks that no namespace of the
//! run is left.
//!
//! On a cluster that goes with the run (one podcheck started), waiting for the namespaces
//! to be gone would only wait out the namespace controller's fixed pause before it acts on a
//! deletion (5 s in every release): the run then waits only until the API server has taken
//! each deletion ([`Until::Terminating`]), and the cluster's removal takes the rest.
//!
//! Why this is safe: every case has a namespace of its own and creates only namespaced
//! objects in it, so nothing a case checks can see another case's namespace going away;
//! the run's namespaces carry its run label, so [`Janitor::leftovers`] finds any that the
//! deletions missed; and an interrupted run still awaits the janitor before it exits.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::Retryable;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use serde::Serialize;
use tokio::sync::Notify;
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
    /// Its deletion taken by the API server; it goes with the cluster ([`Until::Terminating`]).
    Terminating,
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

/// How far the run waits for its namespaces' deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Until each is gone, and then none of the run's is left (a cluster that stays).
    Gone,
    /// Until the API server has taken each deletion (a cluster that goes with the run).
    Terminating,
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
    /// Namespaces whose deletion the API server took, and how long after it was asked for.
    accepted: Arc<Mutex<BTreeMap<String, Duration>>>,
    /// Told whenever a deletion is taken or a task ends.
    changed: Arc<Notify>,
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
            accepted: Arc::new(Mutex::new(BTreeMap::new())),
            changed: Arc::new(Notify::new()),
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
        let (accepted, changed) = (self.accepted.clone(), self.changed.clone());
        let mut tasks = self.tasks.lock().expect("janitor lock");
        tasks.spawn(async move {
            // What kubectl wrote there (its kubeconfig, rendered files, `kubectl cp`
            // copies) is of no use once the namespace is gone.
            let _ = tokio::fs::remove_dir_all(&workdir).await;
            let started = Instant::now();
            let deadline = started + timeout;
            // An API server that is away for a while (restarting, overloaded) is retried
            // until the deadline: a namespace must not stay behind for a blip.
            let on_accepted = || {
                accepted
                    .lock()
                    .expect("janitor lock")
                    .insert(ns.clone(), started.elapsed());
                changed.notify_waiters();
            };
            let delete = || namespace::delete(&client, &ns, deadline, &on_accepted);
            let retried = delete
                .retry(crate::api::backoff(
                    Duration::from_millis(500),
                    Duration::from_secs(5),
                    timeout,
                ))
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
            changed.notify_waiters();
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

    /// Wait for every deletion started so far, as far as `until` says; the outcome of each,
    /// by namespace.
    pub async fn finish_until(&self, until: Until) -> BTreeMap<String, Cleanup> {
        match until {
            Until::Gone => self.finish().await,
            Until::Terminating => self.finish_terminating().await,
        }
    }

    /// Wait until every deletion started so far was taken by the API server or ended; those
    /// still under way are left to the cluster's removal and reported as terminating.
    async fn finish_terminating(&self) -> BTreeMap<String, Cleanup> {
        let mut out = std::mem::take(&mut *self.done.lock().expect("janitor lock"));
        loop {
            // Created before the check, so a change during the check still wakes it.
            let changed = self.changed.notified();
            let pending = {
                let mut tasks = self.tasks.lock().expect("janitor lock");
                while let Some(r) = tasks.try_join_next() {
                    if let Ok((ns, c)) = r {
                        out.insert(ns, c);
                    }
                }
                let accepted = self.accepted.lock().expect("janitor lock");
                self.handed
                    .lock()
                    .expect("janitor lock")
                    .iter()
                    .any(|ns| !out.contains_key(ns) && !accepted.contains_key(ns))
            };
            if !pending {
                break;
            }
            changed.await;
        }
        self.tasks.lock().expect("janitor lock").abort_all();
        for (ns, took) in self.accepted.lock().expect("janitor lock").iter() {
            out.entry(ns.clone()).or_insert_with(|| Cleanup {
                status: CleanupStatus::Terminating,
                detail: format!(
                    "namespace {ns} terminating (its deletion taken in {:.1}s); it goes with the cluster",
                    took.as_secs_f64()
                ),
                duration: *took,
            });
        }
        out
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
    /// With [`Until::Terminating`], a namespace whose deletion was taken is not left over.
    pub async fn leftovers(
        &self,
        kept: &[String],
        until: Until,
    ) -> Result<Vec<String>, kube::Error> {
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
            .filter(|n| until == Until::Gone || n.metadata.deletion_timestamp.is_none())
            .filter_map(|n| n.metadata.name)
            .filter(|n| !kept.contains(n))
            .filter(|n| !self.shared_run || self.handed.lock().expect("janitor lock").contains(n))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http::{Request, Response};
    use http_body_util::Full;
    use serde_json::json;

    use super::*;

    /// An API server on which the namespace `pc-t1-s-c` takes its deletion and then stays
    /// terminating: it answers the DELETE with the terminating namespace, lists it, and
    /// never sends a watch event.
    fn terminating_forever() -> kube::Client {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "pc-t1-s-c", "uid": "u1", "resourceVersion": "2",
                         "labels": {RUN_LABEL: "t1"},
                         "deletionTimestamp": "2026-12-04T00:00:00Z"},
            "status": {"phase": "Terminating"}});
        let svc = tower::service_fn(move |req: Request<kube::client::Body>| {
            let ns = ns.clone();
            async move {
                let query = req.uri().query().unwrap_or_default().to_string();
                let body = match (req.method().as_str(), req.uri().path()) {
                    (_, _) if query.contains("watch=true") => {
                        std::future::pending::<()>().await;
                        unreachable!()
                    }
                    ("DELETE", "/api/v1/namespaces/pc-t1-s-c") => ns,
                    ("GET", "/api/v1/namespaces") => json!({"apiVersion": "v1",
                        "kind": "NamespaceList", "metadata": {"resourceVersion": "2"},
                        "items": [ns]}),
                    _ => json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
                };
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body.to_string()))))
            }
        });
        kube::Client::new(svc, "default")
    }

    /// On a cluster that goes with the run, the run waits only until the API server has taken
    /// each deletion, and a terminating namespace is not left over; on one that stays, the
    /// same namespace is waited for until the deadline, fails, and is left over.
    #[tokio::test]
    async fn a_cluster_that_goes_is_waited_for_until_its_namespaces_terminate() {
        let janitor = Janitor::new(terminating_forever(), "t1");
        janitor.remove(
            "pc-t1-s-c",
            std::env::temp_dir().join("podcheck-janitor-test-a"),
        );
        let started = Instant::now();
        let done = tokio::time::timeout(
            Duration::from_secs(30),
            janitor.finish_until(Until::Terminating),
        )
        .await
        .expect("a terminating namespace does not hold the run");
        assert!(started.elapsed() < Duration::from_secs(10));
        let c = &done["pc-t1-s-c"];
        assert_eq!(c.status, CleanupStatus::Terminating, "{}", c.detail);
        assert!(c.detail.contains("goes with the cluster"), "{}", c.detail);
        let left = janitor.leftovers(&[], Until::Terminating).await.unwrap();
        assert!(left.is_empty(), "{left:?}");

        let janitor =
            Janitor::new(terminating_forever(), "t1").with_timeout(Duration::from_secs(2));
        janitor.remove(
            "pc-t1-s-c",
            std::env::temp_dir().join("podcheck-janitor-test-b"),
        );
        let done = janitor.finish_until(Until::Gone).await;
        let c = &done["pc-t1-s-c"];
        assert_eq!(c.status, CleanupStatus::Failed, "{}", c.detail);
        assert!(c.detail.contains("not cleaned up"), "{}", c.detail);
        let left = janitor.leftovers(&[], Until::Gone).await.unwrap();
        assert_eq!(left, vec!["pc-t1-s-c".to_string()]);
    }
}
