//! Ctrl-C in the middle of `podcheck run`, for real: a child `podcheck run` on this
//! process's cluster is interrupted while its first case waits; it must end (not hang),
//! remove the namespace it made, report the running case as cancelled and the one not yet
//! started as skipped, and still write JUnit that reads back with those counts.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams};
use libtest_mimic::Trial;
use podcheck::runner::namespace::{CASE_LABEL, label_value};

const NAME: &str = "interrupt::ctrl-c-cleans-up-and-still-writes-the-reports";

/// Two cases, one at a time: the first creates an object, then waits for a change nobody
/// makes; the second must never start.
const SUITE: &str = r#"suite: interrupted
cases:
  - name: waits-for-ever
    covers: [MANIFEST-PERSIST]
    timeout: 10m
    steps:
      - apply: { manifest: { apiVersion: v1, kind: ConfigMap, metadata: { name: left }, data: { x: "1" } } }
      - wait: { object: configmap/left, expr: "data.x == '2'", timeout: 9m }
  - name: never-starts
    covers: [MANIFEST-PERSIST]
    steps:
      - error: { object: configmap/left }
"#;

pub fn trial(ignored: bool) -> Trial {
    Trial::test(NAME, || {
        crate::RUNTIME
            .block_on(check())
            .map_err(libtest_mimic::Failed::from)
    })
    .with_ignored_flag(ignored)
}

async fn check() -> Result<(), String> {
    let shared = crate::shared().await?;
    let client = shared.env.client.clone();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let suites = dir.path().join("suites");
    std::fs::create_dir(&suites).map_err(|e| e.to_string())?;
    std::fs::write(suites.join("interrupted.yaml"), SUITE).map_err(|e| e.to_string())?;
    let (junit, json) = (dir.path().join("r.xml"), dir.path().join("r.json"));

    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_podcheck"))
        .arg("run")
        .arg("--suites")
        .arg(&suites)
        .arg("--kubeconfig")
        .arg(shared.env.kubectl.kubeconfig())
        .args(["--parallel", "1", "--images", "book"])
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .env("CI", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting podcheck run: {e}"))?;
    let pid = child.id().ok_or("podcheck run ended at once")?;

    // Interrupt once the first case has made its object: the case is in its wait.
    let label = format!("{CASE_LABEL}={}", label_value("interrupted.waits-for-ever"));
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = until(60, "the first case's ConfigMap to exist", || async {
        for n in namespaces
            .list(&ListParams::default().labels(&label))
            .await
            .ok()?
            .items
        {
            let name = n.metadata.name?;
            let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &name);
            if cms.get_opt("left").await.ok()?.is_some() {
                return Some(name);
            }
        }
        None
    })
    .await?;
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    if !sent.success() {
        return Err("kill -INT failed".into());
    }
    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .map_err(|_| "podcheck run did not end within 90 s of Ctrl-C".to_string())?
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(3) {
        return Err(format!(
            "exit code {:?} after Ctrl-C, expected 3 (the run could not check everything)\n{stderr}",
            out.status.code()
        ));
    }

    // Its namespace is gone: the run waited for it before exiting.
    if namespaces
        .get_opt(&ns)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!("namespace {ns} is still there after the run ended"));
    }
    check_reports(&junit, &json)
}

/// JUnit: 2 tests, 1 error (the cancelled case), 1 skipped; the JSON says why.
fn check_reports(junit: &Path, json: &Path) -> Result<(), String> {
    let xml = std::fs::read_to_string(junit).map_err(|e| format!("{}: {e}", junit.display()))?;
    let report = quick_junit::Report::deserialize_from_str(&xml)
        .map_err(|e| format!("{}: {e}", junit.display()))?;
    let got = (report.tests, report.failures, report.errors);
    if got != (2, 0, 1) {
        return Err(format!(
            "JUnit (tests, failures, errors) = {got:?}, expected (2, 0, 1)\n{xml}"
        ));
    }
    let text = std::fs::read_to_string(json).map_err(|e| format!("{}: {e}", json.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let status = |case: &str| {
        v["cases"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["case"] == case))
            .map(|c| (c["status"].clone(), c.to_string()))
    };
    match status("waits-for-ever") {
        Some((s, c)) if s == "error" && c.contains("cancelled") => {}
        other => {
            return Err(format!(
                "waits-for-ever: expected error (cancelled), got {other:?}"
            ));
        }
    }
    match status("never-starts") {
        Some((s, c)) if s == "skipped" && c.contains("cancelled before it started") => {}
        other => {
            return Err(format!(
                "never-starts: expected skipped (cancelled before it started), got {other:?}"
            ));
        }
    }
    Ok(())
}

/// Poll `f` until it gives a value; the condition is in another process, so there is no
/// event to wait on but the objects themselves.
async fn until<T, F, Fut>(secs: u64, what: &str, mut f: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("timed out after {secs} s waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
