//! One run, from set-up to report, whoever drives it: `podcheck run`, a column of `podcheck
//! matrix`, the test harness (which runs its cases itself between [`start`] and the end).
//!
//! The order is the point, and it is here once:
//! 1. set-up: the cluster (started or given), the images, kubectl ([`super::setup`]);
//! 2. the target's own prepare steps (a RuntimeClass to create, a fake node to wait for);
//! 3. the placement of the run's pods (a policy every pod of the run passes);
//! 4. the count of the nodes that take the run's pods: after 2 and 3, so that a fake node the
//!    prepare steps waited for is counted, and only where the placement sends pods;
//! 5. the cases, round after round ([`Started::run`]);
//! 6. the cleanup of their namespaces, the report, and the cluster shut down
//!    ([`Started::finish`]).

use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use super::janitor::Until;
use super::result::{CaseResult, CaseStatus};
use super::select::Selection;
use super::setup::{self, ImagesMode, SetupError, SetupOptions};
use super::{Environment, Observer, case, placement, run_cases};
use crate::cluster::Cluster;
use crate::report::{RunFacts, RunReport};
use crate::suite::Case;

/// How the cases of a run are run.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// The cases, this many times in a row (`--repeat`).
    pub rounds: u32,
    /// This many cases at once (`--parallel`).
    pub parallel: usize,
    /// A failed case again, up to this many times (`--retries`).
    pub retries: u32,
}

/// A run whose cluster is ready for its cases.
pub struct Started {
    pub cluster: Cluster,
    pub env: Environment,
    pub images_mode: ImagesMode,
    /// When the run started (set-up included), for the report.
    at: SystemTime,
    clock: Instant,
}

/// What a target sets up on its cluster before the cases (step 2).
#[derive(Clone, Copy)]
pub struct Prepare<'a> {
    pub steps: &'a Case,
    /// A command whose output says why, when the steps do not pass (the last lines of the
    /// agent they wait for), run in the first node container.
    pub diagnose: Option<&'a str>,
}

/// Steps 1 to 4: a cluster ready for the run's cases, or why there is none (and then no
/// cluster is left running).
pub async fn start(
    opts: SetupOptions,
    prepare: Option<Prepare<'_>>,
    cancel: &CancellationToken,
) -> Result<Started, SetupError> {
    let at = SystemTime::now();
    let clock = Instant::now();
    let p = setup::prepare(&opts).await?;
    let (cluster, mut env, images_mode) = (p.cluster, p.env, p.images_mode);
    match make_ready(&mut env, &opts, prepare, cancel).await {
        Ok(()) => Ok(Started {
            cluster,
            env,
            images_mode,
            at,
            clock,
        }),
        Err(e) => {
            // What the prepare steps or the placement made goes with the cluster when podcheck
            // started it; on a cluster it was given, the run's namespaces and policy must go.
            let _ = env.finish_cleanup(&mut [], cleanup_until(&cluster)).await;
            cluster.shutdown().await;
            Err(e)
        }
    }
}

/// Steps 2 to 4.
async fn make_ready(
    env: &mut Environment,
    opts: &SetupOptions,
    prepare: Option<Prepare<'_>>,
    cancel: &CancellationToken,
) -> Result<(), SetupError> {
    if let Some(p) = prepare.filter(|p| !p.steps.steps.is_empty()) {
        let r = case::run(env, p.steps, cancel).await;
        if r.status != CaseStatus::Passed {
            let mut account = r.account();
            if let (Some(cmd), Some(node)) = (p.diagnose, env.nodes.first()) {
                let said = match node.exec(&["sh", "-c", cmd]).await {
                    Ok(o) => crate::cluster::node::tail(&o.combined(), 20),
                    Err(e) => crate::errors::chain(&e),
                };
                account.push_str(&format!("\n--- {cmd} (in node {}) ---\n{said}", node.name));
            }
            return Err(SetupError::Prepare(account));
        }
    }
    if !opts.placement.is_empty() {
        placement::install(&env.client, &env.resolver, &opts.placement, &env.run_id).await?;
        env.placement = opts.placement.clone();
        tracing::info!("pods of this run: {}", env.placement.summary());
    }
    env.schedulable_nodes = placement::schedulable_nodes(&env.client, &env.placement)
        .await
        .map_err(SetupError::Nodes)?;
    Ok(())
}

impl Started {
    /// The facts the reports carry about where the run ran.
    pub fn facts(&self) -> RunFacts {
        RunFacts::of(&self.env.run_id, &self.env, self.images_mode)
    }

    /// Step 5: the cases, `rounds` times one after the other (`--repeat`), `parallel` at a
    /// time, a failed one again up to `retries` times; each round's cases are named
    /// `<case> #<round>` when there are several.
    pub async fn run(
        &self,
        cases: &[Case],
        schedule: Schedule,
        cancel: &CancellationToken,
        observer: &dyn Observer,
    ) -> Vec<CaseResult> {
        let Schedule {
            rounds,
            parallel,
            retries,
        } = schedule;
        let mut results = Vec::new();
        for round in 1..=rounds {
            let round_cases: Vec<Case> = cases.iter().map(|c| c.in_round(round, rounds)).collect();
            let t = Instant::now();
            let r = run_cases(&self.env, &round_cases, parallel, retries, cancel, observer).await;
            if rounds > 1 {
                let passed = r.iter().filter(|r| r.status == CaseStatus::Passed).count();
                let wall = t.elapsed();
                let longest = r.iter().map(|c| c.step_time).max().unwrap_or_default();
                observer.note(&format!(
                    "round {round}/{rounds}: {passed}/{} passed in {:.1}s against its longest case's {:.1}s of steps (x{:.2})",
                    r.len(),
                    wall.as_secs_f64(),
                    longest.as_secs_f64(),
                    wall.as_secs_f64() / longest.as_secs_f64().max(0.001)
                ));
            }
            results.extend(r);
        }
        results
    }

    /// Step 6: wait for the cases' cleanup, make the report (with `facts`), shut the cluster
    /// down.
    pub async fn finish(
        self,
        mut results: Vec<CaseResult>,
        selection: &Selection,
        facts: RunFacts,
    ) -> RunReport {
        let last_verdict = Instant::now();
        let leftovers = self
            .env
            .finish_cleanup(&mut results, cleanup_until(&self.cluster))
            .await;
        let tail = last_verdict.elapsed();
        let report = report(
            facts,
            self.at,
            self.clock.elapsed(),
            selection,
            results,
            leftovers,
            tail,
        );
        self.cluster.shutdown().await;
        report
    }
}

/// How far a run waits for its namespaces to go: until they are gone on a cluster that
/// stays, until the API server has taken their deletion on one podcheck removes after.
fn cleanup_until(cluster: &Cluster) -> Until {
    if cluster.goes_at_shutdown() {
        Until::Terminating
    } else {
        Until::Gone
    }
}

/// The report of a run: its results, and the selection's ignored cases as skipped.
pub fn report(
    facts: RunFacts,
    at: SystemTime,
    took: Duration,
    selection: &Selection,
    mut results: Vec<CaseResult>,
    leftovers: Vec<String>,
    cleanup_tail: Duration,
) -> RunReport {
    results.extend(selection.ignored.iter().map(|c| {
        CaseResult::skipped(c, format!("ignored: {}", c.ignore.as_deref().unwrap_or("")))
    }));
    RunReport::new(facts, at, took, selection.suite_order(), results)
        .with_cleanup(leftovers, cleanup_tail)
        .with_behaviours(selection.behaviour_ids())
}

#[cfg(test)]
mod tests {
    //! The order of the pipeline against a scripted API server that records what it is asked
    //! and answers as a cluster with a MutatingAdmissionPolicy would.
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http::{Request, Response};
    use http_body_util::{BodyExt, Full};
    use serde_json::{Value, json};

    use super::*;
    use crate::runner::placement::Placement;

    /// A control plane that takes any pod, and two fake nodes (labelled `type=fake`, tainted)
    /// that take only pods which select and tolerate them.
    fn nodes() -> Value {
        let fake = |name: &str| {
            json!({"metadata": {"name": name, "labels": {"type": "fake"}},
                   "spec": {"taints": [{"key": "fake", "effect": "NoSchedule"}]}})
        };
        json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "1"},
               "items": [{"metadata": {"name": "control-plane"}}, fake("fake-1"), fake("fake-2")]})
    }

    fn answer(method: &str, path: &str, body: &[u8]) -> Value {
        let resources = |group_version: &str, list: Value| {
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
                   "resources": list})
        };
        let echo = || serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
        match (method, path) {
            ("GET", "/api") => json!({"kind": "APIVersions", "versions": ["v1"]}),
            ("GET", "/apis") => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [{
                "name": "admissionregistration.k8s.io",
                "versions": [{"groupVersion": "admissionregistration.k8s.io/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "admissionregistration.k8s.io/v1", "version": "v1"}}]}),
            ("GET", "/api/v1") => resources("v1", json!([])),
            ("GET", "/apis/admissionregistration.k8s.io/v1") => resources(
                "admissionregistration.k8s.io/v1",
                json!([
                    {"name": "mutatingadmissionpolicies", "singularName": "", "namespaced": false,
                     "kind": "MutatingAdmissionPolicy", "verbs": ["get", "patch", "delete"]},
                    {"name": "mutatingadmissionpolicybindings", "singularName": "", "namespaced": false,
                     "kind": "MutatingAdmissionPolicyBinding", "verbs": ["get", "patch", "delete"]}
                ]),
            ),
            ("GET", "/api/v1/nodes") => nodes(),
            // The dry-run pod comes back as the policy makes it.
            ("POST", p) if p.ends_with("/pods") => {
                let mut pod = echo();
                pod["spec"]["nodeSelector"] = json!({"type": "fake"});
                pod["spec"]["tolerations"] = json!([{"key": "fake", "operator": "Exists"}]);
                pod
            }
            ("PATCH" | "POST", _) => echo(),
            _ => json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
        }
    }

    /// A client whose API server answers as [`answer`] says and records `METHOD path`.
    fn scripted(seen: Arc<Mutex<Vec<String>>>) -> kube::Client {
        let svc = tower::service_fn(move |req: Request<kube::client::Body>| {
            let seen = seen.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let path = parts.uri.path().to_string();
                seen.lock()
                    .unwrap()
                    .push(format!("{} {path}", parts.method));
                let v = answer(parts.method.as_str(), &path, &body);
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(v.to_string()))))
            }
        });
        kube::Client::new(svc, "default")
    }

    /// The run's nodes are counted where its placement sends pods, and only once the
    /// placement is in place: a column of a fake node counts the fake nodes, not the control
    /// plane that takes every pod when nothing is placed.
    #[tokio::test]
    async fn the_placement_is_in_place_before_the_nodes_are_counted() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut env = Environment::for_tests(scripted(seen.clone()));
        let placement = Placement {
            node_selector: [("type".to_string(), "fake".to_string())].into(),
            tolerations: vec!["fake:NoSchedule".parse().unwrap()],
            ..Default::default()
        };
        let opts = SetupOptions {
            cluster: Default::default(),
            images: None,
            keep_on_failure: false,
            strict_wording: false,
            run_id: "t1".into(),
            placement: placement.clone(),
        };
        make_ready(&mut env, &opts, None, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(env.placement, placement);
        assert_eq!(env.schedulable_nodes, 2, "the two fake nodes");
        let seen = seen.lock().unwrap().clone();
        let at = |what: &str| {
            seen.iter()
                .position(|s| s.starts_with(what))
                .unwrap_or_else(|| panic!("no {what} in {seen:#?}"))
        };
        let binding =
            at("PATCH /apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings/");
        let proof = at("POST /api/v1/namespaces/pc-t1-placement-proof/pods");
        let count = at("GET /api/v1/nodes");
        assert!(binding < proof && proof < count, "{seen:#?}");

        // Without a placement the same cluster takes the run's pods on the control plane only.
        let mut env = Environment::for_tests(scripted(Arc::default()));
        let opts = SetupOptions {
            placement: Placement::default(),
            ..opts
        };
        make_ready(&mut env, &opts, None, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(env.schedulable_nodes, 1);
    }
}
