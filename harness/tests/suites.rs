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

use std::process::ExitCode;
use std::sync::{Arc, LazyLock, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};
use podcheck::cluster::{Cluster, ClusterOptions};
use podcheck::report::{RunFacts, RunReport};
use podcheck::runner::result::{CaseResult, CaseStatus};
use podcheck::runner::setup::{self, SetupOptions};
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
            let run_id = std::env::var("PODCHECK_RUN_ID").unwrap_or_else(|_| runner::new_run_id());
            let p = setup::prepare(SetupOptions {
                cluster: ClusterOptions::from_env(),
                images: None,
                keep_on_failure: std::env::var("PODCHECK_KEEP_ON_FAILURE").is_ok_and(|v| v == "1"),
                run_id: run_id.clone(),
            })
            .await
            .map_err(|e| format!("no cluster for the suites: {e}"))?;
            let facts = RunFacts {
                run_id,
                provider: p.env.info.provider.to_string(),
                server_version: p.env.info.server_version.clone(),
                node_image: p.env.info.node_image.clone(),
                images_mode: format!("{:?}", p.images_mode).to_lowercase(),
                images: p.env.images.clone(),
            };
            Ok(Arc::new(Shared {
                env: p.env,
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
        CaseStatus::Passed | CaseStatus::Skipped(_) => Ok(()),
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
    vec![
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
    }
    trials.push(interrupt::trial(!e2e_enabled()));
    trials
}

/// `PODCHECK_E2E=0`: the tests that need a cluster are listed but ignored (a quick run of
/// the unit tests and the CLI trials; `--ignored` still runs them).
fn e2e_enabled() -> bool {
    std::env::var("PODCHECK_E2E").map_or(true, |v| v != "0")
}

fn case_trials(dirs: &[std::path::PathBuf]) -> Vec<Trial> {
    let e2e = e2e_enabled();
    match suite::load(dirs) {
        Ok(suites) => suites
            .cases()
            .map(|c| {
                let case = c.clone();
                // No `with_kind`: nextest reads names from `--list --format terse`, where a
                // kind would become part of the name.
                Trial::test(c.id(), move || run_case(&case))
                    .with_ignored_flag(c.ignore.is_some() || !e2e)
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
    // Cases mostly wait on the cluster: run more at once than there are cores.
    if args.test_threads.is_none() {
        args.test_threads = Some(
            std::env::var("PODCHECK_PARALLEL")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(runner::DEFAULT_PARALLEL),
        );
    }
    let conclusion = libtest_mimic::run(&args, trials());
    let results = std::mem::take(&mut *RESULTS.lock().expect("results lock"));
    let mut ok = !conclusion.has_failed();
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
