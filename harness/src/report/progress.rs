//! Progress while cases run: an indicatif bar on a terminal; plain lines (one per finished
//! case) when stderr is not a terminal or `CI=true`, so CI logs stay readable.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::runner::Observer;
use crate::runner::result::{CaseResult, CaseStatus};
use crate::suite::Case;

/// Whether to draw a bar: a terminal, and not CI.
pub fn interactive() -> bool {
    std::io::stderr().is_terminal() && !std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

pub struct Progress {
    bar: Option<ProgressBar>,
    running: Mutex<Vec<String>>,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        let bar = interactive().then(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {pos}/{len} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress {
            bar,
            running: Mutex::new(Vec::new()),
        }
    }

    fn set_running(&self) {
        if let (Some(b), Ok(r)) = (&self.bar, self.running.lock()) {
            b.set_message(format!("running: {}", r.join(", ")));
        }
    }

    /// Print a line without tearing the bar.
    pub fn line(&self, s: &str) {
        match &self.bar {
            Some(b) => b.println(s),
            None => eprintln!("{s}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// One line for a finished case: `PASS  health::liveness  12.3s`.
pub fn case_line(r: &CaseResult) -> String {
    let mut s = format!(
        "{:<5} {}  {:.1}s",
        CaseStatus::word_of(r),
        r.id(),
        r.duration.as_secs_f64()
    );
    if let Some(first) = r.earlier.first() {
        s.push_str(&format!(
            "  ({} attempt(s) failed first; the first: {})",
            r.earlier.len(),
            first.failure.message
        ));
    }
    if r.expected_failure {
        s.push_str("  (failed as expected)");
    }
    if r.status == CaseStatus::Passed && r.wording().next().is_some() {
        s.push_str("  (worded differently)");
    }
    match (&r.status, &r.failure) {
        (CaseStatus::Failed | CaseStatus::Error, Some(f)) => {
            s.push_str("\n      ");
            s.push_str(&f.message);
        }
        (CaseStatus::Skipped(why), _) => s.push_str(&format!("  ({why})")),
        _ => {}
    }
    s
}

impl Observer for Progress {
    fn started(&self, case: &Case) {
        if let Ok(mut r) = self.running.lock() {
            r.push(case.id());
        }
        self.set_running();
    }

    fn finished(&self, r: &CaseResult) {
        if let Ok(mut running) = self.running.lock() {
            running.retain(|x| *x != r.id());
        }
        self.line(&case_line(r));
        if let Some(b) = &self.bar {
            b.inc(1);
        }
        self.set_running();
    }

    fn note(&self, line: &str) {
        self.line(line);
    }
}
