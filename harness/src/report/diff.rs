//! What changed between two reports (`podcheck diff OLD.json NEW.json`): a run's JSON or a
//! matrix's, last night's against tonight's. Behaviours (per target, for a matrix) that newly
//! fail, newly pass, are newly worded differently, flaky, not applicable or could not be
//! checked; cases whose status changed; figures that moved by more than a threshold. What a
//! nightly job reads first.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

/// A behaviour's verdict, whichever report gave it (a run says `conforms`, a matrix cell
/// `pass`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Fails,
    CouldNotCheck,
    Flaky,
    WordedDifferently,
    CheckedInPart,
    Conforms,
    NotApplicable,
    NotSelected,
    /// Not in that report at all.
    Absent,
}

impl Verdict {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "conforms" | "pass" => Verdict::Conforms,
            "worded-differently" => Verdict::WordedDifferently,
            "flaky" => Verdict::Flaky,
            "checked-in-part" => Verdict::CheckedInPart,
            "does-not-conform" | "fail" => Verdict::Fails,
            "could-not-check" | "could-not-run" => Verdict::CouldNotCheck,
            "not-checked" | "not-applicable" => Verdict::NotApplicable,
            "not-selected" => Verdict::NotSelected,
            _ => return None,
        })
    }

    fn word(self) -> &'static str {
        match self {
            Verdict::Fails => "does not conform",
            Verdict::CouldNotCheck => "could not check",
            Verdict::Flaky => "flaky",
            Verdict::WordedDifferently => "worded differently",
            Verdict::CheckedInPart => "checked in part",
            Verdict::Conforms => "conforms",
            Verdict::NotApplicable => "not applicable",
            Verdict::NotSelected => "not selected",
            Verdict::Absent => "absent",
        }
    }
}

/// What one report says, keyed by scope (the target of a matrix column; empty for a run).
#[derive(Debug, Default)]
pub struct Snapshot {
    pub verdicts: BTreeMap<(String, String), Verdict>,
    /// `suite::case` → status word, and the one-line failure when it did not pass.
    pub cases: BTreeMap<(String, String), (String, Option<String>)>,
    /// A case's step time (`<case> steps`) and every figure cases recorded, in seconds.
    pub figures: BTreeMap<(String, String), f64>,
}

/// A report that cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("reading {0}")]
    Read(String, #[source] std::io::Error),
    #[error("{0} is not JSON")]
    Json(String, #[source] serde_json::Error),
    #[error(
        "{0} is neither a run's report nor a matrix's (no `behaviours` or `rows`); hint: give \
         the JSON of `podcheck run` (reports/podcheck.json) or of `podcheck matrix` (matrix.json)"
    )]
    Shape(String),
}

impl Snapshot {
    /// Read a report file.
    pub fn read(path: &std::path::Path) -> Result<Self, DiffError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| DiffError::Read(shown.clone(), e))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| DiffError::Json(shown.clone(), e))?;
        Self::of(&v).ok_or(DiffError::Shape(shown))
    }

    /// A run's report (`behaviours`, `cases`) or a matrix's (`rows`, `columns[].report`).
    pub fn of(v: &Value) -> Option<Self> {
        let mut s = Snapshot::default();
        if let Some(rows) = v.get("rows").and_then(Value::as_array) {
            let targets: Vec<String> = v["columns"]
                .as_array()?
                .iter()
                .map(|c| c["target"].as_str().unwrap_or_default().to_string())
                .collect();
            for row in rows {
                let b = row["behaviour"].as_str()?;
                for (t, cell) in targets.iter().zip(row["cells"].as_array()?) {
                    if let Some(verdict) = cell["verdict"].as_str().and_then(Verdict::parse) {
                        s.verdicts.insert((t.clone(), b.to_string()), verdict);
                    }
                }
            }
            for (t, col) in targets.iter().zip(v["columns"].as_array()?) {
                s.add_cases(t, &col["report"]);
            }
            return Some(s);
        }
        let behaviours = v.get("behaviours").and_then(Value::as_array)?;
        for b in behaviours {
            if let (Some(id), Some(verdict)) = (
                b["id"].as_str(),
                b["verdict"].as_str().and_then(Verdict::parse),
            ) {
                s.verdicts.insert((String::new(), id.to_string()), verdict);
            }
        }
        s.add_cases("", v);
        Some(s)
    }

    fn add_cases(&mut self, scope: &str, report: &Value) {
        for c in report["cases"].as_array().into_iter().flatten() {
            let id = format!(
                "{}::{}",
                c["suite"].as_str().unwrap_or_default(),
                c["case"].as_str().unwrap_or_default()
            );
            let flaky = c["earlier"].as_array().is_some_and(|a| !a.is_empty());
            let status = match (c["status"].as_str().unwrap_or_default(), flaky) {
                ("passed", true) => "flaky".to_string(),
                (s, _) => s.to_string(),
            };
            let failure = c["failure"]["message"].as_str().map(str::to_string);
            self.cases
                .insert((scope.to_string(), id.clone()), (status, failure));
            if let Some(t) = c["step_time"].as_f64().filter(|t| *t > 0.0) {
                self.figures
                    .insert((scope.to_string(), format!("{id} steps")), t);
            }
            for (name, value) in c["metrics"].as_object().into_iter().flatten() {
                if let Some(x) = value.as_f64() {
                    self.figures
                        .insert((scope.to_string(), format!("{id}: {name}")), x);
                }
            }
        }
    }
}

/// One behaviour whose verdict changed.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// The target (a matrix column); empty for a run.
    pub scope: String,
    pub behaviour: String,
    pub from: Verdict,
    pub to: Verdict,
}

/// One case whose status changed.
#[derive(Clone, Debug, Serialize)]
pub struct CaseChange {
    pub scope: String,
    pub case: String,
    pub from: String,
    pub to: String,
    /// Its failure now, when it fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// A figure that moved by more than the threshold.
#[derive(Clone, Debug, Serialize)]
pub struct Moved {
    pub scope: String,
    pub figure: String,
    pub from: f64,
    pub to: f64,
}

/// Everything that changed, grouped as a reader wants it.
#[derive(Debug, Default, Serialize)]
pub struct Diff {
    pub newly_failing: Vec<Change>,
    pub newly_not_checked: Vec<Change>,
    pub newly_flaky: Vec<Change>,
    pub newly_worded_differently: Vec<Change>,
    pub newly_not_applicable: Vec<Change>,
    pub newly_passing: Vec<Change>,
    /// Any other change of verdict (checked in part, not selected, gone, new).
    pub other: Vec<Change>,
    pub cases: Vec<CaseChange>,
    pub timing: Vec<Moved>,
    /// The relative change a figure must exceed to be listed, in percent.
    pub threshold_percent: f64,
}

/// A change of a figure of less than this many seconds is never news, whatever its ratio.
const NOISE_SECONDS: f64 = 0.5;

impl Diff {
    pub fn between(old: &Snapshot, new: &Snapshot, threshold_percent: f64) -> Self {
        let mut d = Diff {
            threshold_percent,
            ..Diff::default()
        };
        let keys: std::collections::BTreeSet<&(String, String)> =
            old.verdicts.keys().chain(new.verdicts.keys()).collect();
        for key in keys {
            let from = old.verdicts.get(key).copied().unwrap_or(Verdict::Absent);
            let to = new.verdicts.get(key).copied().unwrap_or(Verdict::Absent);
            if from == to {
                continue;
            }
            let c = Change {
                scope: key.0.clone(),
                behaviour: key.1.clone(),
                from,
                to,
            };
            match to {
                Verdict::Fails => d.newly_failing.push(c),
                Verdict::CouldNotCheck => d.newly_not_checked.push(c),
                Verdict::Flaky => d.newly_flaky.push(c),
                Verdict::WordedDifferently => d.newly_worded_differently.push(c),
                Verdict::NotApplicable => d.newly_not_applicable.push(c),
                Verdict::Conforms => d.newly_passing.push(c),
                _ => d.other.push(c),
            }
        }
        for (key, (to, failure)) in &new.cases {
            let from = old.cases.get(key).map_or("absent", |(s, _)| s.as_str());
            if from != to {
                d.cases.push(CaseChange {
                    scope: key.0.clone(),
                    case: key.1.clone(),
                    from: from.to_string(),
                    to: to.clone(),
                    failure: failure.clone(),
                });
            }
        }
        for (key, &to) in &new.figures {
            let Some(&from) = old.figures.get(key) else {
                continue;
            };
            let delta = (to - from).abs();
            if delta >= NOISE_SECONDS && delta > from.abs() * threshold_percent / 100.0 {
                d.timing.push(Moved {
                    scope: key.0.clone(),
                    figure: key.1.clone(),
                    from,
                    to,
                });
            }
        }
        d
    }

    /// Something fails that did not: what a nightly job must not let pass (exit 1).
    pub fn newly_fails(&self) -> bool {
        !self.newly_failing.is_empty()
    }

    fn groups(&self) -> [(&'static str, &Vec<Change>); 7] {
        [
            ("newly failing", &self.newly_failing),
            ("newly could not be checked", &self.newly_not_checked),
            ("newly flaky", &self.newly_flaky),
            ("newly worded differently", &self.newly_worded_differently),
            ("newly not applicable", &self.newly_not_applicable),
            ("newly passing", &self.newly_passing),
            ("other changes", &self.other),
        ]
    }

    /// For a terminal.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let at = |c: &Change| {
            if c.scope.is_empty() {
                c.behaviour.clone()
            } else {
                format!("{} on {}", c.behaviour, c.scope)
            }
        };
        for (title, changes) in self.groups() {
            if changes.is_empty() {
                continue;
            }
            let _ = writeln!(s, "{title} ({}):", changes.len());
            for c in changes {
                let _ = writeln!(s, "  {}: {} -> {}", at(c), c.from.word(), c.to.word());
            }
        }
        if !self.cases.is_empty() {
            let _ = writeln!(s, "cases ({}):", self.cases.len());
            for c in &self.cases {
                let scope = if c.scope.is_empty() {
                    String::new()
                } else {
                    format!(" on {}", c.scope)
                };
                let _ = writeln!(s, "  {}{scope}: {} -> {}", c.case, c.from, c.to);
                if let Some(f) = &c.failure {
                    let _ = writeln!(s, "      {f}");
                }
            }
        }
        if !self.timing.is_empty() {
            let _ = writeln!(
                s,
                "figures that moved by more than {}% ({}):",
                self.threshold_percent,
                self.timing.len()
            );
            for m in &self.timing {
                let scope = if m.scope.is_empty() {
                    String::new()
                } else {
                    format!(" on {}", m.scope)
                };
                let _ = writeln!(
                    s,
                    "  {}{scope}: {:.2}s -> {:.2}s ({:+.0}%)",
                    m.figure,
                    m.from,
                    m.to,
                    (m.to - m.from) / m.from.abs().max(1e-9) * 100.0
                );
            }
        }
        if s.is_empty() {
            s.push_str("nothing changed\n");
        }
        s
    }

    /// For a CI summary or an issue.
    pub fn markdown(&self) -> String {
        let mut s = String::from("# podcheck: what changed\n\n");
        for (title, changes) in self.groups() {
            if changes.is_empty() {
                continue;
            }
            let _ = writeln!(
                s,
                "## {title} ({})\n\n| behaviour | target | was | is |\n|---|---|---|---|",
                changes.len()
            );
            for c in changes {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    c.behaviour,
                    c.scope,
                    c.from.word(),
                    c.to.word()
                );
            }
            s.push('\n');
        }
        if !self.cases.is_empty() {
            let _ = writeln!(
                s,
                "## cases ({})\n\n| case | target | was | is | failure |\n|---|---|---|---|---|",
                self.cases.len()
            );
            for c in &self.cases {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    c.case,
                    c.scope,
                    c.from,
                    c.to,
                    c.failure.as_deref().unwrap_or("").replace('|', "\\|")
                );
            }
            s.push('\n');
        }
        if !self.timing.is_empty() {
            let _ = writeln!(
                s,
                "## figures that moved by more than {}%\n\n| figure | target | was (s) | is (s) |\n|---|---|---|---|",
                self.threshold_percent
            );
            for m in &self.timing {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.2} | {:.2} |",
                    m.figure, m.scope, m.from, m.to
                );
            }
        }
        if self.groups().iter().all(|(_, c)| c.is_empty())
            && self.cases.is_empty()
            && self.timing.is_empty()
        {
            s.push_str("Nothing changed.\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;
    use crate::runner::result::CaseStatus;

    fn snapshot(r: &crate::report::RunReport) -> Snapshot {
        let v: Value = serde_json::from_str(&crate::report::json::to_string(r).unwrap()).unwrap();
        Snapshot::of(&v).unwrap()
    }

    fn report(status: CaseStatus, steps_ms: u64) -> crate::report::RunReport {
        let mut c = fixtures::case("health", "liveness", status);
        c.step_time = std::time::Duration::from_millis(steps_ms);
        let mut r = fixtures::report();
        r.cases = vec![c];
        r.with_behaviours(["LIVENESS-HTTP"])
    }

    /// A behaviour that newly fails is what makes the diff fail; a change of timing beyond
    /// the threshold is listed, one within it or below the noise is not.
    #[test]
    fn what_newly_fails_newly_passes_and_moved() {
        let ok = snapshot(&report(CaseStatus::Passed, 10_000));
        let bad = snapshot(&report(CaseStatus::Failed, 10_000));
        let d = Diff::between(&ok, &bad, 25.0);
        assert!(d.newly_fails());
        assert_eq!(d.newly_failing[0].behaviour, "LIVENESS-HTTP");
        assert_eq!(
            (d.newly_failing[0].from, d.newly_failing[0].to),
            (Verdict::Conforms, Verdict::Fails)
        );
        assert_eq!(d.cases[0].case, "health::liveness");
        assert!(
            d.cases[0]
                .failure
                .as_deref()
                .unwrap()
                .contains("condition Ready does not hold")
        );
        assert!(
            d.text()
                .starts_with("newly failing (1):\n  LIVENESS-HTTP: conforms -> does not conform\n"),
            "{}",
            d.text()
        );

        let back = Diff::between(&bad, &ok, 25.0);
        assert!(!back.newly_fails());
        assert_eq!(back.newly_passing.len(), 1);

        let slow = snapshot(&report(CaseStatus::Passed, 14_000));
        let d = Diff::between(&ok, &slow, 25.0);
        assert!(!d.newly_fails() && d.newly_passing.is_empty());
        assert_eq!(d.timing[0].figure, "health::liveness steps");
        assert!(d.text().contains("10.00s -> 14.00s (+40%)"), "{}", d.text());
        assert!(Diff::between(&ok, &slow, 50.0).timing.is_empty());
        assert_eq!(Diff::between(&ok, &ok, 25.0).text(), "nothing changed\n");
    }

    #[test]
    fn a_matrix_is_compared_per_target() {
        let m = crate::matrix::report::fixtures::matrix();
        let v = serde_json::to_value(&m).unwrap();
        let old = Snapshot::of(&v).unwrap();
        let mut changed = v.clone();
        // kind's LOGS (the first row) turns to a failure.
        changed["rows"][0]["cells"][0]["verdict"] = "fail".into();
        let new = Snapshot::of(&changed).unwrap();
        let d = Diff::between(&old, &new, 25.0);
        assert_eq!(d.newly_failing.len(), 1);
        assert_eq!(
            (
                d.newly_failing[0].scope.as_str(),
                d.newly_failing[0].behaviour.as_str()
            ),
            ("kind", "LOGS")
        );
        assert!(
            d.markdown()
                .contains("| LOGS | kind | conforms | does not conform |")
        );
        assert!(Snapshot::of(&serde_json::json!({"something": 1})).is_none());
    }
}
