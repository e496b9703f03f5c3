//! One object at a time: GET with retries of transport errors, the JSON that predicates
//! see, and where a manifest document goes.

use std::time::{Duration, Instant};

use backon::Retryable;
use kube::api::{Api, DynamicObject};
use serde_json::Value;

use super::resolve::{ResolveError, Resolver};

/// GET an object, retrying transport errors (not API answers) until `deadline`. `None`:
/// the object does not exist.
pub async fn get_with_retries(
    api: &Api<DynamicObject>,
    name: &str,
    deadline: Instant,
) -> Result<Option<DynamicObject>, kube::Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    let get = || async { api.get_opt(name).await };
    get.retry(super::backoff(
        Duration::from_millis(100),
        Duration::from_secs(2),
        left,
    ))
    .when(|e| !matches!(e, kube::Error::Api(_)))
    .await
}

/// A dynamic object as the JSON that predicates and CEL see (apiVersion, kind, metadata,
/// spec, status, ...).
pub fn to_json(o: &DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

/// A manifest document placed in `namespace`: its API (found from apiVersion and kind), its
/// name, and the document with `metadata.namespace` set when the kind is namespaced.
pub async fn place(
    resolver: &Resolver,
    namespace: &str,
    mut doc: Value,
) -> Result<(Api<DynamicObject>, String, Value), ResolveError> {
    let r = resolver.for_document(&doc).await?;
    if r.namespaced
        && let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.insert("namespace".into(), Value::String(namespace.to_string()));
    }
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok((resolver.api(&r, namespace), name, doc))
}
