//! A text that depends on the Kubernetes version of the cluster under test. Kubernetes
//! rewords what its components say (`Created container kuard`, then `Created container:
//! kuard`, then `Container created`), so a case that checks such a text names the versions
//! each form belongs to:
//!
//! ```yaml
//! message:
//!   by_version:
//!     "<1.32": Created container kuard          # v1.31.0 (v1.31.14 has the next form)
//!     ">=1.32, <1.35": "Created container: kuard"
//!     ">=1.35": Container created               # kubernetes#134043 (v1.35)
//! ```
//! A plain value means every version. The forms are picked by the API server's version; a
//! check that fails says which other form the text would have matched, so a run against a
//! cluster of another version reports the form it saw. Ranges are semver requirements
//! (`>=1.32, <1.35`) and must not overlap. A test below keeps every `by_version:` of the
//! repository's suites answering for each version the offline node image is built for.

use std::fmt;

use semver::{Version, VersionReq};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// A version range as written, with its parsed requirement.
#[derive(Clone, Debug)]
pub struct Range {
    pub raw: String,
    pub req: VersionReq,
}

impl PartialEq for Range {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// One value for every version, or one per version range.
#[derive(Clone, Debug, PartialEq)]
pub enum Versioned<T> {
    Plain(T),
    ByVersion(Vec<(Range, T)>),
}

/// The version of a `gitVersion` as the API server reports it (`v1.37.2`, `v1.30.4+k3s1`,
/// `v1.31.0-gke.1`): its major, minor and patch, which is what forms change with.
pub fn parse_server_version(git: &str) -> Option<Version> {
    let v = git.trim().trim_start_matches('v');
    let core: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next()??;
    let patch = parts.next().flatten().unwrap_or(0);
    Some(Version::new(major, minor, patch))
}

impl<T> Versioned<T> {
    /// The value for `version`, with the range it came from (`None` for a plain value);
    /// `Err` lists the ranges when none covers the version. Without a version (the cluster
    /// did not say), the last form: the newest, as forms are written oldest first.
    pub fn pick(&self, version: Option<&Version>) -> Result<(&T, Option<&Range>), String> {
        match self {
            Versioned::Plain(t) => Ok((t, None)),
            Versioned::ByVersion(forms) => {
                let Some(v) = version else {
                    let (r, t) = forms.last().expect("by_version is never empty");
                    return Ok((t, Some(r)));
                };
                forms
                    .iter()
                    .find(|(r, _)| r.req.matches(v))
                    .map(|(r, t)| (t, Some(r)))
                    .ok_or_else(|| {
                        format!(
                            "no form is given for Kubernetes {v} (forms: {})",
                            forms
                                .iter()
                                .map(|(r, _)| r.raw.as_str())
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    })
            }
        }
    }

    /// Every form, with its range (for load-time checks and "the form it saw").
    pub fn forms(&self) -> Vec<(Option<&Range>, &T)> {
        match self {
            Versioned::Plain(t) => vec![(None, t)],
            Versioned::ByVersion(f) => f.iter().map(|(r, t)| (Some(r), t)).collect(),
        }
    }

    /// The forms other than the one picked for `version`.
    pub fn others(&self, version: Option<&Version>) -> Vec<(&Range, &T)> {
        let picked = self.pick(version).ok().and_then(|(_, r)| r.cloned());
        match self {
            Versioned::Plain(_) => Vec::new(),
            Versioned::ByVersion(f) => f
                .iter()
                .filter(|(r, _)| Some(r) != picked.as_ref())
                .map(|(r, t)| (r, t))
                .collect(),
        }
    }
}

impl<T> Versioned<T> {
    /// `by_version` forms as written (range → value): ranges parsed, checked not to
    /// overlap, and sorted oldest first.
    pub fn from_forms(forms: Vec<(String, T)>) -> Result<Self, String> {
        if forms.is_empty() {
            return Err("`by_version` has no forms".into());
        }
        let mut out = Vec::new();
        for (raw, t) in forms {
            let req = VersionReq::parse(&raw).map_err(|e| {
                format!(
                    "`by_version`: `{raw}` is not a version range (e.g. \">=1.32, <1.35\"): {e}"
                )
            })?;
            out.push((Range { raw, req }, t));
        }
        // Overlapping ranges would make the form depend on their order: refuse them.
        let probe = |r: &Range, minor: u64| {
            r.req.matches(&Version::new(1, minor, 0)) || r.req.matches(&Version::new(1, minor, 99))
        };
        for minor in 0..=60 {
            let hits: Vec<&str> = out
                .iter()
                .filter(|(r, _)| probe(r, minor))
                .map(|(r, _)| r.raw.as_str())
                .collect();
            if hits.len() > 1 {
                return Err(format!(
                    "`by_version`: the ranges {} overlap (both take 1.{minor})",
                    hits.join(" and ")
                ));
            }
        }
        out.sort_by_key(|(r, _)| (0..=60u64).find(|m| probe(r, *m)).unwrap_or(u64::MAX));
        Ok(Versioned::ByVersion(out))
    }
}

/// A scalar (every version) or `{ by_version: { range: value, ... } }`, read in place so
/// that errors keep their line and column.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Versioned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for V<T> {
            type Value = Versioned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value, or `by_version:` with one value per Kubernetes version range")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(de::value::StrDeserializer::<E>::new(v)).map(Versioned::Plain)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::deserialize(de::value::I64Deserializer::<E>::new(v)).map(Versioned::Plain)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                T::deserialize(de::value::U64Deserializer::<E>::new(v)).map(Versioned::Plain)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                T::deserialize(de::value::BoolDeserializer::<E>::new(v)).map(Versioned::Plain)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                by_version(&mut m)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The rest of a map whose one key must be `by_version`.
pub fn by_version<'de, A: de::MapAccess<'de>, T: Deserialize<'de>>(
    m: &mut A,
) -> Result<Versioned<T>, A::Error> {
    match m.next_key::<String>()? {
        Some(k) if k == "by_version" => {}
        Some(k) => {
            return Err(de::Error::custom(format!(
                "unknown field `{k}`: a map here is `by_version: {{ \"<range>\": <value>, ... }}`"
            )));
        }
        None => {
            return Err(de::Error::custom(
                "an empty map: give a value or `by_version`",
            ));
        }
    }
    forms_value(m)
}

/// The value of a `by_version` key that was just read.
pub fn forms_value<'de, A: de::MapAccess<'de>, T: Deserialize<'de>>(
    m: &mut A,
) -> Result<Versioned<T>, A::Error> {
    let forms: Vec<(String, T)> = m.next_value::<Forms<T>>()?.0;
    if m.next_key::<String>()?.is_some() {
        return Err(de::Error::custom("`by_version` goes alone"));
    }
    Versioned::from_forms(forms).map_err(de::Error::custom)
}

/// A map of range → value, in the order written.
struct Forms<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Forms<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for V<T> {
            type Value = Forms<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of version ranges (\">=1.35\") to values")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    out.push((k, m.next_value::<T>()?));
                }
                Ok(Forms(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<T: Serialize> Serialize for Versioned<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Versioned::Plain(t) => t.serialize(s),
            Versioned::ByVersion(f) => {
                use serde::ser::SerializeMap;
                let mut outer = s.serialize_map(Some(1))?;
                let forms: std::collections::BTreeMap<&str, &T> =
                    f.iter().map(|(r, t)| (r.raw.as_str(), t)).collect();
                outer.serialize_entry("by_version", &forms)?;
                outer.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        parse_server_version(s).unwrap()
    }

    #[test]
    fn forms_are_picked_by_the_server_version() {
        let m: Versioned<String> = serde_saphyr::from_str(
            "{ by_version: { '>=1.35': Container created, '<1.32': Created container kuard, '>=1.32, <1.35': 'Created container: kuard' } }",
        )
        .unwrap();
        assert_eq!(m.pick(Some(&v("v1.37.2"))).unwrap().0, "Container created");
        assert_eq!(
            m.pick(Some(&v("v1.34.4+k3s1"))).unwrap().0,
            "Created container: kuard"
        );
        assert_eq!(
            m.pick(Some(&v("v1.30.0-gke.100"))).unwrap().0,
            "Created container kuard"
        );
        // Without a version: the newest.
        assert_eq!(m.pick(None).unwrap().0, "Container created");
        let others: Vec<&str> = m
            .others(Some(&v("v1.37.2")))
            .iter()
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(
            others,
            ["Created container kuard", "Created container: kuard"]
        );
        let plain: Versioned<String> = serde_saphyr::from_str("Started").unwrap();
        assert_eq!(
            plain.pick(Some(&v("v1.20.0"))).unwrap(),
            (&"Started".to_string(), None)
        );
    }

    /// The Kubernetes versions `ci/node-image/go/kubernetes/1.MINOR/go.mod` pins.
    fn pinned_versions(root: &std::path::Path) -> Vec<Version> {
        let line = regex::Regex::new(r"(?m)^\s*(?:require\s+)?k8s\.io/kubernetes (v\S+)").unwrap();
        let mut out = Vec::new();
        let dir = root.join("ci/node-image/go/kubernetes");
        for entry in std::fs::read_dir(&dir).expect("ci/node-image/go/kubernetes") {
            let gomod = entry.unwrap().path().join("go.mod");
            let Ok(text) = std::fs::read_to_string(&gomod) else {
                continue;
            };
            let git = &line
                .captures(&text)
                .expect("go.mod requires k8s.io/kubernetes")[1];
            out.push(parse_server_version(git).unwrap());
        }
        out.sort();
        out
    }

    /// Every `by_version:` below `v`, with where it is.
    fn forms_in(v: &serde_json::Value, at: String, out: &mut Vec<(String, serde_json::Value)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if k == "by_version" {
                        out.push((at.clone(), x.clone()));
                    } else {
                        forms_in(x, format!("{at}.{k}"), out);
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    forms_in(x, format!("{at}[{i}]"), out);
                }
            }
            _ => {}
        }
    }

    /// A minor pinned for the node image without a form in some `by_version:` would fail
    /// that case only when the catalogue runs on it: every form answers for every pinned
    /// version, and its ranges load (parse, do not overlap).
    #[test]
    fn the_suites_forms_answer_for_every_pinned_kubernetes_version() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let pinned = pinned_versions(root);
        assert!(
            pinned.iter().any(|v| v.minor == 35) && pinned.iter().any(|v| v.minor == 37),
            "pinned: {pinned:?}"
        );
        let mut found = Vec::new();
        for entry in std::fs::read_dir(root.join("suites")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            forms_in(&doc, name, &mut found);
        }
        assert!(found.len() >= 2, "no by_version found: {found:?}");
        for (at, forms) in found {
            let forms: Vec<(String, serde_json::Value)> = forms
                .as_object()
                .unwrap_or_else(|| panic!("{at}: by_version is not a map"))
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let versioned = Versioned::from_forms(forms).unwrap_or_else(|e| panic!("{at}: {e}"));
            for v in &pinned {
                versioned
                    .pick(Some(v))
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
            }
        }
    }

    #[test]
    fn bad_ranges_are_load_errors() {
        let e = serde_saphyr::from_str::<Versioned<String>>(
            "{ by_version: { '>=1.30': a, '>=1.33': b } }",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("overlap"), "{e}");
        let e = serde_saphyr::from_str::<Versioned<String>>("{ by_version: { 'soon': a } }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a version range"), "{e}");
        let m: Versioned<String> =
            serde_saphyr::from_str("{ by_version: { '>=1.35': a } }").unwrap();
        assert!(
            m.pick(Some(&v("v1.31.0")))
                .unwrap_err()
                .contains("no form is given for Kubernetes 1.31.0")
        );
    }
}
