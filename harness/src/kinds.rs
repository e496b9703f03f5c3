//! The kinds podcheck knows without asking the API server: the ones suites check every day.
//! One table, so that what a suite may call a kind (`pod`, `po`, `svc`) is the same where an
//! object is looked up ([`crate::api::resolve`]) and where its fields are checked at load time
//! ([`crate::matchers::schema`]); any other kind is found through discovery, unchecked.

use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, Node, Pod, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// A kind of the table: its type's API resource and schema are there for the taking.
pub trait Known:
    k8s_openapi::Resource + kube::Resource<DynamicType = ()> + schemars::JsonSchema
{
}
impl<K: k8s_openapi::Resource + kube::Resource<DynamicType = ()> + schemars::JsonSchema> Known
    for K
{
}

/// What a suite may call a kind, lower-case, and whether its objects live in a namespace.
#[derive(Clone, Copy, Debug)]
pub struct Names {
    pub names: &'static [&'static str],
    pub namespaced: bool,
}

impl Names {
    /// Whether a suite's name for a kind (`Pod`, `pods`, `po`) means this one.
    pub fn matches(&self, name: &str) -> bool {
        self.names.contains(&name.to_ascii_lowercase().as_str())
    }
}

/// What a user of the table makes of one kind.
pub trait Visit {
    type Out;
    fn kind<K: Known>(&self, names: Names) -> Self::Out;
}

/// `v` applied to every kind of the table, in its order.
pub fn each<V: Visit>(v: &V) -> Vec<V::Out> {
    let n = |namespaced, names| Names { names, namespaced };
    vec![
        v.kind::<Pod>(n(true, &["pod", "pods", "po"])),
        v.kind::<Service>(n(true, &["service", "services", "svc"])),
        v.kind::<EndpointSlice>(n(true, &["endpointslice", "endpointslices"])),
        v.kind::<Event>(n(true, &["event", "events", "ev"])),
        v.kind::<ConfigMap>(n(true, &["configmap", "configmaps", "cm"])),
        v.kind::<Secret>(n(true, &["secret", "secrets"])),
        v.kind::<ServiceAccount>(n(true, &["serviceaccount", "serviceaccounts", "sa"])),
        v.kind::<Namespace>(n(false, &["namespace", "namespaces", "ns"])),
        v.kind::<Node>(n(false, &["node", "nodes", "no"])),
    ]
}
