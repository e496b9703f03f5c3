//! Manifests for apply/create/delete: a file (relative to the suite file; YAML with one or
//! more documents, or JSON) or inline in the suite (a map, a list of maps, or a YAML string).
//! Placeholders in any string of a manifest are substituted when the step runs.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::template::{TemplateError, Vars, validate_value};

/// Manifest documents written inline in a suite.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct InlineManifest(pub Vec<Value>);

impl<'de> Deserialize<'de> for InlineManifest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let docs = match v {
            Value::String(s) => parse_documents(&s).map_err(de::Error::custom)?,
            Value::Array(a) => a,
            other => vec![other],
        };
        check_documents(&docs).map_err(de::Error::custom)?;
        Ok(InlineManifest(docs))
    }
}

/// Parse the text of a manifest file (YAML, several documents, or JSON). Empty documents
/// (a trailing `---`, a file of comments) are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> = serde_saphyr::from_str_multiple(text).map_err(|e| e.to_string())?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Every document must look like a Kubernetes object and its placeholders must parse.
pub fn check_documents(docs: &[Value]) -> Result<(), String> {
    if docs.is_empty() {
        return Err("the manifest has no documents".into());
    }
    for (i, d) in docs.iter().enumerate() {
        let which = if docs.len() > 1 {
            format!("document {}: ", i + 1)
        } else {
            String::new()
        };
        let Value::Object(m) = d else {
            return Err(format!(
                "{which}a manifest document must be a map, found {d}"
            ));
        };
        for k in ["apiVersion", "kind"] {
            if !m.get(k).is_some_and(Value::is_string) {
                return Err(format!("{which}missing `{k}`"));
            }
        }
        validate_value(d).map_err(|e| format!("{which}{e}"))?;
    }
    Ok(())
}

/// A manifest file as loaded: where it is and its documents.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestFile {
    pub path: PathBuf,
    pub docs: Vec<Value>,
}

/// Read and check a manifest file named relative to `base` (the suite file's directory).
pub fn load_file(base: &Path, rel: &str) -> Result<ManifestFile, String> {
    let path = base.join(rel);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read manifest `{}`: {e}", path.display()))?;
    let docs = parse_documents(&text).map_err(|e| format!("manifest `{}`: {e}", path.display()))?;
    check_documents(&docs).map_err(|e| format!("manifest `{}`: {e}", path.display()))?;
    Ok(ManifestFile { path, docs })
}

/// The manifest of a step, resolved by the loader.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolved {
    /// For messages: the file path as written, or `inline`.
    pub origin: String,
    pub docs: Vec<Value>,
}

impl Resolved {
    pub fn render(&self, vars: &Vars) -> Result<Vec<Value>, TemplateError> {
        self.docs.iter().map(|d| vars.render_value(d)).collect()
    }
}

impl fmt::Display for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)
    }
}

/// The loader's half of `file:` / `manifest:` fields: exactly one, loaded and checked.
pub fn resolve(
    file: &Option<String>,
    inline: &Option<InlineManifest>,
    dir: &Path,
) -> Result<Resolved, String> {
    match (file, inline) {
        (Some(f), None) => {
            let m = load_file(dir, f)?;
            Ok(Resolved {
                origin: f.clone(),
                docs: m.docs,
            })
        }
        (None, Some(m)) => Ok(Resolved {
            origin: match m.0.as_slice() {
                [one] => format!("inline {}", describe_doc(one)),
                many => format!("inline ({} documents)", many.len()),
            },
            docs: m.0.clone(),
        }),
        (Some(_), Some(_)) => Err("give either `file` or `manifest`, not both".into()),
        (None, None) => {
            Err("missing the manifest: give `file: <path>` or `manifest: <object>`".into())
        }
    }
}

/// A one-line name for a document: `Pod/kuard`.
pub fn describe_doc(d: &Value) -> String {
    let kind = d.get("kind").and_then(Value::as_str).unwrap_or("?");
    let name = d
        .pointer("/metadata/name")
        .or_else(|| d.pointer("/metadata/generateName"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    format!("{kind}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_json_and_multi_documents() {
        let d = parse_documents("a: 1\n---\n# nothing\n---\nb: 2\n").unwrap();
        assert_eq!(d.len(), 2);
        let d =
            parse_documents(r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}"#)
                .unwrap();
        assert_eq!(describe_doc(&d[0]), "Pod/x");
    }

    #[test]
    fn documents_must_be_objects() {
        assert_eq!(
            check_documents(&[serde_json::json!({"kind": "Pod"})]).unwrap_err(),
            "missing `apiVersion`"
        );
        let e = check_documents(&[
            serde_json::json!({"apiVersion": "v1", "kind": "Pod", "x": "${oops}"}),
        ])
        .unwrap_err();
        assert!(e.starts_with("unknown placeholder `${oops}`"), "{e}");
    }

    #[test]
    fn the_chapters_manifests_load() {
        let dir = crate::paths::repo_root().join("fixtures/manifests");
        for f in ["kuard-pod.yaml", "kuard-pod.json", "kuard-pod-health.yaml"] {
            let m = load_file(&dir, f).unwrap();
            assert_eq!(describe_doc(&m.docs[0]), "Pod/kuard", "{f}");
            assert_eq!(
                m.docs[0]["spec"]["containers"][0]["image"], "${image.kuard}",
                "{f}"
            );
        }
    }
}
