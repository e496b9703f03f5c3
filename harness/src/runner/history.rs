//! How long each case took last time, so the next run starts the longest first. With many
//! cases and fewer slots, a run can end no sooner than its longest case; started first,
//! the longest case is all the run waits for, while the short ones fill the other slots
//! (longest-processing-time-first scheduling). Kept in `target/podcheck/case-times.json`,
//! keyed by `suite::case`; a case without a record is taken as long, and starts early.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::result::{CaseResult, CaseStatus};

/// Step times in seconds, by case id.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct CaseTimes(pub BTreeMap<String, f64>);

fn path() -> PathBuf {
    crate::paths::work_dir().join("case-times.json")
}

impl CaseTimes {
    /// The record of earlier runs on this machine (none: an empty record).
    pub fn load() -> Self {
        std::fs::read_to_string(path())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// The expected length of a case, when it ran before.
    pub fn of(&self, id: &str) -> Option<Duration> {
        self.0.get(id).map(|s| Duration::from_secs_f64(*s))
    }

    /// Remember the step times of the cases that passed (a failure's time says little about
    /// the next run), by their id without a `--repeat` round.
    pub fn record(&mut self, results: &[CaseResult]) {
        for r in results.iter().filter(|r| r.status == CaseStatus::Passed) {
            let id = r.id();
            let id = id.split(" #").next().unwrap_or(&id).to_string();
            self.0
                .insert(id, (r.step_time.as_secs_f64() * 10.0).round() / 10.0);
        }
    }

    /// Write the record; a failure to write only costs the next run its order.
    pub fn save(&self) {
        let p = path();
        if let Some(d) = p.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        if let Ok(t) = serde_json::to_string_pretty(self) {
            let _ = std::fs::write(p, t);
        }
    }
}
