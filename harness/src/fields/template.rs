//! Placeholders in suite strings, substituted when a case runs:
//!
//! | placeholder        | value                                                        |
//! | ------------------ | ------------------------------------------------------------ |
//! | `${namespace}`     | the case's namespace                                          |
//! | `${suite}`         | the suite's name                                              |
//! | `${case}`          | the case's name                                               |
//! | `${run}`           | the run id (also the `podcheck.io/run` label)                 |
//! | `${image.<name>}`  | the image reference the run maps the logical name to         |
//! | `${file:<path>}`   | kubectl arguments only: a copy of the file (relative to the suite file) with its own placeholders substituted |
//!
//! `$${` writes a literal `${` (for shell scripts in exec steps); a `$` not followed by `{`
//! is left alone, so `$HOSTNAME` needs no escaping. Placeholders are checked when the suite
//! is loaded: an unknown name or an unclosed `${` is a load error with the field's location.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Lit(String),
    Var(Placeholder),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placeholder {
    Namespace,
    Suite,
    Case,
    Run,
    Workdir,
    Image(String),
    File(String),
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placeholder::Namespace => f.write_str("${namespace}"),
            Placeholder::Suite => f.write_str("${suite}"),
            Placeholder::Case => f.write_str("${case}"),
            Placeholder::Run => f.write_str("${run}"),
            Placeholder::Workdir => f.write_str("${workdir}"),
            Placeholder::Image(n) => write!(f, "${{image.{n}}}"),
            Placeholder::File(p) => write!(f, "${{file:{p}}}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed `${{` in `{0}`")]
    Unclosed(String),
    #[error(
        "unknown placeholder `${{{0}}}`: known are ${{namespace}}, ${{suite}}, ${{case}}, ${{run}}, ${{workdir}}, ${{image.<name>}}{1} (write `$${{` for a literal `${{`)"
    )]
    Unknown(String, &'static str),
    #[error("`${{file:...}}` is only allowed in kubectl arguments and stdin")]
    FileNotAllowed,
    #[error("no image is mapped to the logical name `{name}` in this run (mapped: {known})")]
    NoImage { name: String, known: String },
    #[error("cannot read `{path}` for `${{file:{path}}}`: {reason}")]
    File { path: String, reason: String },
    /// A value given by version has no form for the cluster's version.
    #[error("{0}")]
    NoForm(String),
}

/// Parse `s` into pieces. `files` says whether `${file:...}` is allowed here.
pub fn parse(s: &str, files: bool) -> Result<Vec<Piece>, TemplateError> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        lit.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            // `$${` is an escaped `${`.
            lit.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = tail
                .find('}')
                .ok_or_else(|| TemplateError::Unclosed(s.to_string()))?;
            let name = tail[..end].trim();
            let ph = match name {
                "namespace" => Placeholder::Namespace,
                "suite" => Placeholder::Suite,
                "case" => Placeholder::Case,
                "run" => Placeholder::Run,
                "workdir" => Placeholder::Workdir,
                n if n.starts_with("image.") && n.len() > "image.".len() => {
                    Placeholder::Image(n["image.".len()..].to_string())
                }
                n if n.starts_with("file:") && n.len() > "file:".len() => {
                    if !files {
                        return Err(TemplateError::FileNotAllowed);
                    }
                    Placeholder::File(n["file:".len()..].trim().to_string())
                }
                other => {
                    return Err(TemplateError::Unknown(
                        other.to_string(),
                        if files { ", ${file:<path>}" } else { "" },
                    ));
                }
            };
            if !lit.is_empty() {
                out.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            out.push(Piece::Var(ph));
            rest = &tail[end + 1..];
        } else {
            lit.push('$');
            rest = after;
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Ok(out)
}

/// The values of one case's placeholders.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    pub namespace: String,
    pub suite: String,
    pub case: String,
    pub run: String,
    /// The case's own directory on this machine, for files kubectl reads or writes.
    pub workdir: String,
    pub images: BTreeMap<String, String>,
    /// Load-time checking: any image name renders as a dummy reference.
    pub any_image: bool,
    /// The cluster's Kubernetes version: which form of a text given `by_version` applies.
    pub kubernetes: Option<semver::Version>,
}

impl Vars {
    /// Values used to check templates (and the regexes and CEL built from them) at load time.
    pub fn for_validation() -> Self {
        Vars {
            namespace: "podcheck-validate".into(),
            suite: "suite".into(),
            case: "case".into(),
            run: "run".into(),
            workdir: "/podcheck-validate".into(),
            images: BTreeMap::new(),
            any_image: true,
            kubernetes: None,
        }
    }

    fn value(&self, p: &Placeholder) -> Result<Cow<'_, str>, TemplateError> {
        Ok(match p {
            Placeholder::Namespace => Cow::Borrowed(&self.namespace),
            Placeholder::Suite => Cow::Borrowed(&self.suite),
            Placeholder::Case => Cow::Borrowed(&self.case),
            Placeholder::Run => Cow::Borrowed(&self.run),
            Placeholder::Workdir => Cow::Borrowed(&self.workdir),
            Placeholder::Image(n) => match self.images.get(n) {
                Some(r) => Cow::Borrowed(r),
                None if self.any_image => Cow::Owned(format!("example.invalid/{n}:validate")),
                None => {
                    return Err(TemplateError::NoImage {
                        name: n.clone(),
                        known: if self.images.is_empty() {
                            "none".into()
                        } else {
                            self.images.keys().cloned().collect::<Vec<_>>().join(", ")
                        },
                    });
                }
            },
            Placeholder::File(_) => return Err(TemplateError::FileNotAllowed),
        })
    }

    /// Substitute every placeholder of a plain string (no `${file:}`).
    pub fn render(&self, s: &str) -> Result<String, TemplateError> {
        self.render_with(
            s,
            false,
            |_| Err(TemplateError::FileNotAllowed),
            |v| v.into(),
        )
    }

    /// Substitute, passing each value through `escape` (e.g. `regex::escape`) and resolving
    /// `${file:}` through `file` when `files` is set.
    pub fn render_with(
        &self,
        s: &str,
        files: bool,
        mut file: impl FnMut(&str) -> Result<String, TemplateError>,
        escape: impl Fn(&str) -> Cow<'_, str>,
    ) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(s.len());
        for piece in parse(s, files)? {
            match piece {
                Piece::Lit(l) => out.push_str(&l),
                Piece::Var(Placeholder::File(p)) => out.push_str(&file(&p)?),
                Piece::Var(p) => out.push_str(&escape(&self.value(&p)?)),
            }
        }
        Ok(out)
    }

    /// Substitute in every string of a JSON value (manifests, partial objects).
    pub fn render_value(&self, v: &serde_json::Value) -> Result<serde_json::Value, TemplateError> {
        use serde_json::Value;
        Ok(match v {
            Value::String(s) => Value::String(self.render(s)?),
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.render_value(x))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| Ok((self.render(k)?, self.render_value(x)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// Check every string in a JSON value for placeholder syntax.
pub fn validate_value(v: &serde_json::Value) -> Result<(), TemplateError> {
    use serde_json::Value;
    match v {
        Value::String(s) => parse(s, false).map(|_| ()),
        Value::Array(a) => a.iter().try_for_each(validate_value),
        Value::Object(m) => m.iter().try_for_each(|(k, x)| {
            parse(k, false)?;
            validate_value(x)
        }),
        _ => Ok(()),
    }
}

/// A string field that may hold placeholders; checked at load time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(String);

impl Template {
    pub fn new(s: impl Into<String>) -> Result<Self, TemplateError> {
        let s = s.into();
        parse(&s, false)?;
        Ok(Template(s))
    }

    pub fn raw(&self) -> &str {
        &self.0
    }

    pub fn render(&self, vars: &Vars) -> Result<String, TemplateError> {
        vars.render(&self.0)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar_string(d)?;
        Template::new(s).map_err(de::Error::custom)
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A kubectl argument: a [`Template`] that may also name files (`${file:...}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgTemplate(String);

impl ArgTemplate {
    pub fn raw(&self) -> &str {
        &self.0
    }

    /// The `${file:...}` paths this argument names, as written.
    pub fn files(&self) -> Vec<String> {
        parse(&self.0, true)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| match p {
                Piece::Var(Placeholder::File(f)) => Some(f),
                _ => None,
            })
            .collect()
    }
}

impl<'de> Deserialize<'de> for ArgTemplate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar_string(d)?;
        parse(&s, true).map_err(de::Error::custom)?;
        Ok(ArgTemplate(s))
    }
}

impl Serialize for ArgTemplate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Accept any YAML scalar as a string: `exit: 0` is a number but `args: [--replicas, 3]`
/// means the string `3`.
pub(crate) fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            namespace: "pc-1".into(),
            suite: "s".into(),
            case: "c".into(),
            run: "r1".into(),
            workdir: "/tmp/w".into(),
            images: [("kuard".to_string(), "podcheck.local/kuard:abc".to_string())].into(),
            any_image: false,
            kubernetes: None,
        }
    }

    #[test]
    fn substitutes_namespace_and_images() {
        let out = vars()
            .render("${namespace}/${image.kuard} in ${suite}::${case} (${run}) at ${workdir}")
            .unwrap();
        assert_eq!(out, "pc-1/podcheck.local/kuard:abc in s::c (r1) at /tmp/w");
    }

    #[test]
    fn leaves_shell_variables_and_escapes_alone() {
        let out = vars().render("echo $HOSTNAME $${HOME} $ $").unwrap();
        assert_eq!(out, "echo $HOSTNAME ${HOME} $ $");
    }

    #[test]
    fn names_unknown_and_unclosed_placeholders() {
        let e = Template::new("${nmespace}").unwrap_err().to_string();
        assert!(e.starts_with("unknown placeholder `${nmespace}`"), "{e}");
        let e = Template::new("x ${namespace").unwrap_err();
        assert_eq!(e, TemplateError::Unclosed("x ${namespace".into()));
        assert_eq!(
            Template::new("${file:a.yaml}").unwrap_err(),
            TemplateError::FileNotAllowed
        );
    }

    #[test]
    fn an_unmapped_image_names_what_is_mapped() {
        let e = vars()
            .render("${image.kuard-bash}")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "no image is mapped to the logical name `kuard-bash` in this run (mapped: kuard)"
        );
    }

    #[test]
    fn escapes_values_for_regexes() {
        let mut v = vars();
        v.namespace = "a.b".into();
        let out = v
            .render_with(
                "^${namespace}$",
                false,
                |_| unreachable!(),
                |s| Cow::Owned(regex::escape(s)),
            )
            .unwrap();
        assert_eq!(out, "^a\\.b$");
    }

    #[test]
    fn files_resolve_through_the_callback() {
        let out = vars()
            .render_with(
                "-f=${file:../m.yaml}",
                true,
                |p| Ok(format!("/tmp/{p}")),
                |s| s.into(),
            )
            .unwrap();
        assert_eq!(out, "-f=/tmp/../m.yaml");
    }

    #[test]
    fn renders_inside_json_values() {
        let v = serde_json::json!({"spec": {"containers": [{"image": "${image.kuard}"}]}, "n": 3});
        let out = vars().render_value(&v).unwrap();
        assert_eq!(
            out["spec"]["containers"][0]["image"],
            "podcheck.local/kuard:abc"
        );
        assert_eq!(out["n"], 3);
    }
}
