//! Running one case: its namespace, its steps in order (each within its own deadline and the
//! case's), diagnostics when it fails, cleanup, and the verdict — including cases that must
//! fail (`expect_failure`: mutants and self-tests).

use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use super::result::{CaseResult, CaseStatus, Failure, StepResult, StepStatus};
use super::{Environment, diagnostics, namespace};
use crate::steps::{CaseEnv, StepCx, StepError};
use crate::suite::Case;
use crate::suite::template::Vars;
use crate::suite::text::quote_block;

/// Namespace creation, and its default ServiceAccount.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Namespace deletion waits this long for the namespace to go (pods' grace periods).
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(120);
const DIAGNOSTICS_TIMEOUT: Duration = Duration::from_secs(30);
/// A step's own deadline is enforced by the step; this is the hard stop beyond it.
const HARD_STOP_SLACK: Duration = Duration::from_secs(5);

pub async fn run(env: &Environment, case: &Case, cancel: &CancellationToken) -> CaseResult {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let ns = namespace::name(&env.run_id, &case.suite, &case.name);
    let mut result = CaseResult {
        suite: case.suite.clone(),
        case: case.name.clone(),
        file: case.file.display().to_string(),
        covers: case.covers.clone(),
        namespace: ns.clone(),
        status: CaseStatus::Passed,
        duration: Duration::ZERO,
        started: started_at,
        steps: Vec::new(),
        failure: None,
        expected_failure: false,
        diagnostics: String::new(),
        cleanup: String::new(),
    };
    let case_deadline = started + case.timeout;

    let setup = async {
        namespace::create(
            &env.client,
            &ns,
            &env.run_id,
            &case.id(),
            Instant::now() + SETUP_TIMEOUT,
        )
        .await?;
        let workdir = env.work_dir.join(&ns);
        let kubectl = env
            .kubectl
            .for_namespace(&ns, env.context.as_deref(), &workdir)
            .map_err(StepError::from)?;
        Ok::<_, StepError>((workdir, kubectl))
    };
    let (workdir, kubectl) = match tokio::select! {
        _ = cancel.cancelled() => Err(StepError::Cancelled),
        r = setup => r,
    } {
        Ok(x) => x,
        Err(e) => {
            result.status = CaseStatus::Error;
            result.failure = Some(Failure {
                step: None,
                message: format!("setting up namespace {ns}: {}", first_line(&e.to_string())),
                detail: e.to_string(),
                expected: None,
                actual: None,
            });
            judge_expected_failure(case, &mut result, &Vars::for_validation());
            // It may have been created before the error.
            cleanup(env, &ns, &mut result).await;
            result.duration = started.elapsed();
            return result;
        }
    };

    let case_env = CaseEnv {
        client: env.client.clone(),
        namespace: ns.clone(),
        vars: Vars {
            namespace: ns.clone(),
            suite: case.suite.clone(),
            case: case.name.clone(),
            run: env.run_id.clone(),
            workdir: workdir.display().to_string(),
            images: env.images.clone(),
            any_image: false,
        },
        kubectl,
        resolver: env.resolver.clone(),
        workdir,
        suite_dir: case.dir(),
        cancel: cancel.child_token(),
    };

    let mut failed: Option<(usize, StepError)> = None;
    for (i, step) in case.steps.iter().enumerate() {
        let (line, col) = case.step_locations.get(i).copied().unwrap_or((0, 0));
        let location = format!("{}:{line}:{col}", case.file.display());
        if let Some((_, _)) = &failed {
            result.steps.push(StepResult {
                index: i + 1,
                kind: step.kind(),
                summary: step.summary(),
                location,
                status: StepStatus::NotRun,
                duration: Duration::ZERO,
                timeout: step.timeout(),
                log: Vec::new(),
                error: None,
                mismatch: None,
            });
            continue;
        }
        let step_started = Instant::now();
        let timeout = step.timeout();
        let case_left = case_deadline.saturating_duration_since(step_started);
        let deadline = step_started + timeout.min(case_left);
        let mut cx = StepCx::new(&case_env, deadline);
        let hard = deadline.saturating_duration_since(Instant::now()) + HARD_STOP_SLACK;
        let outcome = match tokio::time::timeout(hard, step.run(&mut cx)).await {
            Ok(r) => r,
            Err(_) => Err(StepError::Timeout {
                after: step_started.elapsed(),
                last: None,
                api_error: Some("the step did not stop at its deadline".into()),
            }),
        };
        // A step cut short by the case's deadline says so.
        let outcome = match outcome {
            Err(StepError::Timeout {
                after,
                last,
                api_error,
            }) if case_left < timeout => Err(StepError::Timeout {
                after,
                last: last.map(|mut m| {
                    m.summary = format!(
                        "{} (the case's {:?} timeout ended the step)",
                        m.summary, case.timeout
                    );
                    m
                }),
                api_error,
            }),
            other => other,
        };
        let status = match &outcome {
            Ok(()) => StepStatus::Passed,
            Err(StepError::Failed(_) | StepError::Timeout { .. }) => StepStatus::Failed,
            Err(_) => StepStatus::Error,
        };
        result.steps.push(StepResult {
            index: i + 1,
            kind: step.kind(),
            summary: step.summary(),
            location,
            status,
            duration: step_started.elapsed(),
            timeout,
            log: std::mem::take(&mut cx.log),
            error: outcome.as_ref().err().map(|e| e.to_string()),
            mismatch: outcome.as_ref().err().and_then(|e| e.mismatch().cloned()),
        });
        if let Err(e) = outcome {
            failed = Some((i, e));
        }
    }

    if let Some((i, e)) = &failed {
        let step = &case.steps[*i];
        let is_error = !matches!(e, StepError::Failed(_) | StepError::Timeout { .. });
        result.status = if is_error {
            CaseStatus::Error
        } else {
            CaseStatus::Failed
        };
        let covers = case.covers.join(", ");
        let head = format!("[{covers}] step {} ({}) failed", i + 1, step.summary());
        let m = e.mismatch();
        result.failure = Some(Failure {
            step: Some(i + 1),
            message: format!("{head}: {}", first_line(&e.to_string())),
            detail: format!("{head}: {e}\n  at {}", result.steps[*i].location),
            expected: m.map(|m| m.expected.clone()),
            actual: m.map(|m| m.actual.clone()),
        });
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
        result.cleanup = format!("kept namespace {ns} (--keep-on-failure)");
    } else {
        cleanup(env, &ns, &mut result).await;
    }
    result.duration = started.elapsed();
    result
}

/// Remove the case's namespace (waiting until it is gone) and its local directory: what
/// kubectl wrote there (its kubeconfig, rendered files, `kubectl cp` copies) is of no use
/// once the namespace is gone. A namespace kept for inspection keeps its directory too.
async fn cleanup(env: &Environment, ns: &str, result: &mut CaseResult) {
    let _ = tokio::fs::remove_dir_all(env.work_dir.join(ns)).await;
    result.cleanup =
        match namespace::delete(&env.client, ns, Instant::now() + CLEANUP_TIMEOUT).await {
            Ok(d) => format!("namespace {ns} deleted in {:.1}s", d.as_secs_f64()),
            Err(e) => format!(
                "namespace {ns} not cleaned up: {}",
                first_line(&e.to_string())
            ),
        };
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// A case with `expect_failure` passes when it failed at the given step with the given
/// message, and fails when it passed or failed otherwise.
/// `vars` are the case's, so an expected message can name `${namespace}` or an image.
pub fn judge_expected_failure(case: &Case, result: &mut CaseResult, vars: &Vars) {
    let Some(want) = &case.expect_failure else {
        return;
    };
    let covers = case.covers.join(", ");
    let problem = match (&result.status, &result.failure) {
        (CaseStatus::Passed, _) => Some(format!(
            "[{covers}] the case passed, but it must fail{}",
            want.step
                .map(|s| format!(" at step {s}"))
                .unwrap_or_default()
        )),
        (CaseStatus::Failed | CaseStatus::Error, Some(f)) => {
            if let Some(s) = want.step
                && f.step != Some(s)
            {
                Some(format!(
                    "[{covers}] the case must fail at step {s}, but failed at {}: {}",
                    f.step.map_or("setup".to_string(), |x| format!("step {x}")),
                    f.message
                ))
            } else if let Some(m) = &want.message {
                match m.0.compile(vars) {
                    Ok(c) => c
                        .check("the failure message", &f.detail)
                        .err()
                        .map(|mm| format!("[{covers}] the case failed, but not as expected: {mm}")),
                    Err(e) => Some(e.to_string()),
                }
            } else {
                None
            }
        }
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
                step: want.step,
                message: p,
                detail,
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
            behaviours: vec![crate::suite::Behaviour {
                id: "EXEC".into(),
                text: String::new(),
                section: String::new(),
            }],
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
        let r = judged("{ step: 2 }", CaseStatus::Passed);
        assert_eq!(r.status, CaseStatus::Failed);
        assert_eq!(
            r.failure.unwrap().message,
            "[EXEC] the case passed, but it must fail at step 2"
        );
    }

    #[test]
    fn failing_elsewhere_or_otherwise_is_a_failure() {
        let r = judged("{ step: 1 }", CaseStatus::Failed);
        assert_eq!(r.status, CaseStatus::Failed);
        assert!(
            r.failure
                .unwrap()
                .message
                .starts_with("[EXEC] the case must fail at step 1, but failed at step 2")
        );
        let r = judged("{ message: 'statuscode: 500' }", CaseStatus::Failed);
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

    /// An API server that refuses connections: the case errors at once with the API error,
    /// cleanup gives up quickly, nothing hangs.
    #[tokio::test]
    async fn an_unreachable_api_server_errors_the_case_without_hanging() {
        let config = kube::Config::new("https://127.0.0.1:1".parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        let env = Environment {
            client: client.clone(),
            kubectl: crate::kubectl::Kubectl::new("kubectl", "/dev/null"),
            context: None,
            resolver: std::sync::Arc::new(crate::steps::resolve::Resolver::new(client)),
            images: Default::default(),
            info: crate::cluster::ClusterInfo {
                provider: crate::cluster::ProviderKind::Kubeconfig,
                server_version: String::new(),
                node_image: None,
            },
            run_id: "t1".into(),
            work_dir: std::env::temp_dir().join("podcheck-case-test"),
            keep_on_failure: false,
        };
        let mut case = case_expecting("{ step: 1 }");
        case.expect_failure = None;
        let started = Instant::now();
        let r = run(&env, &case, &CancellationToken::new()).await;
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
        assert!(r.cleanup.contains("not cleaned up"), "{}", r.cleanup);
    }
}
