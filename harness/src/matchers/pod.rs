//! A pod's own account of where it is and why: what a failed check on a pod adds to its
//! actual value (its phase, the conditions that do not hold, each container's state), and
//! what holds it back, which goes in a failure's first line.

use serde_json::Value;

/// A pod's container statuses, init containers' first: the order the kubelet starts them in.
fn container_statuses(pod: &Value) -> impl Iterator<Item = &Value> {
    ["initContainerStatuses", "containerStatuses"]
        .into_iter()
        .flat_map(|key| {
            pod.pointer(&format!("/status/{key}"))
                .and_then(Value::as_array)
        })
        .flatten()
}

/// A pod's own account of why it is where it is: its phase, the PodScheduled and Ready
/// conditions that are not True (with their reasons and messages), and each container's
/// waiting or termination reason.
pub fn pod_story(obj: &Value) -> String {
    let str_at = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    let mut parts = vec![format!(
        "phase {}",
        str_at(obj, "/status/phase").unwrap_or_else(|| "(none)".into())
    )];
    for c in obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let t = c.get("type").and_then(Value::as_str).unwrap_or("?");
        let st = c.get("status").and_then(Value::as_str).unwrap_or("?");
        if st == "True" || !["PodScheduled", "Ready", "ContainersReady", "Initialized"].contains(&t)
        {
            continue;
        }
        let mut s = format!("{t}={st}");
        let why: Vec<String> = ["reason", "message"]
            .iter()
            .filter_map(|k| str_at(c, &format!("/{k}")))
            .collect();
        if !why.is_empty() {
            s.push_str(&format!(" ({})", why.join(": ")));
        }
        parts.push(s);
    }
    for cs in container_statuses(obj) {
        let name = cs.get("name").and_then(Value::as_str).unwrap_or("?");
        let restarts = cs.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
        let state = if let Some(w) = cs.pointer("/state/waiting") {
            let mut s = format!(
                "waiting: {}",
                str_at(w, "/reason").unwrap_or_else(|| "?".into())
            );
            if let Some(m) = str_at(w, "/message") {
                s.push_str(&format!(" ({})", crate::matchers::text::cut(&m, 200)));
            }
            s
        } else if let Some(t) = cs.pointer("/state/terminated") {
            format!(
                "terminated: {} (exit code {})",
                str_at(t, "/reason").unwrap_or_else(|| "?".into()),
                t.get("exitCode").and_then(Value::as_i64).unwrap_or(-1)
            )
        } else if cs.pointer("/state/running").is_some() {
            let ready = cs.get("ready").and_then(Value::as_bool).unwrap_or(false);
            format!("running, ready={ready}")
        } else {
            "no state".into()
        };
        let mut s = format!("container {name} {state}");
        if restarts > 0 {
            s.push_str(&format!(", {restarts} restart(s)"));
            if let Some(r) = str_at(cs, "/lastState/terminated/reason") {
                s.push_str(&format!(", last terminated: {r}"));
            }
        }
        parts.push(s);
    }
    parts.join(", ")
}

/// What keeps a pod from running, when the pod itself says so: a scheduling refusal, or a
/// container held back for a reason of its own (an image that cannot be pulled, a crash
/// loop, a config error). Not the reasons of a pod merely on its way (creating, starting).
pub fn pod_blocked(obj: &Value) -> Option<String> {
    const ON_ITS_WAY: &[&str] = &["ContainerCreating", "PodInitializing"];
    let str_at = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    // The object's own message, if it has one, cut to a line's worth.
    let message =
        |v: &Value| str_at(v, "/message").map(|m| crate::matchers::text::cut(&m, 200).to_string());
    let conditions = obj.pointer("/status/conditions").and_then(Value::as_array);
    if let Some(c) = conditions.into_iter().flatten().find(|c| {
        c.get("type").and_then(Value::as_str) == Some("PodScheduled")
            && c.get("status").and_then(Value::as_str) == Some("False")
    }) {
        let reason = str_at(c, "/reason").unwrap_or_else(|| "not scheduled".into());
        return Some(match message(c) {
            Some(m) => format!("PodScheduled=False ({reason}: {m})"),
            None => format!("PodScheduled=False ({reason})"),
        });
    }
    for cs in container_statuses(obj) {
        let Some(w) = cs.pointer("/state/waiting") else {
            continue;
        };
        let reason = str_at(w, "/reason").unwrap_or_default();
        if reason.is_empty() || ON_ITS_WAY.contains(&reason.as_str()) {
            continue;
        }
        let name = str_at(cs, "/name").unwrap_or_else(|| "?".into());
        return Some(match message(w) {
            Some(m) => format!("container {name} waiting: {reason} ({m})"),
            None => format!("container {name} waiting: {reason}"),
        });
    }
    None
}

/// The object in a few words, for "it still exists" messages.
pub fn existing_summary(obj: &Value) -> String {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let mut s = format!("{name} exists");
    if let Some(p) = obj.pointer("/status/phase").and_then(Value::as_str) {
        s.push_str(&format!(" (phase {p})"));
    }
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        s.push_str(" (terminating)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pod_says_what_holds_it_back() {
        let pending = json!({"kind": "Pod", "status": {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}]}});
        assert_eq!(
            pod_blocked(&pending).unwrap(),
            "PodScheduled=False (Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.)"
        );
        let pulling = json!({"kind": "Pod", "status": {"phase": "Pending", "containerStatuses": [
            {"name": "kuard", "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff",
             "message": "Back-off pulling image \"gcr.io/kuar-demo/kuard-amd64:blue\""}}}]}});
        assert_eq!(
            pod_blocked(&pulling).unwrap(),
            "container kuard waiting: ImagePullBackOff (Back-off pulling image \"gcr.io/kuar-demo/kuard-amd64:blue\")"
        );
        let starting = json!({"kind": "Pod", "status": {"phase": "Pending", "containerStatuses": [
            {"name": "kuard", "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
        assert_eq!(pod_blocked(&starting), None);
        let crashing = json!({"kind": "Pod", "status": {"phase": "Running", "containerStatuses": [
            {"name": "kuard", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
             "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]}});
        assert_eq!(
            pod_story(&crashing),
            "phase Running, container kuard waiting: CrashLoopBackOff (back-off 40s), 3 restart(s), last terminated: Error"
        );
    }
}
