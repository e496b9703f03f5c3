//! Every suite case as a test (`suite::case`), through libtest-mimic, so `cargo test` and
//! `cargo nextest run` list, filter (`--exact`, `--skip`, `--ignored`) and run them as Rust
//! tests. Also the engine's self-tests (`harness/tests/selftest/`): cases that must fail.
//!
//! - Listing never starts a cluster: the cluster is acquired lazily, by the first case that
//!   runs, once per process (`PODCHECK_KUBECONFIG` names one to use instead; under nextest
//!   the setup script in `.config/nextest.toml` starts one for all test processes).
//! - `PODCHECK_E2E=0` marks every case ignored (no cluster needed for the rest).
//! - After the cases, the process writes the JUnit of what it ran (outside nextest, which
//!   writes its own), reads it back with quick-junit and checks the counts match.

mod interrupt;
mod mutants;
mod sabotage;

use std::process::ExitCode;
use std::sync::{Arc, LazyLock, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};
use podcheck::cluster::{Cluster, ClusterOptions};
use podcheck::config;
use podcheck::report::{RunFacts, RunReport};
use podcheck::runner::pipeline;
use podcheck::runner::result::{CaseResult, CaseStatus};
use podcheck::runner::setup::SetupOptions;
use podcheck::runner::{self, Environment};
use podcheck::suite::{self, Case};
use tokio_util::sync::CancellationToken;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
});

/// The cluster of this process, made ready by the first case that runs.
struct Shared {
    env: Environment,
    facts: RunFacts,
    cluster: Mutex<Option<Cluster>>,
}

static SHARED: tokio::sync::OnceCell<Result<Arc<Shared>, String>> =
    tokio::sync::OnceCell::const_new();
static RESULTS: Mutex<Vec<CaseResult>> = Mutex::new(Vec::new());
static CANCEL: LazyLock<CancellationToken> = LazyLock::new(CancellationToken::new);

async fn shared() -> Result<Arc<Shared>, String> {
    SHARED
        .get_or_init(|| async {
            // nextest's setup script gives every test process one run id (one run label).
            let shared_run_id = config::RUN_ID.get();
            let run_id = shared_run_id.clone().unwrap_or_else(runner::new_run_id);
            let cluster = ClusterOptions {
                registry: podcheck::cluster::registry_from_env()
                    .map_err(|e| podcheck::errors::chain(&e))?,
                ..ClusterOptions::from_env()
            };
            let setup = SetupOptions {
                cluster,
                images: None,
                keep_on_failure: config::KEEP_ON_FAILURE.is_on(),
                strict_wording: false,
                run_id: run_id.clone(),
                placement: Default::default(),
            };
            let p = pipeline::start(setup, None, &CANCEL).await.map_err(|e| {
                format!("no cluster for the suites: {}", podcheck::errors::chain(&e))
            })?;
            let facts = p.facts();
            // Suite cases, mutants and the cases of sabotage runs share the cluster: at most
            // this many run at once, whichever trial started them.
            let mut env = p.env;
            if shared_run_id.is_some() {
                env.janitor = runner::janitor::Janitor::new(env.client.clone(), &run_id)
                    .shared_with_other_processes();
            }
            env.slots = Some(Arc::new(tokio::sync::Semaphore::new(parallel())));
            Ok(Arc::new(Shared {
                env,
                facts,
                cluster: Mutex::new(Some(p.cluster)),
            }))
        })
        .await
        .clone()
}

fn run_case(case: &Case) -> Result<(), Failed> {
    let result = RUNTIME.block_on(async {
        let s = shared().await?;
        Ok::<_, String>(runner::case::run(&s.env, case, &CANCEL).await)
    })?;
    RESULTS.lock().expect("results lock").push(result.clone());
    match &result.status {
        CaseStatus::Passed => Ok(()),
        // Cases to skip are ignored when listed; one that did not run did not pass.
        CaseStatus::Skipped(why) => Err(format!("the case did not run: {why}").into()),
        CaseStatus::Failed | CaseStatus::Error => {
            let mut msg = result
                .failure
                .as_ref()
                .map(|f| f.detail.clone())
                .unwrap_or_default();
            msg.push_str("\n\n--- steps ---\n");
            msg.push_str(&result.step_log());
            if !result.diagnostics.is_empty() {
                msg.push_str("\n--- diagnostics ---\n");
                msg.push_str(&result.diagnostics);
            }
            Err(msg.into())
        }
    }
}

/// A suite under a sabotage, on this process's cluster: Ok when exactly what it names broke.
fn run_sabotage(s: &podcheck::suite::sabotage::Sabotage) -> Result<(), Failed> {
    let suites = suite::load(&[podcheck::paths::suites_dir()]).map_err(|e| e.to_string())?;
    let target = suites
        .suites
        .iter()
        .find(|x| x.name == s.suite)
        .ok_or_else(|| format!("no suite {}", s.suite))?;
    let outcome = RUNTIME.block_on(async {
        let shared = shared().await?;
        Ok::<_, String>(podcheck::runner::sabotage::run(&shared.env, s, target, &CANCEL).await)
    })?;
    if outcome.problems.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "sabotage `{}` (run {}) was not caught as it says:\n  - {}\n",
        s.name,
        outcome.run_id,
        outcome.problems.join("\n  - ")
    );
    for r in &outcome.results {
        msg.push_str(&format!(
            "\n{} {}: {}",
            r.status.word(),
            r.id(),
            r.failure.as_ref().map(|f| f.detail.as_str()).unwrap_or("")
        ));
    }
    Err(msg.into())
}

/// The CLI's contract on bad input, checked without a cluster: exit 2, the message names
/// `file:line:column` and the field, and no cluster is started (there is none to start here
/// within the time a load takes).
fn cli_trials() -> Vec<Trial> {
    fn podcheck(args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_podcheck"))
            .args(args)
            .env_remove("PODCHECK_KUBECONFIG")
            .output()
            .expect("run podcheck")
    }
    /// `podcheck <args> --suites DIR` on a directory with one suite file of `yaml`.
    fn on_suite(args: &[&str], yaml: &str) -> Result<(Option<i32>, String, String), Failed> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join("s.yaml"), yaml).map_err(|e| e.to_string())?;
        let d = dir.path().display().to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--suites", &d]);
        let out = podcheck(&all);
        Ok((
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).replace(&d, "D"),
        ))
    }
    /// Exit 2, and stderr has every one of `want`.
    fn refused(yaml: &str, want: &[&str]) -> Result<(), Failed> {
        let (code, _, err) = on_suite(&["list"], yaml)?;
        if code != Some(2) || want.iter().any(|w| !err.contains(w)) {
            return Err(format!("expected exit 2 and {want:?}; got {code:?}: {err}").into());
        }
        Ok(())
    }
    const HEAD: &str = "suite: s\ncases:\n  - name: c\n    covers: [EXEC]\n";
    vec![
        Trial::test(
            "cli::a-mistyped-field-in-an-expression-exits-2-naming-it",
            || {
                refused(
                    &format!(
                        "{HEAD}    steps:\n      - error: {{ pod: kuard, expr: 'status.containerStatus[0].restartCount > 0' }}\n"
                    ),
                    &[
                        "D/s.yaml:6:9: cases[0] (c).steps[0].error: expr `status.containerStatus[0].restartCount > 0`: `status.containerStatus`: a Pod has no field `containerStatus` (did you mean `containerStatuses`?)",
                    ],
                )
            },
        ),
        Trial::test("cli::an-unknown-event-reason-or-type-exits-2", || {
            refused(
                &format!(
                    "{HEAD}    steps:\n      - events: {{ pod: kuard, none: [{{ reason: Killng }}], during: 5s }}\n"
                ),
                &[
                    "D/s.yaml:6:9: ",
                    "`Killng` is not a reason",
                    "did you mean `Killing`?",
                    "custom_reason: true",
                ],
            )?;
            refused(
                &format!(
                    "{HEAD}    steps:\n      - events: {{ pod: kuard, expect: [{{ type: warning, reason: Unhealthy }}] }}\n"
                ),
                &[
                    "D/s.yaml:6:",
                    "events.expect[0].type: unknown variant `warning`, expected one of Normal, Warning",
                ],
            )
        }),
        Trial::test("cli::steps-that-check-nothing-exit-2", || {
            refused(
                &format!("{HEAD}    steps:\n      - probe: {{ pod: kuard, get: /healthy }}\n"),
                &[
                    "D/s.yaml:6:9: ",
                    "`get` checks nothing without `status` or `body`",
                ],
            )?;
            refused(
                &format!(
                    "{HEAD}    steps:\n      - create: {{ manifest: {{ apiVersion: v1, kind: Pod, metadata: {{ name: x }} }}, rejected: {{}} }}\n"
                ),
                &["D/s.yaml:6:9: ", "`rejected: {}` accepts any refusal"],
            )?;
            refused(
                "suite: s\ncases:\n  - name: c\n    covers: [EXEC]\n    expect_failure: {}\n    steps:\n      - sleep: { for: 1s, why: x }\n",
                &["D/s.yaml:5:", "missing field `step`"],
            )?;
            refused(
                "suite: s\ncases:\n  - name: c\n    covers: [EXEC]\n    expect_failure: { step: 1, message: {} }\n    steps:\n      - sleep: { for: 1s, why: x }\n",
                &[
                    "D/s.yaml:3:",
                    "expect_failure.message: say what the failure must show",
                ],
            )
        }),
        Trial::test(
            "cli::a-filter-that-selects-only-ignored-cases-exits-2",
            || {
                let yaml = format!(
                    "{HEAD}    ignore: not today\n    steps:\n      - sleep: {{ for: 1s, why: x }}\n"
                );
                let (code, _, err) = on_suite(&["run", "--filter", "s::c"], &yaml)?;
                if code != Some(2) || !err.contains("selects only ignored cases (s::c): nothing would run\n  hint: add --include-ignored") {
                return Err(format!("expected exit 2 naming the ignored case; got {code:?}: {err}").into());
            }
                Ok(())
            },
        ),
        Trial::test(
            "cli::diff-exits-1-when-a-behaviour-newly-fails-and-2-on-what-is-no-report",
            || {
                let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
                let report = |name: &str, verdict: &str| {
                    let p = dir.path().join(name);
                    let json = format!(
                        r#"{{"behaviours": [{{"id": "EXEC", "verdict": "{verdict}"}}], "cases": []}}"#
                    );
                    std::fs::write(&p, json).map(|_| p.display().to_string())
                };
                let ok = report("ok.json", "conforms").map_err(|e| e.to_string())?;
                let bad = report("bad.json", "does-not-conform").map_err(|e| e.to_string())?;
                let md = dir.path().join("diff.md").display().to_string();
                let out = podcheck(&["diff", &ok, &bad, "--markdown", &md]);
                let text = String::from_utf8_lossy(&out.stdout);
                if out.status.code() != Some(1)
                    || !text.contains("newly failing (1):\n  EXEC: conforms -> does not conform")
                {
                    return Err(format!(
                        "newly failing: want exit 1, got {:?}: {text}",
                        out.status.code()
                    )
                    .into());
                }
                let md = std::fs::read_to_string(&md).map_err(|e| e.to_string())?;
                if !md.contains("| EXEC |  | conforms | does not conform |") {
                    return Err(format!("markdown: {md}").into());
                }
                let out = podcheck(&["diff", &bad, &ok]);
                if out.status.code() != Some(0)
                    || !String::from_utf8_lossy(&out.stdout).contains("newly passing (1)")
                {
                    return Err(
                        format!("newly passing: want exit 0, got {:?}", out.status.code()).into(),
                    );
                }
                let out = podcheck(&[
                    "diff",
                    &ok,
                    &dir.path().join("none.json").display().to_string(),
                ]);
                let err = String::from_utf8_lossy(&out.stderr);
                if out.status.code() != Some(2) || !err.contains("none.json") {
                    return Err(format!(
                        "a missing report: want exit 2 naming it, got {:?}: {err}",
                        out.status.code()
                    )
                    .into());
                }
                Ok(())
            },
        ),
        Trial::test("cli::coverage-does-not-count-ignored-cases", || {
            let yaml = format!(
                "{HEAD}    ignore: not today\n    steps:\n      - sleep: {{ for: 1s, why: x }}\n"
            );
            let (code, out, _) = on_suite(&["coverage"], &yaml)?;
            let exec = out.lines().find(|l| l.starts_with("EXEC ")).unwrap_or("");
            if code != Some(1)
                || !exec.contains("-- NO CASE --")
                || !out.contains("ignored (not counted): s::c")
            {
                return Err(format!("expected EXEC uncovered (its only case is ignored) and exit 1; got {code:?}:\n{out}").into());
            }
            Ok(())
        }),
        Trial::test(
            "cli::an-unreachable-cluster-exits-3-and-says-it-could-not-check",
            || {
                let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
                let kc = dir.path().join("down.kubeconfig");
                std::fs::write(
                &kc,
                "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n",
            )
            .map_err(|e| e.to_string())?;
                let yaml = format!("{HEAD}    steps:\n      - sleep: {{ for: 1s, why: x }}\n");
                let json = dir.path().join("r.json");
                let (code, out, err) = on_suite(
                    &[
                        "run",
                        "--kubeconfig",
                        &kc.display().to_string(),
                        "--json",
                        &json.display().to_string(),
                        "--junit",
                        &dir.path().join("r.xml").display().to_string(),
                    ],
                    &yaml,
                )?;
                if code != Some(3)
                    || !out.contains("\nCOULD NOT CHECK: 1 case(s) could not run")
                    || !out.ends_with("0 passed, 0 failed, 1 could not run, 0 skipped\n")
                {
                    return Err(format!(
                        "expected exit 3 and a could-not-check verdict; got {code:?}:\n{out}\n{err}"
                    )
                    .into());
                }
                let report: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(&json).map_err(|e| e.to_string())?,
                )
                .map_err(|e| e.to_string())?;
                if report["verdict"] != "could-not-check"
                    || report["behaviours"][0]["verdict"] == "conforms"
                {
                    return Err(format!("the JSON report: {}", report["verdict"]).into());
                }
                Ok(())
            },
        ),
        Trial::test("cli::a-broken-suite-exits-2-naming-file-line-field", || {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            std::fs::write(
                dir.path().join("broken.yaml"),
                "suite: broken\ncases:\n  - name: x\n    covers: [EXEC]\n    steps:\n      - wait: { pod: kuard, timeout: 30 }\n",
            )
            .map_err(|e| e.to_string())?;
            let started = std::time::Instant::now();
            let out = podcheck(&["run", "--suites", &dir.path().display().to_string()]);
            let err = String::from_utf8_lossy(&out.stderr);
            let want = format!(
                "{}/broken.yaml:6:38: cases[0].steps[0].wait.timeout: invalid duration `30`",
                dir.path().display()
            );
            if out.status.code() != Some(2) || !err.contains(&want) {
                return Err(format!(
                    "expected exit 2 and `{want}`; got {:?}: {err}",
                    out.status.code()
                )
                .into());
            }
            if started.elapsed() > std::time::Duration::from_secs(10) {
                return Err(
                    "a bad suite took longer than a load: did something start a cluster?".into(),
                );
            }
            Ok(())
        }),
        Trial::test("cli::list-and-coverage-need-no-cluster", || {
            let out = podcheck(&["list"]);
            let text = String::from_utf8_lossy(&out.stdout);
            if out.status.code() != Some(0)
                || !text.lines().any(|l| {
                    l.starts_with("health::failing-liveness-restarts-the-container ")
                        && l.ends_with(" LIVENESS-HTTP, LOGS-PREVIOUS")
                })
            {
                return Err(format!("podcheck list: {:?}\n{text}", out.status.code()).into());
            }
            let out = podcheck(&["coverage", "--suites", "/nonexistent"]);
            if out.status.code() != Some(2) {
                return Err(format!(
                    "podcheck coverage of a missing directory: {:?}, want exit 2",
                    out.status.code()
                )
                .into());
            }
            Ok(())
        }),
    ]
}

fn trials() -> Vec<Trial> {
    let root = podcheck::paths::repo_root();
    let dirs = [root.join("suites"), root.join("harness/tests/selftest")];
    let mut trials = cli_trials();
    trials.extend(case_trials(&dirs));
    // Mutants (fixtures/mutants/): cases of suites/ edited to look non-conforming, which
    // must fail naming the behaviour; see mutants/mod.rs. A broken suites/ is reported above.
    if let Ok(suites) = suite::load(&[root.join("suites")]) {
        trials.extend(mutants::trials(&root, &suites, run_case));
        trials.extend(sabotage::trials(&root, &suites, run_sabotage));
    }
    trials.push(interrupt::trial(!e2e_enabled()));
    trials
}

/// How many cases run on the cluster at once (`PODCHECK_PARALLEL`, default 16).
fn parallel() -> usize {
    config::PARALLEL
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or(runner::DEFAULT_PARALLEL)
}

/// `PODCHECK_E2E=0`: the tests that need a cluster are listed but ignored (a quick run of
/// the unit tests and the CLI trials; `--ignored` still runs them).
fn e2e_enabled() -> bool {
    config::E2E.get().is_none_or(|v| v != "0")
}

/// How many nodes the cluster of this process will have, as declared before any cluster
/// exists (listing starts none): 1 + `PODCHECK_WORKERS`. Cases that need more are listed
/// as ignored; a cluster smaller than declared makes them fail as "did not run".
fn declared_nodes() -> u32 {
    1 + config::WORKERS
        .parse::<u32>()
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or(0)
}

fn case_trials(dirs: &[std::path::PathBuf]) -> Vec<Trial> {
    let e2e = e2e_enabled();
    let nodes = declared_nodes();
    match suite::load(dirs) {
        Ok(suites) => suites
            .cases()
            .map(|c| {
                let case = c.clone();
                // No `with_kind`: nextest reads names from `--list --format terse`, where a
                // kind would become part of the name.
                Trial::test(c.id(), move || run_case(&case))
                    .with_ignored_flag(c.ignore.is_some() || !e2e || c.nodes > nodes)
            })
            .collect(),
        // A broken suite is one failing test that says what is wrong; listing still works.
        Err(e) => vec![Trial::test("suites::load", move || {
            Err(e.to_string().into())
        })],
    }
}

/// Write the JUnit of the cases this process ran and read it back: the counts must match.
fn junit_round_trip(results: Vec<CaseResult>) -> Result<(), String> {
    let Some(shared) = SHARED.get().and_then(|s| s.as_ref().ok()) else {
        return Ok(());
    };
    let mut suites: Vec<(String, String)> = Vec::new();
    for r in &results {
        if !suites.iter().any(|(n, _)| *n == r.suite) {
            suites.push((r.suite.clone(), r.file.clone()));
        }
    }
    let report = RunReport::new(
        shared.facts.clone(),
        std::time::SystemTime::now(),
        Default::default(),
        suites,
        results,
    );
    let xml = podcheck::report::junit::to_string(&report).map_err(|e| e.to_string())?;
    let path = podcheck::paths::reports_dir().join("cargo-test.junit.xml");
    podcheck::report::write_file(&path, xml.as_bytes()).map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let back = quick_junit::Report::deserialize_from_str(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let c = report.counts;
    let want = (c.total(), c.failed, c.errors);
    let got = (back.tests, back.failures, back.errors);
    if want != got {
        return Err(format!(
            "{}: (tests, failures, errors) = {got:?}, the run had {want:?}",
            path.display()
        ));
    }
    eprintln!(
        "junit: {} ({} tests, parsed back)",
        path.display(),
        back.tests
    );
    Ok(())
}

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // Cases mostly wait on the cluster: run more at once than there are cores. A sabotage
    // trial waits for its cases' slots without holding one, so trials may outnumber them.
    if args.test_threads.is_none() {
        args.test_threads = Some(parallel());
    }
    let conclusion = libtest_mimic::run(&args, trials());
    let mut results = std::mem::take(&mut *RESULTS.lock().expect("results lock"));
    let mut ok = !conclusion.has_failed();
    // The cases' namespaces are deleted in the background: wait for them, and check that
    // the run left nothing behind.
    if let Some(Ok(s)) = SHARED.get() {
        let left = RUNTIME.block_on(
            s.env
                .finish_cleanup(&mut results, podcheck::runner::janitor::Until::Gone),
        );
        if !left.is_empty() {
            eprintln!("error: namespaces left behind: {}", left.join(", "));
            ok = false;
        }
    }
    if !results.is_empty()
        && std::env::var_os("NEXTEST").is_none()
        && let Err(e) = junit_round_trip(results)
    {
        eprintln!("error: the JUnit report does not match the run: {e}");
        ok = false;
    }
    if let Some(Ok(s)) = SHARED.get() {
        let cluster = s.cluster.lock().expect("cluster lock").take();
        if let Some(c) = cluster {
            RUNTIME.block_on(c.shutdown());
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}
