//! Is `kubectl describe pod` consistent with the API object? Every field the Pods chapter
//! shows, compared with where it comes from in the Pod (and its Events), so a describe that
//! prints stale or invented values fails, not only one that omits them.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStatus, Event, Pod, PodSpec, PodStatus, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::parse::Node;

/// One field where describe and the API disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    pub path: String,
    /// From the API object.
    pub expected: String,
    /// From describe (`(missing)` when the field is not shown).
    pub actual: String,
}

/// kubectl prints times as RFC 1123 with a numeric zone, in the local zone: we run it with
/// `TZ=UTC`.
pub fn describe_time(t: &Time) -> String {
    t.0.to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC)
        .strftime("%a, %d %b %Y %H:%M:%S %z")
        .to_string()
}

struct Cmp<'a> {
    diffs: Vec<Diff>,
    root: &'a Node,
}

impl Cmp<'_> {
    fn eq(&mut self, path: &str, node: Option<&Node>, key: &str, expected: impl Into<String>) {
        let expected = expected.into();
        let actual = node.and_then(|n| n.value_of(key));
        if actual.as_deref() != Some(expected.as_str()) {
            self.diffs.push(Diff {
                path: join(path, key),
                expected,
                actual: actual.unwrap_or_else(|| "(missing)".into()),
            });
        }
    }

    /// Multi-line values compared as sets of lines.
    fn set(&mut self, path: &str, node: Option<&Node>, key: &str, expected: BTreeSet<String>) {
        let actual: BTreeSet<String> = match node.and_then(|n| n.child(key)) {
            None => {
                self.diffs.push(Diff {
                    path: join(path, key),
                    expected: show_set(&expected),
                    actual: "(missing)".into(),
                });
                return;
            }
            Some(n) => n.value.iter().filter(|l| *l != "<none>").cloned().collect(),
        };
        if actual != expected {
            self.diffs.push(Diff {
                path: join(path, key),
                expected: show_set(&expected),
                actual: show_set(&actual),
            });
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn show_set(s: &BTreeSet<String>) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn ports(c: &Container, host: bool, named: bool) -> String {
    let ps: Vec<String> = c
        .ports
        .iter()
        .flatten()
        .map(|p| {
            let n = if host {
                p.host_port.unwrap_or(0)
            } else {
                p.container_port
            };
            let name = p
                .name
                .as_deref()
                .filter(|n| named && !n.is_empty())
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            format!("{n}/{}{name}", p.protocol.as_deref().unwrap_or("TCP"))
        })
        .collect();
    if ps.is_empty() {
        "<none>".into()
    } else {
        ps.join(", ")
    }
}

fn state_name(s: &ContainerState) -> &'static str {
    if s.running.is_some() {
        "Running"
    } else if s.terminated.is_some() {
        "Terminated"
    } else {
        "Waiting"
    }
}

/// kubectl's toleration line: `key[=value][:effect][ op=Exists][ for Ns]`.
pub fn toleration(t: &Toleration) -> String {
    let mut s = t.key.clone().unwrap_or_default();
    if let Some(v) = t.value.as_deref().filter(|v| !v.is_empty()) {
        s.push('=');
        s.push_str(v);
    }
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty()) {
        s.push(':');
        s.push_str(e);
    }
    if t.operator.as_deref() == Some("Exists") {
        s.push_str(" op=Exists");
    }
    if let Some(secs) = t.toleration_seconds {
        s.push_str(&format!(" for {secs}s"));
    }
    s
}

fn container(cmp: &mut Cmp<'_>, section: &str, c: &Container, st: Option<&ContainerStatus>) {
    let path = format!("{section}.{}", c.name);
    let node = cmp.root.child(section).and_then(|s| s.child(&c.name));
    if node.is_none() {
        cmp.diffs.push(Diff {
            path: path.clone(),
            expected: format!("container {} shown", c.name),
            actual: "(missing)".into(),
        });
        return;
    }
    cmp.eq(&path, node, "Image", c.image.clone().unwrap_or_default());
    let n_ports = c.ports.as_ref().map_or(0, Vec::len);
    let (pk, hk) = if n_ports > 1 {
        ("Ports", "Host Ports")
    } else {
        ("Port", "Host Port")
    };
    for (key, host) in [(pk, false), (hk, true)] {
        // kubectl >= 1.37 names the port (`8080/TCP (http)`), older ones do not.
        let (named, bare) = (ports(c, host, true), ports(c, host, false));
        let actual = node.and_then(|n| n.value_of(key));
        if actual.as_deref() != Some(named.as_str()) && actual.as_deref() != Some(bare.as_str()) {
            cmp.diffs.push(Diff {
                path: join(&path, key),
                expected: named,
                actual: actual.unwrap_or_else(|| "(missing)".into()),
            });
        }
    }
    let Some(st) = st else { return };
    if let Some(id) = &st.container_id {
        cmp.eq(&path, node, "Container ID", id.clone());
    }
    if !st.image_id.is_empty() {
        cmp.eq(&path, node, "Image ID", st.image_id.clone());
    }
    if let Some(s) = &st.state {
        let shown = node.and_then(|n| n.child("State"));
        let actual = shown.map(|n| n.first().to_string());
        if actual.as_deref() != Some(state_name(s)) {
            cmp.diffs.push(Diff {
                path: format!("{path}.State"),
                expected: state_name(s).into(),
                actual: actual.unwrap_or_else(|| "(missing)".into()),
            });
        } else if let Some(r) = &s.running
            && let Some(t) = &r.started_at
        {
            cmp.eq(&format!("{path}.State"), shown, "Started", describe_time(t));
        } else if let Some(w) = &s.waiting
            && let Some(r) = &w.reason
        {
            cmp.eq(&format!("{path}.State"), shown, "Reason", r.clone());
        } else if let Some(t) = &s.terminated {
            cmp.eq(
                &format!("{path}.State"),
                shown,
                "Exit Code",
                t.exit_code.to_string(),
            );
        }
    }
    if let Some(t) = st.last_state.as_ref().and_then(|l| l.terminated.as_ref()) {
        let shown = node.and_then(|n| n.child("Last State"));
        cmp.eq(
            &path,
            node.filter(|_| shown.is_some()),
            "Last State",
            "Terminated",
        );
        cmp.eq(
            &format!("{path}.Last State"),
            shown,
            "Exit Code",
            t.exit_code.to_string(),
        );
        if let Some(r) = &t.reason {
            cmp.eq(&format!("{path}.Last State"), shown, "Reason", r.clone());
        }
    }
    cmp.eq(
        &path,
        node,
        "Ready",
        if st.ready { "True" } else { "False" },
    );
    cmp.eq(&path, node, "Restart Count", st.restart_count.to_string());
}

/// Compare a parsed `describe pod` with the Pod and its Events, section by section as
/// describe prints them.
pub fn pod(root: &Node, pod: &Pod, events: &[Event]) -> Vec<Diff> {
    let mut cmp = Cmp {
        diffs: Vec::new(),
        root,
    };
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    header(&mut cmp, pod, &spec, &status);
    annotations(&mut cmp, pod);
    status_and_ips(&mut cmp, pod, &status);
    let find = |list: &Option<Vec<ContainerStatus>>, name: &str| {
        list.iter().flatten().find(|s| s.name == name).cloned()
    };
    for c in spec.init_containers.iter().flatten() {
        container(
            &mut cmp,
            "Init Containers",
            c,
            find(&status.init_container_statuses, &c.name).as_ref(),
        );
    }
    for c in &spec.containers {
        container(
            &mut cmp,
            "Containers",
            c,
            find(&status.container_statuses, &c.name).as_ref(),
        );
    }
    conditions(&mut cmp, &status);
    volumes(&mut cmp, &spec);
    scheduling(&mut cmp, &spec, &status);
    event_rows(&mut cmp, events);
    cmp.diffs
}

/// Name, Namespace, Priority, Service Account, Node, Start Time, Labels.
fn header(cmp: &mut Cmp<'_>, pod: &Pod, spec: &PodSpec, status: &PodStatus) {
    let r = Some(cmp.root);
    let meta = &pod.metadata;
    cmp.eq("", r, "Name", meta.name.clone().unwrap_or_default());
    cmp.eq(
        "",
        r,
        "Namespace",
        meta.namespace.clone().unwrap_or_default(),
    );
    if let Some(p) = spec.priority {
        cmp.eq("", r, "Priority", p.to_string());
    }
    if cmp.root.child("Service Account").is_some() {
        cmp.eq(
            "",
            r,
            "Service Account",
            spec.service_account_name.clone().unwrap_or_default(),
        );
    }
    let node = match (&spec.node_name, &status.host_ip) {
        (Some(n), Some(ip)) if !ip.is_empty() => format!("{n}/{ip}"),
        (Some(n), _) => n.clone(),
        (None, _) => "<none>".into(),
    };
    cmp.eq("", r, "Node", node);
    if let Some(t) = &status.start_time {
        cmp.eq("", r, "Start Time", describe_time(t));
    }
    let labels = meta
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    cmp.set("", r, "Labels", labels);
}

/// The annotation keys (describe leaves out kubectl's own last-applied one).
fn annotations(cmp: &mut Cmp<'_>, pod: &Pod) {
    let want: BTreeSet<String> = pod
        .metadata
        .annotations
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .filter(|k| k != "kubectl.kubernetes.io/last-applied-configuration")
        .collect();
    let shown: Option<BTreeSet<String>> = cmp.root.child("Annotations").map(|n| {
        n.value
            .iter()
            .filter(|l| *l != "<none>")
            .map(|l| {
                l.split_once(": ")
                    .map_or(l.trim_end_matches(':'), |(k, _)| k)
                    .to_string()
            })
            .collect()
    });
    if shown.as_ref() != Some(&want) {
        cmp.diffs.push(Diff {
            path: "Annotations".into(),
            expected: show_set(&want),
            actual: shown.map_or("(missing)".into(), |s| show_set(&s)),
        });
    }
}

/// Status (Terminating while deleted), IP and IPs.
fn status_and_ips(cmp: &mut Cmp<'_>, pod: &Pod, status: &PodStatus) {
    let root = cmp.root;
    let r = Some(root);
    if pod.metadata.deletion_timestamp.is_some() {
        let s = root.value_of("Status").unwrap_or_default();
        if !s.starts_with("Terminating") {
            cmp.diffs.push(Diff {
                path: "Status".into(),
                expected: "Terminating (...)".into(),
                actual: s,
            });
        }
    } else {
        cmp.eq("", r, "Status", status.phase.clone().unwrap_or_default());
    }
    cmp.eq("", r, "IP", status.pod_ip.clone().unwrap_or_default());
    let want_ips: BTreeSet<String> = status
        .pod_ips
        .iter()
        .flatten()
        .map(|p| p.ip.clone())
        .collect();
    let shown_ips: BTreeSet<String> = root
        .child("IPs")
        .map(|n| n.all("IP").map(Node::text).collect())
        .unwrap_or_default();
    if want_ips != shown_ips
        && !(want_ips.is_empty() && root.value_of("IPs").as_deref() == Some("<none>"))
    {
        cmp.diffs.push(Diff {
            path: "IPs".into(),
            expected: show_set(&want_ips),
            actual: show_set(&shown_ips),
        });
    }
}

/// The same set of condition types with the same statuses.
fn conditions(cmp: &mut Cmp<'_>, status: &PodStatus) {
    let want: BTreeSet<String> = status
        .conditions
        .iter()
        .flatten()
        .map(|c| format!("{}={}", c.type_, c.status))
        .collect();
    let shown: BTreeSet<String> = cmp
        .root
        .child("Conditions")
        .and_then(|n| n.table.as_ref())
        .map(|t| {
            t.rows
                .iter()
                .map(|r| format!("{}={}", r[0], r.get(1).map_or("", |s| s.as_str())))
                .collect()
        })
        .unwrap_or_default();
    if want != shown {
        cmp.diffs.push(Diff {
            path: "Conditions".into(),
            expected: show_set(&want),
            actual: show_set(&shown),
        });
    }
}

/// Every volume shown, with the projected token's, config map's and downward API's fields.
fn volumes(cmp: &mut Cmp<'_>, spec: &PodSpec) {
    for v in spec.volumes.iter().flatten() {
        let path = format!("Volumes.{}", v.name);
        let node = cmp.root.child("Volumes").and_then(|n| n.child(&v.name));
        if node.is_none() {
            cmp.diffs.push(Diff {
                path,
                expected: format!("volume {} shown", v.name),
                actual: "(missing)".into(),
            });
            continue;
        }
        for s in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(t) = &s.service_account_token {
                cmp.eq(
                    &path,
                    node,
                    "TokenExpirationSeconds",
                    t.expiration_seconds.unwrap_or(3600).to_string(),
                );
            }
            if let Some(cm) = &s.config_map {
                cmp.eq(&path, node, "ConfigMapName", cm.name.clone());
            }
            if s.downward_api.is_some() {
                cmp.eq(&path, node, "DownwardAPI", "true");
            }
        }
    }
}

/// QoS Class, Node-Selectors, Tolerations.
fn scheduling(cmp: &mut Cmp<'_>, spec: &PodSpec, status: &PodStatus) {
    let r = Some(cmp.root);
    if let Some(q) = &status.qos_class {
        cmp.eq("", r, "QoS Class", q.clone());
    }
    let sel = spec
        .node_selector
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    cmp.set("", r, "Node-Selectors", sel);
    let tol = spec.tolerations.iter().flatten().map(toleration).collect();
    cmp.set("", r, "Tolerations", tol);
}

/// Every event row must be one of the pod's events.
fn event_rows(cmp: &mut Cmp<'_>, events: &[Event]) {
    let Some(t) = cmp.root.child("Events").and_then(|n| n.table.as_ref()) else {
        return;
    };
    for row in &t.rows {
        let (ty, reason, msg) = (
            t.cell(row, "Type").unwrap_or(""),
            t.cell(row, "Reason").unwrap_or(""),
            t.cell(row, "Message").unwrap_or(""),
        );
        let known = events.iter().any(|e| {
            let m = e.message.as_deref().unwrap_or("").trim();
            // kubectl >= 1.37 prefixes the message with the object's field path:
            // `spec.containers{kuard}: Container started`.
            let prefixed =
                e.involved_object.field_path.as_deref().is_some_and(|f| {
                    msg.strip_prefix(f).and_then(|r| r.strip_prefix(": ")) == Some(m)
                });
            e.type_.as_deref() == Some(ty)
                && e.reason.as_deref() == Some(reason)
                && (msg == m || prefixed)
        });
        if !known {
            cmp.diffs.push(Diff {
                path: format!("Events.{reason}"),
                expected: "an event of the pod".into(),
                actual: format!("{ty} {reason} {msg:?} is not among the pod's events"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    fn fixtures() -> (Node, Pod, Vec<Event>) {
        let doc = parse(include_str!("testdata/kuard-describe.txt")).remove(0);
        let pod: Pod = serde_json::from_str(include_str!("testdata/kuard-pod.json")).unwrap();
        let t = doc.child("Events").unwrap().table.clone().unwrap();
        let events = t
            .rows
            .iter()
            .map(|r| Event {
                type_: Some(r[0].clone()),
                reason: Some(r[1].clone()),
                message: Some(r[4].clone()),
                ..Default::default()
            })
            .collect();
        (doc, pod, events)
    }

    #[test]
    fn the_captured_describe_is_consistent_with_its_pod() {
        let (doc, pod, events) = fixtures();
        assert_eq!(pod_diffs(&doc, &pod, &events), Vec::<Diff>::new());
    }

    fn pod_diffs(doc: &Node, pod: &Pod, events: &[Event]) -> Vec<Diff> {
        super::pod(doc, pod, events)
    }

    #[test]
    fn a_stale_restart_count_and_a_foreign_event_are_caught() {
        let (doc, mut pod, mut events) = fixtures();
        pod.status
            .as_mut()
            .unwrap()
            .container_statuses
            .as_mut()
            .unwrap()[0]
            .restart_count = 1;
        events.retain(|e| e.reason.as_deref() != Some("Unhealthy"));
        let d = pod_diffs(&doc, &pod, &events);
        assert_eq!(
            d,
            vec![
                Diff { path: "Containers.kuard.Restart Count".into(), expected: "1".into(), actual: "0".into() },
                Diff {
                    path: "Events.Unhealthy".into(),
                    expected: "an event of the pod".into(),
                    actual: "Warning Unhealthy \"Liveness probe failed: HTTP probe failed with statuscode: 500\" is not among the pod's events".into()
                },
            ]
        );
    }

    #[test]
    fn labels_conditions_and_tolerations_compare_as_sets() {
        let (doc, mut pod, events) = fixtures();
        pod.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("extra".into(), "1".into());
        let st = pod.status.as_mut().unwrap();
        st.conditions.as_mut().unwrap()[2].status = "False".into();
        pod.spec
            .as_mut()
            .unwrap()
            .tolerations
            .as_mut()
            .unwrap()
            .pop();
        let paths: Vec<String> = pod_diffs(&doc, &pod, &events)
            .into_iter()
            .map(|d| d.path)
            .collect();
        assert_eq!(paths, vec!["Labels", "Conditions", "Tolerations"]);
    }

    /// Captured from a real kind cluster (Kubernetes and kubectl 1.37.2): `kubectl describe
    /// pod kuard`, the pod and the namespace's events, taken one after the other.
    #[test]
    fn a_real_describe_is_consistent_with_its_pod() {
        let doc = parse(include_str!("testdata/real-1.37-describe.txt")).remove(0);
        let pod: Pod = serde_json::from_str(include_str!("testdata/real-1.37-pod.json")).unwrap();
        // `kubectl get events -o json` writes a plain `List`.
        let list: serde_json::Value =
            serde_json::from_str(include_str!("testdata/real-1.37-events.json")).unwrap();
        let events: Vec<Event> = serde_json::from_value(list["items"].clone()).unwrap();
        assert_eq!(super::pod(&doc, &pod, &events), Vec::<Diff>::new());
        assert_eq!(
            doc.find("Containers.kuard.Port").unwrap().text(),
            "8080/TCP (http)"
        );
        assert_eq!(
            doc.find("Events.Started").unwrap().text(),
            "Normal 1s kubelet spec.containers{kuard}: Container started"
        );
    }

    #[test]
    fn ports_compare_with_or_without_their_name() {
        let (doc, pod, events) = fixtures();
        // The hand-written capture shows `8080/TCP (http)`; older kubectl shows `8080/TCP`.
        let old = include_str!("testdata/kuard-describe.txt").replace(" (http)", "");
        let old_doc = parse(&old).remove(0);
        assert_eq!(pod_diffs(&doc, &pod, &events), Vec::<Diff>::new());
        assert_eq!(pod_diffs(&old_doc, &pod, &events), Vec::<Diff>::new());
        let wrong = include_str!("testdata/kuard-describe.txt")
            .replace("8080/TCP (http)", "8081/TCP (http)");
        let d = pod_diffs(&parse(&wrong).remove(0), &pod, &events);
        assert_eq!(d[0].path, "Containers.kuard.Port");
    }

    #[test]
    fn time_format_is_kubectls() {
        let t = Time("2026-11-28T05:40:12Z".parse().unwrap());
        assert_eq!(describe_time(&t), "Sat, 28 Nov 2026 05:40:12 +0000");
    }
}
