//! `exec`: run a command in a container and check its exit code and output.
//!
//! ```yaml
//! - exec: { pod: kuard, command: [ash, -c, 'echo $((6*7))'], stdout: { equals: "42" } }
//! - exec: { pod: kuard, command: [bash], exit: nonzero,
//!           stderr: 'exec: "bash": executable file not found in $PATH' }
//! - exec: { pod: kuard, command: [ash], tty: true, stdin: "hostname\nexit\n", stdout: kuard }
//! ```
//!
//! `via: api` (default) talks to the API server's exec subresource over a WebSocket; this
//! is also how a TTY is had without a terminal on our side (`kubectl exec -it` needs one).
//! `via: kubectl` runs `kubectl exec [-i]` for cases about kubectl's own behaviour.
//! When the runtime cannot even start the command, the API answers with a failure status
//! and no exit code: its message goes to stderr and the exit code is 1, which is what
//! kubectl does with it.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use super::outcome::{self, Exit, Output};
use crate::fields::Dur;
use crate::fields::template::Template;
use crate::matchers::text::{TextSpec, quote_block};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    #[default]
    Api,
    Kubectl,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exec {
    pub pod: Template,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Template>,
    pub command: Vec<Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<Template>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub via: Via,
    #[serde(default)]
    pub exit: Exit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<TextSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<TextSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
}

impl StepKind for Exec {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    fn timeout_field(&self) -> Option<Dur> {
        self.timeout
    }

    fn validate(&mut self, _: &LoadCx<'_>) -> Result<(), Invalid> {
        if self.command.is_empty() {
            return Err("`command` is empty".into());
        }
        if self.tty && self.via == Via::Kubectl {
            return Err(
                "`tty: true` needs `via: api`: `kubectl exec -t` needs a terminal on our side"
                    .into(),
            );
        }
        if self.tty && self.stderr.is_some() {
            return Err("with `tty: true` stderr is merged into stdout; check `stdout`".into());
        }
        Ok(())
    }
    fn summary(&self) -> String {
        let argv = self
            .command
            .iter()
            .map(|a| crate::kubectl::shell_quote(a.raw()))
            .collect::<Vec<_>>()
            .join(" ");
        format!(
            "pod/{}{} -- {argv}",
            self.pod,
            if self.tty { " (tty)" } else { "" }
        )
    }
    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let vars = cx.vars();
        let pod = self.pod.render(vars)?;
        let container = self
            .container
            .as_ref()
            .map(|c| c.render(vars))
            .transpose()?;
        let argv = self
            .command
            .iter()
            .map(|a| a.render(vars))
            .collect::<Result<Vec<_>, _>>()?;
        let stdin = self.stdin.as_ref().map(|s| s.render(vars)).transpose()?;
        let ran = match self.via {
            Via::Api => {
                let api: Api<Pod> = Api::namespaced(cx.client(), cx.ns());
                let shown = format!("exec in {pod}: {}", self.summary());
                // What the command printed, as it comes: a command still running at the
                // deadline is told by the last of it (`wget: bad address …`).
                let so_far = SoFar::default();
                let ran = cx
                    .bounded(
                        "exec",
                        exec_api(&api, &pod, container, argv, stdin, self.tty, shown, &so_far),
                    )
                    .await;
                match ran {
                    Err(StepError::Timeout(mut t)) => {
                        let out = so_far.text();
                        if let Some(m) = &mut t.last {
                            m.summary = format!("{}{}", m.summary, crate::kubectl::so_far(&out));
                            m.actual =
                                format!("still running; its output so far: {}", quote_block(&out));
                        }
                        return Err(StepError::Timeout(t));
                    }
                    r => r?,
                }
            }
            Via::Kubectl => {
                let mut args = vec!["exec".to_string(), pod.clone()];
                if let Some(c) = container {
                    args.extend(["-c".to_string(), c]);
                }
                if stdin.is_some() {
                    args.push("-i".into());
                }
                args.push("--".into());
                args.extend(argv);
                cx.bounded("kubectl exec", async {
                    Ok(cx
                        .env
                        .kubectl
                        .run(&args, stdin.as_deref().map(str::as_bytes), cx.deadline)
                        .await?)
                })
                .await?
            }
        };
        outcome::check(cx, &ran, self.exit, &self.stdout, &self.stderr)
    }
}

/// Play the terminal for an interactive program: type the input once it has shown its first
/// output (a shell's prompt; what is typed earlier can be lost when the terminal attaches),
/// and keep the input open until the program ends: an end of input would make a shell exit
/// before it ran anything.
///
/// A cursor-position query (`ESC[6n`, which busybox's line editor sends at a prompt when no
/// input is waiting) is answered as a terminal would, but only in the first output, ahead of
/// the typing. A later answer would reach the program behind input already typed, in the
/// middle of whatever command that input started, and the terminal would echo it into that
/// command's output (CI saw `^[[1;1R/dev/pts/0` from `tty`). busybox does not wait for the
/// answer, so leaving the later queries unanswered changes nothing else.
async fn terminal(
    out: Option<tokio::io::ReadHalf<tokio::io::SimplexStream>>,
    input: Option<tokio::io::WriteHalf<tokio::io::SimplexStream>>,
    data: Option<String>,
    so_far: &SoFar,
) -> String {
    const DSR: &[u8] = b"\x1b[6n";
    let (Some(mut out), mut input) = (out, input) else {
        return String::new();
    };
    let mut seen = Vec::new();
    let mut pending = data;
    let mut chunk = [0u8; 4096];
    loop {
        let n = match out.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        seen.extend_from_slice(&chunk[..n]);
        so_far.add(&chunk[..n]);
        if let (Some(w), Some(d)) = (input.as_mut(), pending.take()) {
            let queries = seen.windows(DSR.len()).filter(|w| *w == DSR).count();
            for _ in 0..queries {
                let _ = w.write_all(b"\x1b[1;1R").await;
            }
            let _ = w.write_all(d.as_bytes()).await;
        }
    }
    if let Some(mut w) = input {
        let _ = w.shutdown().await;
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// Everything a command printed until now, both streams in the order they came.
#[derive(Clone, Default)]
struct SoFar(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SoFar {
    fn add(&self, data: &[u8]) {
        self.0.lock().expect("output lock").extend_from_slice(data);
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("output lock")).into_owned()
    }
}

/// Exec through the API server and collect everything; `command` is how the log shows it.
#[allow(clippy::too_many_arguments)]
async fn exec_api(
    api: &Api<Pod>,
    pod: &str,
    container: Option<String>,
    argv: Vec<String>,
    stdin: Option<String>,
    tty: bool,
    command: String,
    so_far: &SoFar,
) -> Result<Output, StepError> {
    let started = std::time::Instant::now();
    let ap = AttachParams {
        container,
        stdin: stdin.is_some(),
        stdout: true,
        // The API refuses stderr with a TTY: the terminal merges them.
        stderr: !tty,
        tty,
        ..AttachParams::default()
    };
    let mut proc = api.exec(pod, argv, &ap).await?;
    let status = proc.take_status();
    let read = |r: Option<tokio::io::ReadHalf<tokio::io::SimplexStream>>| async move {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = r.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                so_far.add(&chunk[..n]);
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    };
    let (stdout, mut stderr) = if tty {
        (
            terminal(proc.stdout(), proc.stdin(), stdin, so_far).await,
            String::new(),
        )
    } else {
        if let (Some(data), Some(mut w)) = (stdin, proc.stdin()) {
            tokio::spawn(async move {
                let _ = w.write_all(data.as_bytes()).await;
                let _ = w.shutdown().await;
            });
        }
        tokio::join!(read(proc.stdout()), read(proc.stderr()))
    };
    let status = match status {
        Some(s) => s.await,
        None => None,
    };
    let _ = proc.join().await;
    let code = match &status {
        None => None,
        Some(s) if s.status.as_deref() == Some("Success") => Some(0),
        Some(s) => {
            let code = s
                .details
                .as_ref()
                .and_then(|d| d.causes.as_ref())
                .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
                .and_then(|c| c.message.as_deref())
                .and_then(|m| m.parse::<i32>().ok());
            if code.is_none()
                && let Some(m) = &s.message
            {
                // The command never started: report like kubectl (message on stderr, exit 1).
                if !stderr.is_empty() && !stderr.ends_with('\n') {
                    stderr.push('\n');
                }
                stderr.push_str(m);
                stderr.push('\n');
            }
            Some(code.unwrap_or(1))
        }
    };
    Ok(Output {
        command,
        code,
        stdout,
        stderr,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod terminal_tests {
    use super::*;

    /// A fake program on a terminal: it writes `first`, waits until something is typed, then
    /// asks for the cursor position and ends. Returns what the terminal showed and everything
    /// that was typed to the program.
    async fn play(first: &'static [u8]) -> (String, Vec<u8>) {
        let (out_r, mut out_w) = tokio::io::simplex(4096);
        let (mut in_r, in_w) = tokio::io::simplex(4096);
        let program = tokio::spawn(async move {
            out_w.write_all(first).await.unwrap();
            let mut typed = vec![0u8; 1];
            in_r.read_exact(&mut typed).await.unwrap();
            out_w.write_all(b"tty-42\n~ $ \x1b[6n").await.unwrap();
            out_w.shutdown().await.unwrap();
            in_r.read_to_end(&mut typed).await.unwrap();
            typed
        });
        let shown = terminal(
            Some(out_r),
            Some(in_w),
            Some("tty\nexit 0\n".into()),
            &SoFar::default(),
        )
        .await;
        (shown, program.await.unwrap())
    }

    #[tokio::test]
    async fn a_query_with_the_first_prompt_is_answered_before_the_typing() {
        let (shown, typed) = play(b"~ $ \x1b[6n").await;
        assert_eq!(typed, b"\x1b[1;1Rtty\nexit 0\n");
        assert!(shown.ends_with("tty-42\n~ $ \x1b[6n"), "{shown:?}");
    }

    #[tokio::test]
    async fn a_query_after_the_typing_is_not_answered_behind_the_typed_input() {
        let (_, typed) = play(b"BusyBox built-in shell (ash)\n").await;
        assert_eq!(
            String::from_utf8_lossy(&typed),
            "tty\nexit 0\n",
            "an answer behind the typed input would be read in the middle of a command"
        );
    }
}
