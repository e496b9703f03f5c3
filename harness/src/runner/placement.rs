//! Run-level pod placement: every pod a case creates — by `apply`, by `kubectl run`, by a
//! manifest through `kubectl apply -f` — gets a `runtimeClassName`, node selector labels
//! and tolerations, so that a run validates a sandbox runtime (a RuntimeClass) or a virtual
//! node (a selector and a toleration) inside a cluster that also runs other things.
//!
//! One mechanism for every way a pod is made: a MutatingAdmissionPolicy (Kubernetes ≥ 1.34,
//! `admissionregistration.k8s.io/v1`) bound to the namespaces of this run (their
//! `podcheck.io/run` label) adds the fields on CREATE, keeping what the pod already has (the
//! API server's default tolerations, a case's own node selector keys). It is in place before
//! the first case, proven by a dry-run pod, and removed after the last.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::node::v1::RuntimeClass;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::namespace::{self, RUN_LABEL};
use crate::api::error_text;
use crate::api::resolve::{ResolveError, Resolver};

/// Where a run's pods go.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_class: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

/// A toleration as kubectl's taint syntax writes it: `key[=value][:effect]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toleration {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

impl std::str::FromStr for Toleration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kv, effect) = match s.rsplit_once(':') {
            Some((kv, e)) => (kv, Some(e.to_string())),
            None => (s, None),
        };
        if let Some(e) = &effect
            && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&e.as_str())
        {
            return Err(format!(
                "toleration `{s}`: the effect `{e}` is not NoSchedule, PreferNoSchedule or NoExecute"
            ));
        }
        let (key, value) = match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (kv.to_string(), None),
        };
        if key.is_empty() {
            return Err(format!(
                "toleration `{s}`: expected key[=value][:effect], e.g. kwok.x-k8s.io/node=fake:NoSchedule"
            ));
        }
        Ok(Toleration { key, value, effect })
    }
}

impl std::fmt::Display for Toleration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key)?;
        if let Some(v) = &self.value {
            write!(f, "={v}")?;
        }
        if let Some(e) = &self.effect {
            write!(f, ":{e}")?;
        }
        Ok(())
    }
}

/// `key=value` for `--node-selector`.
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}`: expected key=value, e.g. type=kwok")),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error(
        "run-level placement needs MutatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes 1.34 and later), which this cluster does not serve; hint: place pods in the manifests instead, or use a newer cluster"
    )]
    NotServed(#[source] ResolveError),
    /// The API server could not be asked what it serves: not the user's fault (exit 3).
    #[error("finding the admission policy API")]
    Discovery(#[source] ResolveError),
    #[error(
        "the RuntimeClass `{0}` does not exist in this cluster; hint: `kubectl get runtimeclass` lists those that do, or create one for your runtime's handler"
    )]
    NoRuntimeClass(String),
    #[error("{what}: {}", error_text(.source))]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "the placement policy did not take effect within {0:?}; hint: is the API server slow to load admission policies?"
    )]
    NotInEffect(Duration),
}

impl Placement {
    pub fn is_empty(&self) -> bool {
        self.runtime_class.is_none() && self.node_selector.is_empty() && self.tolerations.is_empty()
    }

    /// `runtimeClassName gvisor, nodeSelector type=kwok, tolerations kwok.x-k8s.io/node:NoSchedule`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &self.runtime_class {
            parts.push(format!("runtimeClassName {r}"));
        }
        if !self.node_selector.is_empty() {
            let sel: Vec<String> = self
                .node_selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            parts.push(format!("nodeSelector {}", sel.join(",")));
        }
        if !self.tolerations.is_empty() {
            let t: Vec<String> = self.tolerations.iter().map(ToString::to_string).collect();
            parts.push(format!("tolerations {}", t.join(",")));
        }
        parts.join(", ")
    }

    /// The JSONPatch expression (CEL) that adds the placement to a pod, keeping its own.
    fn patch_expression(&self) -> String {
        let cel = |s: &str| serde_json::to_string(s).expect("a string");
        let pointer = |s: &str| s.replace('~', "~0").replace('/', "~1");
        let mut patches = Vec::new();
        if let Some(r) = &self.runtime_class {
            patches.push(format!(
                "[JSONPatch{{op: \"add\", path: \"/spec/runtimeClassName\", value: {}}}]",
                cel(r)
            ));
        }
        if !self.node_selector.is_empty() {
            patches.push("(has(object.spec.nodeSelector) ? [] : [JSONPatch{op: \"add\", path: \"/spec/nodeSelector\", value: {}}])".into());
            for (k, v) in &self.node_selector {
                patches.push(format!(
                    "[JSONPatch{{op: \"add\", path: {}, value: {}}}]",
                    cel(&format!("/spec/nodeSelector/{}", pointer(k))),
                    cel(v)
                ));
            }
        }
        if !self.tolerations.is_empty() {
            patches.push("(has(object.spec.tolerations) ? [] : [JSONPatch{op: \"add\", path: \"/spec/tolerations\", value: []}])".into());
            for t in &self.tolerations {
                let mut fields = vec![format!("key: {}", cel(&t.key))];
                match &t.value {
                    Some(v) => {
                        fields.push("operator: \"Equal\"".into());
                        fields.push(format!("value: {}", cel(v)));
                    }
                    None => fields.push("operator: \"Exists\"".into()),
                }
                if let Some(e) = &t.effect {
                    fields.push(format!("effect: {}", cel(e)));
                }
                patches.push(format!(
                    "[JSONPatch{{op: \"add\", path: \"/spec/tolerations/-\", value: Object.spec.tolerations{{{}}}}}]",
                    fields.join(", ")
                ));
            }
        }
        patches.join(" + ")
    }

    /// The policy and its binding for `run`.
    pub fn policy(&self, run: &str) -> (Value, Value) {
        let name = format!("podcheck-placement-{run}");
        let policy = json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingAdmissionPolicy",
            "metadata": {"name": name, "labels": {RUN_LABEL: namespace::label_value(run)}},
            "spec": {
                "failurePolicy": "Fail",
                "reinvocationPolicy": "Never",
                "matchConstraints": {"resourceRules": [{
                    "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]
                }]},
                "mutations": [{"patchType": "JSONPatch", "jsonPatch": {"expression": self.patch_expression()}}]
            }
        });
        let binding = json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingAdmissionPolicyBinding",
            "metadata": {"name": name, "labels": {RUN_LABEL: namespace::label_value(run)}},
            "spec": {
                "policyName": name,
                "matchResources": {"namespaceSelector": {"matchLabels": {RUN_LABEL: namespace::label_value(run)}}}
            }
        });
        (policy, binding)
    }
}

/// Put the placement in place for `run`, and prove it in effect with a dry-run pod.
pub async fn install(
    client: &kube::Client,
    resolver: &Resolver,
    placement: &Placement,
    run: &str,
) -> Result<(), PlacementError> {
    if let Some(rc) = &placement.runtime_class {
        let rcs: Api<RuntimeClass> = Api::all(client.clone());
        match rcs.get_opt(rc).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(PlacementError::NoRuntimeClass(rc.clone())),
            Err(source) => {
                return Err(PlacementError::Api {
                    what: format!("reading RuntimeClass {rc}"),
                    source,
                });
            }
        }
    }
    let (policy, binding) = placement.policy(run);
    for doc in [policy, binding] {
        let (api, name, doc) = crate::api::object::place(resolver, "", doc)
            .await
            .map_err(|e| match e {
                ResolveError::Discovery(_) => PlacementError::Discovery(e),
                ResolveError::UnknownKind(_) | ResolveError::NotServed { .. } => {
                    PlacementError::NotServed(e)
                }
            })?;
        let obj: DynamicObject = serde_json::from_value(doc).expect("a valid object");
        api.patch(
            &name,
            &PatchParams::apply("podcheck").force(),
            &Patch::Apply(&obj),
        )
        .await
        .map_err(|source| PlacementError::Api {
            what: format!("creating {name}"),
            source,
        })?;
    }
    prove(client, placement, run).await
}

/// A dry-run pod in a namespace of the run must come back placed.
async fn prove(
    client: &kube::Client,
    placement: &Placement,
    run: &str,
) -> Result<(), PlacementError> {
    const WITHIN: Duration = Duration::from_secs(30);
    let ns = namespace::name(run, "placement", "proof");
    let nss: Api<Namespace> = Api::all(client.clone());
    let obj: Namespace = serde_json::from_value(json!({
        "metadata": {"name": ns, "labels": {RUN_LABEL: namespace::label_value(run)}}
    }))
    .expect("a namespace");
    if let Err(source) = nss.create(&PostParams::default(), &obj).await
        && !matches!(&source, kube::Error::Api(s) if s.code == 409)
    {
        return Err(PlacementError::Api {
            what: format!("creating namespace {ns}"),
            source,
        });
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "placement-proof"},
        "spec": {"containers": [{"name": "c", "image": "podcheck.local/placement-proof:none"}]}
    }))
    .expect("a pod");
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let deadline = Instant::now() + WITHIN;
    let result = loop {
        match pods.create(&dry, &pod).await {
            Ok(p) if placed(placement, &p) => break Ok(()),
            // The policy reaches the API server's cache a moment after it is created.
            Ok(_) | Err(kube::Error::Api(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Ok(_) => break Err(PlacementError::NotInEffect(WITHIN)),
            Err(source) => {
                break Err(PlacementError::Api {
                    what: "a dry-run pod".into(),
                    source,
                });
            }
        }
    };
    let _ = nss.delete(&ns, &DeleteParams::background()).await;
    result
}

fn placed(p: &Placement, pod: &Pod) -> bool {
    let Some(spec) = &pod.spec else { return false };
    p.runtime_class
        .as_ref()
        .is_none_or(|r| spec.runtime_class_name.as_ref() == Some(r))
        && p.node_selector.iter().all(|(k, v)| {
            spec.node_selector
                .as_ref()
                .and_then(|s| s.get(k))
                .is_some_and(|x| x == v)
        })
        && p.tolerations.iter().all(|t| {
            spec.tolerations
                .iter()
                .flatten()
                .any(|x| x.key.as_deref() == Some(&t.key))
        })
}

/// Remove the run's placement policy; what went wrong, if anything.
pub async fn remove(
    client: &kube::Client,
    resolver: &Resolver,
    placement: &Placement,
    run: &str,
) -> Option<String> {
    let (policy, binding) = placement.policy(run);
    let mut problems = Vec::new();
    for doc in [binding, policy] {
        match crate::api::object::place(resolver, "", doc).await {
            Ok((api, name, _)) => {
                if let Err(e) = api.delete(&name, &DeleteParams::default()).await
                    && !matches!(&e, kube::Error::Api(s) if s.code == 404)
                {
                    problems.push(format!("deleting {name}: {}", error_text(&e)));
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    let _ = client;
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// How many nodes the run's pods can land on: schedulable, carrying the run's node selector
/// labels, and without a NoSchedule or NoExecute taint the run does not tolerate.
pub async fn schedulable_nodes(
    client: &kube::Client,
    placement: &Placement,
) -> Result<usize, kube::Error> {
    let nodes = Api::<k8s_openapi::api::core::v1::Node>::all(client.clone())
        .list(&Default::default())
        .await?;
    Ok(nodes
        .items
        .iter()
        .filter(|n| takes_pods(n, placement))
        .count())
}

fn takes_pods(node: &k8s_openapi::api::core::v1::Node, placement: &Placement) -> bool {
    let spec = node.spec.clone().unwrap_or_default();
    if spec.unschedulable == Some(true) {
        return false;
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if placement
        .node_selector
        .iter()
        .any(|(k, v)| labels.get(k) != Some(v))
    {
        return false;
    }
    spec.taints.unwrap_or_default().iter().all(|t| {
        t.effect == "PreferNoSchedule"
            || placement.tolerations.iter().any(|tol| {
                tol.key == t.key
                    && tol
                        .value
                        .as_ref()
                        .is_none_or(|v| Some(v) == t.value.as_ref())
                    && tol.effect.as_ref().is_none_or(|e| *e == t.effect)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(v: Value) -> k8s_openapi::api::core::v1::Node {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_node_takes_the_runs_pods_only_when_schedulable_selected_and_tolerated() {
        let plain = node(json!({"metadata": {"name": "a", "labels": {"zone": "x"}}}));
        let cordoned = node(json!({"metadata": {"name": "b"}, "spec": {"unschedulable": true}}));
        let tainted = node(json!({"metadata": {"name": "c"}, "spec": {"taints": [
            {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]}}));
        let soft = node(json!({"metadata": {"name": "d"}, "spec": {"taints": [
            {"key": "k", "effect": "PreferNoSchedule"}]}}));
        let none = Placement::default();
        assert!(takes_pods(&plain, &none));
        assert!(!takes_pods(&cordoned, &none));
        assert!(!takes_pods(&tainted, &none));
        assert!(takes_pods(&soft, &none));
        let tolerating = Placement {
            tolerations: vec!["kwok.x-k8s.io/node=fake:NoSchedule".parse().unwrap()],
            ..Default::default()
        };
        assert!(takes_pods(&tainted, &tolerating));
        let selecting = Placement {
            node_selector: [("zone".to_string(), "y".to_string())].into(),
            ..Default::default()
        };
        assert!(!takes_pods(&plain, &selecting));
    }

    #[test]
    fn flags_parse_as_kubectl_writes_them() {
        let t: Toleration = "kwok.x-k8s.io/node=fake:NoSchedule".parse().unwrap();
        assert_eq!(
            (t.key.as_str(), t.value.as_deref(), t.effect.as_deref()),
            ("kwok.x-k8s.io/node", Some("fake"), Some("NoSchedule"))
        );
        assert_eq!(t.to_string(), "kwok.x-k8s.io/node=fake:NoSchedule");
        let t: Toleration = "virtual-kubelet.io/provider".parse().unwrap();
        assert_eq!((t.value, t.effect), (None, None));
        assert!("k:Sometimes".parse::<Toleration>().is_err());
        assert_eq!(
            parse_label("type=kwok").unwrap(),
            ("type".into(), "kwok".into())
        );
        assert!(parse_label("kwok").is_err());
    }

    #[test]
    fn the_policy_adds_and_keeps() {
        let p = Placement {
            runtime_class: Some("gvisor".into()),
            node_selector: [("kubernetes.io/role".to_string(), "a b".to_string())].into(),
            tolerations: vec!["t:NoSchedule".parse().unwrap()],
        };
        let e = p.patch_expression();
        assert!(
            e.contains(r#"path: "/spec/runtimeClassName", value: "gvisor""#),
            "{e}"
        );
        assert!(
            e.contains(r#"path: "/spec/nodeSelector/kubernetes.io~1role", value: "a b""#),
            "{e}"
        );
        assert!(e.contains("has(object.spec.tolerations) ? []"), "{e}");
        assert!(
            e.contains(
                r#"Object.spec.tolerations{key: "t", operator: "Exists", effect: "NoSchedule"}"#
            ),
            "{e}"
        );
        assert_eq!(
            p.summary(),
            "runtimeClassName gvisor, nodeSelector kubernetes.io/role=a b, tolerations t:NoSchedule"
        );
        let (policy, binding) = p.policy("abc123");
        assert_eq!(policy["metadata"]["name"], "podcheck-placement-abc123");
        assert_eq!(
            binding["spec"]["matchResources"]["namespaceSelector"]["matchLabels"][RUN_LABEL],
            "abc123"
        );
    }
}
