//! The matrix, end to end.
//!
//! - `matrix::the-html-page-renders-in-chromium-as-the-json-says` (no cluster): a matrix page
//!   opened in a real headless Chromium; every cell and count the browser shows is the one
//!   the JSON has, and the page fetches nothing.
//! - `matrix::fake-kubelets-are-told-apart-from-real-runtimes` (a cluster per target, their
//!   node images built by `ci/targets/*/build`): a small selection of the catalogue on the
//!   baseline, three other runtimes and both fake kubelets; `podcheck matrix` must exit 0 —
//!   every target showed exactly what its file says (the fakes fail all that needs a kubelet
//!   and pass what the API server decides alone) — and its HTML must say what its JSON says.
//!   `PODCHECK_E2E=0` lists it as ignored.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use libtest_mimic::{Arguments, Failed, Trial};
use podcheck::matrix::column::{Column, Facts};
use podcheck::matrix::target::TargetKind;
use podcheck::matrix::{MatrixReport, render};
use podcheck::report::{RunFacts, RunReport};
use podcheck::runner::result::{CaseResult, CaseStatus, Failure};

/// The selection CI runs on every target: cases that a real kubelet passes and a fake one
/// fails (logs, exec, a liveness restart, one node), one that runtimes word differently
/// (bash missing), and ones the API server and kubectl decide alone.
pub const SELECTION: &str = "^(manifests::invalid-manifest-is-rejected|kubectl-basics::kubectl-run-creates-a-pod|access::logs|access::exec|access::exec-without-bash|health::failing-liveness-restarts-the-container|pod-sharing::containers-share-one-node)$";

fn chromium() -> Result<PathBuf, Failed> {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
            && out.status.success()
        {
            return Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    Err("no Chromium on PATH; install it (`apt-get install chromium`; ci/offline does)".into())
}

/// The page as a headless Chromium renders it (the DOM after load).
fn rendered(html: &Path) -> Result<String, Failed> {
    let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = Command::new(chromium()?)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .map_err(|e| format!("running chromium: {e}"))?;
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() || !dom.contains("</html>") {
        return Err(format!(
            "chromium did not render the page ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(dom)
}

/// Every cell and count the rendered page shows must be the JSON's, and nothing else.
fn page_matches_json(dom: &str, json: &serde_json::Value) -> Result<(), Failed> {
    let cell = regex::Regex::new(
        r#"data-behaviour="([^"]+)" data-target="([^"]+)" data-verdict="([^"]+)""#,
    )
    .unwrap();
    let mut shown: Vec<(String, String, String)> = cell
        .captures_iter(dom)
        .map(|c| (c[1].to_string(), c[2].to_string(), c[3].to_string()))
        .collect();
    let targets: Vec<String> = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["target"].as_str().unwrap().to_string())
        .collect();
    let mut want = Vec::new();
    for row in json["rows"].as_array().unwrap() {
        for (i, c) in row["cells"].as_array().unwrap().iter().enumerate() {
            want.push((
                row["behaviour"].as_str().unwrap().to_string(),
                targets[i].clone(),
                c["verdict"].as_str().unwrap().to_string(),
            ));
        }
    }
    shown.sort();
    want.sort();
    if shown != want || want.is_empty() {
        return Err(format!(
            "the page shows {} cell(s), the JSON has {}; first differing: {:?}",
            shown.len(),
            want.len(),
            shown.iter().zip(&want).find(|(a, b)| a != b)
        )
        .into());
    }
    let count =
        regex::Regex::new(r#"data-target="([^"]+)" data-count="([^"]+)" data-value="(\d+)""#)
            .unwrap();
    let mut n = 0;
    for c in count.captures_iter(dom) {
        let i = targets
            .iter()
            .position(|t| *t == c[1])
            .ok_or("a count for no target")?;
        let key = &c[2];
        let want = json["counts"][i][key]
            .as_u64()
            .ok_or_else(|| format!("no count {key} in the JSON"))?;
        if c[3].parse::<u64>().unwrap() != want {
            return Err(format!("{} {}: page {} != JSON {want}", &c[1], &c[2], &c[3]).into());
        }
        n += 1;
    }
    let kinds = json["counts"][0]
        .as_object()
        .ok_or("no counts in the JSON")?
        .len();
    if n != targets.len() * kinds {
        return Err(format!("{n} counts on the page for {} targets", targets.len()).into());
    }
    if dom.contains(" src=") || dom.contains("http://") || dom.contains("https://") {
        return Err("the page refers to something outside itself".into());
    }
    Ok(())
}

fn sample_case(name: &str, covers: &str, passed: bool) -> CaseResult {
    CaseResult {
        suite: "s".into(),
        case: name.into(),
        file: "s.yaml".into(),
        covers: vec![covers.into()],
        covers_in_part: Vec::new(),
        namespace: String::new(),
        status: if passed {
            CaseStatus::Passed
        } else {
            CaseStatus::Failed
        },
        duration: Duration::from_secs(3),
        step_time: Duration::from_secs(3),
        started: SystemTime::UNIX_EPOCH,
        steps: Vec::new(),
        failure: (!passed).then(|| Failure {
            step: Some(3),
            message: format!("[{covers}] step 3 failed: <it did not> & more"),
            detail: String::new(),
            summary: Some("it did not".into()),
            expected: Some("a".into()),
            actual: Some("b".into()),
        }),
        self_test: false,
        expected_failure: false,
        metrics: [("liveness_kill_to_running".to_string(), 1.5)].into(),
        diagnostics: String::new(),
        cleanup: podcheck::runner::janitor::Cleanup::none(),
        earlier: Vec::new(),
    }
}

fn sample() -> MatrixReport {
    let col = |target: &str, logs_pass: bool| Column {
        target: target.into(),
        kind: TargetKind::Runtime,
        description: "a <column> & its \"facts\"".into(),
        facts: Facts::default(),
        report: Some(
            RunReport::new(
                RunFacts::default(),
                SystemTime::UNIX_EPOCH,
                Duration::from_secs(9),
                vec![("s".into(), "s.yaml".into())],
                vec![
                    sample_case("logs", "LOGS", logs_pass),
                    sample_case("exec", "EXEC", true),
                ],
            )
            .with_behaviours(["LOGS", "EXEC", "CP"]),
        ),
        error: None,
        took: Duration::from_secs(60),
    };
    let mut down = col("down", true);
    down.report = None;
    down.error = Some("the recipe failed".into());
    MatrixReport::new(
        vec![col("kind", true), col("fake", false), down],
        &[
            ("LOGS".into(), "logs".into()),
            ("EXEC".into(), "exec".into()),
            ("CP".into(), "cp".into()),
        ],
        SystemTime::UNIX_EPOCH,
        Duration::from_secs(200),
    )
}

fn html_trial() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let report = sample();
    let html = dir.path().join("matrix.html");
    std::fs::write(&html, render::html(&report)).map_err(|e| e.to_string())?;
    let json = serde_json::to_value(&report).map_err(|e| e.to_string())?;
    page_matches_json(&rendered(&html)?, &json)
}

/// A target whose prepare steps wait for a node that never comes: its column could not run,
/// and says why in the wait's own words and in what its `diagnose` command printed; it
/// differs from nothing, and the run exits 3 (could not check).
fn could_not_run_trial() -> Result<(), Failed> {
    let base = podcheck::config::NODE_IMAGE
        .get()
        .ok_or("PODCHECK_NODE_IMAGE must name the node image (run through ci/offline)")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(
        dir.path().join("stuck.yaml"),
        format!(
            "target: stuck\ndescription: a fake node that never comes\nkind: negative-control\n\
             node_image: {{ image: \"{base}\" }}\n\
             prepare:\n  - wait: {{ object: node/never-registers, condition: Ready, timeout: 5s }}\n\
             diagnose: \"echo the agent says: no credentials\"\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_podcheck"))
        .args([
            "matrix",
            "--target",
            "stuck",
            "--filter",
            "^access::exec$",
            "--targets-dir",
        ])
        .arg(dir.path())
        .arg("--out")
        .arg(&out_dir)
        .env_remove("PODCHECK_KUBECONFIG")
        .env("CI", "true")
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(3) {
        return Err(format!("exit {:?}, want 3:\n{stdout}\n{stderr}", out.status.code()).into());
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("matrix.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let why = json["columns"][0]["error"].as_str().unwrap_or_default();
    for said in [
        "the target's prepare steps did not pass",
        "wait node/never-registers: condition Ready",
        "the object does not exist",
        "the agent says: no credentials",
    ] {
        if !why.contains(said) {
            return Err(format!("the column's error does not say {said:?}: {why}").into());
        }
    }
    if json["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["differs"] == true)
    {
        return Err("a column that could not run differs in nothing".into());
    }
    Ok(())
}

fn e2e_trial() -> Result<(), Failed> {
    let out_dir = podcheck::paths::reports_dir().join("matrix-ci");
    // Every target of ci/targets/ (the baseline first), but a cluster given by kubeconfig.
    let out = Command::new(env!("CARGO_BIN_EXE_podcheck"))
        .args(["matrix", "--target", "all", "--filter", SELECTION, "--out"])
        .arg(&out_dir)
        .env_remove("PODCHECK_KUBECONFIG")
        .env_remove(podcheck::config::TARGET_KUBECONFIG.name)
        .env("CI", "true")
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    if out.status.code() != Some(0) {
        return Err(format!(
            "podcheck matrix exited {:?}:\n{stdout}\n--- stderr (last 60 lines) ---\n{}",
            out.status.code(),
            stderr
                .lines()
                .rev()
                .take(60)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        )
        .into());
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("matrix.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    // The matrix tells the fakes apart: each differs from the baseline somewhere.
    let columns: Vec<&str> = json["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["target"].as_str())
        .collect();
    for fake in ["kwok", "virtual-kubelet"] {
        let i = columns
            .iter()
            .position(|t| *t == fake)
            .ok_or_else(|| format!("no {fake} column in {columns:?}"))?;
        let differs = json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["cells"][0]["verdict"] != r["cells"][i]["verdict"])
            .count();
        if differs < 3 {
            return Err(
                format!("{fake} differs from the baseline in {differs} behaviour(s) only").into(),
            );
        }
    }
    page_matches_json(&rendered(&out_dir.join("matrix.html"))?, &json)
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let e2e = podcheck::config::E2E.get().is_none_or(|v| v != "0");
    let trials = vec![
        Trial::test(
            "matrix::the-html-page-renders-in-chromium-as-the-json-says",
            html_trial,
        ),
        Trial::test(
            "matrix::fake-kubelets-are-told-apart-from-real-runtimes",
            e2e_trial,
        )
        .with_ignored_flag(!e2e),
        Trial::test(
            "matrix::a-column-that-could-not-run-says-why",
            could_not_run_trial,
        )
        .with_ignored_flag(!e2e),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}
