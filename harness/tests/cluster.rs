//! End-to-end tests of the kind provider against a real cluster: podcheck starts a node from
//! the offline image (`PODCHECK_NODE_IMAGE`), and the checks go through the real API server,
//! kubelet and containerd. Afterwards no container may be left: after a normal end, after a
//! panic, after Ctrl-C.
//!
//! These tests start their own clusters (they test the starting), one after the other.
//! `PODCHECK_E2E=0` lists them as ignored, as it does the suite cases (a libtest-mimic
//! harness, so that "not run" shows as ignored, never as passed).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, AttachParams, ListParams, LogParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::wait::await_condition;
use libtest_mimic::{Arguments, Trial};
use podcheck::cluster::{self, Cluster, ClusterOptions, docker};
use serde_json::json;

mod common {
    pub mod registry;
}
use common::registry::{RegistryServer, bridge_gateway};

/// One test at a time: each starts a node, and two nodes at once would halve the machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn e2e_disabled() -> bool {
    podcheck::config::E2E.get().is_some_and(|v| v == "0")
}

static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
});

/// A test of this file as a trial: run on the shared runtime; a panic fails it.
fn trial<F: std::future::Future<Output = ()> + 'static>(
    name: &'static str,
    needs_cluster: bool,
    test: fn() -> F,
) -> Trial {
    Trial::test(name, move || {
        RUNTIME.block_on(test());
        Ok(())
    })
    .with_ignored_flag(needs_cluster && e2e_disabled())
}

fn kind_options() -> ClusterOptions {
    ClusterOptions {
        kubeconfig: None,
        ..ClusterOptions::from_env()
    }
}

async fn container_exists(id: &str) -> bool {
    let d = docker::connect().await.expect("docker");
    docker::containers_with_label(&d, docker::KIND_CLUSTER_LABEL)
        .await
        .expect("list containers")
        .iter()
        .any(|c| c.id == id)
}

async fn within<T>(what: &str, secs: u64, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {secs} s"))
}

fn kuard_image() -> podcheck::image::FixtureImage {
    let out = podcheck::image::default_out_dir();
    let images = podcheck::image::build_all(&out).expect("fixture images");
    images
        .into_iter()
        .find(|i| i.name == "kuard")
        .expect("kuard image")
}

async fn create_namespace(client: &kube::Client, ns: &str) {
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .unwrap();
}

fn pod_ready(pod: Option<&Pod>) -> bool {
    pod.and_then(|p| p.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

async fn kind_cluster_runs_real_workloads_and_is_removed_after() {
    let _serial = SERIAL.lock().await;
    let cluster = cluster::acquire(&kind_options())
        .await
        .expect("a kind cluster");
    let id = cluster.nodes()[0].id.clone();
    check_cluster(&cluster).await;
    check_identity(&cluster).await;
    cluster.shutdown().await;
    assert!(
        !container_exists(&id).await,
        "node container {id} still exists after shutdown"
    );
}

/// What a working one-node cluster does, each part checked through the real API.
async fn check_cluster(cluster: &Cluster) {
    let client = cluster.client();
    check_node_and_system_pods(&client).await;
    let pods = check_a_workload(cluster, "podcheck-cluster-e2e").await;
    check_logs_and_exec(&pods).await;
    check_service_endpoints(&client, &pods, "podcheck-cluster-e2e").await;
}

/// What a quick start must not trade away: the node image holds no certificate or key (so
/// each cluster makes its own: none can be shared between clusters of one image), the keys
/// this cluster made are the ones its API server serves with, and the API server is published
/// on 127.0.0.1 only.
async fn check_identity(cluster: &Cluster) {
    let image = cluster
        .info()
        .node_image
        .clone()
        .expect("a started cluster's image");
    let in_image = std::process::Command::new("docker")
        .args(["run", "--rm", "--entrypoint", "sh", &image, "-c"])
        .arg("find /etc/kubernetes -name '*.key' -o -name '*.crt' -o -name 'sa.pub' | wc -l")
        .output()
        .expect("docker run");
    assert_eq!(
        String::from_utf8_lossy(&in_image.stdout).trim(),
        "0",
        "{image} carries certificates or keys: {}",
        String::from_utf8_lossy(&in_image.stderr)
    );
    let node = &cluster.nodes()[0];
    let made = node
        .exec(&[
            "sh",
            "-c",
            "ls /etc/kubernetes/pki/ca.key /etc/kubernetes/pki/sa.key",
        ])
        .await
        .unwrap();
    assert_eq!(
        made.exit_code,
        0,
        "the cluster made no keys: {}",
        made.combined()
    );

    let d = docker::connect().await.expect("docker");
    let inspect = d.inspect_container(&node.id, None).await.expect("inspect");
    let bindings = inspect
        .host_config
        .and_then(|h| h.port_bindings)
        .and_then(|mut b| b.remove("6443/tcp"))
        .flatten()
        .unwrap_or_default();
    assert!(!bindings.is_empty(), "6443 is not published");
    for b in &bindings {
        assert_eq!(b.host_ip.as_deref(), Some("127.0.0.1"), "{bindings:?}");
    }
}

/// The node is Ready; the control plane, kube-proxy and CoreDNS run as pods. A run's
/// cluster is ready once its node takes pods, before kube-proxy and CoreDNS run: they are
/// watched for until they do.
async fn check_node_and_system_pods(client: &kube::Client) {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(nodes.items.len(), 1, "one node");
    let ready = nodes.items[0]
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.clone());
    assert_eq!(ready.as_deref(), Some("True"), "node Ready condition");

    const COMPONENTS: [&str; 6] = [
        "kube-apiserver-",
        "kube-controller-manager-",
        "kube-scheduler-",
        "etcd-",
        "kube-proxy-",
        "coredns-",
    ];
    let pods = Api::<Pod>::namespaced(client.clone(), "kube-system");
    let mut running = std::collections::BTreeSet::new();
    let mut events = std::pin::pin!(
        kube::runtime::watcher(pods, Default::default())
            .applied_objects()
            .boxed()
    );
    let all_running = async {
        while let Some(p) = events.try_next().await.expect("watching kube-system") {
            if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
                running.insert(p.metadata.name.unwrap_or_default());
            }
            if COMPONENTS
                .iter()
                .all(|c| running.iter().any(|n| n.starts_with(c)))
            {
                return;
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(120), all_running)
        .await
        .is_err()
    {
        panic!("not every one of {COMPONENTS:?} ran within 120 s; running: {running:?}");
    }
}

/// A pod from a locally built image, loaded into the node, becomes Ready in `ns`.
async fn check_a_workload(cluster: &Cluster, ns: &str) -> Api<Pod> {
    let client = cluster.client();
    let kuard = tokio::task::spawn_blocking(kuard_image).await.unwrap();
    let image = kuard.reference.clone();
    cluster
        .load_images(std::slice::from_ref(&kuard.archive))
        .await
        .expect("load the kuard image");
    create_namespace(&client, ns).await;
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "kuard", "labels": {"app": "kuard"}},
        "spec": {"containers": [{
            "name": "kuard", "image": image,
            "ports": [{"containerPort": 8080, "name": "http"}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1}
        }]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    // Ready means kuard answered its readiness probe, so it has logged its start-up.
    within(
        "pod Ready",
        60,
        await_condition(pods.clone(), "kuard", pod_ready),
    )
    .await
    .unwrap();
    pods
}

/// Its logs come back; exec returns stdout and the exit code.
async fn check_logs_and_exec(pods: &Api<Pod>) {
    let logs = pods.logs("kuard", &LogParams::default()).await.unwrap();
    assert!(logs.contains("Serving on HTTP on"), "logs: {logs}");
    let mut proc = pods
        .exec(
            "kuard",
            ["ash", "-c", "echo from-exec; exit 3"],
            &AttachParams::default().stderr(false),
        )
        .await
        .unwrap();
    let stdout = tokio_util::io::ReaderStream::new(proc.stdout().unwrap())
        .map(|c| c.map(|b| b.to_vec()))
        .try_concat()
        .await
        .unwrap();
    let status = proc.take_status().unwrap().await.unwrap();
    proc.join().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&stdout).trim(), "from-exec");
    let code = status
        .details
        .and_then(|d| d.causes)
        .and_then(|cs| {
            cs.into_iter()
                .find(|c| c.reason.as_deref() == Some("ExitCode"))
        })
        .and_then(|c| c.message);
    assert_eq!(code.as_deref(), Some("3"), "exit code from exec status");
}

/// A Service gets an EndpointSlice with the pod's address, ready.
async fn check_service_endpoints(client: &kube::Client, pods: &Api<Pod>, ns: &str) {
    let pod_ip = pods
        .get("kuard")
        .await
        .unwrap()
        .status
        .unwrap()
        .pod_ip
        .unwrap();
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "kuard"},
        "spec": {"selector": {"app": "kuard"}, "ports": [{"port": 8080, "targetPort": 8080}]}
    }))
    .unwrap();
    Api::<Service>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &svc)
        .await
        .unwrap();
    let slices = Api::<EndpointSlice>::namespaced(client.clone(), ns);
    let lp = kube::runtime::watcher::Config::default().labels("kubernetes.io/service-name=kuard");
    let found = within("EndpointSlice with the pod's ready address", 60, async {
        let mut stream = kube::runtime::watcher(slices, lp).boxed();
        let mut seen = BTreeMap::new();
        while let Some(ev) = stream.try_next().await.unwrap() {
            if let kube::runtime::watcher::Event::Apply(s)
            | kube::runtime::watcher::Event::InitApply(s) = ev
            {
                for e in s.endpoints.into_iter().flatten() {
                    let ready = e.conditions.and_then(|c| c.ready).unwrap_or(false);
                    for a in e.addresses {
                        seen.insert(a, ready);
                    }
                }
                if seen.get(&pod_ip) == Some(&true) {
                    return seen;
                }
            }
        }
        seen
    })
    .await;
    assert_eq!(found.get(&pod_ip), Some(&true), "endpoints: {found:?}");
}

/// The child half of the panic test: start a cluster, record the node, panic.
async fn child_panics_holding_a_cluster() {
    let record = std::env::var("CLUSTER_TEST_CHILD_RECORD").expect("run by the panic test");
    let cluster = cluster::acquire(&kind_options())
        .await
        .expect("a kind cluster");
    std::fs::write(&record, &cluster.nodes()[0].id).unwrap();
    panic!("deliberate panic while the cluster is up");
}

async fn node_container_is_removed_when_a_test_panics() {
    let _serial = SERIAL.lock().await;
    let record = tempfile::NamedTempFile::new().unwrap();
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_panics_holding_a_cluster",
            "--ignored",
            "--nocapture",
        ])
        .env("CLUSTER_TEST_CHILD_RECORD", record.path())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child must fail");
    assert!(
        stderr.contains("deliberate panic"),
        "the child must fail by panicking, not before: {stderr}"
    );
    let id = std::fs::read_to_string(record.path()).unwrap();
    assert!(!id.is_empty(), "the child recorded no node");
    assert!(
        !container_exists(&id).await,
        "node container {id} survived the panic"
    );
}

async fn interrupted_cluster_up_removes_its_node() {
    let _serial = SERIAL.lock().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_podcheck"))
        .args(["cluster", "up", "--no-images"])
        .env("PODCHECK_KUBECONFIG", "")
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let d = docker::connect().await.unwrap();
    let label = format!("{}={pid}", docker::OWNER_PID_LABEL);
    // Interrupt once the node container exists, in the middle of the bootstrap.
    within("the node container of `cluster up`", 60, async {
        while docker::containers_with_label(&d, &label)
            .await
            .unwrap()
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = within("cluster up to exit after Ctrl-C", 60, child.wait())
        .await
        .unwrap();
    assert!(
        !status.success(),
        "an interrupted `cluster up` must not report success"
    );
    let left = docker::containers_with_label(&d, &label).await.unwrap();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The API server goes away in the middle of a run (its static pod stopped for 35 s): the
/// run still ends, writes its reports and removes its namespaces once the server is back,
/// and no case passes that could not check — a hold across the outage is an error, never a
/// pass.
async fn the_api_server_going_away_mid_run_ends_the_run_and_passes_nothing_unchecked() {
    let _serial = SERIAL.lock().await;
    let cluster = cluster::acquire(&kind_options())
        .await
        .expect("a kind cluster");
    let node = cluster.nodes()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("outage.yaml"),
        r#"suite: outage
cases:
  - name: holds-across-the-outage
    covers: [MANIFEST-PERSIST]
    steps:
      - apply: { manifest: { apiVersion: v1, kind: ConfigMap, metadata: { name: held }, data: { x: "1" } } }
      - assert: { object: configmap/held, expr: "data.x == '1'", during: 60s }
  - name: waits-across-the-outage
    covers: [MANIFEST-PERSIST]
    steps:
      - apply: { manifest: { apiVersion: v1, kind: ConfigMap, metadata: { name: waited }, data: { x: "1" } } }
      - wait: { object: configmap/waited, expr: "data.x == '2'", timeout: 60s }
"#,
    )
    .unwrap();
    let json = dir.path().join("r.json");
    let junit = dir.path().join("r.xml");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_podcheck"))
        .arg("run")
        .arg("--suites")
        .arg(dir.path())
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig())
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .env("CI", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once both cases are in their long step, stop the API server, then bring it back.
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(12)).await;
    let mv = |from: &'static str, to: &'static str| {
        let node = node.clone();
        async move {
            let out = node.exec(&["mv", from, to]).await.unwrap();
            assert_eq!(out.exit_code, 0, "mv {from} {to}: {}", out.combined());
        }
    };
    mv(
        "/etc/kubernetes/manifests/kube-apiserver.yaml",
        "/root/kube-apiserver.yaml",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(35)).await;
    mv(
        "/root/kube-apiserver.yaml",
        "/etc/kubernetes/manifests/kube-apiserver.yaml",
    )
    .await;
    let out = within(
        "podcheck run to end after the outage",
        300,
        child.wait_with_output(),
    )
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    cluster.shutdown().await;
    assert!(
        matches!(out.status.code(), Some(1) | Some(3)),
        "exit {:?} after {:?}\n{stdout}\n{stderr}",
        out.status.code(),
        started.elapsed()
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report")).unwrap();
    let status = |case: &str| {
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["case"] == case)
            .map(|c| {
                (
                    c["status"].as_str().unwrap_or("").to_string(),
                    c["failure"]["message"].to_string(),
                )
            })
            .unwrap_or_default()
    };
    let (held, why) = status("holds-across-the-outage");
    assert_eq!(
        held, "error",
        "a hold across the outage must not pass: {why}\n{stdout}"
    );
    assert!(why.contains("could not watch the whole 1m"), "{why}");
    let (waited, why) = status("waits-across-the-outage");
    assert_ne!(waited, "passed", "{why}");
    assert!(junit.exists(), "the JUnit report is written");
    assert!(
        report["leftovers"].as_array().is_some_and(|l| l.is_empty()),
        "namespaces left: {}",
        report["leftovers"]
    );
}

/// `podcheck cluster up` with `env`, for the bad-input checks: exit code and stderr.
async fn cluster_up_with(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_podcheck"))
        .args(["cluster", "up", "--no-images"])
        .args(args)
        .env("PODCHECK_KUBECONFIG", "")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn without_docker_the_error_says_so_and_how_to_start_one() {
    let (code, stderr) =
        cluster_up_with(&[], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no Docker engine answers"), "{stderr}");
    assert!(stderr.contains("docker-up"), "{stderr}");
}

async fn a_missing_node_image_is_named_with_the_offline_build_command() {
    let image = "podcheck.local/no-such-node:v0.0.0";
    let (code, stderr) = cluster_up_with(&["--node-image", image], &[]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(image), "{stderr}");
    assert!(stderr.contains("ci/node-image/build"), "{stderr}");
}

/// nextest has no teardown: its setup script ties the cluster to nextest's life instead.
async fn cluster_up_tied_to_a_process_goes_when_that_process_exits() {
    let _serial = SERIAL.lock().await;
    // Killed if this test fails half-way, which then also removes the cluster.
    let mut owner = tokio::process::Command::new("sleep")
        .arg("600")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let owner_pid = owner.id().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("tied.kubeconfig");
    let (code, stderr) = cluster_up_with(
        &[
            "--remove-after-pid",
            &owner_pid,
            "--kubeconfig-out",
            kubeconfig.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let kc = cluster::kubeconfig::read(&kubeconfig).expect("kubeconfig written");
    let server = kc.clusters[0]
        .cluster
        .as_ref()
        .unwrap()
        .server
        .clone()
        .unwrap();
    let d = docker::connect().await.unwrap();
    // From "cluster <name> is up"; other lines may say "cluster" too (a note about the
    // cluster nextest's setup script recorded, for one).
    let name = stderr
        .lines()
        .find_map(|l| l.strip_prefix("cluster ")?.split_once(" is up"))
        .map(|(name, _)| name.to_string())
        .unwrap_or_else(|| panic!("no `cluster <name> is up` line in:\n{stderr}"));
    let label = format!("{}={name}", docker::KIND_CLUSTER_LABEL);
    assert_eq!(
        docker::containers_with_label(&d, &label)
            .await
            .unwrap()
            .len(),
        1,
        "node of {name} ({server}) while its owner lives"
    );
    // Its watcher removes it, so it is not recorded for `cluster down`: the record of a
    // cluster from a plain `cluster up` stays as it was.
    let record = std::fs::read_to_string(podcheck::paths::work_dir().join("cluster-up.json"))
        .unwrap_or_default();
    assert!(
        !record.contains(&name),
        "a cluster tied to a process is recorded for `down`:\n{record}"
    );
    owner.kill().await.unwrap();
    owner.wait().await.unwrap();
    within("the node to go after its owner exited", 30, async {
        while !docker::containers_with_label(&d, &label)
            .await
            .unwrap()
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    assert!(
        !kubeconfig.exists(),
        "the kubeconfig of a removed cluster is removed too"
    );
}

/// A node image whose kubeadm refuses `phase` (a wrapper in front of the real one, in a layer
/// on top of the node image under test), tagged `tag`; removed again by the caller.
async fn node_image_whose_kubeadm_refuses(phase: &str, tag: &str) -> String {
    node_image_with_kubeadm_wrapper(
        tag,
        &[
            &format!("if [ \"$1\" = {phase} ]; then"),
            &format!("  echo \"[{phase}] (podcheck test)\""),
            &format!("  echo \"error: podcheck test: this kubeadm refuses to {phase}\" >&2"),
            "  exit 3",
            "fi",
        ],
    )
    .await
}

/// The node image with `kubeadm` wrapped: `lines` of shell run first, then the real kubeadm
/// with the same arguments.
async fn node_image_with_kubeadm_wrapper(tag: &str, lines: &[&str]) -> String {
    let Some(base) = podcheck::config::NODE_IMAGE.get() else {
        panic!("PODCHECK_NODE_IMAGE must name the node image (run through ci/offline)");
    };
    let broken = format!("podcheck.local/node:{tag}");
    let quoted: Vec<String> = std::iter::once("#!/bin/sh")
        .chain(lines.iter().copied())
        .chain(std::iter::once("exec /usr/bin/kubeadm.real \"$@\""))
        .map(|line| format!("'{}'", line.replace('\'', r"'\''")))
        .collect();
    let dockerfile = format!(
        "FROM {base}\n\
         RUN mv /usr/bin/kubeadm /usr/bin/kubeadm.real \
          && printf '%s\\n' {} > /usr/bin/kubeadm \
          && chmod 755 /usr/bin/kubeadm\n",
        quoted.join(" ")
    );
    let mut build = tokio::process::Command::new("docker")
        .args(["build", "-q", "-t", &broken, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("docker build");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = build.stdin.take().unwrap();
        stdin.write_all(dockerfile.as_bytes()).await.unwrap();
    }
    assert!(build.wait().await.unwrap().success(), "docker build failed");
    broken
}

/// `cluster up` with a node image whose kubeadm refuses `phase`: it must fail with kubeadm's
/// own last lines and the kubelet's journal, and leave no container and no network behind.
async fn cluster_up_failing_at(phase: &str, tag: &str, extra: &[&str], want: &[&str]) {
    let broken = node_image_whose_kubeadm_refuses(phase, tag).await;
    let mut want = want.to_vec();
    want.push("(exit 3)");
    cluster_up_fails_with(&broken, extra, &want).await;
}

/// `cluster up` on `broken` must fail, print every line of `want` and the sections of a
/// bootstrap failure, and leave no container and no network behind.
async fn cluster_up_fails_with(broken: &str, extra: &[&str], want: &[&str]) {
    let broken = broken.to_string();
    let mut args = vec!["--node-image", broken.as_str()];
    args.extend_from_slice(extra);
    let (code, stderr) = within(
        "cluster up with a failing kubeadm",
        240,
        cluster_up_with(&args, &[]),
    )
    .await;
    let left = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("ancestor={broken}")])
        .output()
        .unwrap();
    let networks = std::process::Command::new("docker")
        .args([
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label={}", docker::OWNER_PID_LABEL),
        ])
        .output()
        .unwrap();
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &broken])
        .output();
    assert_ne!(code, 0, "cluster up succeeded with a kubeadm that fails");
    let common = [
        "--- last lines of its output ---",
        "--- last lines of the kubelet's journal ---",
        "--- containers restarted on the node, last lines of each ---",
        "free disk space on the node: ",
    ];
    for want in want.iter().chain(&common) {
        assert!(stderr.contains(want), "`{want}` missing from:\n{stderr}");
    }
    assert!(
        left.stdout.is_empty(),
        "node containers left behind: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    assert!(
        networks.stdout.is_empty(),
        "cluster networks left behind: {}",
        String::from_utf8_lossy(&networks.stdout)
    );
}

async fn a_failing_kubeadm_init_reports_its_output_and_the_kubelet_journal() {
    let _serial = SERIAL.lock().await;
    cluster_up_failing_at(
        "init",
        "kubeadm-init-fails",
        &[],
        &[
            "kubeadm init --skip-phases=preflight",
            "-control-plane (exit 3)",
            "error: podcheck test: this kubeadm refuses to init",
        ],
    )
    .await;
}

/// A real fault, not a refusing kubeadm: the control plane's etcd gets a disk of 2 MiB, too
/// small for its write-ahead log, so it crash-loops and the API server with it, as on a
/// host whose disk is full. The error must carry etcd's own log line and name the disk.
async fn a_control_plane_whose_disk_is_full_is_named_with_etcds_log_and_the_fix() {
    let _serial = SERIAL.lock().await;
    let broken = node_image_with_kubeadm_wrapper(
        "etcd-disk-full",
        &[
            "if [ \"$1\" = init ]; then",
            "  mkdir -p /var/lib/etcd && mount -t tmpfs -o size=2m tmpfs /var/lib/etcd || exit 97",
            // Waiting kubeadm's default 4 minutes for a control plane that cannot start
            // would prove nothing more.
            "  sed -i '/^kind: InitConfiguration/a timeouts:\\n  controlPlaneComponentHealthCheck: 40s' /kind/kubeadm.conf",
            "fi",
        ],
    )
    .await;
    cluster_up_fails_with(
        &broken,
        &[],
        &[
            "kubeadm init --skip-phases=preflight",
            "== etcd (pod kube-system_etcd-",
            "no space left on device",
            "too little for etcd and the kubelet",
            "free space on the Docker host",
        ],
    )
    .await;
}

async fn a_worker_that_cannot_join_is_named_with_its_kubeadm_lines_and_leaves_nothing() {
    let _serial = SERIAL.lock().await;
    cluster_up_failing_at(
        "join",
        "kubeadm-join-fails",
        &["--workers", "1"],
        &[
            "kubeadm join --config=/kind/kubeadm.conf",
            "-worker (exit 3)",
            "error: podcheck test: this kubeadm refuses to join",
        ],
    )
    .await;
}

/// A control plane and two workers on a network of their own: every node Ready, the fixture
/// image on every node, pods on different nodes reach each other by pod address, a Service
/// and its DNS name route from one node to pods on another, and afterwards no node and no
/// network is left.
async fn multi_node_cluster_routes_pods_and_services_across_nodes() {
    let _serial = SERIAL.lock().await;
    let started = std::time::Instant::now();
    let cluster = cluster::acquire(&ClusterOptions {
        workers: 2,
        ..kind_options()
    })
    .await
    .expect("a three-node kind cluster");
    eprintln!("three nodes up in {:.1} s", started.elapsed().as_secs_f64());
    let name = cluster.name().unwrap().to_string();
    let client = cluster.client();
    let nodes: Vec<String> = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(node_is_ready)
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(nodes.len(), 3, "three Ready nodes: {nodes:?}");
    assert_eq!(cluster.nodes().len(), 3, "three node containers");

    let ns = "podcheck-multinode-e2e";
    let kuard = tokio::task::spawn_blocking(kuard_image).await.unwrap();
    cluster
        .load_images(std::slice::from_ref(&kuard.archive))
        .await
        .expect("load the kuard image on every node");
    create_namespace(&client, ns).await;
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    for (i, node) in nodes.iter().enumerate() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": format!("kuard-{i}"), "labels": {"app": "kuard", "i": i.to_string()}},
            "spec": {"nodeName": node, "containers": [{
                "name": "kuard", "image": kuard.reference,
                "ports": [{"containerPort": 8080}],
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1}
            }]}
        }))
        .unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
    }
    let mut ips = Vec::new();
    for i in 0..nodes.len() {
        let p = within(
            "pod Ready on its node",
            90,
            await_condition(pods.clone(), &format!("kuard-{i}"), pod_ready),
        )
        .await
        .unwrap()
        .unwrap();
        ips.push(p.status.and_then(|s| s.pod_ip).unwrap());
    }
    // Each node hands out addresses from its own podCIDR.
    let subnets: std::collections::BTreeSet<&str> = ips
        .iter()
        .map(|ip| ip.rsplit_once('.').unwrap().0)
        .collect();
    assert_eq!(subnets.len(), 3, "pod addresses from three ranges: {ips:?}");

    // Pod to pod, from the first node to each other one.
    for (i, ip) in ips.iter().enumerate().skip(1) {
        // No `-T`: the fixture's busybox (Debian's 1.35) crashes on it; `within` bounds it.
        let url = format!("http://{ip}:8080/env/api");
        let out = within(
            "a pod on another node answers",
            30,
            exec_stdout(&pods, "kuard-0", &["wget", "-qO-", &url]),
        )
        .await;
        assert!(
            out.contains(&format!("kuard-{i}")),
            "kuard-0 on {} asked kuard-{i} on {} at {ip}; answer: {out}",
            nodes[0],
            nodes[i]
        );
    }
    // A Service whose only pod is on the last node, by its DNS name from the first node
    // (CoreDNS itself runs on the control plane).
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "far"},
        "spec": {"selector": {"app": "kuard", "i": "2"}, "ports": [{"port": 80, "targetPort": 8080}]}
    }))
    .unwrap();
    Api::<Service>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &svc)
        .await
        .unwrap();
    let url = format!("http://far.{ns}.svc.cluster.local/env/api");
    let answer = within("the Service answers from another node", 60, async {
        loop {
            let out = exec_stdout(&pods, "kuard-1", &["wget", "-qO-", &url]).await;
            if out.contains("kuard-2") {
                return out;
            }
            // The Service's rules reach every node's kube-proxy within its sync period.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    assert!(answer.contains("kuard-2"), "{answer}");

    cluster.shutdown().await;
    let d = docker::connect().await.unwrap();
    let left = docker::containers_with_label(&d, &format!("{}={name}", docker::KIND_CLUSTER_LABEL))
        .await
        .unwrap();
    assert!(
        left.is_empty(),
        "nodes left after shutdown: {:?}",
        left.iter().map(|c| &c.name).collect::<Vec<_>>()
    );
    let net = std::process::Command::new("docker")
        .args(["network", "ls", "-q", "--filter", &format!("name=^{name}$")])
        .output()
        .unwrap();
    assert!(net.stdout.is_empty(), "network {name} left after shutdown");
}

fn node_is_ready(n: &Node) -> bool {
    n.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// What `argv` prints in the pod's container (stderr included), whatever its exit code.
async fn exec_stdout(pods: &Api<Pod>, pod: &str, argv: &[&str]) -> String {
    let mut proc = pods
        .exec(pod, argv.to_vec(), &AttachParams::default().stderr(false))
        .await
        .unwrap();
    let stdout = tokio_util::io::ReaderStream::new(proc.stdout().unwrap())
        .map(|c| c.map(|b| b.to_vec()))
        .try_concat()
        .await
        .unwrap();
    proc.join().await.unwrap();
    String::from_utf8_lossy(&stdout).into_owned()
}

/// The standalone binary (`--features standalone`), copied into an empty directory and run
/// there with no cargo on PATH and an empty home, runs the whole catalogue against an
/// existing cluster: suites, manifests and the fixture images' binaries come from inside it,
/// and the reports land under that directory.
async fn standalone_binary_runs_the_catalogue_from_an_empty_directory() {
    let repo = podcheck::paths::repo_root();
    let target = repo.join("target").join("standalone");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let built = tokio::process::Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "podcheck",
            "--bin",
            "podcheck",
            "--features",
            "standalone",
        ])
        .arg("--manifest-path")
        .arg(repo.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR")
        // A build of its own (the outer cargo holds the main target directory): without
        // debug info it links in a fraction of the time.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .status()
        .await
        .expect("cargo build");
    assert!(built.success(), "building the standalone binary failed");

    let _serial = SERIAL.lock().await;
    let cluster = cluster::acquire(&kind_options())
        .await
        .expect("a kind cluster");
    let empty = tempfile::tempdir().unwrap();
    let bin = empty.path().join("podcheck");
    std::fs::copy(target.join("debug").join("podcheck"), &bin).unwrap();
    let home = empty.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let kubeconfig = std::fs::canonicalize(cluster.kubeconfig()).unwrap();
    let run = |args: Vec<std::ffi::OsString>| {
        let mut cmd = tokio::process::Command::new(&bin);
        cmd.args(args)
            .current_dir(empty.path())
            .env_clear()
            // No cargo, no source tree, nothing of podcheck's in the environment.
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("HOME", &home);
        cmd.output()
    };
    let out = within(
        "the standalone binary runs the catalogue",
        600,
        run(vec![
            "run".into(),
            "--kubeconfig".into(),
            kubeconfig.into_os_string(),
            // As many cases at once as the suite trials run here (.ci/run: 8 on 2 cores);
            // podcheck's default of 16 loads a 2-core kubelet into late probe results.
            "--parallel".into(),
            podcheck::config::PARALLEL
                .get()
                .unwrap_or_else(|| "8".into())
                .into(),
        ]),
    )
    .await
    .unwrap();
    cluster.shutdown().await;
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "standalone run:\n{stderr}");
    let closing = stderr
        .lines()
        .find(|l| l.contains(" passed, ") && l.ends_with(" skipped"))
        .unwrap_or_else(|| panic!("no closing line in:\n{stderr}"));
    assert!(closing.contains(" 0 failed, 0 could not run"), "{closing}");
    let report = empty.path().join("reports").join("podcheck.json");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("reports under the directory"))
            .unwrap();
    let cases = json["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 30,
        "the whole catalogue ran: {} cases",
        cases.len()
    );
    // The suites it ran are the ones it carries, written out under its cache, not the
    // checkout it was built from.
    let file = json["suites"][0][1]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        file.starts_with(&home.join(".cache/podcheck").display().to_string()),
        "suite file {file} is not from the binary's own copy"
    );
    let export = empty.path().join("mine");
    let out = run(vec![
        "suites".into(),
        "export".into(),
        export.clone().into_os_string(),
    ])
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "suites export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(export.join("suites/behaviours.yaml").is_file());
    assert!(export.join("fixtures/manifests/kuard-pod.yaml").is_file());
}

/// `--registry`: podcheck pushes its images to a real registry server (distribution, on the
/// host), a kind cluster set up to pull from it (containerd `hosts.toml`) pulls them, and the
/// whole catalogue passes on that cluster with the pushed references.
async fn a_cluster_pulls_the_fixture_images_from_a_registry_and_runs_the_catalogue() {
    let server = RegistryServer::start(false).await;
    let address = format!(
        "http://{}:{}/podcheck-e2e",
        bridge_gateway().await,
        server.port
    );
    let registry: podcheck::image::registry::Registry = address.parse().unwrap();
    let built = tokio::task::spawn_blocking(|| {
        podcheck::image::build_all(&podcheck::image::default_out_dir())
    })
    .await
    .unwrap()
    .expect("fixture images");
    let pushed = podcheck::image::registry::push(&registry, &built)
        .await
        .expect("push to the test's registry");
    let kuard = pushed.iter().find(|p| p.name == "kuard").unwrap();
    let offline = built.iter().find(|b| b.name == "kuard").unwrap();
    assert_eq!(
        kuard.digest, offline.digest,
        "the push keeps the manifest digest"
    );
    assert!(
        kuard
            .reference
            .starts_with(&format!("{}/podcheck-e2e/kuard:", registry.host)),
        "{}",
        kuard.reference
    );

    let _serial = SERIAL.lock().await;
    let cluster = cluster::acquire(&ClusterOptions {
        registry: Some(registry.clone()),
        ..kind_options()
    })
    .await
    .expect("a kind cluster that pulls from the registry");
    let client = cluster.client();
    let ns = "podcheck-registry-e2e";
    create_namespace(&client, ns).await;
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "kuard"},
        "spec": {"containers": [{"name": "kuard", "image": kuard.reference,
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1}}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let ready = within(
        "the pulled kuard Ready",
        90,
        await_condition(pods.clone(), "kuard", pod_ready),
    )
    .await
    .unwrap()
    .unwrap();
    let image_id = ready.status.unwrap().container_statuses.unwrap()[0]
        .image_id
        .clone();
    assert!(
        image_id.ends_with(&kuard.digest),
        "the container runs the pushed image: imageID {image_id}, pushed {}",
        kuard.digest
    );
    // The kubelet's own account: it pulled, from the registry, what the pod names.
    let events = Api::<k8s_openapi::api::core::v1::Event>::namespaced(client.clone(), ns);
    let want = format!("Successfully pulled image \"{}\"", kuard.reference);
    let pulled = within(
        "a Pulled event",
        30,
        kube::runtime::watcher(events, kube::runtime::watcher::Config::default())
            .applied_objects()
            .try_filter(|e| {
                futures::future::ready(
                    e.reason.as_deref() == Some("Pulled")
                        && e.message.as_deref().is_some_and(|m| m.contains(&want)),
                )
            })
            .boxed()
            .try_next(),
    )
    .await
    .unwrap();
    assert!(pulled.is_some(), "no event says: {want}");
    let log = server.log();
    let manifest_get = format!("\"GET /v2/podcheck-e2e/kuard/manifests/{}", kuard.digest);
    assert!(
        log.lines()
            .any(|l| l.contains(&manifest_get) && l.contains("\"containerd/")),
        "containerd fetched no manifest from the registry; its log:\n{log}"
    );

    let kubeconfig = std::fs::canonicalize(cluster.kubeconfig()).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let json_report = reports.path().join("podcheck.json");
    let started = std::time::Instant::now();
    let out = within(
        "the catalogue with --registry",
        600,
        tokio::process::Command::new(env!("CARGO_BIN_EXE_podcheck"))
            .arg("run")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--registry", &address, "--parallel"])
            .arg(
                podcheck::config::PARALLEL
                    .get()
                    .unwrap_or_else(|| "8".into()),
            )
            .arg("--json")
            .arg(&json_report)
            .arg("--junit")
            .arg(reports.path().join("podcheck.junit.xml"))
            .output(),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    cluster.shutdown().await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "run --registry:\n{text}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_report).unwrap()).unwrap();
    assert_eq!(
        json["facts"]["images_mode"], "registry",
        "{}",
        json["facts"]
    );
    let cases = json["cases"].as_array().unwrap();
    assert!(
        cases.len() >= 30,
        "the whole catalogue ran: {}",
        cases.len()
    );
    eprintln!(
        "catalogue with pulls from the registry: {} cases in {:.1} s",
        cases.len(),
        took.as_secs_f64()
    );
}

/// `--images book-like`: podcheck's kuard with its extras off (the `kuard-book` image),
/// answering only as the book's kuard (v0.10.0) does. On one cluster the whole catalogue
/// runs with it: every case that does not say `needs: [kuard-extras]` must pass (else it
/// uses something the book's image lacks, and would fail there, as four pod-sharing cases
/// once did), and every case that says so is "not applicable". Cases that need more nodes
/// than the one here, or are marked `ignore:`, are left out as in any run.
async fn every_case_without_the_extras_passes_with_the_book_like_image() {
    let built = tokio::task::spawn_blocking(|| {
        podcheck::image::build_all(&podcheck::image::default_out_dir())
    })
    .await
    .unwrap()
    .expect("fixture images");
    let book: Vec<std::path::PathBuf> = built
        .iter()
        .filter(|i| i.name == "kuard-book")
        .map(|i| i.archive.clone())
        .collect();
    assert_eq!(book.len(), 1, "build_all builds kuard-book");

    let _serial = SERIAL.lock().await;
    let cluster = cluster::acquire(&kind_options())
        .await
        .expect("a kind cluster");
    cluster
        .load_images(&book)
        .await
        .expect("loading kuard-book into the node");
    let kubeconfig = std::fs::canonicalize(cluster.kubeconfig()).unwrap();
    let reports = tempfile::tempdir().unwrap();
    let json_report = reports.path().join("podcheck.json");
    let out = within(
        "the catalogue with --images book-like",
        900,
        tokio::process::Command::new(env!("CARGO_BIN_EXE_podcheck"))
            .arg("run")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--images", "book-like", "--parallel"])
            .arg(std::env::var("PODCHECK_PARALLEL").unwrap_or_else(|_| "8".into()))
            .arg("--json")
            .arg(&json_report)
            .output(),
    )
    .await
    .unwrap();
    cluster.shutdown().await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json_report).unwrap_or_else(|e| panic!("no JSON report ({e}):\n{text}")),
    )
    .unwrap();
    assert_eq!(
        json["facts"]["images_mode"], "book-like",
        "{}",
        json["facts"]
    );
    let suites = podcheck::suite::load(&[]).expect("the repository's suites");
    let (mut passed, mut not_applicable, mut wrong) = (0, 0, Vec::new());
    for c in json["cases"].as_array().unwrap() {
        let id = format!(
            "{}::{}",
            c["suite"].as_str().unwrap(),
            c["case"].as_str().unwrap()
        );
        let case = suites
            .cases()
            .find(|k| k.id() == id)
            .unwrap_or_else(|| panic!("{id} is not a case of suites/"));
        let status = c["status"].as_str().unwrap_or_default();
        let reason = c["reason"].as_str().unwrap_or_default();
        let extras = case.needs.iter().any(|n| n == "kuard-extras");
        if extras {
            if status == "skipped" && reason.starts_with("not applicable") {
                not_applicable += 1;
            } else {
                wrong.push(format!("{id} needs kuard-extras but was {status} {reason}"));
            }
        } else if case.nodes > 1 || case.ignore.is_some() {
            if status != "skipped" && status != "passed" {
                wrong.push(format!("{id}: {status} {}", c["failure"]));
            }
        } else if status == "passed" {
            passed += 1;
        } else {
            wrong.push(format!("{id}: {status} {reason} {}", c["failure"]));
        }
    }
    assert!(
        wrong.is_empty(),
        "with the book-like image:\n{}\n\nthe run:\n{text}",
        wrong.join("\n")
    );
    assert!(
        passed >= 20 && not_applicable >= 5,
        "{passed} passed, {not_applicable} not applicable: the catalogue did not run\n{text}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "run --images book-like:\n{text}"
    );
    eprintln!("book-like: {passed} cases passed, {not_applicable} not applicable");
}

/// A registry that refuses the push, or none at the address: the error names the address,
/// what the registry answered (the HTTP status) and what to do; nothing is half-reported.
async fn a_registry_that_refuses_or_cannot_be_reached_is_named_with_the_fix() {
    let built = tokio::task::spawn_blocking(|| {
        podcheck::image::build_all(&podcheck::image::default_out_dir())
    })
    .await
    .unwrap()
    .expect("fixture images");
    let read_only = RegistryServer::start(true).await;
    let address = format!("http://127.0.0.1:{}/podcheck", read_only.port);
    let e = podcheck::image::registry::push(&address.parse().unwrap(), &built)
        .await
        .expect_err("a read-only registry takes no push")
        .to_string();
    for want in [
        address.as_str(),
        "refused the push of",
        "HTTP 405",
        "does not take pushes",
    ] {
        assert!(e.contains(want), "{want:?} missing from: {e}");
    }

    // The port the read-only registry had, once it is gone: nothing listens there.
    let port = read_only.port;
    drop(read_only);
    let address = format!("http://127.0.0.1:{port}");
    let e = within(
        "the unreachable error",
        30,
        podcheck::image::registry::push(&address.parse().unwrap(), &built),
    )
    .await
    .expect_err("nothing listens there")
    .to_string();
    for want in [
        format!("cannot reach the registry at http://127.0.0.1:{port}/v2/"),
        "Connection refused".to_string(),
        "check the address".to_string(),
    ] {
        assert!(e.contains(&want), "{want:?} missing from: {e}");
    }

    // A bad address is bad input: exit 2 before anything is built or started.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_podcheck"))
        .args(["run", "--registry", "ftp://registry.example"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("scheme `ftp://`"), "{stderr}");
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        trial(
            "kind_cluster_runs_real_workloads_and_is_removed_after",
            true,
            kind_cluster_runs_real_workloads_and_is_removed_after,
        ),
        // Run only as the child of node_container_is_removed_when_a_test_panics.
        trial(
            "child_panics_holding_a_cluster",
            true,
            child_panics_holding_a_cluster,
        )
        .with_ignored_flag(true),
        trial(
            "node_container_is_removed_when_a_test_panics",
            true,
            node_container_is_removed_when_a_test_panics,
        ),
        trial(
            "interrupted_cluster_up_removes_its_node",
            true,
            interrupted_cluster_up_removes_its_node,
        ),
        trial(
            "without_docker_the_error_says_so_and_how_to_start_one",
            false,
            without_docker_the_error_says_so_and_how_to_start_one,
        ),
        trial(
            "a_missing_node_image_is_named_with_the_offline_build_command",
            true,
            a_missing_node_image_is_named_with_the_offline_build_command,
        ),
        trial(
            "cluster_up_tied_to_a_process_goes_when_that_process_exits",
            true,
            cluster_up_tied_to_a_process_goes_when_that_process_exits,
        ),
        trial(
            "a_failing_kubeadm_init_reports_its_output_and_the_kubelet_journal",
            true,
            a_failing_kubeadm_init_reports_its_output_and_the_kubelet_journal,
        ),
        trial(
            "a_control_plane_whose_disk_is_full_is_named_with_etcds_log_and_the_fix",
            true,
            a_control_plane_whose_disk_is_full_is_named_with_etcds_log_and_the_fix,
        ),
        trial(
            "a_worker_that_cannot_join_is_named_with_its_kubeadm_lines_and_leaves_nothing",
            true,
            a_worker_that_cannot_join_is_named_with_its_kubeadm_lines_and_leaves_nothing,
        ),
        trial(
            "multi_node_cluster_routes_pods_and_services_across_nodes",
            true,
            multi_node_cluster_routes_pods_and_services_across_nodes,
        ),
        trial(
            "standalone_binary_runs_the_catalogue_from_an_empty_directory",
            true,
            standalone_binary_runs_the_catalogue_from_an_empty_directory,
        ),
        trial(
            "a_cluster_pulls_the_fixture_images_from_a_registry_and_runs_the_catalogue",
            true,
            a_cluster_pulls_the_fixture_images_from_a_registry_and_runs_the_catalogue,
        ),
        trial(
            "every_case_without_the_extras_passes_with_the_book_like_image",
            true,
            every_case_without_the_extras_passes_with_the_book_like_image,
        ),
        trial(
            "a_registry_that_refuses_or_cannot_be_reached_is_named_with_the_fix",
            false,
            a_registry_that_refuses_or_cannot_be_reached_is_named_with_the_fix,
        ),
        trial(
            "the_api_server_going_away_mid_run_ends_the_run_and_passes_nothing_unchecked",
            true,
            the_api_server_going_away_mid_run_ends_the_run_and_passes_nothing_unchecked,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}
