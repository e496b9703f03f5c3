//! The JSON report: everything the run knows, with per-step timings, for tools and for
//! comparing runs (the benchmark script reads it).

use super::RunReport;

pub fn to_string(r: &RunReport) -> serde_json::Result<String> {
    serde_json::to_string_pretty(r)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn has_counts_statuses_and_step_timings() {
        let v: serde_json::Value =
            serde_json::from_str(&to_string(&fixtures::report()).unwrap()).unwrap();
        assert_eq!(
            v["counts"],
            serde_json::json!({"passed": 1, "failed": 1, "errors": 1, "skipped": 1, "flaky": 0})
        );
        assert_eq!(v["facts"]["server_version"], "v1.37.2");
        let c = &v["cases"][1];
        assert_eq!(c["status"], "failed");
        assert_eq!(c["steps"][1]["duration"], 1.25);
        assert_eq!(c["steps"][1]["status"], "failed");
        assert_eq!(c["failure"]["expected"], "Ready=True");
        assert_eq!(v["cases"][3]["status"], "skipped");
        assert_eq!(v["cases"][3]["reason"], "ignored: needs a tty");
        assert_eq!(c["started"], "2026-11-18T11:06:40Z");
    }
}
