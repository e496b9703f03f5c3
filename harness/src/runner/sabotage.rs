//! Running a suite under a sabotage ([`crate::suite::sabotage`]): break the cluster for a run
//! of its own, check that the break is in effect (the canary), run the suite's cases, undo
//! the break whatever happened, and judge: exactly the cases the sabotage names failed —
//! a failed check, not an error — at their steps with their words, and every other case
//! passed.
//!
//! Node-level breaks go through one mechanism: a wrapper in front of containerd's runc
//! (its `BinaryName`, or `runc` on PATH) that sources each run's hook from
//! `/etc/podcheck/runc-hooks/<run>.sh` for the containers of that run's namespaces
//! (`pc-<run>-…`, read from the OCI config's CRI annotations) and then runs the real runc.
//! Several sabotages can be in effect at once, each for its own run; the wrapper goes when
//! the last hook does.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::result::{CaseResult, CaseStatus};
use super::{Environment, Quiet, case, run_cases};
use crate::cluster::node::NodeContainer;
use crate::fields::template::Vars;
use crate::suite::sabotage::Sabotage;
use crate::suite::{Case, Suite};

/// How long the canary may take to see the sabotage in effect (admission policies reach
/// the API server's cache within a second or two).
const CANARY_WITHIN: Duration = Duration::from_secs(30);

/// The wrapper put in front of containerd's runc. `$0.podcheck-real` is the runc it wraps.
const RUNC_WRAPPER: &str = r#"#!/bin/sh
# podcheck sabotage: runs /etc/podcheck/runc-hooks/<run>.sh for the containers of that run's
# namespaces (pc-<run>-...), then the real runc. Put here by podcheck; removed with the
# last hook.
real="$0.podcheck-real"
cmd=""; bundle=""; process=""; prev=""; globals=""; last=""
for a in "$@"; do
  if [ -z "$cmd" ]; then
    case "$a" in
      create|run|exec|start|delete|kill|state|update|pause|resume|ps|events) cmd="$a" ;;
      *) globals="$globals $a" ;;
    esac
  fi
  case "$prev" in --bundle|-b) bundle="$a" ;; --process|-p) process="$a" ;; esac
  prev="$a"; last="$a"
done
config=""
[ -n "$bundle" ] && config="$bundle/config.json"
if [ "$cmd" = exec ] && [ -z "$config" ]; then
  # exec names the container last (its process comes in --process): find its bundle.
  [ -e "$real" ] || real="$0"
  b=$("$real" $globals state "$last" 2>/dev/null | jq -r '.bundle // empty')
  [ -n "$b" ] && config="$b/config.json"
fi
if [ -f "$config" ]; then
  ns=$(jq -r '.annotations["io.kubernetes.cri.sandbox-namespace"] // empty' "$config")
  kind=$(jq -r '.annotations["io.kubernetes.cri.container-type"] // empty' "$config")
  for hook in /etc/podcheck/runc-hooks/*.sh; do
    [ -f "$hook" ] || continue
    run=$(basename "$hook" .sh)
    case "$ns" in
      "pc-$run-"*) ( . "$hook"; hook ) >>/run/podcheck-runc-hooks.log 2>&1 || true ;;
    esac
  done
fi
# The last hook's removal may have put the real runc back at $0 since this started.
[ -e "$real" ] || real="$0"
exec "$real" "$@"
"#;

/// Install `run`'s hook, staged in `$STAGE`, on a node (and the wrapper, if it is not there
/// yet). The stage is the run's own directory: another run's removal, which may take
/// `/etc/podcheck` away with its last hook, never races with this run's staged files.
const INSTALL: &str = r#"set -eu
exec 9>/run/podcheck-sabotage.lock; flock 9
bin=$(crictl info 2>/dev/null | jq -r '.config.containerd.runtimes.runc.options.BinaryName // empty')
[ -n "$bin" ] || bin=$(command -v runc)
if [ ! -e "$bin.podcheck-real" ]; then
  cp -p "$bin" "$bin.podcheck-real"
  cat "$STAGE/runc-wrapper" > "$bin.podcheck-new" && chmod 755 "$bin.podcheck-new"
  mv "$bin.podcheck-new" "$bin"
fi
echo "$bin" > /run/podcheck-sabotaged-runc
mkdir -p /etc/podcheck/runc-hooks
mv "$STAGE/hook.sh" "/etc/podcheck/runc-hooks/$RUN.sh"
rm -rf "$STAGE"
"#;

/// Remove `run`'s hook, and the wrapper with the last one.
const REMOVE: &str = r#"set -eu
exec 9>/run/podcheck-sabotage.lock; flock 9
rm -f "/etc/podcheck/runc-hooks/$RUN.sh"
if [ -z "$(ls -A /etc/podcheck/runc-hooks 2>/dev/null)" ] && [ -f /run/podcheck-sabotaged-runc ]; then
  bin=$(cat /run/podcheck-sabotaged-runc)
  [ -e "$bin.podcheck-real" ] && mv "$bin.podcheck-real" "$bin"
  rm -f /run/podcheck-sabotaged-runc
  rmdir /etc/podcheck/runc-hooks /etc/podcheck 2>/dev/null || true
fi
"#;

/// What a sabotage run found.
#[derive(Debug)]
pub struct Outcome {
    pub run_id: String,
    /// The suite's cases, as they ran under the sabotage.
    pub results: Vec<CaseResult>,
    /// Everything that is not as the sabotage says (empty: it was caught exactly).
    pub problems: Vec<String>,
}

/// Break, run `suite`'s cases, undo, judge.
pub async fn run(
    base: &Environment,
    sabotage: &Sabotage,
    suite: &Suite,
    cancel: &CancellationToken,
) -> Outcome {
    let env = base.for_run(&super::new_run_id());
    let mut problems = Vec::new();
    let broke = arm(&env, sabotage, cancel).await;
    let mut results = Vec::new();
    match broke {
        Ok(()) => {
            let cases: Vec<Case> = suite.cases.clone();
            results = run_cases(&env, &cases, cases.len().max(1), 0, cancel, &Quiet).await;
        }
        Err(e) => problems.push(format!(
            "the sabotage could not be put in place: {}",
            crate::errors::chain(&e)
        )),
    }
    problems.extend(disarm(&env, sabotage, cancel).await);
    // The cluster stays for the suite's other trials.
    let left = env
        .finish_cleanup(&mut results, super::janitor::Until::Gone)
        .await;
    if !left.is_empty() {
        problems.push(format!("namespaces left behind: {}", left.join(", ")));
    }
    if problems.is_empty() {
        problems.extend(judge(sabotage, &results, &env.vars_of_run()));
    }
    Outcome {
        run_id: env.run_id.clone(),
        results,
        problems,
    }
}

/// Why a sabotage could not be put in place or undone.
#[derive(Debug, thiserror::Error)]
enum SabotageError {
    #[error(
        "it needs the cluster's node containers; hint: a kind-style cluster on this Docker engine"
    )]
    NoNodes,
    /// Install, canary or remove steps that did not pass: their own account.
    #[error("its {what} {account}")]
    Steps { what: String, account: String },
    #[error("{node}: {what}")]
    Node {
        node: String,
        what: &'static str,
        #[source]
        source: crate::cluster::ClusterError,
    },
    #[error("{node}: {what} failed: {output}")]
    Hook {
        node: String,
        what: &'static str,
        output: String,
    },
}

/// Put the sabotage in place and wait for the canary to see it.
async fn arm(
    env: &Environment,
    s: &Sabotage,
    cancel: &CancellationToken,
) -> Result<(), SabotageError> {
    if let Some(hook) = &s.runc_hook {
        if env.nodes.is_empty() {
            return Err(SabotageError::NoNodes);
        }
        for n in &env.nodes {
            install_hook(n, &env.run_id, hook).await?;
        }
    }
    if !s.install.steps.is_empty() {
        let r = case::run(env, &s.install, cancel).await;
        if r.status != CaseStatus::Passed {
            return Err(SabotageError::Steps {
                what: "install steps failed:".into(),
                account: r.account(),
            });
        }
    }
    if s.canary.steps.is_empty() {
        return Ok(());
    }
    let deadline = Instant::now() + CANARY_WITHIN;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut c = s.canary.clone();
        c.name = format!("canary-{attempt}");
        let r = case::run(env, &c, cancel).await;
        if r.status == CaseStatus::Passed {
            return Ok(());
        }
        if Instant::now() >= deadline || cancel.is_cancelled() {
            return Err(SabotageError::Steps {
                what: format!("canary did not see it in effect within {CANARY_WITHIN:?}:"),
                account: r.account(),
            });
        }
        // Policies reach the API server's cache a moment after they are created; the
        // canary is the condition, this only paces the retries.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Undo the sabotage; what could not be undone.
async fn disarm(env: &Environment, s: &Sabotage, cancel: &CancellationToken) -> Vec<String> {
    let mut problems = Vec::new();
    if !s.remove.steps.is_empty() {
        // Removal must happen even after Ctrl-C.
        let r = case::run(env, &s.remove, &CancellationToken::new()).await;
        if r.status != CaseStatus::Passed {
            problems.push(format!("its remove steps failed: {}", r.account()));
        }
    }
    let _ = cancel;
    if s.runc_hook.is_some() {
        for n in &env.nodes {
            if let Err(e) = remove_hook(n, &env.run_id).await {
                problems.push(crate::errors::chain(&e));
            }
        }
    }
    problems
}

async fn install_hook(node: &NodeContainer, run: &str, hook: &str) -> Result<(), SabotageError> {
    let at = |what: &'static str| {
        let node = node.name.clone();
        move |source| SabotageError::Node { node, what, source }
    };
    let body = format!("# podcheck sabotage hook of run {run}\nhook() {{\n{hook}\n}}\n");
    // Not under /run: the node mounts a tmpfs there, which Docker's archive API cannot write.
    let stage = format!("/etc/podcheck-stage-{run}");
    node.exec(&["mkdir", "-p", &stage])
        .await
        .map_err(at("making the hook's staging directory"))?;
    node.write_file(
        &format!("{stage}/runc-wrapper"),
        RUNC_WRAPPER.as_bytes(),
        0o755,
    )
    .await
    .map_err(at("writing the runc wrapper"))?;
    node.write_file(&format!("{stage}/hook.sh"), body.as_bytes(), 0o644)
        .await
        .map_err(at("writing the hook"))?;
    let out = node
        .exec(&[
            "env",
            &format!("RUN={run}"),
            &format!("STAGE={stage}"),
            "sh",
            "-c",
            INSTALL,
        ])
        .await
        .map_err(at("installing the runc hook"))?;
    if out.exit_code != 0 {
        return Err(SabotageError::Hook {
            node: node.name.clone(),
            what: "installing the runc hook",
            output: out.combined(),
        });
    }
    Ok(())
}

async fn remove_hook(node: &NodeContainer, run: &str) -> Result<(), SabotageError> {
    let out = node
        .exec(&["env", &format!("RUN={run}"), "sh", "-c", REMOVE])
        .await
        .map_err(|source| SabotageError::Node {
            node: node.name.clone(),
            what: "removing the runc hook",
            source,
        })?;
    if out.exit_code != 0 {
        return Err(SabotageError::Hook {
            node: node.name.clone(),
            what: "removing the runc hook",
            output: out.combined(),
        });
    }
    Ok(())
}

/// Every way the results differ from what the sabotage says.
pub fn judge(s: &Sabotage, results: &[CaseResult], vars: &Vars) -> Vec<String> {
    let mut problems = Vec::new();
    for r in results {
        let want = s.breaks.iter().find(|b| b.case == r.case);
        match (want, &r.status, &r.failure) {
            (None, CaseStatus::Passed, _) => {}
            // It does not apply to this cluster (too few nodes): it cannot fail falsely.
            (None, status, _) if status.is_not_applicable() => {}
            (None, _, f) => problems.push(format!(
                "{} must pass under `{}` (it breaks nothing it checks), but: {}",
                r.id(),
                s.name,
                f.as_ref()
                    .map_or(r.status.word().to_string(), |f| f.message.clone())
            )),
            (Some(b), CaseStatus::Passed, _) => problems.push(format!(
                "{} passed under `{}`, but it must fail at step {}: the sabotage went unnoticed",
                r.id(),
                s.name,
                b.step
            )),
            (Some(b), CaseStatus::Failed, Some(f)) if f.step == Some(b.step) => {
                let Some(text) = f.mismatch_text() else {
                    problems.push(format!(
                        "{}: failed without expected/actual: {}",
                        r.id(),
                        f.message
                    ));
                    continue;
                };
                match b.message.compile(vars) {
                    Ok(m) => {
                        if let Err(mm) = m.check("the failure's expected/actual", &text) {
                            problems.push(format!(
                                "{} failed at step {} as it must, but not with the words the sabotage names: {mm}",
                                r.id(),
                                b.step
                            ));
                        }
                    }
                    Err(e) => problems.push(format!("{}: {e}", r.id())),
                }
            }
            (Some(b), status, f) => problems.push(format!(
                "{} must fail (a failed check) at step {} under `{}`, but: {} {}",
                r.id(),
                b.step,
                s.name,
                status.word(),
                f.as_ref().map_or(String::new(), |f| f.message.clone())
            )),
        }
    }
    for b in &s.breaks {
        if !results.iter().any(|r| r.case == b.case) {
            problems.push(format!("{}::{} did not run", s.suite, b.case));
        }
    }
    problems
}
