//! Reading suite directories: every `*.yaml`/`*.yml` file but `behaviours.yaml` is a suite.
//! Loading is all-or-nothing: every error of every file is collected, each naming
//! `file:line:column` and the field, and no case runs when there is one (exit 2).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde_saphyr::{Location, Spanned};

use super::catalogue::{Behaviour, Catalogue, CatalogueFile, parse_lines, valid_id};
use super::model::{CaseSpec, ExpectFailure, SuiteFile};
use crate::steps::{LoadCx, Step};

/// The catalogue's file name inside a suite directory.
pub const CATALOGUE_FILE: &str = "behaviours.yaml";

/// A case's whole-case timeout when it gives none.
pub const DEFAULT_CASE_TIMEOUT: Duration = Duration::from_secs(300);

/// One problem in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// 1-based; 0 when unknown.
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl LoadError {
    pub(crate) fn at(file: &Path, loc: Location, message: impl Into<String>) -> Self {
        LoadError {
            file: file.to_path_buf(),
            line: loc.line(),
            column: loc.column(),
            message: message.into(),
        }
    }

    pub(crate) fn file(file: &Path, message: impl Into<String>) -> Self {
        LoadError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    fn from_yaml(file: &Path, e: &serde_saphyr::Error, path: &str) -> Self {
        static SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"\s*\(?\bat line \d+,? column \d+\)?\.?$").expect("static regex")
        });
        let loc = e.location().unwrap_or(Location::UNKNOWN);
        let plain = e.render_with_options(serde_saphyr::render_options! {
            snippets: serde_saphyr::SnippetMode::Off,
        });
        let message = SUFFIX.replace(plain.trim(), "").into_owned();
        let message = if path.is_empty() || path == "." {
            message
        } else {
            format!("{path}: {message}")
        };
        LoadError::at(file, loc, message)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)
        }
    }
}

/// Everything wrong with the input, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadErrors(pub Vec<LoadError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

/// A loaded case, ready to run.
#[derive(Clone, Debug)]
pub struct Case {
    pub suite: String,
    pub name: String,
    pub description: Option<String>,
    pub covers: Vec<String>,
    /// Of `covers`, the behaviours it checks only in part (`covers_in_part:`).
    pub covers_in_part: Vec<String>,
    pub timeout: Duration,
    /// Schedulable nodes the case needs (`nodes:`, default 1).
    pub nodes: u32,
    /// What the case needs beyond pods on nodes (`needs:`, [`super::needs`]).
    pub needs: Vec<String>,
    pub ignore: Option<String>,
    pub expect_failure: Option<ExpectFailure>,
    pub steps: Vec<Step>,
    /// Where each step was written: (line, column).
    pub step_locations: Vec<(u64, u64)>,
    pub file: PathBuf,
    pub line: u64,
}

impl Case {
    /// `suite::case`: the test name, the filter target, the JUnit name.
    pub fn id(&self) -> String {
        format!("{}::{}", self.suite, self.name)
    }

    /// This case as round `round` of `rounds` (`podcheck run --repeat`): the same steps under
    /// a name of its own, so each round gets its own namespace and its own line in the reports.
    pub fn in_round(&self, round: u32, rounds: u32) -> Case {
        let mut c = self.clone();
        if rounds > 1 {
            c.name = format!("{} #{round}", self.name);
        }
        c
    }

    /// The directory manifests and `${file:}` are relative to.
    pub fn dir(&self) -> PathBuf {
        self.file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug)]
pub struct Suite {
    pub name: String,
    pub description: Option<String>,
    pub file: PathBuf,
    pub cases: Vec<Case>,
}

/// All suites of a run and the catalogue they were checked against.
#[derive(Clone, Debug, Default)]
pub struct Suites {
    pub catalogue: Catalogue,
    pub catalogue_file: PathBuf,
    pub suites: Vec<Suite>,
}

impl Suites {
    pub fn cases(&self) -> impl Iterator<Item = &Case> {
        self.suites.iter().flat_map(|s| s.cases.iter())
    }
}

/// Deserialize a YAML document, naming the field path of an error
/// (`cases[0].steps[2].wait.timeout`) beside its location.
pub fn from_yaml<T: serde::de::DeserializeOwned>(file: &Path, text: &str) -> Result<T, LoadError> {
    let mut field = String::new();
    serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            // `Spanned` wrappers show up as `.value` segments: not the user's words.
            field = e
                .path()
                .to_string()
                .replace(".value[", "[")
                .replace(".value.", ".");
            if let Some(f) = field.strip_suffix(".value") {
                field = f.to_string();
            }
            e.into_inner()
        })
    })
    .map_err(|e| LoadError::from_yaml(file, &e, &field))
}

/// Load the catalogue.
pub fn load_catalogue(path: &Path) -> Result<Catalogue, LoadErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        LoadErrors(vec![LoadError::file(
            path,
            format!("cannot read the catalogue: {e}"),
        )])
    })?;
    let file: CatalogueFile = from_yaml(path, &text).map_err(|e| LoadErrors(vec![e]))?;
    let mut errors = Vec::new();
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for b in file.behaviours {
        let id = b.id.value.clone();
        if !valid_id(&id) {
            errors.push(LoadError::at(
                path,
                b.id.referenced,
                format!("behaviours[].id: `{id}` is not an ID (upper-case words joined by `-`)"),
            ));
        }
        if seen.insert(id.clone(), b.id.referenced).is_some() {
            errors.push(LoadError::at(
                path,
                b.id.referenced,
                format!("behaviours[].id: duplicate ID `{id}`"),
            ));
        }
        let mut notes = Vec::new();
        for n in &b.notes {
            match parse_lines(&n.value) {
                Some(r) => notes.push(r),
                None => errors.push(LoadError::at(
                    path,
                    n.referenced,
                    format!(
                        "behaviours[{id}].notes: `{}` is not a line range (`13-24` or `52`)",
                        n.value
                    ),
                )),
            }
        }
        out.push(Behaviour {
            id,
            text: b.text,
            section: b.section,
            notes,
            weak: b.weak,
            no_mutant: b.no_mutant,
        });
    }
    if errors.is_empty() {
        Ok(Catalogue { behaviours: out })
    } else {
        Err(LoadErrors(errors))
    }
}

/// Parse one suite file's text (`path` is used for messages and relative files).
pub fn parse_suite(
    path: &Path,
    text: &str,
    catalogue: &Catalogue,
) -> Result<Suite, Vec<LoadError>> {
    let file: SuiteFile = from_yaml(path, text).map_err(|e| vec![e])?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut errors = Vec::new();
    let name = file.suite.value.clone();
    if !valid_name(&name) {
        errors.push(LoadError::at(
            path,
            file.suite.referenced,
            format!("suite: `{name}` is not a name (lower-case words, digits and `-`)"),
        ));
    }
    if file.cases.is_empty() {
        errors.push(LoadError::at(
            path,
            file.suite.referenced,
            "cases: the suite has no cases",
        ));
    }
    let mut names: BTreeMap<String, Location> = BTreeMap::new();
    let mut cases = Vec::new();
    for (ci, c) in file.cases.into_iter().enumerate() {
        let mut at = CaseErrors {
            path,
            ci,
            name: c.name.value.clone(),
            errors: &mut errors,
        };
        if let Some(first) = names.insert(c.name.value.clone(), c.name.referenced) {
            at.push(
                c.name.referenced,
                "name",
                format!(
                    "duplicate case name `{}` (first at line {})",
                    c.name.value,
                    first.line()
                ),
            );
        }
        check_case(&c, catalogue, &mut at);
        let (steps, step_locations) = load_steps(c.steps.value, dir, &mut at);
        cases.push(Case {
            suite: name.clone(),
            name: c.name.value,
            description: c.description,
            covers: c.covers.value.into_iter().map(|s| s.value).collect(),
            covers_in_part: c.covers_in_part.into_iter().map(|s| s.value).collect(),
            timeout: c.timeout.map_or(DEFAULT_CASE_TIMEOUT, |d| d.0),
            nodes: c.nodes.as_ref().map_or(1, |n| n.value),
            needs: c
                .needs
                .iter()
                .flat_map(|n| n.value.iter().map(|f| f.value.clone()))
                .collect(),
            ignore: c.ignore,
            expect_failure: c.expect_failure,
            steps,
            step_locations,
            file: path.to_path_buf(),
            line: c.name.referenced.line(),
        });
    }
    if errors.is_empty() {
        Ok(Suite {
            name,
            description: file.description,
            file: path.to_path_buf(),
            cases,
        })
    } else {
        Err(errors)
    }
}

/// Where the errors of one case go, each named `cases[i] (name).field`.
struct CaseErrors<'a> {
    path: &'a Path,
    ci: usize,
    name: String,
    errors: &'a mut Vec<LoadError>,
}

impl CaseErrors<'_> {
    fn push(&mut self, at: Location, field: &str, message: impl std::fmt::Display) {
        self.errors.push(LoadError::at(
            self.path,
            at,
            format!("cases[{}] ({}).{field}: {message}", self.ci, self.name),
        ));
    }
}

/// The rules of a case beyond its schema: its name, what it covers, its steps' count, its
/// timeout and `expect_failure`.
fn check_case(c: &CaseSpec, catalogue: &Catalogue, at: &mut CaseErrors<'_>) {
    let here = c.name.referenced;
    if !valid_name(&c.name.value) {
        at.push(
            here,
            "name",
            format!(
                "`{}` is not a name (lower-case words, digits and `-`)",
                c.name.value
            ),
        );
    }
    if let Some(n) = &c.nodes
        && n.value == 0
    {
        at.push(n.referenced, "nodes", "a case runs on at least 1 node");
    }
    for need in c.needs.iter().flat_map(|n| &n.value) {
        if super::needs::Need::parse(&need.value).is_none() {
            at.push(
                need.referenced,
                "needs",
                format!(
                    "unknown need `{}` (known: {})",
                    need.value,
                    super::needs::known()
                ),
            );
        }
    }
    if c.covers.value.is_empty() {
        at.push(
            c.covers.referenced,
            "covers",
            "name at least one behaviour ID",
        );
    }
    for id in &c.covers.value {
        if catalogue.get(&id.value).is_none() {
            at.push(
                id.referenced,
                "covers",
                format!(
                    "unknown behaviour ID `{}`{}",
                    id.value,
                    suggest(&id.value, catalogue)
                ),
            );
        }
    }
    for id in &c.covers_in_part {
        if !c.covers.value.iter().any(|x| x.value == id.value) {
            at.push(
                id.referenced,
                "covers_in_part",
                format!(
                    "`{}` is not in `covers`; hint: name in `covers_in_part` those of `covers` the case checks only in part",
                    id.value
                ),
            );
        }
    }
    if c.steps.value.is_empty() {
        at.push(c.steps.referenced, "steps", "the case has no steps");
    }
    if let Some(t) = c.timeout
        && t.0.is_zero()
    {
        at.push(here, "timeout", "must be more than 0s");
    }
    if let Some(ef) = &c.expect_failure {
        if ef.step == 0 || ef.step > c.steps.value.len() {
            at.push(
                here,
                "expect_failure.step",
                format!(
                    "there is no step {} (the case has {})",
                    ef.step,
                    c.steps.value.len()
                ),
            );
        }
        if ef.message.is_empty() {
            at.push(
                here,
                "expect_failure.message",
                "say what the failure must show (a text of its expected or actual values)",
            );
        }
    }
}

/// A case's steps, each checked where it is written; with their locations.
fn load_steps(
    specs: Vec<Spanned<Step>>,
    dir: &Path,
    at: &mut CaseErrors<'_>,
) -> (Vec<Step>, Vec<(u64, u64)>) {
    let mut steps = Vec::new();
    let mut locs = Vec::new();
    for (
        si,
        Spanned {
            mut value,
            referenced,
            ..
        },
    ) in specs.into_iter().enumerate()
    {
        if let Err(e) = value.validate(&LoadCx { dir }) {
            at.push(
                referenced,
                &format!("steps[{si}].{}", value.kind()),
                e.full_text(),
            );
        }
        locs.push((referenced.line(), referenced.column()));
        steps.push(value);
    }
    (steps, locs)
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// "did you mean" for a mistyped ID: the catalogue ID sharing the longest prefix.
fn suggest(id: &str, catalogue: &Catalogue) -> String {
    let common = |a: &str, b: &str| a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    catalogue
        .ids()
        .map(|c| (common(c, id), c))
        .filter(|(n, _)| *n >= 3)
        .max_by_key(|(n, _)| *n)
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// The suite files of a directory, sorted.
pub fn suite_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| LoadError::file(dir, format!("cannot read the suite directory: {e}")))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .filter(|p| p.file_name().and_then(|n| n.to_str()) != Some(CATALOGUE_FILE))
        .collect();
    files.sort();
    Ok(files)
}

/// Where the catalogue is: in the first given directory that has one, else the repository's.
pub fn find_catalogue(dirs: &[PathBuf]) -> PathBuf {
    dirs.iter()
        .map(|d| d.join(CATALOGUE_FILE))
        .find(|p| p.is_file())
        .unwrap_or_else(|| crate::paths::suites_dir().join(CATALOGUE_FILE))
}

/// Load every suite of `dirs` (default: the repository's `suites/`).
pub fn load(dirs: &[PathBuf]) -> Result<Suites, LoadErrors> {
    let dirs: Vec<PathBuf> = if dirs.is_empty() {
        vec![crate::paths::suites_dir()]
    } else {
        dirs.to_vec()
    };
    let catalogue_file = find_catalogue(&dirs);
    let catalogue = load_catalogue(&catalogue_file)?;
    let mut errors = Vec::new();
    let mut suites: Vec<Suite> = Vec::new();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for d in &dirs {
        let files = match suite_files(d) {
            Ok(f) => f,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for f in files {
            let text = match std::fs::read_to_string(&f) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(LoadError::file(&f, format!("cannot read: {e}")));
                    continue;
                }
            };
            match parse_suite(&f, &text, &catalogue) {
                Ok(s) => {
                    if let Some(other) = seen.insert(s.name.clone(), f.clone()) {
                        errors.push(LoadError::file(
                            &f,
                            format!(
                                "suite: the name `{}` is already used by {}",
                                s.name,
                                other.display()
                            ),
                        ));
                    }
                    suites.push(s);
                }
                Err(e) => errors.extend(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(Suites {
            catalogue,
            catalogue_file,
            suites,
        })
    } else {
        Err(LoadErrors(errors))
    }
}

/// Every file of `dir` (as [`suite_files`] lists them) through `parse`: what parsed, or every
/// error of every file, each naming its file.
pub fn load_each<T>(
    dir: &Path,
    mut parse: impl FnMut(&Path, &str) -> Result<T, Vec<LoadError>>,
) -> Result<Vec<T>, Vec<LoadError>> {
    let files = suite_files(dir).map_err(|e| vec![e])?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match std::fs::read_to_string(&f) {
            Ok(text) => match parse(&f, &text) {
                Ok(t) => out.push(t),
                Err(e) => errors.extend(e),
            },
            Err(e) => errors.push(LoadError::file(&f, format!("cannot read: {e}"))),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue {
            behaviours: ["LIVENESS-HTTP", "LOGS-PREVIOUS", "EXEC"]
                .iter()
                .map(|id| Behaviour::named(id))
                .collect(),
        }
    }

    fn errors(yaml: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        match parse_suite(&path, yaml, &catalogue()) {
            Ok(_) => vec![],
            Err(e) => e
                .iter()
                .map(|e| {
                    e.to_string()
                        .replace(&dir.path().display().to_string(), "D")
                })
                .collect(),
        }
    }

    const HEAD: &str = "suite: s\ncases:\n  - name: a\n    covers: [EXEC]\n    steps:\n";

    fn step_errors(step: &str) -> Vec<String> {
        errors(&format!("{HEAD}      - {step}\n"))
    }

    #[test]
    fn unknown_fields_name_file_line_column_and_field() {
        assert_eq!(
            errors("suite: s\ncases:\n  - name: a\n    covers: [EXEC]\n    stepz: []\n"),
            vec![
                "D/s.yaml:5:5: cases[0].stepz: unknown field `stepz`, expected one of name, description, covers, covers_in_part, timeout, nodes, needs, ignore, expect_failure, steps"
            ]
        );
        assert_eq!(
            step_errors("wait: { pod: kuard, conditon: Ready }"),
            vec![
                "D/s.yaml:6:29: cases[0].steps[0].wait.conditon: unknown field `conditon`, expected one of pod, object, condition, phase, match, expr, absent, during, timeout, record"
            ]
        );
        assert_eq!(
            step_errors("wiat: { pod: kuard }"),
            vec![
                "D/s.yaml:6:9: cases[0].steps[0].wiat: unknown variant `wiat`, expected one of apply, create, delete, kubectl, wait, assert, error, logs, exec, describe, events, probe, endpoints, sleep"
            ]
        );
        assert_eq!(
            step_errors("exec: { pod: kuard, command: [ls], stdout: { contain: x } }"),
            vec![
                "D/s.yaml:6:54: cases[0].steps[0].exec.stdout.contain: unknown field `contain`, expected one of by_version, equals, contains, not_contains, regex, not_regex, min_lines, max_lines, wording"
            ]
        );
    }

    #[test]
    fn wrong_types_and_values() {
        assert_eq!(
            step_errors("wait: { pod: kuard, timeout: 30 }"),
            vec![
                "D/s.yaml:6:38: cases[0].steps[0].wait.timeout: invalid duration `30`: give a unit, e.g. `30s`"
            ]
        );
        let e = step_errors("logs: { pod: kuard, regex: '(' }");
        assert!(
            e[0].starts_with("D/s.yaml:6:36: cases[0].steps[0].logs.regex: invalid regex"),
            "{e:?}"
        );
        let e = step_errors("assert: { pod: kuard, expr: ['a == 1', 'b =='] }");
        assert!(
            e[0].starts_with(
                "D/s.yaml:6:48: cases[0].steps[0].assert.expr[1]: invalid CEL expression `b ==`"
            ),
            "{e:?}"
        );
        let e = step_errors("probe: { pod: '${nmespace}', get: /x }");
        assert!(
            e[0].starts_with(
                "D/s.yaml:6:23: cases[0].steps[0].probe.pod: unknown placeholder `${nmespace}`"
            ),
            "{e:?}"
        );
        let e = errors("suite: s\ncases:\n  - name: a\n    covers: EXEC\n    steps: []\n");
        assert!(
            e[0].starts_with("D/s.yaml:4:13: cases[0].covers: "),
            "{e:?}"
        );
    }

    #[test]
    fn missing_required_fields() {
        let e = errors(
            "suite: s\ncases:\n  - name: a\n    steps:\n      - sleep: { for: 1s, why: x }\n",
        );
        assert_eq!(e.len(), 1);
        assert!(
            e[0] == "D/s.yaml:4:5: cases[0]: missing field `covers`",
            "{e:?}"
        );
    }

    #[test]
    fn semantic_errors_point_at_the_step_or_name() {
        assert_eq!(
            step_errors("wait: { condition: Ready }"),
            vec![
                "D/s.yaml:6:9: cases[0] (a).steps[0].wait: missing the object: give `pod: <name>` or `object: <kind>/<name>`"
            ]
        );
        assert_eq!(
            step_errors("apply: { file: nope.yaml }")[0]
                .split(": cannot read")
                .next()
                .unwrap(),
            "D/s.yaml:6:9: cases[0] (a).steps[0].apply"
        );
        let e = errors(
            "suite: s\ncases:\n  - name: a\n    covers: [EXEC, LIVENES-HTTP]\n    steps: [{sleep: {for: 1s, why: x}}]\n  - name: a\n    covers: [EXEC]\n    steps: [{sleep: {for: 1s, why: x}}]\n",
        );
        assert_eq!(
            e,
            vec![
                "D/s.yaml:4:20: cases[0] (a).covers: unknown behaviour ID `LIVENES-HTTP` (did you mean `LIVENESS-HTTP`?)",
                "D/s.yaml:6:11: cases[1] (a).name: duplicate case name `a` (first at line 3)",
            ]
        );
    }

    #[test]
    fn a_good_suite_loads_with_step_locations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        let yaml = format!(
            "{HEAD}      - sleep: {{ for: 1s, why: x }}\n      - wait: {{ pod: kuard, condition: Ready }}\n    timeout: 2m\n"
        );
        let s = parse_suite(&path, &yaml, &catalogue()).unwrap();
        let c = &s.cases[0];
        assert_eq!(c.id(), "s::a");
        assert_eq!(c.step_locations, vec![(6, 9), (7, 9)]);
        assert_eq!(c.timeout, Duration::from_secs(120));
        assert_eq!(c.steps[1].summary(), "wait pod/kuard: condition Ready");
    }

    #[test]
    fn an_unknown_need_is_named_with_the_known_ones() {
        let e = errors(
            "suite: s\ncases:\n  - name: a\n    covers: [EXEC]\n    needs: [kuard-extra]\n    steps: [{sleep: {for: 1s, why: x}}]\n",
        );
        assert_eq!(
            e,
            vec![
                "D/s.yaml:5:13: cases[0] (a).needs: unknown need `kuard-extra` (known: kuard-extras, cluster-dns)"
            ]
        );
    }

    /// Each case of the repository's suites with the text of what it does: its steps and
    /// the manifests they name.
    fn cases_with_their_text() -> Vec<(Case, String)> {
        let yaml_file = regex::Regex::new(r#""([^"]+\.yaml)""#).unwrap();
        let suites = load(&[]).unwrap_or_else(|e| panic!("{e}"));
        suites
            .cases()
            .map(|case| {
                let steps = serde_json::to_string(&case.steps).unwrap();
                let dir = case.file.parent().unwrap();
                let mut text = steps.clone();
                for file in yaml_file.captures_iter(&steps) {
                    if let Ok(manifest) = std::fs::read_to_string(dir.join(&file[1])) {
                        text.push_str(&manifest);
                    }
                }
                (case.clone(), text)
            })
            .collect()
    }

    /// A need is declared by exactly the cases whose text `uses` it: none lacks it (with
    /// the book's image, or before the cluster's DNS serves, it would fail instead of being
    /// not applicable or waited for) and none declares it for nothing (it would be left out
    /// where it could run, or wait for nothing). At least `at_least` cases use it, so the
    /// pattern is known to find something.
    fn declared_exactly_where_used(need: &str, uses: impl Fn(&str) -> bool, at_least: usize) {
        let mut wrong = Vec::new();
        let mut using = 0;
        for (case, text) in cases_with_their_text() {
            let used = uses(&text);
            let declared = case.needs.iter().any(|n| n == need);
            using += used as usize;
            if used != declared {
                wrong.push(format!(
                    "{}: uses {need}: {used}, needs: [{need}]: {declared}",
                    case.id()
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(
            using >= at_least,
            "only {using} cases use {need}: the pattern finds nothing"
        );
    }

    #[test]
    fn exactly_the_cases_that_use_podcheck_extras_need_them() {
        let uses = regex::Regex::new(
            r#"/podcheck/(host|exit|startup|tcp|exec|ipc|bind)\b|--podcheck-[a-z]|kuard podcheck |"podcheck",\s*"(bind|ipc-)"#,
        )
        .unwrap();
        declared_exactly_where_used("kuard-extras", |text| uses.is_match(text), 5);
    }

    /// A URL whose host is a name, not an address or the pod's own loopback, is looked up
    /// in the cluster's DNS.
    #[test]
    fn exactly_the_cases_that_name_services_need_cluster_dns() {
        let url_host = regex::Regex::new(r"https?://([a-z][a-z0-9.-]*)").unwrap();
        let names_a_host = |text: &str| url_host.captures_iter(text).any(|c| &c[1] != "localhost");
        declared_exactly_where_used("cluster-dns", names_a_host, 3);
    }

    #[test]
    fn the_repository_suites_and_catalogue_load() {
        let s = load(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.catalogue.behaviours.len(), 32);
        assert!(s.cases().count() > 0);
    }
}
