//! `logs`: a container's log (`kubectl logs`, through the API) matches.
//!
//! ```yaml
//! - logs: { pod: kuard, contains: "Serving on HTTP on :8080" }
//! - logs: { pod: kuard, container: kuard, previous: true, regex: '^Starting kuard', min_lines: 2 }
//! - logs: { pod: kuard, not_contains: "GET /healthy", during: 8s }     # no probe for 8s
//! - logs: { pod: kuard, first: { line: "GET /healthy", between: [12s, 16s] } }
//! ```
//!
//! Every verdict is made on the whole log as it is when the step decides, read afresh:
//! - the clauses a growing log can come to satisfy (contains, regex, min_lines, equals) are
//!   waited for: the log is followed (streamed, no polling) until they hold, and then read
//!   whole again and judged on every clause;
//! - the clauses that must hold on all of it (not_contains, not_regex, max_lines) fail as
//!   soon as the log breaks them: a log only grows, so they cannot come to hold later;
//! - `during:` follows the log for that long and fails at the first line that breaks a
//!   whole-log clause (and errs if the stream broke off before the window ended), then
//!   judges every clause on the log read afresh at the end;
//! - `first:` is about time: the first line containing `line` was logged `between` the two
//!   durations after the container started (its `state.running.startedAt`, the time the
//!   kubelet counts probe delays from), by the kubelet's own timestamps.
//!
//! `previous: true` reads the last terminated instance, whose log no longer grows.

use std::time::Duration;

use std::fmt;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::api::log::{FollowError, follow_log};
use crate::api::watch::{Mode, TimedOut};
use crate::fields::Dur;
use crate::fields::key::Key;
use crate::fields::template::Template;
use crate::matchers::Mismatch;
use crate::matchers::text::{CompiledText, TextMatch, quote_block};

/// The step's own keys; the rest of its map are the clauses of a text match
/// ([`crate::matchers::text::CLAUSES`]), judged on the log.
#[derive(Clone, Debug, Serialize)]
pub struct Logs {
    pub pod: Template,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Template>,
    pub previous: bool,
    #[serde(flatten)]
    pub text: TextMatch,
    /// The first line containing this text is logged within a time after the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<FirstLine>,
    /// The whole-log clauses hold on every state of the log for this long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub during: Option<Dur>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
}

/// The step's own keys, then the clauses of a text match
/// ([`crate::matchers::text::CLAUSES`]).
const KEYS: &[&str] = &[
    "pod",
    "container",
    "previous",
    "first",
    "during",
    "timeout",
    "equals",
    "contains",
    "not_contains",
    "regex",
    "not_regex",
    "min_lines",
    "max_lines",
    "wording",
];

/// The step's own keys and the text match's clauses from one map, each read in place (so an
/// error names its line), strictly: an unknown key is an error.
impl<'de> Deserialize<'de> for Logs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Logs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a map of pod, container, previous, first, during, timeout and text clauses",
                )
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<Logs, A::Error> {
                let mut pod = None;
                let (mut container, mut previous, mut first) = (None, false, None);
                let (mut during, mut timeout) = (None, None);
                let mut text = TextMatch::default();
                while let Some(k) = m.next_key_seed(Key(KEYS))? {
                    match k {
                        "pod" => pod = Some(m.next_value()?),
                        "container" => container = Some(m.next_value()?),
                        "previous" => previous = m.next_value()?,
                        "first" => first = Some(m.next_value()?),
                        "during" => during = Some(m.next_value()?),
                        "timeout" => timeout = Some(m.next_value()?),
                        clause => {
                            text.read_clause(clause, &mut m)?;
                        }
                    }
                }
                Ok(Logs {
                    pod: pod.ok_or_else(|| de::Error::missing_field("pod"))?,
                    container,
                    previous,
                    text,
                    first,
                    during,
                    timeout,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// `first: { line: "GET /healthy", between: [12s, 16s] }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FirstLine {
    pub line: Template,
    pub between: (Dur, Dur),
    /// Keep, under this name, how long after the start the line came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

impl StepKind for Logs {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    fn timeout_field(&self) -> Option<Dur> {
        self.timeout
    }

    fn during_field(&self) -> Option<Dur> {
        self.during
    }

    fn validate(&mut self, _: &LoadCx<'_>) -> Result<(), Invalid> {
        if self.text.is_empty() && self.first.is_none() {
            return Err("nothing to check: give contains, not_contains, regex, not_regex, equals, min_lines, max_lines or first".into());
        }
        if let Some(f) = &self.first {
            if f.between.0.0 > f.between.1.0 {
                return Err(format!(
                    "`first.between`: [{}, {}] is empty; give [earliest, latest]",
                    f.between.0, f.between.1
                )
                .into());
            }
            if self.previous || self.during.is_some() {
                return Err("`first` is about the current container; it goes with neither `previous` nor `during`".into());
            }
        }
        if self.previous && self.during.is_some() {
            return Err("the previous instance's log no longer changes: `during` means nothing with `previous`".into());
        }
        Ok(())
    }

    fn summary(&self) -> String {
        let mut s = format!("pod/{}", self.pod);
        if let Some(c) = &self.container {
            s.push_str(&format!(" -c {c}"));
        }
        if self.previous {
            s.push_str(" --previous");
        }
        if let Some(f) = &self.first {
            s.push_str(&format!(
                ": first {:?} between {} and {} after the start",
                f.line.raw(),
                f.between.0,
                f.between.1
            ));
        }
        if let Some(d) = self.during {
            s.push_str(&format!(" during {d}"));
        }
        s
    }

    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let log = Log::new(self, cx)?;
        let m = self
            .text
            .compile(cx.vars())
            .map_err(|e| StepError::Invalid(e.to_string()))?;
        if let Some(f) = &self.first {
            let line = f.line.render(cx.vars())?;
            let after = log
                .first_line(cx, &line, f.between.0.0, f.between.1.0)
                .await?;
            if let Some(name) = &f.record {
                cx.record(name, after);
            }
            if self.text.is_empty() {
                return Ok(());
            }
        }
        if let Some(d) = self.during {
            return log.hold(cx, &m, d.0).await;
        }
        let text = log.read(cx).await?;
        match judge(&m, log.what, &text) {
            Judged::Holds => cx.judge_text(&m, log.what, &text),
            Judged::Never(mm) => Err(StepError::Failed(mm)),
            Judged::NotYet(mm) if self.previous => Err(StepError::Failed(mm)),
            Judged::NotYet(_) => log.follow_until(cx, &m).await,
        }
    }
}

/// What one reading of the whole log says.
enum Judged {
    Holds,
    /// A whole-log clause is broken: it stays broken.
    Never(Mismatch),
    /// A clause the log may still come to satisfy does not hold yet.
    NotYet(Mismatch),
}

fn judge(m: &CompiledText, what: &str, text: &str) -> Judged {
    let (_, whole) = m.split();
    if let Err(mm) = whole.check(what, text) {
        return Judged::Never(mm);
    }
    match m.check(what, text) {
        Ok(()) => Judged::Holds,
        Err(mm) => Judged::NotYet(mm),
    }
}

/// One container's log, as the step reads it.
struct Log {
    api: Api<Pod>,
    pod: String,
    container: Option<String>,
    previous: bool,
    what: &'static str,
}

impl Log {
    fn new(s: &Logs, cx: &StepCx<'_>) -> Result<Self, StepError> {
        Ok(Log {
            api: Api::namespaced(cx.client(), cx.ns()),
            pod: s.pod.render(cx.vars())?,
            container: s
                .container
                .as_ref()
                .map(|c| c.render(cx.vars()))
                .transpose()?,
            previous: s.previous,
            what: if s.previous {
                "the previous log"
            } else {
                "the log"
            },
        })
    }

    fn params(&self, timestamps: bool) -> LogParams {
        LogParams {
            container: self.container.clone(),
            previous: self.previous,
            timestamps,
            ..LogParams::default()
        }
    }

    /// Follow the log (see [`follow_log`]) under the step's cancellation.
    async fn follow(
        &self,
        cx: &StepCx<'_>,
        timestamps: bool,
        mode: Mode,
        pred: impl FnMut(&str) -> Result<(), Mismatch>,
    ) -> Result<crate::api::log::Followed, StepError> {
        let lp = self.params(timestamps);
        follow_log(
            &self.api,
            &self.pod,
            &lp,
            mode,
            cx.deadline,
            &cx.env.cancel,
            pred,
        )
        .await
        .map_err(|e| match e {
            FollowError::Watch(w) => w.into(),
            FollowError::Open(source) => {
                StepError::api(format!("following {} of {}", self.what, self.pod), source)
            }
            FollowError::Read(source) => StepError::Stream {
                what: format!("reading {} of {}", self.what, self.pod),
                source,
            },
        })
    }

    /// The whole log, now. While the kubelet answers that it cannot retrieve the log (a
    /// container it is replacing or has just removed), that answer is not the log: ask again
    /// until the deadline.
    async fn read(&self, cx: &mut StepCx<'_>) -> Result<String, StepError> {
        const NOT_THE_LOG: &[&str] = &[
            "unable to retrieve container logs for ",
            "failed to try resolving symlinks in path ",
        ];
        let lp = self.params(false);
        // The kubelet's last answer that was not the log: what a timeout reports.
        let refused = std::sync::Mutex::new(None::<String>);
        let read = cx
            .bounded("logs", async {
                loop {
                    let text = self.api.logs(&self.pod, &lp).await.map_err(|e| {
                        StepError::api(format!("reading {} of {}", self.what, self.pod), e)
                    })?;
                    if !NOT_THE_LOG.iter().any(|p| text.starts_with(p)) {
                        return Ok(text);
                    }
                    *refused.lock().unwrap() = Some(text);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            })
            .await;
        let text = match (read, refused.into_inner().unwrap()) {
            (Err(StepError::Timeout(t)), Some(answer)) => {
                return Err(StepError::Timeout(TimedOut {
                    last: Some(Mismatch::new(
                        format!(
                            "{} of {} never came: the kubelet kept answering otherwise",
                            self.what, self.pod
                        ),
                        self.what,
                        answer.trim(),
                    )),
                    ..t
                }));
            }
            (read, _) => read?,
        };
        cx.note(format!(
            "{} of {}: {} lines",
            self.what,
            self.pod,
            text.lines().count()
        ));
        Ok(text)
    }

    /// Follow the log until the growing clauses hold on what was streamed; then read it
    /// whole and judge every clause on that, following on when the fresh read does not
    /// hold yet (a restarted container, a line still in flight).
    async fn follow_until(&self, cx: &mut StepCx<'_>, m: &CompiledText) -> Result<(), StepError> {
        let (growing, _) = m.split();
        let started = std::time::Instant::now();
        let what = self.what;
        loop {
            let followed = self
                .follow(cx, false, Mode::Until, |streamed| {
                    if growing.failures(streamed).is_empty() {
                        Ok(())
                    } else {
                        m.check(what, streamed)
                    }
                })
                .await;
            match followed {
                // The growing clauses hold on what was streamed, or the stream ended (the
                // container stopped): judge the log read whole.
                Ok(_) => {}
                // The time is the whole follow's, not this round's.
                Err(StepError::Timeout(t)) => {
                    return Err(StepError::Timeout(TimedOut {
                        after: started.elapsed(),
                        ..t
                    }));
                }
                Err(e) => return Err(e),
            }
            let text = self.read(cx).await?;
            match judge(m, self.what, &text) {
                Judged::Holds => {
                    cx.judge_text(m, self.what, &text)?;
                    cx.note(format!(
                        "followed the log for {:.2}s, then read it whole: it matches",
                        started.elapsed().as_secs_f64()
                    ));
                    return Ok(());
                }
                Judged::Never(mm) => return Err(StepError::Failed(mm)),
                Judged::NotYet(mm) if std::time::Instant::now() >= cx.deadline => {
                    return Err(StepError::Timeout(TimedOut {
                        after: started.elapsed(),
                        last: Some(mm),
                        api_error: None,
                    }));
                }
                Judged::NotYet(_) => {
                    // A stream that ended while the container is down would end again at
                    // once: give the kubelet a moment before asking anew.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// Follow the log for `window`: every line that arrives is judged with all lines before
    /// it against the whole-log clauses; at the end, every clause on the log read afresh.
    async fn hold(
        &self,
        cx: &mut StepCx<'_>,
        m: &CompiledText,
        window: Duration,
    ) -> Result<(), StepError> {
        let (_, whole) = m.split();
        let what = self.what;
        self.follow(cx, false, Mode::Hold(window), |streamed| {
            whole.check(what, streamed)
        })
        .await?;
        let text = self.read(cx).await?;
        cx.judge_text(m, self.what, &text)?;
        cx.note(format!("{what}: held throughout {}", Dur(window)));
        Ok(())
    }

    /// The first line containing `line` (followed until it appears) was logged between
    /// `from` and `to` after the container's start.
    async fn first_line(
        &self,
        cx: &mut StepCx<'_>,
        line: &str,
        from: Duration,
        to: Duration,
    ) -> Result<f64, StepError> {
        let followed = self
            .follow(cx, true, Mode::Until, |streamed| {
                match streamed.lines().last() {
                    Some(l) if l.contains(line) => Ok(()),
                    _ => Err(Mismatch::new(
                        format!("no line of the log contains {line:?}"),
                        format!("a line containing {line:?}"),
                        "none yet",
                    )),
                }
            })
            .await?;
        let found = match followed.text.lines().last() {
            Some(l) if !followed.ended && l.contains(line) => l.to_string(),
            _ => {
                return Err(StepError::Failed(Mismatch::new(
                    format!("the log ended without a line containing {line:?}"),
                    format!("a line containing {line:?}"),
                    "none: the container stopped",
                )));
            }
        };
        let (stamp, text) = found.split_once(' ').unwrap_or((&found, ""));
        let logged: Timestamp = stamp.parse().map_err(|e| {
            StepError::Invalid(format!("the kubelet's log timestamp {stamp:?}: {e}"))
        })?;
        let pod = cx
            .bounded("reading the pod", async {
                self.api
                    .get(&self.pod)
                    .await
                    .map_err(|e| StepError::api(format!("reading pod {}", self.pod), e))
            })
            .await?;
        let statuses = pod
            .status
            .and_then(|s| s.container_statuses)
            .unwrap_or_default();
        let status = match &self.container {
            Some(c) => statuses.iter().find(|s| &s.name == c),
            None => statuses.first(),
        };
        let Some(started) = status
            .and_then(|s| s.state.as_ref())
            .and_then(|s| s.running.as_ref())
            .and_then(|r| r.started_at.as_ref())
        else {
            return Err(StepError::Failed(Mismatch::new(
                "the container has no start time to measure from",
                "state.running.startedAt",
                format!("container status: {}", quote_block(&format!("{status:?}"))),
            )));
        };
        let after = logged.duration_since(started.0);
        let secs = after.as_secs_f64();
        cx.note(format!(
            "first {line:?} logged {secs:.2}s after the start ({stamp} vs {}): {text}",
            started.0
        ));
        if secs < from.as_secs_f64() || secs > to.as_secs_f64() {
            return Err(StepError::Failed(Mismatch::new(
                format!("the first line containing {line:?} came at another time"),
                format!(
                    "between {} and {} after the container started",
                    Dur(from),
                    Dur(to)
                ),
                format!(
                    "{secs:.2}s after it started ({stamp}; started {})",
                    started.0
                ),
            )));
        }
        Ok(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::template::Vars;

    fn m(yaml: &str) -> CompiledText {
        let t: crate::matchers::text::TextSpec = serde_saphyr::from_str(yaml).unwrap();
        t.compile(&Vars::for_validation()).unwrap()
    }

    /// The flaw this step had: following from the start, it stopped at the first prefix that
    /// satisfied every clause, so a forbidden line later in the log went unseen. Judged on
    /// the whole log, a forbidden line anywhere is a failure for good.
    #[test]
    fn a_forbidden_line_anywhere_in_the_log_fails_for_good() {
        let c = m("{contains: 'Serving on HTTP', not_contains: 'GET /healthy'}");
        let log = "Starting kuard\nServing on HTTP on :8080\nGET /healthy\n";
        assert!(matches!(judge(&c, "the log", log), Judged::Never(_)));
        // The prefix that fooled it holds, and only the prefix.
        assert!(matches!(
            judge(&c, "the log", "Starting kuard\nServing on HTTP on :8080\n"),
            Judged::Holds
        ));
        assert!(matches!(
            judge(&c, "the log", "Starting kuard\n"),
            Judged::NotYet(_)
        ));
    }

    /// The step takes every clause of a text match, and an unknown key is an error at it.
    #[test]
    fn the_keys_are_the_steps_own_and_every_text_clause() {
        assert!(KEYS.ends_with(crate::matchers::text::CLAUSES), "{KEYS:?}");
        let e = serde_saphyr::from_str::<Logs>("{pod: kuard, contain: x}").unwrap_err();
        assert!(e.to_string().contains("unknown field `contain`"), "{e}");
        let l: Logs = serde_saphyr::from_str("{pod: kuard, not_regex: x, max_lines: 2}").unwrap();
        assert_eq!(l.text.max_lines, Some(2));
    }

    #[test]
    fn schema_rules() {
        let dir = std::path::Path::new(".");
        let load = |y: &str| {
            let mut l: Logs = serde_saphyr::from_str(y).unwrap();
            l.validate(&LoadCx { dir }).map(|_| l)
        };
        assert!(load("{pod: kuard}").is_err());
        assert!(load("{pod: kuard, first: {line: x, between: [5s, 1s]}}").is_err());
        assert!(load("{pod: kuard, previous: true, not_contains: x, during: 5s}").is_err());
        let l = load("{pod: kuard, not_contains: x, during: 5s}").unwrap();
        assert_eq!(l.window(), Duration::from_secs(5));
        load("{pod: kuard, first: {line: 'GET /healthy', between: [12s, 16s]}}").unwrap();
    }
}
