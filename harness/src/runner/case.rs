//! Running one case: its namespace, its steps in order (each within its own deadline and the
//! case's), diagnostics when it fails, the verdict — including cases that must fail
//! (`expect_failure`: mutants and self-tests) — and handing the namespace to the
//! [`super::janitor`] for cleanup.

use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use super::janitor::Cleanup;
use super::result::{Attempt, CaseResult, CaseStatus, Failure, StepResult, StepStatus};
use super::{Environment, cluster_dns, diagnostics, namespace};
use crate::api::watch::TimedOut;
use crate::fields::template::Vars;
use crate::kubectl::Kubectl;
use crate::matchers::Mismatch;
use crate::matchers::text::quote_block;
use crate::steps::{CaseEnv, Step, StepCx, StepError};
use crate::suite::Case;
use crate::suite::needs::{CLUSTER_DNS, Need};

/// Namespace creation, and its default ServiceAccount.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
const DIAGNOSTICS_TIMEOUT: Duration = Duration::from_secs(30);
/// A step's own deadline is enforced by the step; this is the hard stop beyond it.
const HARD_STOP_SLACK: Duration = Duration::from_secs(5);

pub async fn run(env: &Environment, case: &Case, cancel: &CancellationToken) -> CaseResult {
    run_attempt(env, case, 1, cancel).await
}

/// The case, failed up to `retries` times in a row: each attempt in a namespace of its own.
/// One that passes after a failure is flaky, and keeps the failures before it
/// ([`CaseResult::earlier`]); one that never passes keeps them too.
pub async fn run_with_retries(
    env: &Environment,
    case: &Case,
    retries: u32,
    cancel: &CancellationToken,
) -> CaseResult {
    retried(retries, cancel, |attempt| {
        run_attempt(env, case, attempt, cancel)
    })
    .await
}

/// `attempt(1)`, then again while it fails, up to `retries` more times.
async fn retried<F: std::future::Future<Output = CaseResult>>(
    retries: u32,
    cancel: &CancellationToken,
    mut attempt: impl FnMut(u32) -> F,
) -> CaseResult {
    let mut r = attempt(1).await;
    let mut earlier = Vec::new();
    for n in 2..=retries + 1 {
        if !r.status.is_failure() || cancel.is_cancelled() {
            break;
        }
        earlier.extend(r.failure.take().map(|f| Attempt {
            namespace: r.namespace.clone(),
            failure: f,
        }));
        r = attempt(n).await;
    }
    r.earlier = earlier;
    r
}

/// One attempt at the case; the first runs in the case's namespace, a retry in one named for
/// its attempt.
pub async fn run_attempt(
    env: &Environment,
    case: &Case,
    attempt: u32,
    cancel: &CancellationToken,
) -> CaseResult {
    let _slot = match &env.slots {
        Some(s) => s.clone().acquire_owned().await.ok(),
        None => None,
    };
    let lacking = case.needs.iter().find_map(|n| match Need::parse(n) {
        Some(Need::ImageFeature(what)) if !env.image_features.contains(n) => Some((n, what)),
        _ => None,
    });
    if let Some((need, what)) = lacking {
        return CaseResult::not_applicable(
            case,
            format_args!(
                "needs {need}, {what}, which the run's images lack (podcheck's own have it: the \
                 default where they can be loaded into the nodes, or --registry)",
            ),
        );
    }
    if case.nodes as usize > env.schedulable_nodes {
        return CaseResult::not_applicable(
            case,
            format_args!(
                "needs {} schedulable nodes, the cluster has {}",
                case.nodes, env.schedulable_nodes
            ),
        );
    }
    let started = Instant::now();
    let ns = match attempt {
        1 => namespace::name(&env.run_id, &case.suite, &case.name),
        n => namespace::name(&env.run_id, &case.suite, &format!("{}-retry{n}", case.name)),
    };
    let mut result = CaseResult::starting(case, &ns, SystemTime::now());
    let case_deadline = started + case.timeout;

    let case_env = match open(env, case, &ns, cancel).await {
        Ok(c) => c,
        Err(e) => {
            result.status = CaseStatus::Error;
            result.failure = Some(Failure::setup(&ns, &crate::errors::chain(&e)));
            judge_expected_failure(case, &mut result, &Vars::for_validation());
            // It may have been created before the error.
            env.janitor.remove(&ns, env.work_dir.join(&ns));
            result.duration = started.elapsed();
            return result;
        }
    };

    let failed = run_steps(
        case,
        &case_env,
        case_deadline,
        env.strict_wording,
        &mut result.steps,
    )
    .await;
    result.step_time = result.steps.iter().map(|s| s.duration).sum();
    result.metrics = result
        .steps
        .iter()
        .flat_map(|s| s.metrics.clone())
        .collect();
    if let Some((i, e)) = &failed {
        result.status = if e.is_behaviour() {
            CaseStatus::Failed
        } else {
            CaseStatus::Error
        };
        result.failure = Some(Failure::at_step(case, *i, e, &result.steps[*i].location));
        if !matches!(e, StepError::Cancelled) {
            result.diagnostics =
                diagnostics::collect(&env.client, &case_env.kubectl, &ns, DIAGNOSTICS_TIMEOUT)
                    .await;
        }
    }
    judge_expected_failure(case, &mut result, &case_env.vars);
    if cancel.is_cancelled() && result.status != CaseStatus::Passed {
        result.status = CaseStatus::Error;
        if let Some(f) = &mut result.failure {
            f.message = format!("cancelled: {}", f.message);
        }
    }
    if result.status.is_failure() && env.keep_on_failure {
        env.janitor.keep(&ns);
        result.cleanup = Cleanup::kept(&ns);
    } else {
        env.janitor.remove(&ns, case_env.workdir.clone());
    }
    result.duration = started.elapsed();
    result
}

/// Why a case's namespace could not be made ready.
#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error(transparent)]
    Namespace(#[from] namespace::NamespaceError),
    #[error("a kubeconfig for the case's namespace")]
    Kubectl(#[from] crate::kubectl::KubectlError),
    #[error(transparent)]
    Dns(#[from] cluster_dns::DnsError),
    #[error("cancelled")]
    Cancelled,
}

/// The case's namespace, ready for pods, and what its steps share.
async fn open(
    env: &Environment,
    case: &Case,
    ns: &str,
    cancel: &CancellationToken,
) -> Result<CaseEnv, OpenError> {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    let dns = async {
        if case.needs.iter().any(|n| n == CLUSTER_DNS) {
            let served = cluster_dns::wait(&env.client, deadline, cancel).await?;
            tracing::debug!("{}: the cluster's DNS: {served:?}", case.id());
        }
        Ok::<_, OpenError>(())
    };
    let setup = async {
        namespace::create(&env.client, ns, &env.run_id, &case.id(), deadline).await?;
        let workdir = env.work_dir.join(ns);
        let kubectl: Kubectl = env
            .kubectl
            .for_namespace(ns, env.context.as_deref(), &workdir)?;
        Ok::<_, OpenError>((workdir, kubectl))
    };
    let ((workdir, kubectl), ()) = tokio::select! {
        _ = cancel.cancelled() => Err(OpenError::Cancelled),
        r = async { tokio::try_join!(setup, dns) } => r,
    }?;
    Ok(CaseEnv {
        client: env.client.clone(),
        namespace: ns.to_string(),
        vars: Vars {
            namespace: ns.to_string(),
            suite: case.suite.clone(),
            case: case.name.clone(),
            run: env.run_id.clone(),
            workdir: workdir.display().to_string(),
            images: env.images.clone(),
            any_image: false,
            kubernetes: crate::fields::versioned::parse_server_version(&env.info.server_version),
        },
        kubectl,
        resolver: env.resolver.clone(),
        workdir,
        suite_dir: case.dir(),
        cancel: cancel.child_token(),
    })
}

/// Every step in order until one fails; those after it are recorded as not run. Returns the
/// failed step's index and error. A step whose texts are worded otherwise than the notes word
/// them passes, with the differences kept, unless the run enforces the notes' wording
/// (`strict_wording`): then the first difference fails it.
async fn run_steps(
    case: &Case,
    env: &CaseEnv,
    case_deadline: Instant,
    strict_wording: bool,
    results: &mut Vec<StepResult>,
) -> Option<(usize, StepError)> {
    let mut failed = None;
    for (i, step) in case.steps.iter().enumerate() {
        let (line, col) = case.step_locations.get(i).copied().unwrap_or((0, 0));
        let mut r = StepResult {
            index: i + 1,
            kind: step.kind(),
            title: step.title(),
            summary: step.summary(),
            location: format!("{}:{line}:{col}", case.file.display()),
            status: StepStatus::NotRun,
            duration: Duration::ZERO,
            timeout: step.timeout(),
            log: Vec::new(),
            metrics: Default::default(),
            wording: Vec::new(),
            error: None,
            mismatch: None,
        };
        if failed.is_none() {
            let started = Instant::now();
            let ran = run_step(step, env, case, case_deadline).await;
            r.duration = started.elapsed();
            let outcome = match (ran.outcome, ran.wording.first()) {
                (Ok(()), Some(w)) if strict_wording => Err(StepError::Failed(Mismatch {
                    summary: format!("{} (the notes' wording is enforced)", w.summary),
                    ..w.clone()
                })),
                (outcome, _) => outcome,
            };
            r.log = ran.log;
            r.metrics = ran.metrics;
            r.wording = ran.wording;
            r.status = match &outcome {
                Ok(()) => StepStatus::Passed,
                Err(e) if e.is_behaviour() => StepStatus::Failed,
                Err(_) => StepStatus::Error,
            };
            if let Err(e) = outcome {
                r.error = Some(crate::errors::chain(&e));
                r.mismatch = e.mismatch().cloned();
                failed = Some((i, e));
            }
        }
        results.push(r);
    }
    failed
}

/// What running one step gave: its outcome, and what its context kept.
struct Ran {
    outcome: Result<(), StepError>,
    log: Vec<String>,
    metrics: std::collections::BTreeMap<String, f64>,
    wording: Vec<Mismatch>,
}

/// One step within its own deadline and the case's, with a hard stop beyond both.
async fn run_step(step: &Step, env: &CaseEnv, case: &Case, case_deadline: Instant) -> Ran {
    let started = Instant::now();
    let timeout = step.timeout();
    let case_left = case_deadline.saturating_duration_since(started);
    let deadline = started + timeout.min(case_left);
    let mut cx = StepCx::new(env, deadline);
    let hard = deadline.saturating_duration_since(Instant::now()) + HARD_STOP_SLACK;
    let outcome = match tokio::time::timeout(hard, step.run(&mut cx)).await {
        Ok(r) => r,
        Err(_) => Err(StepError::Timeout(TimedOut {
            after: started.elapsed(),
            last: None,
            api_error: Some("the step did not stop at its deadline".into()),
        })),
    };
    // A step cut short by the case's deadline says so.
    let outcome = match outcome {
        Err(StepError::Timeout(mut t)) if case_left < timeout => {
            if let Some(m) = &mut t.last {
                m.summary = format!(
                    "{} (the case's {:?} timeout ended the step)",
                    m.summary, case.timeout
                );
            }
            Err(StepError::Timeout(t))
        }
        other => other,
    };
    Ran {
        outcome,
        log: cx.log,
        metrics: cx.metrics,
        wording: cx.wording,
    }
}

/// A case with `expect_failure` passes only when a step's CHECK failed — not when the step
/// could not check (an API error, a cluster that was down) — at the given step, with
/// expected and actual values that match the given message. The message is matched against
/// the failure's own words (its summary, expected and actual), not the text around them,
/// so "timed out after" matches no mutant: what timed out must be said.
/// `vars` are the case's, so an expected message can name `${namespace}` or an image.
pub fn judge_expected_failure(case: &Case, result: &mut CaseResult, vars: &Vars) {
    let Some(want) = &case.expect_failure else {
        return;
    };
    let covers = case.covers.join(", ");
    let problem = match (&result.status, &result.failure) {
        (CaseStatus::Passed, _) => Some(format!(
            "[{covers}] the case passed, but it must fail at step {}",
            want.step
        )),
        (CaseStatus::Error, Some(f)) => Some(format!(
            "[{covers}] the case must fail at step {}, but it could not check (an error, not a failure): {}",
            want.step, f.message
        )),
        (CaseStatus::Failed, Some(f)) if f.step != Some(want.step) => Some(format!(
            "[{covers}] the case must fail at step {}, but failed at {}: {}",
            want.step,
            f.step.map_or("setup".to_string(), |x| format!("step {x}")),
            f.message
        )),
        (CaseStatus::Failed, Some(f)) => match (f.mismatch_text(), want.message.compile(vars)) {
            (None, _) => Some(format!(
                "[{covers}] the case failed at step {}, but without expected and actual values: {}",
                want.step, f.message
            )),
            (_, Err(e)) => Some(e.to_string()),
            (Some(text), Ok(m)) => m
                .check("the failure's expected/actual", &text)
                .err()
                .map(|mm| format!("[{covers}] the case failed, but not as expected: {mm}")),
        },
        _ => None,
    };
    match problem {
        None if result.status.is_failure() => {
            result.expected_failure = true;
            result.status = CaseStatus::Passed;
        }
        None => {}
        Some(p) => {
            let detail = match &result.failure {
                Some(f) => format!("{p}\nthe actual failure:\n{}", quote_block(&f.detail)),
                None => p.clone(),
            };
            result.status = CaseStatus::Failed;
            result.failure = Some(Failure {
                step: Some(want.step),
                message: p,
                detail,
                summary: None,
                expected: Some("the case to fail as `expect_failure` says".into()),
                actual: result
                    .failure
                    .as_ref()
                    .map(|f| f.message.clone())
                    .or(Some("it passed".into())),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    fn case_expecting(yaml: &str) -> Case {
        let text = format!(
            "suite: s\ncases:\n  - name: c\n    covers: [EXEC]\n    expect_failure: {yaml}\n    steps:\n      - sleep: {{ for: 1s, why: x }}\n      - sleep: {{ for: 1s, why: y }}\n"
        );
        let cat = crate::suite::Catalogue {
            behaviours: vec![crate::suite::Behaviour::named("EXEC")],
        };
        crate::suite::loader::parse_suite(std::path::Path::new("s.yaml"), &text, &cat)
            .unwrap()
            .cases
            .remove(0)
    }

    fn judged(expect: &str, status: CaseStatus) -> CaseResult {
        let mut r = fixtures::case("s", "c", status);
        judge_expected_failure(&case_expecting(expect), &mut r, &Vars::for_validation());
        r
    }

    #[test]
    fn a_case_that_fails_as_expected_passes() {
        let r = judged(
            "{ step: 2, message: 'expected: Ready=True' }",
            CaseStatus::Failed,
        );
        assert_eq!(r.status, CaseStatus::Passed);
        assert!(r.expected_failure);
    }

    #[test]
    fn a_mutant_that_passes_fails_naming_its_behaviours() {
        let r = judged("{ step: 2, message: x }", CaseStatus::Passed);
        assert_eq!(r.status, CaseStatus::Failed);
        assert_eq!(
            r.failure.unwrap().message,
            "[EXEC] the case passed, but it must fail at step 2"
        );
    }

    #[test]
    fn failing_elsewhere_or_otherwise_is_a_failure() {
        let r = judged("{ step: 1, message: x }", CaseStatus::Failed);
        assert_eq!(r.status, CaseStatus::Failed);
        assert!(
            r.failure
                .unwrap()
                .message
                .starts_with("[EXEC] the case must fail at step 1, but failed at step 2")
        );
        let r = judged(
            "{ step: 2, message: 'statuscode: 500' }",
            CaseStatus::Failed,
        );
        assert_eq!(r.status, CaseStatus::Failed);
        let f = r.failure.unwrap();
        assert!(
            f.message
                .starts_with("[EXEC] the case failed, but not as expected"),
            "{}",
            f.message
        );
        assert!(f.detail.contains("the actual failure:"), "{}", f.detail);
    }

    /// An infrastructure error at the right step, with the right words around it, is not
    /// the failure a mutant predicts.
    #[test]
    fn an_error_at_the_right_step_is_not_an_expected_failure() {
        let r = judged(
            "{ step: 2, message: 'expected: Ready=True' }",
            CaseStatus::Error,
        );
        assert_eq!(r.status, CaseStatus::Failed);
        assert!(
            r.failure
                .unwrap()
                .message
                .contains("but it could not check (an error, not a failure)")
        );
    }

    /// The message is matched against expected and actual only: the words around them
    /// ("timed out after", the step's summary) match nothing.
    #[test]
    fn the_message_must_match_expected_or_actual_not_the_text_around_them() {
        let r = judged(
            "{ step: 2, message: 'timed out after' }",
            CaseStatus::Failed,
        );
        assert_eq!(r.status, CaseStatus::Failed, "{:?}", r.failure);
        let r = judged("{ step: 2, message: 'wait pod/kuard' }", CaseStatus::Failed);
        assert_eq!(r.status, CaseStatus::Failed, "{:?}", r.failure);
    }

    /// A case that fails, then passes: flaky, with its failure kept; one that keeps failing
    /// stops after its retries, keeping them all; one that passes is run once.
    #[tokio::test]
    async fn a_retried_case_that_passes_is_flaky_and_keeps_its_failures() {
        let cancel = CancellationToken::new();
        let outcome = |fails: u32| {
            let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
            let c = calls.clone();
            let attempt = move |n: u32| {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let status = if n <= fails {
                    CaseStatus::Failed
                } else {
                    CaseStatus::Passed
                };
                let mut r = fixtures::case("s", "c", status);
                r.namespace = format!("pc-t1-s-c-{n}");
                async move { r }
            };
            (calls, attempt)
        };
        let (calls, attempt) = outcome(1);
        let r = retried(2, &cancel, attempt).await;
        assert!(r.is_flaky());
        assert_eq!(CaseStatus::word_of(&r), "FLAKY");
        assert_eq!(r.earlier.len(), 1);
        assert_eq!(r.earlier[0].namespace, "pc-t1-s-c-1");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);

        let (calls, attempt) = outcome(9);
        let r = retried(2, &cancel, attempt).await;
        assert_eq!(r.status, CaseStatus::Failed);
        assert!(!r.is_flaky());
        assert_eq!(r.earlier.len(), 2);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);

        let (calls, attempt) = outcome(0);
        let r = retried(2, &cancel, attempt).await;
        assert!(r.status == CaseStatus::Passed && !r.is_flaky());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// An API server that refuses connections: the case errors at once with the API error,
    /// cleanup gives up quickly, nothing hangs.
    #[tokio::test]
    async fn an_unreachable_api_server_errors_the_case_without_hanging() {
        let config = kube::Config::new("https://127.0.0.1:1".parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        let env = Environment::for_tests(client);
        let mut case = case_expecting("{ step: 1, message: x }");
        case.expect_failure = None;
        let started = Instant::now();
        let r = run(&env, &case, &CancellationToken::new()).await;
        let cleanups = env.janitor.finish().await;
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(r.status, CaseStatus::Error);
        let f = r.failure.unwrap();
        assert!(
            f.message.starts_with("setting up namespace pc-t1-s-c: "),
            "{}",
            f.message
        );
        let c = &cleanups["pc-t1-s-c"];
        assert!(c.detail.contains("not cleaned up"), "{}", c.detail);
    }

    /// A case that needs what the run's images lack (the book's image has no kuard extras),
    /// or more nodes than take the run's pods, is not applicable: not run, never failed, and
    /// the reason names what is missing. The unreachable API server shows nothing was tried.
    #[tokio::test]
    async fn a_case_whose_needs_the_run_cannot_meet_is_not_applicable() {
        let config = kube::Config::new("https://127.0.0.1:1".parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        let mut env = Environment::for_tests(client);
        env.image_features.clear();
        let mut case = case_expecting("{ step: 1, message: x }");
        case.expect_failure = None;
        case.needs = vec!["kuard-extras".into()];
        let r = run(&env, &case, &CancellationToken::new()).await;
        assert!(r.status.is_not_applicable(), "{:?}", r.status);
        let why = format!("{:?}", r.status);
        assert!(
            why.contains("needs kuard-extras, podcheck's kuard extras"),
            "{why}"
        );
        assert!(why.contains("--registry"), "{why}");

        let mut env = Environment::for_tests(env.client.clone());
        env.schedulable_nodes = 1;
        case.needs.clear();
        case.nodes = 2;
        let r = run(&env, &case, &CancellationToken::new()).await;
        let why = format!("{:?}", r.status);
        assert!(
            why.contains("needs 2 schedulable nodes, the cluster has 1"),
            "{why}"
        );
        assert!(
            env.janitor.finish().await.is_empty(),
            "no namespace was made"
        );
    }
}

#[cfg(test)]
mod wording_tests {
    //! A step whose text holds what the behaviour needs in other words than the notes':
    //! passed with the difference kept, or failed when the run enforces the notes' wording.
    //! A stand-in kubectl prints the text; no cluster is needed.
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn case() -> Case {
        let text = r#"suite: s
cases:
  - name: c
    covers: [EXEC-NO-BASH]
    steps:
      - kubectl:
          args: [exec, kuard, --, bash]
          exit: 1
          stderr:
            contains: bash
            wording: { regex: ': unknown$' }
"#;
        let cat = crate::suite::Catalogue {
            behaviours: vec![crate::suite::Behaviour::named("EXEC-NO-BASH")],
        };
        crate::suite::loader::parse_suite(std::path::Path::new("s.yaml"), text, &cat)
            .unwrap()
            .cases
            .remove(0)
    }

    async fn run_with(strict: bool, dir: &std::path::Path) -> (Vec<StepResult>, Option<StepError>) {
        let bin = dir.join("kubectl");
        std::fs::write(
            &bin,
            "#!/bin/sh\necho 'error: executable file `bash` not found in $PATH: No such file or directory' >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let client =
            kube::Client::try_from(kube::Config::new("https://127.0.0.1:1".parse().unwrap()))
                .unwrap();
        let env = CaseEnv {
            client: client.clone(),
            namespace: "ns".into(),
            vars: Vars::for_validation(),
            kubectl: Kubectl::new(&bin, "/dev/null"),
            resolver: std::sync::Arc::new(crate::api::resolve::Resolver::new(client)),
            workdir: dir.to_path_buf(),
            suite_dir: dir.to_path_buf(),
            cancel: CancellationToken::new(),
        };
        let mut steps = Vec::new();
        let far = Instant::now() + Duration::from_secs(30);
        let failed = run_steps(&case(), &env, far, strict, &mut steps).await;
        (steps, failed.map(|(_, e)| e))
    }

    #[tokio::test]
    async fn a_text_in_other_words_passes_with_the_difference_kept_unless_wording_is_enforced() {
        let dir = tempfile::tempdir().unwrap();
        let (steps, failed) = run_with(false, dir.path()).await;
        assert!(failed.is_none(), "{failed:?}");
        assert_eq!(steps[0].status, StepStatus::Passed);
        let w = &steps[0].wording[0];
        assert_eq!(
            w.expected,
            "as the notes word it: stderr to match /: unknown$/"
        );
        assert!(
            w.actual.contains("No such file or directory"),
            "{}",
            w.actual
        );

        let (steps, failed) = run_with(true, dir.path()).await;
        assert_eq!(steps[0].status, StepStatus::Failed);
        let m = failed.unwrap().mismatch().cloned().unwrap();
        assert_eq!(
            m.summary,
            "stderr is worded otherwise than the notes word it (the notes' wording is enforced)"
        );
    }
}
