//! Running kubectl against the run's cluster.
//!
//! Which binary: [`crate::cluster::Cluster::kubectl`] decides (the node's own kubectl for
//! kind clusters, so client and server versions match; else `PODCHECK_KUBECTL` or PATH).
//! Each case gets its own kubeconfig whose context points at the case's namespace, so a
//! suite writes `kubectl get pods` exactly as the chapter does, without `-n`.
//! kubectl runs with `TZ=UTC` (so `describe` prints times that compare with the API's) and
//! without the caller's `KUBECONFIG`, and is killed when its deadline passes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

#[derive(Debug, thiserror::Error)]
pub enum KubectlError {
    #[error("cannot run kubectl `{bin}`: {source}")]
    Spawn {
        bin: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` did not finish within {:.1}s{}", .after.as_secs_f64(), so_far(.output))]
    Timeout {
        after: Duration,
        command: String,
        /// What it had printed by then (stdout, then stderr).
        output: String,
    },
    #[error("kubectl I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot read the kubeconfig `{path}`: {reason}")]
    Kubeconfig { path: PathBuf, reason: String },
}

/// A kubectl binary bound to a kubeconfig.
#[derive(Clone, Debug)]
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
}

/// What one kubectl invocation did.
#[derive(Clone, Debug)]
pub struct Output {
    /// The command line as a person would type it (without `--kubeconfig`).
    pub command: String,
    /// `None` when kubectl was killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Kubectl {
    pub fn new(bin: impl Into<PathBuf>, kubeconfig: impl Into<PathBuf>) -> Self {
        Kubectl {
            bin: bin.into(),
            kubeconfig: kubeconfig.into(),
        }
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The same kubectl with a kubeconfig whose current context uses `namespace`,
    /// written to `dir/kubeconfig`. `context` picks a context other than the current one.
    pub fn for_namespace(
        &self,
        namespace: &str,
        context: Option<&str>,
        dir: &Path,
    ) -> Result<Kubectl, KubectlError> {
        let err = |reason: String| KubectlError::Kubeconfig {
            path: self.kubeconfig.clone(),
            reason,
        };
        let mut kc = kube::config::Kubeconfig::read_from(&self.kubeconfig)
            .map_err(|e| err(e.to_string()))?;
        if let Some(c) = context {
            kc.current_context = Some(c.to_string());
        }
        let current = kc
            .current_context
            .clone()
            .ok_or_else(|| err("it has no current context".into()))?;
        let named = kc
            .contexts
            .iter_mut()
            .find(|c| c.name == current)
            .ok_or_else(|| err(format!("it has no context `{current}`")))?;
        let ctx = named
            .context
            .as_mut()
            .ok_or_else(|| err(format!("context `{current}` is empty")))?;
        ctx.namespace = Some(namespace.to_string());
        std::fs::create_dir_all(dir)?;
        let path = dir.join("kubeconfig");
        // JSON is YAML: kubectl reads it, and serde_json keeps kube's field names.
        let text = serde_json::to_vec_pretty(&kc).map_err(|e| err(e.to_string()))?;
        write_private(&path, &text)?;
        Ok(Kubectl {
            bin: self.bin.clone(),
            kubeconfig: path,
        })
    }

    /// Run kubectl with `args`, feeding `stdin`, killed at `deadline`.
    pub async fn run(
        &self,
        args: &[String],
        stdin: Option<&[u8]>,
        deadline: Instant,
    ) -> Result<Output, KubectlError> {
        let command = std::iter::once("kubectl".to_string())
            .chain(args.iter().map(|a| shell_quote(a)))
            .collect::<Vec<_>>()
            .join(" ");
        let started = Instant::now();
        let mut child = tokio::process::Command::new(&self.bin)
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args(args)
            .env("TZ", "UTC")
            .env_remove("KUBECONFIG")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| KubectlError::Spawn {
                bin: self.bin.clone(),
                source,
            })?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let data = data.to_vec();
            // Write in the background: kubectl may not read stdin before producing output.
            tokio::spawn(async move {
                let _ = pipe.write_all(&data).await;
                let _ = pipe.shutdown().await;
            });
        }
        // Read as it comes, so that a kubectl killed at its deadline still says what it
        // printed (often the cause: `wget: bad address …`).
        let stdout = Captured::reading(child.stdout.take());
        let stderr = Captured::reading(child.stderr.take());
        let left = deadline.saturating_duration_since(Instant::now());
        let status = match tokio::time::timeout(left, child.wait()).await {
            Ok(r) => r?,
            Err(_) => {
                let _ = child.kill().await;
                return Err(KubectlError::Timeout {
                    after: left,
                    command,
                    output: format!("{}{}", stdout.so_far(), stderr.so_far()),
                });
            }
        };
        Ok(Output {
            command,
            code: status.code(),
            stdout: stdout.finish().await,
            stderr: stderr.finish().await,
            elapsed: started.elapsed(),
        })
    }
}

/// An output stream read in the background as it comes: whole when the process ends, or what
/// it had said so far when the process is killed.
pub struct Captured {
    text: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl Captured {
    pub fn reading(r: Option<impl tokio::io::AsyncRead + Unpin + Send + 'static>) -> Self {
        let text = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = text.clone();
        let reader = r.map(|mut r| {
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut chunk = [0u8; 8192];
                while let Ok(n) = r.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .expect("output lock")
                        .extend_from_slice(&chunk[..n]);
                }
            })
        });
        Captured { text, reader }
    }

    /// What was read until now.
    pub fn so_far(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().expect("output lock")).into_owned()
    }

    /// Everything, once the stream has ended.
    pub async fn finish(mut self) -> String {
        if let Some(r) = self.reader.take() {
            let _ = r.await;
        }
        self.so_far()
    }
}

/// `; its output so far ends: …` (the last lines of it), or nothing.
pub fn so_far(output: &str) -> String {
    let tail = output
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect::<Vec<_>>();
    if tail.is_empty() {
        return "; it printed nothing".into();
    }
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    format!(
        "; its output so far ends: {}",
        crate::matchers::text::cut(&tail.join(" / "), 300)
    )
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    o.mode(0o600);
    o.open(path)?.write_all(data)
}

/// Quote an argument for display the way a shell would need it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(shell_quote("get"), "get");
        assert_eq!(shell_quote("app=kuard"), "app=kuard");
        assert_eq!(shell_quote("echo hi"), "'echo hi'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn writes_a_namespaced_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.kubeconfig");
        std::fs::write(
            &src,
            "apiVersion: v1\nkind: Config\ncurrent-context: kind\nclusters:\n- name: kind\n  cluster: {server: 'https://127.0.0.1:6443'}\ncontexts:\n- name: kind\n  context: {cluster: kind, user: admin}\nusers:\n- name: admin\n  user: {token: t}\n",
        )
        .unwrap();
        let k = Kubectl::new("kubectl", &src)
            .for_namespace("pc-1", None, &dir.path().join("case"))
            .unwrap();
        let back = kube::config::Kubeconfig::read_from(k.kubeconfig()).unwrap();
        assert_eq!(
            back.contexts[0]
                .context
                .as_ref()
                .unwrap()
                .namespace
                .as_deref(),
            Some("pc-1")
        );
        assert_eq!(back.current_context.as_deref(), Some("kind"));
        let e = Kubectl::new("kubectl", &src)
            .for_namespace("pc-1", Some("nope"), dir.path())
            .unwrap_err();
        assert!(e.to_string().contains("it has no context `nope`"), "{e}");
    }

    #[tokio::test]
    async fn runs_with_stdin_and_is_killed_at_its_deadline() {
        use std::os::unix::fs::PermissionsExt;
        // A stand-in kubectl: the wrapper only cares about processes.
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("kubectl");
        std::fs::write(
            &bin,
            "#!/bin/sh\ncase \"$1\" in --kubeconfig=*) shift;; *) exit 99;; esac\n\
             case \"$1\" in echo) cat; echo \"tz=$TZ\" >&2; exit 3;; sleep) echo \"wget: bad address 'kuard.other'\" >&2; sleep 5;; esac\n",
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let k = Kubectl::new(&bin, "/dev/null");
        let far = Instant::now() + Duration::from_secs(10);
        let o = k.run(&["echo".into()], Some(b"in"), far).await.unwrap();
        assert_eq!(
            (o.code, o.stdout.as_str(), o.stderr.as_str()),
            (Some(3), "in", "tz=UTC\n")
        );
        assert_eq!(o.command, "kubectl echo");
        let started = Instant::now();
        let e = k
            .run(
                &["sleep".into()],
                None,
                Instant::now() + Duration::from_millis(200),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, KubectlError::Timeout { .. }), "{e}");
        // What it printed before it was killed says why.
        assert!(
            e.to_string()
                .ends_with("did not finish within 0.2s; its output so far ends: wget: bad address 'kuard.other'"),
            "{e}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
