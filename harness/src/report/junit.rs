//! JUnit XML through quick-junit: one `<testsuite>` per suite file, one `<testcase>` per case
//! (`classname` = suite, `name` = case, so readers show `suite::case`); failures carry the
//! one-line message and, as text, expected vs actual; `system-out` has the step log and the
//! diagnostics; properties say where it ran (provider, server version, node image, images).
//! A case that passed in other words than the notes' carries the property
//! `podcheck.verdict=worded-differently`, and its texts open `system-out`.

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::RunReport;
use crate::runner::result::{CaseResult, CaseStatus};

fn properties(r: &RunReport) -> Vec<Property> {
    let f = &r.facts;
    let mut p = vec![
        Property::new("podcheck.run", f.run_id.as_str()),
        Property::new("provider", f.provider.as_str()),
        Property::new("server-version", f.server_version.as_str()),
        Property::new("node-image", f.node_image.as_deref().unwrap_or("")),
        Property::new("images", f.images_mode.as_str()),
    ];
    if !f.placement.is_empty() {
        p.push(Property::new("placement", f.placement.as_str()));
    }
    for (k, v) in &f.images {
        p.push(Property::new(format!("image.{k}"), v.as_str()));
    }
    p
}

fn test_case(c: &CaseResult) -> TestCase {
    let status = match &c.status {
        CaseStatus::Passed => {
            // A pass after failures is flaky, as nextest reports it: the failures are kept.
            let mut s = TestCaseStatus::success();
            s.add_reruns(c.earlier.iter().map(|a| {
                let mut r = TestRerun::new(NonSuccessKind::Failure);
                r.set_message(a.failure.message.as_str());
                r.set_description(a.failure.detail.as_str());
                r
            }));
            s
        }
        CaseStatus::Skipped(reason) => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(reason.as_str());
            s
        }
        CaseStatus::Failed | CaseStatus::Error => {
            let kind = if c.status == CaseStatus::Failed {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut s = TestCaseStatus::non_success(kind);
            if let Some(f) = &c.failure {
                s.set_message(f.message.as_str());
                let step_kind = f
                    .step
                    .and_then(|i| c.steps.get(i - 1))
                    .map_or("setup", |s| s.kind);
                s.set_type(step_kind);
                let mut text = f.detail.clone();
                if let (Some(e), Some(a)) = (&f.expected, &f.actual)
                    && !text.contains("expected:")
                {
                    text.push_str(&format!("\n  expected: {e}\n  actual:   {a}"));
                }
                s.set_description(text);
            }
            s
        }
    };
    let mut t = TestCase::new(c.case.as_str(), status);
    t.set_classname(c.suite.as_str());
    t.set_time(c.duration);
    let ts = k8s_openapi::jiff::Timestamp::try_from(c.started)
        .ok()
        .and_then(|t| {
            chrono::DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond() as u32)
        });
    if let Some(ts) = ts {
        t.set_timestamp(ts.fixed_offset());
    }
    t.add_property(Property::new("covers", c.covers.join(",")));
    if c.status == CaseStatus::Passed && c.wording().next().is_some() {
        // Passed: JUnit has no verdict for "in other words"; readers see it here and in
        // system-out, with the notes' text and the one seen.
        t.add_property(Property::new("podcheck.verdict", "worded-differently"));
    }
    t.add_property(Property::new("namespace", c.namespace.as_str()));
    let mut out = c.step_log();
    if c.expected_failure
        && let Some(f) = &c.failure
    {
        out.push_str(&format!(
            "\nfailed as expected (expect_failure):\n{}\n",
            f.detail
        ));
    }
    if !c.diagnostics.is_empty() {
        out.push_str("\n--- diagnostics ---\n");
        out.push_str(&c.diagnostics);
    }
    if !out.is_empty() {
        t.set_system_out(out);
    }
    t
}

/// The JUnit document of a run.
pub fn build(r: &RunReport) -> Report {
    let mut report = Report::new("podcheck");
    report.set_time(r.duration);
    for (suite, _file, cases) in r.by_suite() {
        let mut ts = TestSuite::new(suite);
        ts.add_properties(properties(r));
        let time = cases.iter().map(|c| c.duration).max().unwrap_or_default();
        ts.set_time(time);
        ts.add_test_cases(cases.into_iter().map(test_case));
        report.add_test_suite(ts);
    }
    report
}

pub fn to_string(r: &RunReport) -> Result<String, quick_junit::SerializeError> {
    build(r).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn parses_back_with_the_same_counts_and_content() {
        let r = fixtures::report();
        let xml = to_string(&r).unwrap();
        let back = Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(back.tests, 4);
        assert_eq!(back.failures, 1);
        assert_eq!(back.errors, 1);
        assert_eq!(back.test_suites.len(), 2);
        let health = &back.test_suites[0];
        assert_eq!(health.name.as_str(), "health");
        assert_eq!(
            (health.tests, health.failures, health.errors, health.skipped),
            (2, 1, 0, 0)
        );
        let access = &back.test_suites[1];
        assert_eq!(
            (access.tests, access.failures, access.errors, access.skipped),
            (2, 0, 1, 1)
        );
        let props: Vec<(&str, &str)> = health
            .properties
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_str()))
            .collect();
        assert!(props.contains(&("provider", "kind")));
        assert!(props.contains(&("server-version", "v1.37.2")));
        assert!(props.contains(&("node-image", "podcheck/node:v1.37.2")));
        let failed = &health.test_cases[1];
        assert_eq!(
            failed.classname.as_ref().map(|c| c.as_str()),
            Some("health")
        );
        match &failed.status {
            TestCaseStatus::NonSuccess {
                kind,
                message,
                ty,
                description,
                ..
            } => {
                assert_eq!(*kind, NonSuccessKind::Failure);
                assert!(
                    message
                        .as_ref()
                        .unwrap()
                        .as_str()
                        .starts_with("[LIVENESS-HTTP] step 2")
                );
                assert_eq!(ty.as_ref().unwrap().as_str(), "wait");
                let d = description.as_ref().unwrap().as_str();
                assert!(
                    d.contains("expected: Ready=True") && d.contains("actual:   Ready=False"),
                    "{d}"
                );
            }
            other => panic!("{other:?}"),
        }
        let out = failed.system_out.as_ref().unwrap().as_str();
        assert!(
            out.contains("[FAILED] step 2 wait pod/kuard: condition Ready"),
            "{out}"
        );
        assert!(out.contains("--- diagnostics ---"), "{out}");
    }
}
