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
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use super::outcome::{self, Exit};
use crate::fields::Dur;
use crate::fields::template::{ArgTemplate, TemplateError};
use crate::matchers::text::TextSpec;

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

impl StepKind for KubectlStep {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    fn timeout_field(&self) -> Option<Dur> {
        self.timeout
    }

    fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid> {
        if self.args.is_empty() {
            return Err("`args` is empty".into());
        }
        resolve_files(self.args.iter().chain(&self.stdin), cx.dir, &mut self.files)?;
        Ok(())
    }
    fn summary(&self) -> String {
        self.args
            .iter()
            .map(|a| crate::kubectl::shell_quote(a.raw()))
            .collect::<Vec<_>>()
            .join(" ")
    }
    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
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
        outcome::check(cx, &out, self.exit, &self.stdout, &self.stderr)
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

#[cfg(test)]
mod run_tests {
    //! The kubectl step end to end with a stand-in kubectl that prints the file it is given.
    use std::os::unix::fs::PermissionsExt;
    use std::time::Instant;

    use tokio_util::sync::CancellationToken;

    use crate::fields::template::Vars;
    use crate::kubectl::Kubectl;
    use crate::steps::Step;
    use crate::steps::error::StepError;
    use crate::steps::kind::{CaseEnv, LoadCx, StepCx};

    fn env(dir: &std::path::Path) -> CaseEnv {
        let bin = dir.join("kubectl");
        // Drops `--kubeconfig=...`, then for `apply -f FILE` prints FILE, for `fail` exits 1.
        std::fs::write(
            &bin,
            "#!/bin/sh\nshift\ncase \"$1\" in apply) cat \"$3\";; fail) echo 'boom' >&2; exit 1;; esac\n",
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let client =
            kube::Client::try_from(kube::Config::new("https://127.0.0.1:1".parse().unwrap()))
                .unwrap();
        CaseEnv {
            client: client.clone(),
            namespace: "pc-1".into(),
            vars: Vars {
                namespace: "pc-1".into(),
                images: [("kuard".to_string(), "podcheck.local/kuard:abc".to_string())].into(),
                ..Vars::default()
            },
            kubectl: Kubectl::new(&bin, "/dev/null"),
            resolver: std::sync::Arc::new(crate::api::resolve::Resolver::new(client)),
            workdir: dir.join("case"),
            suite_dir: dir.to_path_buf(),
            cancel: CancellationToken::new(),
        }
    }

    async fn run(dir: &std::path::Path, yaml: &str) -> (Result<(), StepError>, Vec<String>) {
        let mut step: Step = serde_saphyr::from_str(yaml).unwrap();
        step.validate(&LoadCx { dir }).unwrap();
        let env = env(dir);
        let mut cx = StepCx::new(&env, Instant::now() + std::time::Duration::from_secs(10));
        let r = step.run(&mut cx).await;
        (r, cx.log)
    }

    #[tokio::test]
    async fn files_are_passed_with_their_placeholders_substituted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("m.yaml"),
            "image: ${image.kuard}\nnamespace: ${namespace}\n",
        )
        .unwrap();
        let (r, log) = run(
            dir.path(),
            "kubectl: { args: [apply, -f, '${file:m.yaml}'], stdout: { equals: \"image: podcheck.local/kuard:abc\\nnamespace: pc-1\" } }",
        )
        .await;
        r.unwrap();
        assert!(log[0].starts_with("$ kubectl apply -f "), "{log:?}");
        assert!(log[0].contains("/case/files/m.yaml  # exit 0,"), "{log:?}");
    }

    #[tokio::test]
    async fn a_wrong_exit_code_shows_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let (r, _) = run(dir.path(), "kubectl: { args: [fail] }").await;
        let e = r.unwrap_err().to_string();
        assert!(e.contains("expected: exit code 0"), "{e}");
        assert!(
            e.contains("actual:   exit code 1; stdout: (empty); stderr: \"boom\""),
            "{e}"
        );
    }

    #[test]
    fn a_missing_file_is_a_load_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut step: Step =
            serde_saphyr::from_str("kubectl: { args: [apply, -f, '${file:nope.yaml}'] }").unwrap();
        let e = step.validate(&LoadCx { dir: dir.path() }).unwrap_err();
        assert!(
            e.message.starts_with("`${file:nope.yaml}`: no file "),
            "{e}"
        );
    }
}
