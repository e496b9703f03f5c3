//! `object: pod/kuard`, as kubectl writes it: a kind (any spelling kubectl takes for the
//! common kinds: `pod`, `pods`, `po`, `Pod`; or `kind.group` for others) and a name.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::template::{Template, TemplateError, Vars, scalar_string};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: String,
    pub name: Template,
}

impl ObjectRef {
    pub fn pod(name: Template) -> Self {
        ObjectRef {
            kind: "pod".into(),
            name,
        }
    }

    pub fn render(&self, vars: &Vars) -> Result<(String, String), TemplateError> {
        Ok((self.kind.clone(), self.name.render(vars)?))
    }
}

impl std::str::FromStr for ObjectRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, name) = s
            .split_once('/')
            .filter(|(k, n)| !k.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| {
                format!("invalid object `{s}`: expected `<kind>/<name>`, e.g. `pod/kuard`")
            })?;
        Ok(ObjectRef {
            kind: kind.to_string(),
            name: Template::new(name).map_err(|e| e.to_string())?,
        })
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl<'de> Deserialize<'de> for ObjectRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        scalar_string(d)?.parse().map_err(de::Error::custom)
    }
}

impl Serialize for ObjectRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The object a step is about: `pod: kuard` (shorthand) or `object: <kind>/<name>`.
/// Steps hold both fields and call [`target`] to get exactly one.
pub fn target(pod: &Option<Template>, object: &Option<ObjectRef>) -> Result<ObjectRef, String> {
    match (pod, object) {
        (Some(p), None) => Ok(ObjectRef::pod(p.clone())),
        (None, Some(o)) => Ok(o.clone()),
        (Some(_), Some(_)) => Err("give either `pod` or `object`, not both".into()),
        (None, None) => {
            Err("missing the object: give `pod: <name>` or `object: <kind>/<name>`".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kind_and_name() {
        let o: ObjectRef = "svc/kuard-${case}".parse().unwrap();
        assert_eq!(o.kind, "svc");
        assert_eq!(o.name.raw(), "kuard-${case}");
        assert!(
            "kuard"
                .parse::<ObjectRef>()
                .unwrap_err()
                .contains("expected `<kind>/<name>`")
        );
        assert!("pod/a/b".parse::<ObjectRef>().is_err());
    }
}
