//! Matching text output (kubectl and exec stdout/stderr, logs, messages).
//!
//! ```yaml
//! stdout: "pod/kuard created"            # shorthand for contains
//! stdout:
//!   contains: [NAME, READY]              # each must occur
//!   not_contains: error
//!   regex: '^kuard\s+1/1\s+Running\s+0'  # multi-line mode: ^ and $ match at line ends
//!   not_regex: '(?i)panic'
//!   equals: "ok"                         # the whole text, trailing newlines ignored
//!   min_lines: 2
//!   max_lines: 10
//!   wording: '^error: .*: unknown$'      # the notes' own words (below)
//! ```
//!
//! The clauses above say what the implementation must do; `wording:` (a text match of its
//! own) says how the notes word the same text. A text that holds the clauses but not the
//! wording is worded differently: reported beside the notes' text, not failed (unless a run
//! enforces the notes' wording). A runtime that words a missing `bash` otherwise than the
//! notes' runc does still conforms.

use std::borrow::Cow;
use std::fmt;

use regex::Regex;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::fields::key::Key;
use crate::fields::one_or_many::OneOrMany;
use crate::fields::template::{Template, TemplateError, Vars, scalar_string};
use crate::fields::versioned::Versioned;

/// A regex that may hold placeholders; substituted values are escaped, so
/// `^${namespace}$` matches the namespace literally. Compiled at load time to catch errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexTemplate(String);

impl RegexTemplate {
    pub fn new(s: impl Into<String>) -> Result<Self, String> {
        let s = s.into();
        let t = RegexTemplate(s);
        t.compile(&Vars::for_validation())
            .map_err(|e| e.to_string())?;
        Ok(t)
    }

    pub fn raw(&self) -> &str {
        &self.0
    }

    pub fn compile(&self, vars: &Vars) -> Result<Regex, RegexError> {
        let src = vars.render_with(
            &self.0,
            false,
            |_| Err(TemplateError::FileNotAllowed),
            |v| Cow::Owned(regex::escape(v)),
        )?;
        regex::RegexBuilder::new(&src)
            .multi_line(true)
            .build()
            .map_err(|e| RegexError::Regex(Box::new(e)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegexError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("invalid regex: {0}")]
    Regex(Box<regex::Error>),
}

impl<'de> Deserialize<'de> for RegexTemplate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = scalar_string(d)?;
        RegexTemplate::new(s).map_err(de::Error::custom)
    }
}

impl Serialize for RegexTemplate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TextMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Template>,
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub contains: OneOrMany<Template>,
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub not_contains: OneOrMany<Template>,
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub regex: OneOrMany<RegexTemplate>,
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub not_regex: OneOrMany<RegexTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_lines: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lines: Option<usize>,
    /// The text as the notes word it: a difference is reported, not failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wording: Option<Box<TextSpec>>,
}

/// A text match as written: a bare string means `contains`; `by_version:` gives one per
/// Kubernetes version range (see [`crate::fields::versioned`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct TextSpec(pub Versioned<TextForm>);

impl<'de> Deserialize<'de> for TextSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = TextSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a string (must be contained), a map of equals/contains/not_contains/regex/not_regex/min_lines/max_lines, or `by_version:`",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TextSpec, E> {
                Ok(TextSpec::plain(contains(v).map_err(E::custom)?))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, m: A) -> Result<TextSpec, A::Error> {
                match read_match(m)? {
                    Read::Match(t) => Ok(TextSpec::plain(t)),
                    Read::Versioned(v) => Ok(TextSpec(v)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `contains: <text>`.
fn contains(v: &str) -> Result<TextMatch, TemplateError> {
    Ok(TextMatch {
        contains: OneOrMany(vec![Template::new(v)?]),
        ..TextMatch::default()
    })
}

enum Read {
    Match(TextMatch),
    Versioned(Versioned<TextForm>),
}

/// The keys of a text match: `by_version`, then its clauses.
const KEYS: &[&str] = &[
    "by_version",
    "equals",
    "contains",
    "not_contains",
    "regex",
    "not_regex",
    "min_lines",
    "max_lines",
    "wording",
];

/// The clauses of a text match, by key.
pub const CLAUSES: &[&str] = KEYS.split_at(1).1;

fn read_match<'de, A: de::MapAccess<'de>>(mut m: A) -> Result<Read, A::Error> {
    let mut t = TextMatch::default();
    let mut first = true;
    while let Some(k) = m.next_key_seed(Key(KEYS))? {
        if k == "by_version" {
            if !first {
                return Err(de::Error::custom("`by_version` goes alone"));
            }
            return crate::fields::versioned::forms_value(&mut m).map(Read::Versioned);
        }
        t.read_clause(k, &mut m)?;
        first = false;
    }
    Ok(Read::Match(t))
}

impl Default for TextSpec {
    fn default() -> Self {
        TextSpec(Versioned::Plain(TextForm::default()))
    }
}

impl TextSpec {
    /// A plain match (every version).
    pub fn plain(m: TextMatch) -> Self {
        TextSpec(Versioned::Plain(TextForm(m)))
    }

    /// Whether no form says anything.
    pub fn is_empty(&self) -> bool {
        self.0.forms().iter().all(|(_, f)| f.0.is_empty())
    }

    /// The form for the cluster's version, compiled, with the other forms beside it so that
    /// a failure can say which form the text has instead.
    pub fn compile(&self, vars: &Vars) -> Result<CompiledText, RegexError> {
        let version = vars.kubernetes.as_ref();
        let (form, range) = self
            .0
            .pick(version)
            .map_err(|e| RegexError::Template(TemplateError::NoForm(e)))?;
        let mut c = form.0.compile(vars)?;
        c.form = range.map(|r| r.raw.clone());
        for (r, other) in self.0.others(version) {
            c.others.push((r.raw.clone(), other.0.compile(vars)?));
        }
        c.version = version.map(|v| v.to_string());
        Ok(c)
    }

    /// Every form compiled with `vars` (load-time checking).
    pub fn validate(&self, vars: &Vars) -> Result<(), RegexError> {
        for (_, f) in self.0.forms() {
            f.0.compile(vars)?;
        }
        Ok(())
    }
}

/// One form of a text match: a bare string means `contains`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct TextForm(pub TextMatch);

impl<'de> Deserialize<'de> for TextForm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = TextForm;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a string (must be contained) or a map of equals/contains/not_contains/regex/not_regex/min_lines/max_lines",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TextForm, E> {
                contains(v).map(TextForm).map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, a: A) -> Result<TextForm, A::Error> {
                match read_match(a)? {
                    Read::Match(t) => Ok(TextForm(t)),
                    Read::Versioned(_) => {
                        Err(de::Error::custom("`by_version` inside `by_version`"))
                    }
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl TextMatch {
    /// Read the value of `key` into its clause, in place (so an error keeps its place in the
    /// file); `false` when `key` is no clause ([`CLAUSES`]). Steps whose own map takes the
    /// clauses beside their other keys (`logs`) read them with this too.
    pub fn read_clause<'de, A: de::MapAccess<'de>>(
        &mut self,
        key: &str,
        m: &mut A,
    ) -> Result<bool, A::Error> {
        match key {
            "equals" => self.equals = Some(m.next_value()?),
            "contains" => self.contains = m.next_value()?,
            "not_contains" => self.not_contains = m.next_value()?,
            "regex" => self.regex = m.next_value()?,
            "not_regex" => self.not_regex = m.next_value()?,
            "min_lines" => self.min_lines = Some(m.next_value()?),
            "max_lines" => self.max_lines = Some(m.next_value()?),
            "wording" => self.wording = Some(Box::new(m.next_value()?)),
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub fn is_empty(&self) -> bool {
        self == &TextMatch::default()
    }

    /// Substitute and compile, once per step run.
    pub fn compile(&self, vars: &Vars) -> Result<CompiledText, RegexError> {
        Ok(CompiledText {
            equals: self.equals.as_ref().map(|t| t.render(vars)).transpose()?,
            contains: self
                .contains
                .iter()
                .map(|t| t.render(vars))
                .collect::<Result<_, _>>()?,
            not_contains: self
                .not_contains
                .iter()
                .map(|t| t.render(vars))
                .collect::<Result<_, _>>()?,
            regex: self
                .regex
                .iter()
                .map(|r| r.compile(vars))
                .collect::<Result<_, _>>()?,
            not_regex: self
                .not_regex
                .iter()
                .map(|r| r.compile(vars))
                .collect::<Result<_, _>>()?,
            min_lines: self.min_lines,
            max_lines: self.max_lines,
            wording: self
                .wording
                .as_ref()
                .map(|w| w.compile(vars).map(Box::new))
                .transpose()?,
            form: None,
            others: Vec::new(),
            version: None,
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct CompiledText {
    pub equals: Option<String>,
    pub contains: Vec<String>,
    pub not_contains: Vec<String>,
    pub regex: Vec<Regex>,
    pub not_regex: Vec<Regex>,
    pub min_lines: Option<usize>,
    pub max_lines: Option<usize>,
    /// The notes' wording of the text (see the module's documentation).
    pub wording: Option<Box<CompiledText>>,
    /// The version range this form is for, when the match has forms by version.
    pub form: Option<String>,
    /// The other forms, by range: a failure says when the text matches one of them.
    pub others: Vec<(String, CompiledText)>,
    /// The Kubernetes version the form was picked for.
    pub version: Option<String>,
}

impl CompiledText {
    /// What `text` fails of this match, one line each ("expected ...; actual ..." is
    /// completed by the caller, who knows which text this is).
    pub fn failures(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(eq) = &self.equals
            && text.trim_end_matches(['\n', '\r']) != eq.trim_end_matches(['\n', '\r'])
        {
            out.push(format!("to equal {eq:?}"));
        }
        for c in &self.contains {
            if !text.contains(c.as_str()) {
                out.push(format!("to contain {c:?}"));
            }
        }
        for c in &self.not_contains {
            if text.contains(c.as_str()) {
                out.push(format!("not to contain {c:?}"));
            }
        }
        for r in &self.regex {
            if !r.is_match(text) {
                out.push(format!("to match /{}/", r.as_str()));
            }
        }
        for r in &self.not_regex {
            if let Some(m) = r.find(text) {
                out.push(format!(
                    "not to match /{}/ (matched {:?})",
                    r.as_str(),
                    m.as_str()
                ));
            }
        }
        let lines = text.lines().count();
        if let Some(min) = self.min_lines
            && lines < min
        {
            out.push(format!("to have at least {min} lines (has {lines})"));
        }
        if let Some(max) = self.max_lines
            && lines > max
        {
            out.push(format!("to have at most {max} lines (has {lines})"));
        }
        out
    }

    /// The clauses that a growing text can come to satisfy and then keeps satisfying
    /// (contains, regex, min_lines; and equals, which a text can grow into), and those that
    /// must hold on the whole text and, once broken, stay broken as it grows (not_contains,
    /// not_regex, max_lines). A text that is followed as it grows (a log) is judged on the
    /// second set against all of it, never against a part.
    pub fn split(&self) -> (CompiledText, CompiledText) {
        let growing = CompiledText {
            equals: self.equals.clone(),
            contains: self.contains.clone(),
            regex: self.regex.clone(),
            min_lines: self.min_lines,
            ..CompiledText::default()
        };
        let whole = CompiledText {
            not_contains: self.not_contains.clone(),
            not_regex: self.not_regex.clone(),
            max_lines: self.max_lines,
            ..CompiledText::default()
        };
        (growing, whole)
    }

    /// The notes' wording, when the match gives it and `text` is worded otherwise: expected
    /// the notes' text, actual this one. Not a failure: what the text must hold is
    /// [`CompiledText::check`]'s.
    pub fn wording_differs(&self, what: &str, text: &str) -> Option<super::Mismatch> {
        let w = self.wording.as_ref()?;
        w.check(what, text).err().map(|m| super::Mismatch {
            summary: format!("{what} is worded otherwise than the notes word it"),
            expected: format!("as the notes word it: {}", m.expected),
            ..m
        })
    }

    /// `Err` with `expected <what> to ...; actual <what>: ...` when the text does not match.
    pub fn check(&self, what: &str, text: &str) -> Result<(), super::Mismatch> {
        let f = self.failures(text);
        if f.is_empty() {
            return Ok(());
        }
        let mut expected = format!("{what} {}", f.join(", "));
        if let (Some(form), Some(v)) = (&self.form, &self.version) {
            expected.push_str(&format!(
                " (the form for Kubernetes {form}; the cluster is {v})"
            ));
        }
        let mut actual = format!("{what}: {}", quote_block(text));
        if let Some((range, _)) = self
            .others
            .iter()
            .find(|(_, o)| o.failures(text).is_empty())
        {
            actual.push_str(&format!(
                "\n  (this is the form given for Kubernetes {range}, not for the cluster's {})",
                self.version.as_deref().unwrap_or("version")
            ));
        }
        Err(super::Mismatch::new(
            format!("{what} did not match"),
            expected,
            actual,
        ))
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Show a text in a message: quoted when it is one short line, else as an indented block
/// (cut to its last 60 lines: the end of an output is where the news is).
pub fn quote_block(text: &str) -> String {
    const MAX: usize = 60;
    if text.is_empty() {
        return "(empty)".into();
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() == 1 && text.len() < 120 {
        return format!("{:?}", lines[0]);
    }
    let mut s = String::new();
    if lines.len() > MAX {
        s.push_str(&format!("\n    [... {} earlier lines]", lines.len() - MAX));
    }
    for l in &lines[lines.len().saturating_sub(MAX)..] {
        s.push_str("\n    | ");
        s.push_str(l);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(yaml: &str) -> CompiledText {
        let t: TextSpec = serde_saphyr::from_str(yaml).unwrap();
        t.compile(&Vars::for_validation()).unwrap()
    }

    #[test]
    fn a_bare_string_means_contains() {
        let c = m("\"pod/kuard created\"");
        assert!(c.failures("pod/kuard created\n").is_empty());
        assert_eq!(
            c.failures("pod/kuard unchanged"),
            vec!["to contain \"pod/kuard created\""]
        );
    }

    #[test]
    fn every_kind_of_expectation_reports_itself() {
        let c = m(
            "{equals: ok, not_contains: fail, regex: '^o', not_regex: 'k$', min_lines: 2, max_lines: 0}",
        );
        let f = c.failures("ok\n");
        assert_eq!(
            f,
            vec![
                "not to match /k$/ (matched \"k\")".to_string(),
                "to have at least 2 lines (has 1)".to_string(),
                "to have at most 0 lines (has 1)".to_string(),
            ]
        );
        assert_eq!(c.failures("fail").len(), 5);
    }

    #[test]
    fn regexes_are_multi_line_and_placeholders_are_escaped() {
        let t: TextSpec = serde_saphyr::from_str("{regex: '^ns=${namespace}$'}").unwrap();
        let mut v = Vars::for_validation();
        v.namespace = "a.b".into();
        let c = t.compile(&v).unwrap();
        assert!(c.failures("x\nns=a.b\ny").is_empty());
        assert_eq!(c.failures("ns=aXb").len(), 1);
    }

    #[test]
    fn a_bad_regex_is_a_load_error() {
        let e = serde_saphyr::from_str::<TextSpec>("{regex: '('}").unwrap_err();
        assert!(e.to_string().contains("invalid regex"), "{e}");
    }

    #[test]
    fn split_keeps_every_clause_once() {
        let c = m(
            "{equals: ok, contains: a, not_contains: b, regex: c, not_regex: d, min_lines: 1, max_lines: 2}",
        );
        let (grow, whole) = c.split();
        assert_eq!(grow.failures("zzz\nzzz\nzzz").len(), 3);
        assert_eq!(whole.failures("b d\n\n\n").len(), 3);
        assert!(whole.failures("a c").is_empty() && grow.failures("b d").len() == 3);
    }

    /// A check against a cluster of another version says which form it saw.
    #[test]
    fn a_text_of_another_version_is_named_as_such() {
        let t: TextSpec = serde_saphyr::from_str(
            "{ by_version: { '<1.35': 'Started container kuard', '>=1.35': { equals: Container started } } }",
        )
        .unwrap();
        let mut v = Vars::for_validation();
        v.kubernetes = crate::fields::versioned::parse_server_version("v1.37.2");
        let c = t.compile(&v).unwrap();
        assert!(c.failures("Container started").is_empty());
        let m = c
            .check("the message", "Started container kuard")
            .unwrap_err();
        assert_eq!(
            m.expected,
            "the message to equal \"Container started\" (the form for Kubernetes >=1.35; the cluster is 1.37.2)"
        );
        assert!(
            m.actual.ends_with(
                "(this is the form given for Kubernetes <1.35, not for the cluster's 1.37.2)"
            ),
            "{}",
            m.actual
        );
    }

    /// What the behaviour needs fails the check; the notes' wording never does, it is told
    /// apart as a difference, with the notes' text and the text seen.
    #[test]
    fn wording_is_told_apart_from_what_the_text_must_hold() {
        let c = m(
            r#"{ regex: '(?i)\bbash\b.*(not found|no such file)', wording: { regex: ': unknown$' } }"#,
        );
        let crun = "error: ... OCI runtime exec failed: executable file `bash` not found in $PATH: No such file or directory";
        assert!(c.check("stderr", crun).is_ok());
        let w = c.wording_differs("stderr", crun).unwrap();
        assert_eq!(
            w.summary,
            "stderr is worded otherwise than the notes word it"
        );
        assert_eq!(
            w.expected,
            "as the notes word it: stderr to match /: unknown$/"
        );
        assert!(
            w.actual.contains("executable file `bash` not found"),
            "{}",
            w.actual
        );
        let runc = "error: ... exec: \"bash\": executable file not found in $PATH: unknown";
        assert!(c.check("stderr", runc).is_ok() && c.wording_differs("stderr", runc).is_none());
        // Bash that ran is a failure of the behaviour, whatever the wording.
        assert!(c.check("stderr", "").is_err());
        // Wording by version, as any text match.
        let t: TextSpec = serde_saphyr::from_str(
            "{ contains: bash, wording: { by_version: { '<1.35': 'old words', '>=1.35': 'new words' } } }",
        )
        .unwrap();
        let mut v = Vars::for_validation();
        v.kubernetes = crate::fields::versioned::parse_server_version("v1.37.2");
        let c = t.compile(&v).unwrap();
        assert!(c.wording_differs("stderr", "bash: new words").is_none());
        assert!(c.wording_differs("stderr", "bash: old words").is_some());
    }

    #[test]
    fn check_gives_expected_and_actual() {
        let c = m("kuard");
        let e = c.check("stdout", "nothing here").unwrap_err();
        assert_eq!(e.expected, "stdout to contain \"kuard\"");
        assert_eq!(e.actual, "stdout: \"nothing here\"");
    }
}
