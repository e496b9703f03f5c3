//! `kubectl`: run kubectl as the chapter does and check its exit code and output. The case's
//! kubeconfig points at its namespace, so no `-n` is needed.
//!
//! ```yaml
//! - kubectl:
//!     args: [apply, -f, "${file:../fixtures/manifests/kuard-pod.yaml}"]
//!     stdout: "pod/kuard created"
//! - kubectl:
//!     args: [run, kuard, --generator=run-pod/v1, "--image=${image.kuard}"]
//!     exit: nonzero                 # a number (default 0), `nonzero` or `any`
//!     stderr: { contains: "unknown flag: --generator" }
//! ```
//!
//! `${file:<path>}` (relative to the suite file) becomes the path of a copy of the file with
//! its placeholders substituted, so a manifest goes through kubectl as the chapter shows it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::{LoadCx, Mismatch, StepCx, StepError};
use crate::suite::Dur;
use crate::suite::template::{ArgTemplate, TemplateError};
use crate::suite::text::{TextSpec, quote_block};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The exit code a command must end with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Exit {
    #[default]
    Zero,
    Code(i32),
    NonZero,
    Any,
}

impl Exit {
    pub fn check(self, what: &str, code: Option<i32>) -> Result<(), Mismatch> {
        let ok = match (self, code) {
            (Exit::Any, _) => true,
            (Exit::Zero, Some(0)) => true,
            (Exit::Code(want), Some(c)) => want == c,
            (Exit::NonZero, Some(c)) => c != 0,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        Err(Mismatch::new(
            format!("{what} exited with another code"),
            format!("exit code {self}"),
            match code {
                Some(c) => format!("exit code {c}"),
                None => "killed by a signal".into(),
            },
        ))
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Zero => f.write_str("0"),
            Exit::Code(c) => write!(f, "{c}"),
            Exit::NonZero => f.write_str("nonzero"),
            Exit::Any => f.write_str("any"),
        }
    }
}

impl<'de> Deserialize<'de> for Exit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = crate::suite::template::scalar_string(d)?;
        match s.as_str() {
            "nonzero" => Ok(Exit::NonZero),
            "any" => Ok(Exit::Any),
            n => n
                .parse::<i32>()
                .map(|c| if c == 0 { Exit::Zero } else { Exit::Code(c) })
                .map_err(|_| {
                    de::Error::custom(format!(
                        "invalid exit `{s}`: expected a number, `nonzero` or `any`"
                    ))
                }),
        }
    }
}

impl Serialize for Exit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KubectlStep {
    pub args: Vec<ArgTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<ArgTemplate>,
    #[serde(default)]
    pub exit: Exit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<TextSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<TextSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    /// `${file:}` paths as written -> the files they name.
    #[serde(skip)]
    pub files: BTreeMap<String, PathBuf>,
}

impl KubectlStep {
    pub fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), String> {
        super::positive(self.timeout, "timeout")?;
        if self.args.is_empty() {
            return Err("`args` is empty".into());
        }
        resolve_files(self.args.iter().chain(&self.stdin), cx.dir, &mut self.files)?;
        Ok(())
    }

    pub fn summary(&self) -> String {
        self.args
            .iter()
            .map(|a| crate::kubectl::shell_quote(a.raw()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let args = render_args(cx, &self.args, &self.files)?;
        let stdin = match &self.stdin {
            Some(t) => render_args(cx, std::slice::from_ref(t), &self.files)?.pop(),
            None => None,
        };
        let out = cx
            .bounded("kubectl", async {
                Ok(cx
                    .env
                    .kubectl
                    .run(&args, stdin.as_deref().map(str::as_bytes), cx.deadline)
                    .await?)
            })
            .await?;
        log_output(
            cx,
            &out.command,
            out.code,
            &out.stdout,
            &out.stderr,
            out.elapsed,
        );
        self.exit
            .check(&out.command, out.code)
            .map_err(|m| with_output(m, &out.stdout, &out.stderr))?;
        for (what, spec, text) in [
            ("stdout", &self.stdout, &out.stdout),
            ("stderr", &self.stderr, &out.stderr),
        ] {
            if let Some(spec) = spec {
                let m = spec
                    .0
                    .compile(cx.vars())
                    .map_err(|e| StepError::Invalid(e.to_string()))?;
                m.check(what, text).map_err(StepError::Failed)?;
            }
        }
        Ok(())
    }
}

/// Load time: find the files that `${file:}` placeholders name, relative to the suite.
pub(crate) fn resolve_files<'a>(
    args: impl Iterator<Item = &'a ArgTemplate>,
    dir: &std::path::Path,
    files: &mut BTreeMap<String, PathBuf>,
) -> Result<(), String> {
    for a in args {
        for f in a.files() {
            let path = dir.join(&f);
            if !path.is_file() {
                return Err(format!("`${{file:{f}}}`: no file `{}`", path.display()));
            }
            files.insert(f, path);
        }
    }
    Ok(())
}

/// Run time: substitute placeholders in kubectl arguments, writing each `${file:}` as a
/// substituted copy into the case's directory.
pub(crate) fn render_args(
    cx: &StepCx<'_>,
    args: &[ArgTemplate],
    files: &BTreeMap<String, PathBuf>,
) -> Result<Vec<String>, StepError> {
    let materialize = |f: &str| -> Result<String, TemplateError> {
        let err = |reason: String| TemplateError::File {
            path: f.to_string(),
            reason,
        };
        let src = files
            .get(f)
            .ok_or_else(|| err("not resolved at load time".into()))?;
        let text = std::fs::read_to_string(src).map_err(|e| err(e.to_string()))?;
        let rendered = cx.vars().render(&text)?;
        let dir = cx.env.workdir.join("files");
        std::fs::create_dir_all(&dir).map_err(|e| err(e.to_string()))?;
        // Keep the file name: kubectl's messages and its yaml/json detection follow it.
        let name = src
            .file_name()
            .map_or_else(|| "manifest".into(), |n| n.to_string_lossy().into_owned());
        let dest = dir.join(name);
        std::fs::write(&dest, rendered).map_err(|e| err(e.to_string()))?;
        Ok(dest.display().to_string())
    };
    Ok(args
        .iter()
        .map(|a| {
            cx.vars()
                .render_with(a.raw(), true, materialize, |v| v.into())
        })
        .collect::<Result<Vec<_>, _>>()?)
}

/// Record a command and its output in the step log.
pub(crate) fn log_output(
    cx: &mut StepCx<'_>,
    command: &str,
    code: Option<i32>,
    stdout: &str,
    stderr: &str,
    took: Duration,
) {
    cx.note(format!(
        "$ {command}  # exit {}, {:.2}s",
        code.map_or("signal".to_string(), |c| c.to_string()),
        took.as_secs_f64()
    ));
    for (name, text) in [("stdout", stdout), ("stderr", stderr)] {
        if !text.is_empty() {
            cx.note(format!("{name}:{}", quote_block(text)));
        }
    }
}

/// An exit-code mismatch says more with the output beside it.
pub(crate) fn with_output(mut m: Mismatch, stdout: &str, stderr: &str) -> StepError {
    m.actual = format!(
        "{}; stdout: {}; stderr: {}",
        m.actual,
        quote_block(stdout),
        quote_block(stderr)
    );
    StepError::Failed(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_expectations() {
        let e: Exit = serde_saphyr::from_str("nonzero").unwrap();
        assert!(e.check("x", Some(1)).is_ok());
        assert!(e.check("x", Some(0)).is_err());
        let e: Exit = serde_saphyr::from_str("126").unwrap();
        let m = e.check("kubectl exec", Some(1)).unwrap_err();
        assert_eq!(
            (m.expected.as_str(), m.actual.as_str()),
            ("exit code 126", "exit code 1")
        );
        assert!(Exit::Zero.check("x", None).is_err());
        assert!(serde_saphyr::from_str::<Exit>("sometimes").is_err());
    }
}
