//! `endpoints`: a pod's address in its Service's EndpointSlices (watched): present and
//! ready, present and not ready, or absent. With `during:` it must stay so.
//!
//! ```yaml
//! - endpoints: { service: kuard, pod: kuard, ready: true }
//! - endpoints: { service: kuard, pod: kuard, ready: false, timeout: 60s }
//! - endpoints: { service: kuard, pod: kuard, present: false }
//! ```

use std::time::Duration;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::watcher;
use serde::{Deserialize, Serialize};

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::api::watch::{Mode, Set, watch_set};
use crate::fields::Dur;
use crate::fields::template::Template;
use crate::matchers::Mismatch;

/// Readiness needs a few probe periods plus the endpoint controller's batching.

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    pub service: Template,
    pub pod: Template,
    /// `conditions.ready` of the pod's endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// Whether the pod is in the slices at all (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<Dur>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    /// Keep, under this name, how long the slices took to get there (from the step's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

impl StepKind for Endpoints {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    fn timeout_field(&self) -> Option<Dur> {
        self.timeout
    }

    fn during_field(&self) -> Option<Dur> {
        self.during
    }

    fn validate(&mut self, _: &LoadCx<'_>) -> Result<(), Invalid> {
        if self.present == Some(false) && self.ready.is_some() {
            return Err(
                "`ready` says how the pod is present; it cannot go with `present: false`".into(),
            );
        }
        Ok(())
    }
    fn summary(&self) -> String {
        let mut s = format!("service/{} pod/{}: {}", self.service, self.pod, self.want());
        if let Some(d) = self.during {
            s.push_str(&format!(" during {d}"));
        }
        s
    }
    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let svc = self.service.render(cx.vars())?;
        let pod = self.pod.render(cx.vars())?;
        let api: Api<EndpointSlice> = Api::namespaced(cx.client(), cx.ns());
        let config =
            watcher::Config::default().labels(&format!("kubernetes.io/service-name={svc}"));
        let mode = self.during.map_or(Mode::Until, |d| Mode::Hold(d.0));
        let obs = watch_set(api, config, mode, cx.deadline, &cx.env.cancel, |set| {
            self.check(&svc, &pod, set)
        })
        .await?;
        cx.note(format!(
            "service {svc}: {} after {:.2}s ({})",
            self.want(),
            obs.elapsed.as_secs_f64(),
            describe(&pod, &obs.set)
        ));
        if let Some(name) = &self.record {
            cx.record(name, obs.elapsed.as_secs_f64());
        }
        Ok(())
    }
}

impl Endpoints {
    fn want(&self) -> String {
        match (self.present, self.ready) {
            (Some(false), _) => "absent".into(),
            (_, Some(true)) => "present, ready=true".into(),
            (_, Some(false)) => "present, ready=false".into(),
            (_, None) => "present".into(),
        }
    }
    fn check(&self, svc: &str, pod: &str, set: &Set<EndpointSlice>) -> Result<(), Mismatch> {
        // A dual-stack Service has a slice per address family, each with an endpoint of the
        // pod: what is asked must hold of all of them.
        let found = find(pod, set);
        let ok = match (self.present, self.ready) {
            (Some(false), _) => found.is_empty(),
            (_, None) => !found.is_empty(),
            (_, Some(r)) => !found.is_empty() && found.iter().all(|(ready, _)| *ready == r),
        };
        if ok {
            Ok(())
        } else {
            Err(Mismatch::new(
                format!("pod {pod} in the endpoints of service {svc} is not as expected"),
                format!("{pod} {}", self.want()),
                describe(pod, set),
            ))
        }
    }
}

/// The pod's endpoints, one per slice it is in (one per address family): (ready, addresses).
fn find(pod: &str, set: &Set<EndpointSlice>) -> Vec<(bool, String)> {
    set.values()
        .flat_map(|s| s.endpoints.iter().flatten())
        .filter(|e| {
            e.target_ref
                .as_ref()
                .is_some_and(|t| t.kind.as_deref() == Some("Pod") && t.name.as_deref() == Some(pod))
        })
        .map(|e| (crate::api::endpoint_ready(e), e.addresses.join(",")))
        .collect()
}

fn describe(pod: &str, set: &Set<EndpointSlice>) -> String {
    if set.is_empty() {
        return "no EndpointSlices for the service".into();
    }
    let all: Vec<String> = set
        .values()
        .flat_map(|s| s.endpoints.iter().flatten())
        .map(|e| {
            let name = e
                .target_ref
                .as_ref()
                .and_then(|t| t.name.clone())
                .unwrap_or_else(|| "?".into());
            let ready = e.conditions.as_ref().and_then(|c| c.ready);
            format!(
                "{name} {} ready={}",
                e.addresses.join(","),
                ready.map_or("unset".to_string(), |r| r.to_string())
            )
        })
        .collect();
    match find(pod, set).is_empty() {
        false => all.join("; "),
        true if all.is_empty() => format!("{pod} absent (the slices have no endpoints)"),
        true => format!("{pod} absent (endpoints: {})", all.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions};

    fn slice(ready: Option<bool>) -> Set<EndpointSlice> {
        slice_of("10.244.0.7", ready)
    }

    fn slice_of(address: &str, ready: Option<bool>) -> Set<EndpointSlice> {
        let s = EndpointSlice {
            endpoints: Some(vec![Endpoint {
                addresses: vec![address.into()],
                conditions: Some(EndpointConditions {
                    ready,
                    ..Default::default()
                }),
                target_ref: Some(ObjectReference {
                    kind: Some("Pod".into()),
                    name: Some("kuard".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        };
        [(format!("ns/kuard-{address}"), s)].into()
    }

    fn step(y: &str) -> Endpoints {
        serde_saphyr::from_str(y).unwrap()
    }

    #[test]
    fn ready_not_ready_and_absent() {
        let want_ready = step("{service: kuard, pod: kuard, ready: true}");
        assert!(
            want_ready
                .check("kuard", "kuard", &slice(Some(true)))
                .is_ok()
        );
        assert!(
            want_ready.check("kuard", "kuard", &slice(None)).is_ok(),
            "unset means ready"
        );
        let m = want_ready
            .check("kuard", "kuard", &slice(Some(false)))
            .unwrap_err();
        assert_eq!(m.expected, "kuard present, ready=true");
        assert_eq!(m.actual, "kuard 10.244.0.7 ready=false");
        let gone = step("{service: kuard, pod: kuard, present: false}");
        assert!(gone.check("kuard", "kuard", &slice(Some(true))).is_err());
        assert!(gone.check("kuard", "kuard", &Set::new()).is_ok());
        let m = want_ready.check("kuard", "kuard", &Set::new()).unwrap_err();
        assert_eq!(m.actual, "no EndpointSlices for the service");
    }

    /// A dual-stack Service: a slice per address family, the pod in both. Ready means ready
    /// in both; one family that lags behind is not yet what was asked.
    #[test]
    fn a_pod_in_two_address_families_is_judged_in_both() {
        let mut both = slice_of("10.244.0.7", Some(true));
        both.extend(slice_of("fd00:10:244::7", Some(false)));
        let want_ready = step("{service: kuard, pod: kuard, ready: true}");
        let m = want_ready.check("kuard", "kuard", &both).unwrap_err();
        assert!(
            m.actual.contains("fd00:10:244::7 ready=false"),
            "{}",
            m.actual
        );
        let want_not = step("{service: kuard, pod: kuard, ready: false}");
        assert!(want_not.check("kuard", "kuard", &both).is_err());
        let mut ready = slice_of("10.244.0.7", Some(true));
        ready.extend(slice_of("fd00:10:244::7", None));
        assert!(want_ready.check("kuard", "kuard", &ready).is_ok());
    }
}
