//! Cluster sabotage (`fixtures/sabotage/<name>.yaml`): proof that podcheck catches a faulty
//! *implementation*, not only a faulty manifest. A sabotage breaks a running cluster the way
//! a non-conforming implementation would — an admission policy that drops or rewrites what
//! a component writes, a runc that runs something else than it is asked — for the
//! namespaces of one run only, runs a suite's real cases under it, and says which cases must
//! then fail (at which step, with which expected/actual) while every other case of the
//! suite must still pass.
//!
//! ```yaml
//! sabotage: probe-events-dropped
//! description: a kubelet whose probe events never reach the API server
//! suite: health                      # its cases run under the sabotage
//! install:                           # steps run once, before: cluster-scoped objects
//!   - apply: { manifest: [ ... ValidatingAdmissionPolicy + Binding, named with ${run} ... ] }
//! canary:                            # steps that pass only once the sabotage works (retried)
//!   - create: { manifest: { kind: Event, ... reason: Unhealthy ... }, rejected: { message: podcheck sabotage } }
//! remove:                            # steps run once, after, whatever happened
//!   - delete: { object: validatingadmissionpolicy.admissionregistration.k8s.io/podcheck-sabotage-${run} }
//! runc_hook: |                       # optional: shell run before every runc call for this run's containers
//!   [ "$cmd" = exec ] || return 0
//! breaks:
//!   - case: failing-liveness-restarts-the-container
//!     step: 6
//!     message: { contains: ['expected: Warning Unhealthy'] }
//! ```
//! `${run}` in steps is the sabotage run's id; its namespaces carry the label
//! `podcheck.io/run: ${run}`, which is what admission bindings select. The `runc_hook` is
//! sourced by a wrapper podcheck puts in front of containerd's runc on every node (see
//! `runner::sabotage`), with `$cmd` (create, exec, ...), `$config` (the container's OCI
//! config), `$process` (exec's process spec), `$kind` (container or sandbox) set, only for
//! containers of this run's namespaces.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::loader::{LoadError, from_yaml};
use super::{Case, Suites};
use crate::matchers::text::TextSpec;
use crate::steps::{LoadCx, Step};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SabotageFile {
    pub sabotage: Spanned<String>,
    pub description: String,
    pub suite: Spanned<String>,
    #[serde(default)]
    pub install: Vec<Spanned<Step>>,
    #[serde(default)]
    pub canary: Vec<Spanned<Step>>,
    #[serde(default)]
    pub remove: Vec<Spanned<Step>>,
    #[serde(default)]
    pub runc_hook: Option<String>,
    pub breaks: Vec<Spanned<Break>>,
}

/// A case the sabotage must make fail, and how.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Break {
    pub case: String,
    /// The 1-based step whose check must fail.
    pub step: usize,
    /// What its expected/actual must show.
    pub message: TextSpec,
}

/// A loaded sabotage.
#[derive(Clone, Debug)]
pub struct Sabotage {
    pub name: String,
    pub description: String,
    pub suite: String,
    pub file: PathBuf,
    /// The install steps, as a case of their own (its namespace is the run's control one).
    pub install: Case,
    pub canary: Case,
    pub remove: Case,
    pub runc_hook: Option<String>,
    pub breaks: Vec<Break>,
}

/// The directory of the sabotage files.
pub fn dir(root: &Path) -> PathBuf {
    root.join("fixtures/sabotage")
}

/// Every sabotage of `dir`, checked against the suites: errors name the file, line and field.
pub fn load(dir: &Path, suites: &Suites) -> Result<Vec<Sabotage>, Vec<LoadError>> {
    super::loader::load_each(dir, |path, text| parse(path, text, suites))
}

/// One sabotage file's text.
pub fn parse(path: &Path, text: &str, suites: &Suites) -> Result<Sabotage, Vec<LoadError>> {
    let f: SabotageFile = from_yaml(path, text).map_err(|e| vec![e])?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut errors = Vec::new();
    let name = f.sabotage.value.clone();
    let suite = suites.suites.iter().find(|s| s.name == f.suite.value);
    if suite.is_none() {
        errors.push(LoadError::at(
            path,
            f.suite.referenced,
            format!("suite: no suite `{}` in the suites", f.suite.value),
        ));
    }
    let mut steps_of = |what: &str, steps: Vec<Spanned<Step>>| -> Case {
        let mut out = Vec::new();
        let mut locs = Vec::new();
        for (i, s) in steps.into_iter().enumerate() {
            let mut step = s.value;
            if let Err(e) = step.validate(&LoadCx { dir }) {
                errors.push(LoadError::at(
                    path,
                    s.referenced,
                    format!("{what}[{i}].{}: {}", step.kind(), e.full_text()),
                ));
            }
            locs.push((s.referenced.line(), s.referenced.column()));
            out.push(step);
        }
        Case {
            suite: format!("sabotage-{name}"),
            name: what.to_string(),
            description: None,
            covers: Vec::new(),
            covers_in_part: Vec::new(),
            timeout: Duration::from_secs(120),
            nodes: 1,
            needs: Vec::new(),
            ignore: None,
            expect_failure: None,
            steps: out,
            step_locations: locs,
            file: path.to_path_buf(),
            line: f.sabotage.referenced.line(),
        }
    };
    let install = steps_of("install", f.install);
    let canary = steps_of("canary", f.canary);
    let remove = steps_of("remove", f.remove);
    if install.steps.is_empty() && f.runc_hook.is_none() {
        errors.push(LoadError::at(
            path,
            f.sabotage.referenced,
            "install: a sabotage breaks something: give `install` steps or a `runc_hook`",
        ));
    }
    if f.breaks.is_empty() {
        errors.push(LoadError::at(
            path,
            f.sabotage.referenced,
            "breaks: name the cases the sabotage must make fail",
        ));
    }
    let mut breaks = Vec::new();
    for b in f.breaks {
        let here = b.referenced;
        let b = b.value;
        if let Some(s) = suite {
            match s.cases.iter().find(|c| c.name == b.case) {
                None => errors.push(LoadError::at(
                    path,
                    here,
                    format!("breaks.case: suite `{}` has no case `{}`", s.name, b.case),
                )),
                Some(c) if b.step == 0 || b.step > c.steps.len() => errors.push(LoadError::at(
                    path,
                    here,
                    format!(
                        "breaks.step: case `{}` has no step {} (it has {})",
                        b.case,
                        b.step,
                        c.steps.len()
                    ),
                )),
                Some(_) => {}
            }
        }
        if b.message.is_empty() {
            errors.push(LoadError::at(
                path,
                here,
                "breaks.message: say what the failure's expected or actual values show",
            ));
        }
        breaks.push(b);
    }
    if errors.is_empty() {
        Ok(Sabotage {
            name,
            description: f.description,
            suite: f.suite.value,
            file: path.to_path_buf(),
            install,
            canary,
            remove,
            runc_hook: f.runc_hook,
            breaks,
        })
    } else {
        Err(errors)
    }
}
