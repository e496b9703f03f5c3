//! `events`: Events about an object (watched): each expected event appears (at least
//! `count` times, summing the API's own aggregation counts), and no forbidden one does.
//!
//! ```yaml
//! - events:
//!     object: pod/kuard                       # or pod: kuard; omitted = any object in the namespace
//!     expect:
//!       - { type: Warning, reason: Unhealthy, message: "Liveness probe failed: HTTP probe failed with statuscode: 500", count: 3 }
//!       - { type: Normal, reason: Killing, message_regex: 'Container kuard failed liveness probe, will be restarted' }
//!     none: [ { reason: Killing } ]            # must not appear (while waiting, or `during`)
//!     timeout: 60s
//! ```
//! `message` is a substring, `message_regex` a regex. With only `none`, give `during:`.

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::api::Api;
use kube::runtime::watcher;
use serde::{Deserialize, Serialize};

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::api::watch::{Mode, Set, watch_set};
use crate::fields::Dur;
use crate::fields::objref::{ObjectRef, target};
use crate::fields::template::{Template, Vars};
use crate::fields::versioned::Versioned;
use crate::matchers::Mismatch;
use crate::matchers::text::RegexTemplate;

/// An Event's `type`: the API knows two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Reasons the kubelet, the scheduler and the controllers give the events of pods and
/// their Services (pkg/kubelet/events, the scheduler's and controllers' recorders). A reason
/// outside the list is a load error unless the event says `custom_reason: true`: a typo
/// (`Killng`) would otherwise match nothing, and under `none:` pass without checking.
pub const KNOWN_REASONS: &[&str] = &[
    // kubelet: containers
    "Created",
    "Started",
    "Failed",
    "Killing",
    "Preempting",
    "BackOff",
    "ExceededGracePeriod",
    // kubelet: images
    "Pulling",
    "Pulled",
    "InspectFailed",
    "ErrImageNeverPull",
    // kubelet: probes
    "Unhealthy",
    "ProbeWarning",
    // kubelet: pods and sandboxes
    "FailedKillPod",
    "FailedCreatePodContainer",
    "NetworkNotReady",
    "FailedCreatePodSandBox",
    "FailedPodSandBoxStatus",
    "SandboxChanged",
    "FailedSync",
    "FailedValidation",
    "FailedPostStartHook",
    "FailedPreStopHook",
    "FailedMount",
    "FailedAttachVolume",
    "FailedMapVolume",
    "SuccessfulAttachVolume",
    "SuccessfulMountVolume",
    "OutOfDisk",
    "HostPortConflict",
    "NodeSelectorMismatching",
    "InsufficientFreeCPU",
    "InsufficientFreeMemory",
    "OutOfpods",
    "Evicted",
    "ResizeDeferred",
    "ResizeInfeasible",
    // scheduler
    "Scheduled",
    "FailedScheduling",
    "Preempted",
    // controllers (node lifecycle, endpoints, endpoint slices)
    "TaintManagerEviction",
    "NodeNotReady",
    "FailedToUpdateEndpoint",
    "FailedToUpdateEndpointSlices",
];

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Template>,
    /// The reason is one of the cluster's own (not in [`KNOWN_REASONS`]), on purpose.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub custom_reason: bool,
    /// A substring of the message; or `by_version:` one per Kubernetes version range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Versioned<Template>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_regex: Option<Versioned<RegexTemplate>>,
    /// At least this many occurrences (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Events {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<EventSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub none: Vec<EventSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
}

/// An [`EventSpec`] with its placeholders substituted and the message form for the
/// cluster's version picked; `others` are the forms for other versions.
struct Compiled {
    type_: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    regex: Option<regex::Regex>,
    count: u32,
    shown: String,
    others: Vec<(String, Compiled)>,
}

impl EventSpec {
    /// A spec must say something, and a reason must be a real one.
    fn validate(&self, field: &str) -> Result<(), Invalid> {
        if self.type_.is_none()
            && self.reason.is_none()
            && self.message.is_none()
            && self.message_regex.is_none()
        {
            return Err(format!(
                "`{field}`: an event with no type, reason or message matches every event; say which"
            )
            .into());
        }
        if let Some(r) = &self.reason
            && !self.custom_reason
            && !r.raw().contains("${")
            && !KNOWN_REASONS.contains(&r.raw())
        {
            let near = KNOWN_REASONS
                .iter()
                .find(|k| k.eq_ignore_ascii_case(r.raw()) || near_miss(k, r.raw()))
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "`{field}`: `{}` is not a reason the kubelet, scheduler or controllers give{near}; \
                 hint: for a reason of your cluster's own, add `custom_reason: true`",
                r.raw()
            )
            .into());
        }
        if self.count == Some(0) {
            return Err(format!("`{field}.count`: 0 occurrences is what `none:` says").into());
        }
        Ok(())
    }

    fn compile(&self, vars: &Vars) -> Result<Compiled, StepError> {
        let version = vars.kubernetes.as_ref();
        let message = self
            .message
            .as_ref()
            .map(|m| m.pick(version).map(|(t, _)| t))
            .transpose()
            .map_err(StepError::Invalid)?;
        let regex = self
            .message_regex
            .as_ref()
            .map(|m| m.pick(version).map(|(t, _)| t))
            .transpose()
            .map_err(StepError::Invalid)?;
        let mut c = self.compile_form(vars, message, regex)?;
        for (range, m) in self.message.iter().flat_map(|m| m.others(version)) {
            c.others
                .push((range.raw.clone(), self.compile_form(vars, Some(m), regex)?));
        }
        for (range, r) in self.message_regex.iter().flat_map(|m| m.others(version)) {
            c.others.push((
                range.raw.clone(),
                self.compile_form(vars, message, Some(r))?,
            ));
        }
        Ok(c)
    }

    fn compile_form(
        &self,
        vars: &Vars,
        message: Option<&Template>,
        regex: Option<&RegexTemplate>,
    ) -> Result<Compiled, StepError> {
        let c = Compiled {
            type_: self.type_.map(|t| t.as_str().to_string()),
            reason: self.reason.as_ref().map(|r| r.render(vars)).transpose()?,
            message: message.map(|m| m.render(vars)).transpose()?,
            regex: regex
                .map(|r| r.compile(vars))
                .transpose()
                .map_err(|e| StepError::Invalid(e.to_string()))?,
            count: self.count.unwrap_or(1),
            shown: String::new(),
            others: Vec::new(),
        };
        let mut parts = Vec::new();
        if let Some(t) = &c.type_ {
            parts.push(t.clone());
        }
        if let Some(r) = &c.reason {
            parts.push(r.clone());
        }
        if let Some(m) = &c.message {
            parts.push(format!("{m:?}"));
        }
        if let Some(r) = &c.regex {
            parts.push(format!("/{}/", r.as_str()));
        }
        if c.count > 1 {
            parts.push(format!("x{} or more", c.count));
        }
        Ok(Compiled {
            shown: parts.join(" "),
            ..c
        })
    }
}

/// One letter dropped, added or changed, or two swapped: `Killng`, `Unhealty`.
fn near_miss(known: &str, typed: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (known.chars().collect(), typed.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let common_prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let common_suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    common_prefix + common_suffix + 2 >= a.len().max(b.len())
}

impl Compiled {
    fn matches(&self, e: &Event) -> bool {
        self.type_
            .as_deref()
            .is_none_or(|t| e.type_.as_deref() == Some(t))
            && self
                .reason
                .as_deref()
                .is_none_or(|r| e.reason.as_deref() == Some(r))
            && self
                .message
                .as_deref()
                .is_none_or(|m| e.message.as_deref().unwrap_or("").contains(m))
            && self
                .regex
                .as_ref()
                .is_none_or(|r| r.is_match(e.message.as_deref().unwrap_or("")))
    }

    /// Occurrences among the events, counting the API's aggregation.
    fn occurrences(&self, set: &Set<Event>) -> u32 {
        set.values()
            .filter(|e| self.matches(e))
            .map(occurrences)
            .sum()
    }
}

fn occurrences(e: &Event) -> u32 {
    let series = e.series.as_ref().map_or(0, |s| s.count.unwrap_or(0));
    (e.count.unwrap_or(1).max(series)).max(1) as u32
}

/// One event as kubectl shows it.
pub fn show_event(e: &Event) -> String {
    format!(
        "{} {} {:?}{}",
        e.type_.as_deref().unwrap_or("?"),
        e.reason.as_deref().unwrap_or("?"),
        e.message.as_deref().unwrap_or(""),
        match occurrences(e) {
            1 => String::new(),
            n => format!(" (x{n})"),
        }
    )
}

fn show_all(set: &Set<Event>) -> String {
    if set.is_empty() {
        return "no events".into();
    }
    let mut v: Vec<&Event> = set.values().collect();
    v.sort_by_key(|e| e.last_timestamp.clone().or(e.first_timestamp.clone()));
    v.iter()
        .map(|e| format!("\n    | {}", show_event(e)))
        .collect()
}

impl StepKind for Events {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    fn timeout_field(&self) -> Option<Dur> {
        self.timeout
    }

    fn during_field(&self) -> Option<Dur> {
        self.during
    }

    fn validate(&mut self, _: &LoadCx<'_>) -> Result<(), Invalid> {
        if self.pod.is_some() || self.object.is_some() {
            target(&self.pod, &self.object)?;
        }
        match (
            self.expect.is_empty(),
            self.none.is_empty(),
            self.during.is_some(),
        ) {
            (true, true, _) => Err("nothing to check: give `expect` and/or `none`".into()),
            (true, false, false) => {
                Err("with only `none`, give `during:` (how long it must not appear)".into())
            }
            (false, _, true) => Err(
                "`during` goes with `none` alone; `expect` waits until the events appear".into(),
            ),
            _ => Ok::<(), Invalid>(()),
        }?;
        for (i, e) in self.expect.iter().enumerate() {
            e.validate(&format!("expect[{i}]"))?;
        }
        for (i, e) in self.none.iter().enumerate() {
            e.validate(&format!("none[{i}]"))?;
        }
        Ok(())
    }
    fn summary(&self) -> String {
        let on = match (&self.pod, &self.object) {
            (Some(p), _) => format!("pod/{p}"),
            (_, Some(o)) => o.to_string(),
            _ => "namespace".into(),
        };
        format!(
            "{on}: {} expected, {} forbidden",
            self.expect.len(),
            self.none.len()
        )
    }
    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let vars = cx.vars().clone();
        let expect = self
            .expect
            .iter()
            .map(|e| e.compile(&vars))
            .collect::<Result<Vec<_>, _>>()?;
        let none = self
            .none
            .iter()
            .map(|e| e.compile(&vars))
            .collect::<Result<Vec<_>, _>>()?;
        let mut config = watcher::Config::default();
        if self.pod.is_some() || self.object.is_some() {
            let t = target(&self.pod, &self.object).map_err(StepError::Invalid)?;
            let (kind, name) = t.render(&vars)?;
            let r = cx.env.resolver.by_name(&kind).await?;
            config = config.fields(&format!(
                "involvedObject.kind={},involvedObject.name={name}",
                r.api.kind
            ));
        }
        let api: Api<Event> = Api::namespaced(cx.client(), cx.ns());
        let mode = self.during.map_or(Mode::Until, |d| Mode::Hold(d.0));
        let version_shown = vars
            .kubernetes
            .as_ref()
            .map_or("of an unknown version".to_string(), |v| v.to_string());
        let mut forbidden: Option<Mismatch> = None;
        let obs = watch_set(api, config, mode, cx.deadline, &cx.env.cancel, |set| {
            if let Some(f) = none.iter().find(|f| f.occurrences(set) > 0) {
                let m = Mismatch::new(
                    format!("a forbidden event appeared: {}", f.shown),
                    format!("no event {}", f.shown),
                    show_all(set),
                );
                if mode == Mode::Until {
                    // Stop the watch now; the failure is reported below.
                    forbidden = Some(m);
                    return Ok(());
                }
                return Err(m);
            }
            let missing: Vec<String> = expect
                .iter()
                .filter_map(|x| {
                    let n = x.occurrences(set);
                    (n < x.count).then(|| {
                        let mut s = if n == 0 {
                            x.shown.clone()
                        } else {
                            format!("{} (seen {n})", x.shown)
                        };
                        // Say so when the events have another version's form of the text.
                        if let Some((range, _)) =
                            x.others.iter().find(|(_, o)| o.occurrences(set) >= x.count)
                        {
                            s.push_str(&format!(
                                " (the events have the form given for Kubernetes {range}; the cluster is {})",
                                version_shown
                            ));
                        }
                        s
                    })
                })
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(Mismatch::new(
                    format!("missing events: {}", missing.join("; ")),
                    missing.join("; "),
                    show_all(set),
                ))
            }
        })
        .await?;
        if let Some(m) = forbidden {
            return Err(StepError::Failed(m));
        }
        cx.note(format!(
            "events as expected after {:.2}s:{}",
            obs.elapsed.as_secs_f64(),
            show_all(&obs.set)
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: &str, reason: &str, msg: &str, count: i32) -> Event {
        Event {
            type_: Some(t.into()),
            reason: Some(reason.into()),
            message: Some(msg.into()),
            count: Some(count),
            ..Default::default()
        }
    }

    #[test]
    fn matching_and_counting() {
        let spec: EventSpec = serde_saphyr::from_str(
            "{type: Warning, reason: Unhealthy, message: 'statuscode: 500', count: 3}",
        )
        .unwrap();
        let c = spec.compile(&Vars::for_validation()).unwrap();
        let mut set = Set::new();
        set.insert(
            "a".into(),
            ev(
                "Warning",
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 500",
                2,
            ),
        );
        set.insert(
            "b".into(),
            ev(
                "Normal",
                "Killing",
                "Container kuard failed liveness probe, will be restarted",
                1,
            ),
        );
        assert_eq!(c.occurrences(&set), 2);
        set.insert(
            "c".into(),
            ev(
                "Warning",
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 500",
                1,
            ),
        );
        assert_eq!(c.occurrences(&set), 3);
        assert_eq!(c.shown, "Warning Unhealthy \"statuscode: 500\" x3 or more");
    }

    #[test]
    fn schema_rules() {
        let cx = LoadCx {
            dir: std::path::Path::new("."),
        };
        let mut e: Events =
            serde_saphyr::from_str("{pod: kuard, none: [{reason: Killing}]}").unwrap();
        assert!(
            e.validate(&cx)
                .unwrap_err()
                .message
                .contains("give `during:`")
        );
        let mut e: Events =
            serde_saphyr::from_str("{pod: kuard, expect: [{reason: Started}], during: 5s}")
                .unwrap();
        assert!(e.validate(&cx).is_err());
        assert!(serde_saphyr::from_str::<Events>("{expect: [{reasn: Started}]}").is_err());
        // A typo in a forbidden reason would forbid nothing.
        let mut e: Events =
            serde_saphyr::from_str("{pod: kuard, none: [{reason: Killng}], during: 5s}").unwrap();
        let m = e.validate(&cx).unwrap_err().message;
        assert!(
            m.contains("`Killng` is not a reason") && m.contains("did you mean `Killing`?"),
            "{m}"
        );
        let mut e: Events = serde_saphyr::from_str(
            "{pod: kuard, none: [{reason: MyOperatorSaidSo, custom_reason: true}], during: 5s}",
        )
        .unwrap();
        e.validate(&cx).unwrap();
        assert!(
            serde_saphyr::from_str::<Events>("{expect: [{type: Warn, reason: Unhealthy}]}")
                .is_err(),
            "the type is Normal or Warning"
        );
        let mut e: Events = serde_saphyr::from_str("{expect: [{count: 2}]}").unwrap();
        assert!(
            e.validate(&cx)
                .unwrap_err()
                .message
                .contains("matches every event")
        );
    }
}
