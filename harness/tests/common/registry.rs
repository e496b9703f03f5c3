//! A real registry server for the `--registry` tests: distribution's `docker-registry`
//! (Debian's package), started on the host on a free port with storage of its own, and
//! stopped when dropped. The cluster's nodes reach it at the Docker bridge's gateway address.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub struct RegistryServer {
    _child: tokio::process::Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl RegistryServer {
    /// Start a registry; `read_only` refuses every push, as a registry in maintenance does.
    pub async fn start(read_only: bool) -> Self {
        let bin = which("docker-registry").unwrap_or_else(|| {
            panic!(
                "no docker-registry on PATH: `apt-get install docker-registry` (ci/offline does)"
            )
        });
        let dir = tempfile::tempdir().unwrap();
        // A port the kernel just gave out and took back: free, unless another process takes it
        // in the moment before the registry binds it (its log then says so).
        let port = std::net::TcpListener::bind("0.0.0.0:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maintenance = if read_only {
            "  maintenance:\n    readonly:\n      enabled: true\n"
        } else {
            ""
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n{maintenance}http:\n  addr: 0.0.0.0:{port}\n",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = tokio::process::Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting docker-registry");
        let server = RegistryServer {
            _child: child,
            dir,
            port,
        };
        server.wait_until_answering().await;
        server
    }

    async fn wait_until_answering(&self) {
        podcheck::image::registry::ensure_crypto_provider();
        let url = format!("http://127.0.0.1:{}/v2/", self.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match reqwest::get(&url).await {
                Ok(r) if r.status().is_success() => return,
                other if Instant::now() > deadline => panic!(
                    "the registry does not answer at {url}: {other:?}; its log:\n{}",
                    self.log()
                ),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Everything the registry logged: one line per request it served.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file())
}

/// The host's address on Docker's default bridge: where a container (a kind node) reaches a
/// server on the host, and an address of the host's own, so the push can use it too.
pub async fn bridge_gateway() -> String {
    let docker = podcheck::cluster::docker::connect().await.expect("docker");
    podcheck::cluster::docker::host_address(&docker, "bridge")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string()
}
