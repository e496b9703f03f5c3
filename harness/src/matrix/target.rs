//! Targets (`ci/targets/<name>.yaml`): the implementations of the Pod API that `podcheck
//! matrix` compares, one file each. A target says where its cluster comes from (a node image
//! built by a recipe beside it, or a kubeconfig), what to set up on it before the cases (steps,
//! in the suite schema), where the cases' pods go (a placement), how to read its OCI runtime,
//! and what the matrix must show for it (the matrix's own test).
//!
//! ```yaml
//! target: gvisor
//! description: gVisor's runsc behind the RuntimeClass `gvisor`, on podcheck's offline node
//! kind: runtime                     # baseline | runtime | negative-control | cluster
//! node_image: { build: gvisor/build }   # run with the base node image as $1; prints the image last
//! kubernetes: "1.23"                # only for an implementation that exists on one minor alone
//! prepare:
//!   - apply: { manifest: { apiVersion: node.k8s.io/v1, kind: RuntimeClass, metadata: { name: gvisor }, handler: runsc } }
//! placement: { runtime_class: gvisor }
//! oci_runtime: { command: "runsc --version | head -n 1" }    # in the node; or { is: "…" }
//! diagnose: "journalctl -u containerd --no-pager -n 20"      # in the node, when prepare fails
//! expect: { does_not_conform: [POD-COLOCATE], worded_differently: [EXEC-NO-BASH] }  # the rest conforms
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::runner::placement::{Placement, Toleration};
use crate::steps::{LoadCx, Step};
use crate::suite::loader::{LoadError, from_yaml};
use crate::suite::{Case, Catalogue};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// The implementation the others are compared with.
    Baseline,
    /// A real container runtime or OCI runtime.
    Runtime,
    /// A fake kubelet: it must be told apart from the real ones.
    NegativeControl,
    /// A cluster given by kubeconfig.
    Cluster,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    target: Spanned<String>,
    description: String,
    kind: TargetKind,
    #[serde(default)]
    node_image: Option<NodeImage>,
    #[serde(default)]
    kubeconfig_env: Option<String>,
    /// The one Kubernetes minor this implementation exists on (the kubelet's dockershim was
    /// removed after 1.23): the target's version, and the only one it can be asked for.
    #[serde(default)]
    kubernetes: Option<Spanned<String>>,
    #[serde(default)]
    prepare: Vec<Spanned<Step>>,
    #[serde(default)]
    placement: Option<PlacementSpec>,
    #[serde(default)]
    oci_runtime: Option<OciRuntime>,
    #[serde(default)]
    diagnose: Option<String>,
    #[serde(default)]
    expect: Option<Expect>,
}

/// How the node image of a target is had.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum NodeImage {
    /// The base node image itself (`node_image: base`): the baseline.
    Base,
    /// A script (relative to the targets directory) that builds it, cached by its inputs,
    /// and prints its reference as the last line of stdout. It gets the base node image as
    /// its first argument (the baseline's own recipe ignores it).
    Build(String),
    /// An image already there.
    Image(String),
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlacementSpec {
    #[serde(default)]
    runtime_class: Option<String>,
    #[serde(default)]
    node_selector: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    tolerations: Vec<String>,
}

/// How the column header learns the OCI runtime.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum OciRuntime {
    /// A shell command run in the first node container; its first line.
    Command(String),
    /// Said as it is (fake kubelets run nothing).
    Is(String),
}

/// What the matrix must show for this target.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// These behaviours must not conform (every other that runs must), or `all` of them.
    #[serde(default)]
    pub does_not_conform: Vec<String>,
    /// With `does_not_conform`, the behaviours that must still conform (the rest may go
    /// either way); without it, ignored: every behaviour must conform.
    #[serde(default)]
    pub conforms: Vec<String>,
    /// These behaviours must conform in other words than the notes' (a runtime's own error
    /// text): conforms, worded differently.
    #[serde(default)]
    pub worded_differently: Vec<String>,
}

/// A Kubernetes minor as `--target NAME@MINOR` writes it: `1.35`.
pub fn valid_minor(s: &str) -> bool {
    matches!(s.split_once('.'), Some((a, b)) if !a.is_empty() && !b.is_empty()
        && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit()))
}

/// A loaded target.
#[derive(Clone, Debug)]
pub struct Target {
    pub name: String,
    pub description: String,
    pub kind: TargetKind,
    pub file: PathBuf,
    pub node_image: Option<NodeImage>,
    pub kubeconfig_env: Option<String>,
    /// The Kubernetes minor asked for (`--target kind@1.35`), when not the default: the
    /// base node image of that version, under the target's recipe.
    pub kubernetes: Option<String>,
    /// The one minor the implementation exists on (its file's `kubernetes:`), if any.
    pub only_on: Option<String>,
    /// The prepare steps, as a case of their own.
    pub prepare: Case,
    /// A command run in the node when the prepare steps do not pass: what says why (the
    /// agent's own last lines).
    pub diagnose: Option<String>,
    pub placement: Placement,
    pub oci_runtime: Option<OciRuntime>,
    pub expect: Expect,
}

impl Target {
    /// The directory its recipes are relative to.
    pub fn dir(&self) -> PathBuf {
        self.file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The same implementation on another Kubernetes minor (`kind@1.35`): its recipe on
    /// that version's base node image. A cluster given by kubeconfig has the version it has.
    pub fn at(&self, minor: &str) -> Result<Target, String> {
        if self.node_image.is_none() {
            return Err(format!(
                "`{}` is a cluster given by kubeconfig: its Kubernetes version is the cluster's",
                self.name
            ));
        }
        if !valid_minor(minor) {
            return Err(format!("`{minor}` is not a Kubernetes minor (e.g. 1.35)"));
        }
        if let Some(only) = &self.only_on {
            if only == minor {
                return Ok(self.clone());
            }
            return Err(format!(
                "`{}` exists on Kubernetes {only} only (its file says `kubernetes: \"{only}\"`); \
                 hint: ask for `{}` alone, and for `kind@{only}` to compare it on its version",
                self.name, self.name
            ));
        }
        Ok(Target {
            name: format!("{}@{minor}", self.name),
            kubernetes: Some(minor.to_string()),
            ..self.clone()
        })
    }
}

/// The targets of `dir`, checked: errors name the file, line and field.
pub fn load(dir: &Path, catalogue: &Catalogue) -> Result<Vec<Target>, Vec<LoadError>> {
    crate::suite::loader::load_each(dir, |path, text| parse(path, text, catalogue))
}

pub fn parse(path: &Path, text: &str, catalogue: &Catalogue) -> Result<Target, Vec<LoadError>> {
    let f: TargetFile = from_yaml(path, text).map_err(|e| vec![e])?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let here = f.target.referenced;
    let name = f.target.value.clone();
    let mut errors = Vec::new();
    if let Some(k) = &f.kubernetes {
        if f.node_image.is_none() {
            errors.push(LoadError::at(
                path,
                k.referenced,
                "kubernetes: a cluster given by kubeconfig has the version it has",
            ));
        } else if !valid_minor(&k.value) {
            errors.push(LoadError::at(
                path,
                k.referenced,
                format!(
                    "kubernetes: `{}` is not a Kubernetes minor (e.g. \"1.23\")",
                    k.value
                ),
            ));
        }
    }
    let mut err = |msg: String| errors.push(LoadError::at(path, here, msg));
    match (&f.node_image, &f.kubeconfig_env, f.kind) {
        (None, None, _) => err("give `node_image` (a kind cluster podcheck starts) or `kubeconfig_env` (a cluster given)".into()),
        (Some(_), Some(_), _) => err("give either `node_image` or `kubeconfig_env`, not both".into()),
        (Some(_), None, TargetKind::Cluster) => err("kind `cluster` is a cluster given by kubeconfig: give `kubeconfig_env`".into()),
        _ => {}
    }
    if let Some(NodeImage::Build(script)) = &f.node_image
        && !dir.join(script).is_file()
    {
        err(format!(
            "node_image.build: no script `{script}` beside {}",
            path.display()
        ));
    }
    let mut placement = Placement::default();
    if let Some(p) = f.placement {
        placement.runtime_class = p.runtime_class;
        placement.node_selector = p.node_selector;
        for t in p.tolerations {
            match t.parse::<Toleration>() {
                Ok(t) => placement.tolerations.push(t),
                Err(e) => err(format!("placement.tolerations: {e}")),
            }
        }
    }
    let expect = f.expect.unwrap_or_default();
    for id in expect
        .does_not_conform
        .iter()
        .chain(&expect.conforms)
        .chain(&expect.worded_differently)
    {
        if id != "all" && catalogue.get(id).is_none() {
            err(format!("expect: unknown behaviour ID `{id}`"));
        }
    }
    let mut steps = Vec::new();
    let mut locs = Vec::new();
    for (i, s) in f.prepare.into_iter().enumerate() {
        let mut step = s.value;
        if let Err(e) = step.validate(&LoadCx { dir }) {
            errors.push(LoadError::at(
                path,
                s.referenced,
                format!("prepare[{i}].{}: {}", step.kind(), e.full_text()),
            ));
        }
        locs.push((s.referenced.line(), s.referenced.column()));
        steps.push(step);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Target {
        prepare: Case {
            suite: format!("target-{name}"),
            name: "prepare".into(),
            description: None,
            covers: Vec::new(),
            covers_in_part: Vec::new(),
            timeout: Duration::from_secs(180),
            // Run before the nodes that take the run's pods are counted (they may start one):
            // never "not applicable" for want of nodes.
            nodes: 0,
            needs: Vec::new(),
            ignore: None,
            expect_failure: None,
            steps,
            step_locations: locs,
            file: path.to_path_buf(),
            line: here.line(),
        },
        name,
        description: f.description,
        kind: f.kind,
        file: path.to_path_buf(),
        node_image: f.node_image,
        kubeconfig_env: f.kubeconfig_env,
        placement,
        oci_runtime: f.oci_runtime,
        diagnose: f.diagnose,
        expect,
        kubernetes: f.kubernetes.as_ref().map(|k| k.value.clone()),
        only_on: f.kubernetes.map(|k| k.value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nightly matrix of the workflow example runs every target podcheck can start (all
    /// but a cluster given by kubeconfig): the list there is kept in step with ci/targets/.
    #[test]
    fn the_workflow_matrix_lists_every_target_that_starts_its_own_cluster() {
        let root = crate::paths::repo_root();
        let suites = crate::suite::load(&[crate::paths::suites_dir()]).unwrap();
        let mut own: Vec<String> = load(&root.join("ci/targets"), &suites.catalogue)
            .unwrap()
            .into_iter()
            .filter(|t| t.kind != TargetKind::Cluster)
            .map(|t| t.name)
            .collect();
        own.sort();
        let workflow = std::fs::read_to_string(root.join("ci/workflows/conformance.yml")).unwrap();
        let line = workflow
            .lines()
            .find_map(|l| l.trim().strip_prefix("target: ["))
            .expect("a `target: [...]` matrix in the workflow");
        let mut listed: Vec<String> = line
            .trim_end_matches(']')
            .split(',')
            .map(|t| t.trim().to_string())
            .collect();
        listed.sort();
        assert_eq!(listed, own, "ci/workflows/conformance.yml vs ci/targets/");
    }

    /// A target on another Kubernetes minor is a column of its own, named for it; a
    /// cluster given by kubeconfig has its own version and cannot be asked for another.
    #[test]
    fn a_target_at_another_minor() {
        let root = crate::paths::repo_root();
        let suites = crate::suite::load(&[crate::paths::suites_dir()]).unwrap();
        let all = load(&root.join("ci/targets"), &suites.catalogue).unwrap();
        let kind = all.iter().find(|t| t.name == "kind").unwrap();
        assert!(matches!(kind.node_image, Some(NodeImage::Base)));
        let old = kind.at("1.35").unwrap();
        assert_eq!(
            (old.name.as_str(), old.kubernetes.as_deref()),
            ("kind@1.35", Some("1.35"))
        );
        assert!(kind.at("one-thirty-five").is_err());
        let given = all.iter().find(|t| t.kind == TargetKind::Cluster).unwrap();
        assert!(
            given
                .at("1.35")
                .unwrap_err()
                .contains("given by kubeconfig")
        );
    }

    /// The dockershim exists on 1.23 alone: that is its version, and no other can be asked.
    #[test]
    fn a_target_that_exists_on_one_minor() {
        let root = crate::paths::repo_root();
        let suites = crate::suite::load(&[crate::paths::suites_dir()]).unwrap();
        let all = load(&root.join("ci/targets"), &suites.catalogue).unwrap();
        let shim = all.iter().find(|t| t.name == "dockershim").unwrap();
        assert_eq!(shim.kubernetes.as_deref(), Some("1.23"));
        let same = shim.at("1.23").unwrap();
        assert_eq!(
            (same.name.as_str(), same.kubernetes.as_deref()),
            ("dockershim", Some("1.23"))
        );
        let e = shim.at("1.37").unwrap_err();
        assert!(e.contains("exists on Kubernetes 1.23 only"), "{e}");
        assert!(e.contains("hint: ask for `dockershim` alone"), "{e}");

        let bad =
            "target: t\ndescription: d\nkind: runtime\nnode_image: base\nkubernetes: \"one\"\n";
        let errors = parse(Path::new("t.yaml"), bad, &suites.catalogue).unwrap_err();
        let text = errors[0].to_string();
        assert!(text.contains("t.yaml:5"), "{text}");
        assert!(
            text.contains("kubernetes: `one` is not a Kubernetes minor"),
            "{text}"
        );
    }
}
