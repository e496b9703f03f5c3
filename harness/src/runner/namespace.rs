//! A namespace per case: created with labels that say which run and case it belongs to (so
//! leftovers of a killed run can be found: `kubectl get ns -l podcheck.io/run`), ready when
//! its `default` ServiceAccount exists (pods are refused before that), and deleted at the
//! end, waiting until it is gone.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use tokio_util::sync::CancellationToken;

use crate::api::error_text;
use crate::api::watch::{Mode, WatchError, watch_object};
use crate::matchers::Mismatch;

/// Why a case's namespace could not be made ready or removed.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("creating namespace {ns}: {}; hint: can this kubeconfig create namespaces?", error_text(.source))]
    Create {
        ns: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting namespace {ns}: {}", error_text(.source))]
    Delete {
        ns: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "{what} namespace {ns} did not finish in time; hint: is the API server overloaded or unreachable?"
    )]
    CallTimeout { what: &'static str, ns: String },
    #[error("namespace {ns}: {what}: {source}")]
    Wait {
        ns: String,
        what: &'static str,
        #[source]
        source: WatchError,
    },
}

pub const RUN_LABEL: &str = "podcheck.io/run";
pub const CASE_LABEL: &str = "podcheck.io/case";
/// The full `suite::case` (label values are limited to 63 characters).
pub const CASE_ANNOTATION: &str = "podcheck.io/case";

/// A DNS-label namespace name for a case: `pc-<run>-<suite>-<case>`, shortened with a hash
/// when too long.
pub fn name(run: &str, suite: &str, case: &str) -> String {
    let base = format!("pc-{run}-{suite}-{case}");
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if clean.len() <= 63 {
        return clean;
    }
    let hash = fnv(&clean);
    format!("{}-{hash:08x}", clean[..54].trim_end_matches('-'))
}

/// A label value (63 characters, alphanumeric at both ends).
pub fn label_value(s: &str) -> String {
    let v: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '.'
            }
        })
        .collect();
    let v = if v.len() > 63 {
        format!("{}{:08x}", &v[..55], fnv(&v))
    } else {
        v
    };
    v.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x01000193)
    })
}

/// Create the namespace and wait until pods can be created in it.
pub async fn create(
    client: &kube::Client,
    ns: &str,
    run: &str,
    case_id: &str,
    deadline: Instant,
) -> Result<(), NamespaceError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let obj = Namespace {
        metadata: ObjectMeta {
            name: Some(ns.to_string()),
            labels: Some(BTreeMap::from([
                (RUN_LABEL.to_string(), label_value(run)),
                (
                    CASE_LABEL.to_string(),
                    label_value(&case_id.replace("::", ".")),
                ),
            ])),
            annotations: Some(BTreeMap::from([(
                CASE_ANNOTATION.to_string(),
                case_id.to_string(),
            )])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, api.create(&PostParams::default(), &obj)).await {
        Err(_) => {
            return Err(NamespaceError::CallTimeout {
                what: "creating",
                ns: ns.to_string(),
            });
        }
        Ok(Err(source)) => {
            return Err(NamespaceError::Create {
                ns: ns.to_string(),
                source,
            });
        }
        Ok(Ok(_)) => {}
    }
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    watch_object(
        sas,
        "default",
        Mode::Until,
        deadline,
        &CancellationToken::new(),
        |sa| match sa {
            Some(_) => Ok(()),
            None => Err(Mismatch::new(
                "the namespace's default ServiceAccount does not exist yet",
                "serviceaccount/default",
                "(absent)",
            )),
        },
    )
    .await
    .map(|_| ())
    .map_err(|source| NamespaceError::Wait {
        ns: ns.to_string(),
        what: "its default ServiceAccount did not appear",
        source,
    })
}

/// Delete the namespace and wait until it is gone; returns how long that took.
///
/// Its pods are deleted first with no grace period: the case is over, nothing waits for
/// their graceful end, and the namespace controller would otherwise wait out each pod's
/// grace period (30 s by default) before the namespace can go.
///
/// `accepted` is called once the API server has taken the deletion (the namespace is
/// terminating, or already gone).
pub async fn delete(
    client: &kube::Client,
    ns: &str,
    deadline: Instant,
    accepted: &(dyn Fn() + Send + Sync),
) -> Result<Duration, NamespaceError> {
    let started = Instant::now();
    let api: Api<Namespace> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::background()
    };
    // Bounded like everything else: an unreachable API server must not hang the cleanup.
    // A failure here is not fatal: the namespace's deletion removes the pods anyway.
    let left = deadline.saturating_duration_since(Instant::now());
    let _ = tokio::time::timeout(left, pods.delete_collection(&now, &ListParams::default())).await;
    let left = deadline.saturating_duration_since(Instant::now());
    let dp = DeleteParams::background();
    let call = tokio::time::timeout(left, api.delete(ns, &dp));
    let uid = match call.await {
        Err(_) => {
            return Err(NamespaceError::CallTimeout {
                what: "deleting",
                ns: ns.to_string(),
            });
        }
        Ok(Ok(either)) => {
            accepted();
            either.left().and_then(|n| n.metadata.uid)
        }
        Ok(Err(kube::Error::Api(s))) if s.code == 404 => {
            accepted();
            return Ok(started.elapsed());
        }
        Ok(Err(source)) => {
            return Err(NamespaceError::Delete {
                ns: ns.to_string(),
                source,
            });
        }
    };
    watch_object(
        api,
        ns,
        Mode::Until,
        deadline,
        &CancellationToken::new(),
        |n| match n {
            None => Ok(()),
            Some(n) if n.metadata.uid != uid => Ok(()),
            Some(n) => Err(Mismatch::new(
                format!("namespace {ns} is still there"),
                "the namespace to be gone",
                format!(
                    "phase {}",
                    n.status
                        .as_ref()
                        .and_then(|s| s.phase.clone())
                        .unwrap_or_default()
                ),
            )),
        },
    )
    .await
    .map_err(|source| NamespaceError::Wait {
        ns: ns.to_string(),
        what: "still there",
        source,
    })?;
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels() {
        assert_eq!(
            name("a1b2c3", "health", "liveness"),
            "pc-a1b2c3-health-liveness"
        );
        let long = name(
            "a1b2c3",
            "health",
            "failing-liveness-restarts-the-container-and-more-words",
        );
        assert!(long.len() <= 63, "{long}");
        assert!(long.starts_with("pc-a1b2c3-health-failing-liveness"));
        assert_ne!(
            long,
            name(
                "a1b2c3",
                "health",
                "failing-liveness-restarts-the-container-and-more-wordz"
            )
        );
        assert_eq!(name("R", "s_x", "c"), "pc-r-s-x-c");
    }

    #[test]
    fn label_values_fit() {
        assert_eq!(label_value("health.liveness"), "health.liveness");
        let v = label_value(&"x".repeat(100));
        assert!(v.len() <= 63);
        assert_eq!(label_value("-a::b-"), "a..b");
    }
}
