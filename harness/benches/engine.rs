//! Measures the suite engine against a real cluster (`cargo bench -p podcheck --bench engine`;
//! `PODCHECK_KUBECONFIG` picks a running cluster, else one is started):
//!
//! 1. harness overhead: 50 trivial cases (create a ConfigMap, assert on it) run 50 at once;
//!    overhead = wall time of the run minus the longest case; plus this process's CPU time
//!    over the run and its peak RSS;
//! 2. detection latency: a `wait` step watches a ConfigMap for a value; the value is written;
//!    latency = from the start of the write to the step's return. Median and p95 of 30.

use std::time::{Duration, Instant};

use podcheck::cluster::ClusterOptions;
use podcheck::fields::template::Vars;
use podcheck::runner::pipeline;
use podcheck::runner::setup::SetupOptions;
use podcheck::runner::{self, Environment, Quiet};
use podcheck::steps::{CaseEnv, LoadCx, Step, StepCx};
use tokio_util::sync::CancellationToken;

const CASES: usize = 50;
const SAMPLES: usize = 30;

fn proc_cpu() -> Duration {
    // utime + stime, fields 14 and 15 of /proc/self/stat, in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = after
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // After the command name: state is field 3 (not numeric, filtered out), so utime and
    // stime are at indices 10 and 11 of the numeric fields.
    let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn trivial_suite(dir: &std::path::Path) {
    let mut y = String::from("suite: bench\ncases:\n");
    for i in 0..CASES {
        y.push_str(&format!(
            "  - name: trivial-{i}\n    covers: [MANIFEST-PERSIST]\n    steps:\n      - apply:\n          manifest: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: c}}, data: {{k: v{i}}}}}\n      - assert: {{object: configmap/c, expr: \"data.k == 'v{i}'\"}}\n"
        ));
    }
    std::fs::write(dir.join("bench.yaml"), y).expect("write the bench suite");
}

async fn overhead(env: &Environment) {
    let dir = tempfile::tempdir().expect("tempdir");
    trivial_suite(dir.path());
    let suites =
        podcheck::suite::load(&[dir.path().to_path_buf()]).unwrap_or_else(|e| panic!("{e}"));
    let cases: Vec<_> = suites
        .cases()
        .filter(|c| c.suite == "bench")
        .cloned()
        .collect();
    let cpu0 = proc_cpu();
    let t0 = Instant::now();
    let results = runner::run_cases(env, &cases, CASES, 0, &CancellationToken::new(), &Quiet).await;
    let wall = t0.elapsed();
    let cpu = proc_cpu() - cpu0;
    let longest = results.iter().map(|r| r.duration).max().unwrap_or_default();
    let failed = results.iter().filter(|r| r.status.is_failure()).count();
    let steps: Duration = results
        .iter()
        .flat_map(|r| r.steps.iter())
        .map(|s| s.duration)
        .max()
        .unwrap_or_default();
    println!(
        "overhead: {CASES} trivial cases, {CASES} at a time: wall {:.2}s, longest case {:.2}s, overhead {:.2}s; slowest step {:.3}s; {failed} failed",
        wall.as_secs_f64(),
        longest.as_secs_f64(),
        (wall.saturating_sub(longest)).as_secs_f64(),
        steps.as_secs_f64()
    );
    println!(
        "overhead: process CPU during the run {:.2}s, peak RSS {} MiB",
        cpu.as_secs_f64(),
        peak_rss_kib() / 1024
    );
}

async fn latency(env: &Environment) {
    let ns = format!("pc-{}-bench-latency", env.run_id);
    podcheck::runner::namespace::create(
        &env.client,
        &ns,
        &env.run_id,
        "bench::latency",
        Instant::now() + Duration::from_secs(60),
    )
    .await
    .expect("namespace");
    let dir = tempfile::tempdir().expect("tempdir");
    let case_env = CaseEnv {
        client: env.client.clone(),
        namespace: ns.clone(),
        vars: Vars {
            namespace: ns.clone(),
            ..Vars::default()
        },
        kubectl: env
            .kubectl
            .for_namespace(&ns, None, dir.path())
            .expect("kubeconfig"),
        resolver: env.resolver.clone(),
        workdir: dir.path().to_path_buf(),
        suite_dir: dir.path().to_path_buf(),
        cancel: CancellationToken::new(),
    };
    let parse = |y: &str| {
        let mut s: Step = serde_saphyr::from_str(y).expect("step");
        s.validate(&LoadCx { dir: dir.path() }).expect("valid step");
        s
    };
    let create = parse(
        "apply: {manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: lat}, data: {n: '0'}}}",
    );
    create
        .run(&mut StepCx::new(
            &case_env,
            Instant::now() + Duration::from_secs(30),
        ))
        .await
        .expect("create");
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(env.client.clone(), &ns);
    let mut samples = Vec::new();
    for i in 1..=SAMPLES {
        let wait = parse(&format!(
            "wait: {{object: configmap/lat, expr: \"data.n == '{i}'\", timeout: 30s}}"
        ));
        let env_ref = &case_env;
        let waiter = async move {
            wait.run(&mut StepCx::new(
                env_ref,
                Instant::now() + Duration::from_secs(30),
            ))
            .await
            .expect("wait");
            Instant::now()
        };
        let writer = async {
            // Let the watch be established before the change.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let t0 = Instant::now();
            let patch = serde_json::json!({"data": {"n": i.to_string()}});
            api.patch(
                "lat",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
            .expect("patch");
            t0
        };
        let (done, t0) = tokio::join!(waiter, writer);
        samples.push(done.saturating_duration_since(t0));
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "detection latency ({SAMPLES} samples, write start -> wait step returns): median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        ms(p(0.5)),
        ms(p(0.95)),
        ms(samples[samples.len() - 1])
    );
    let _ = podcheck::runner::namespace::delete(
        &env.client,
        &ns,
        Instant::now() + Duration::from_secs(60),
        &|| {},
    )
    .await;
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test` lists benches; there is nothing to list without a cluster.
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let setup = SetupOptions {
            cluster: ClusterOptions::from_env(),
            images: None,
            keep_on_failure: false,
            strict_wording: false,
            run_id: runner::new_run_id(),
            placement: Default::default(),
        };
        let p = pipeline::start(setup, None, &CancellationToken::new())
            .await
            .unwrap_or_else(|e| panic!("no cluster: {}", podcheck::errors::chain(&e)));
        println!(
            "cluster: {} {}",
            p.env.info.provider, p.env.info.server_version
        );
        latency(&p.env).await;
        overhead(&p.env).await;
        p.cluster.shutdown().await;
    });
}
