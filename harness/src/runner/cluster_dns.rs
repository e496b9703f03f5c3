//! Waiting, before a case that names Services starts (`needs: [cluster-dns]`), until the
//! cluster's DNS serves: its Service, `kube-system/kube-dns` on kubeadm, kind and most
//! distributions, has a ready endpoint. A run on a cluster podcheck starts does not wait for
//! CoreDNS (most cases do not need it, and it comes up while they run), so a case that asks
//! for `http://kuard:8080` right away would otherwise meet `bad address` — a verdict on the
//! start-up, not on the Pod.
//!
//! Endpoint readiness is what kube-proxy programs the Service from, so once it holds the
//! case's own pods, started after it, resolve names. A cluster without that Service (its DNS
//! elsewhere), or one whose kube-system the run's user may not read, is not waited for: the
//! case's own checks then say whether names resolve.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::watcher;
use tokio_util::sync::CancellationToken;

use crate::api::watch::{Mode, Set, WatchError, watch_set};
use crate::matchers::Mismatch;

const NAMESPACE: &str = "kube-system";
const SERVICE: &str = "kube-dns";

/// How the wait ended well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// An endpoint was ready, after this long.
    Ready(Duration),
    /// The cluster has no `kube-system/kube-dns`: nothing to wait for.
    NoService,
    /// The run's user may not read it: nothing to wait for.
    NotReadable,
}

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error(
        "the cluster's DNS did not serve before the case's set-up deadline; hint: \
         `kubectl -n {NAMESPACE} get pods -l k8s-app=kube-dns` and their events say why"
    )]
    NotServed(#[source] WatchError),
    #[error("could not read service {NAMESPACE}/{SERVICE}; hint: is the API server reachable?")]
    Api(#[source] kube::Error),
}

pub async fn wait(
    client: &kube::Client,
    deadline: Instant,
    cancel: &CancellationToken,
) -> Result<Served, DnsError> {
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    match services.get_opt(SERVICE).await {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(Served::NoService),
        Err(kube::Error::Api(s)) if s.code == 403 => return Ok(Served::NotReadable),
        Err(e) => return Err(DnsError::Api(e)),
    }
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), NAMESPACE);
    let config =
        watcher::Config::default().labels(&format!("kubernetes.io/service-name={SERVICE}"));
    let observed = watch_set(slices, config, Mode::Until, deadline, cancel, serving)
        .await
        .map_err(DnsError::NotServed)?;
    Ok(Served::Ready(observed.elapsed))
}

/// Some endpoint of the Service is ready.
fn serving(set: &Set<EndpointSlice>) -> Result<(), Mismatch> {
    let endpoints: Vec<bool> = set
        .values()
        .flat_map(|s| s.endpoints.iter().flatten())
        .map(crate::api::endpoint_ready)
        .collect();
    if endpoints.contains(&true) {
        return Ok(());
    }
    Err(Mismatch::new(
        format!("service {NAMESPACE}/{SERVICE} has no ready endpoint"),
        "at least one ready endpoint",
        match endpoints.len() {
            0 => format!("no endpoints ({} EndpointSlice(s))", set.len()),
            n => format!("{n} endpoint(s), none ready"),
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http::{Request, Response, StatusCode};
    use http_body_util::Full;
    use serde_json::{Value, json};

    use super::*;

    /// An API server with the given kube-dns Service (or none: a 404) and EndpointSlices; its
    /// watches never send an event, so what the first list shows decides.
    fn cluster(service: bool, slices: Vec<Value>) -> kube::Client {
        let svc = tower::service_fn(move |req: Request<kube::client::Body>| {
            let slices = slices.clone();
            async move {
                let query = req.uri().query().unwrap_or_default().to_string();
                let (status, body) = match req.uri().path() {
                    _ if query.contains("watch=true") => {
                        std::future::pending::<()>().await;
                        unreachable!()
                    }
                    "/api/v1/namespaces/kube-system/services/kube-dns" if service => (
                        StatusCode::OK,
                        json!({"apiVersion": "v1", "kind": "Service",
                               "metadata": {"name": "kube-dns", "namespace": "kube-system"}}),
                    ),
                    "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices" => (
                        StatusCode::OK,
                        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSliceList",
                               "metadata": {"resourceVersion": "5"}, "items": slices}),
                    ),
                    _ => (
                        StatusCode::NOT_FOUND,
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "reason": "NotFound", "code": 404, "message": "not found"}),
                    ),
                };
                let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
                *r.status_mut() = status;
                Ok::<_, Infallible>(r)
            }
        });
        kube::Client::new(svc, "default")
    }

    fn slice(ready: &[bool]) -> Value {
        let endpoints: Vec<Value> = ready
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json!({"addresses": [format!("10.244.0.{}", i + 2)],
                                 "conditions": {"ready": r}})
            })
            .collect();
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": "kube-dns-x", "namespace": "kube-system",
                            "labels": {"kubernetes.io/service-name": "kube-dns"}},
               "addressType": "IPv4", "endpoints": endpoints})
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(2)
    }

    #[tokio::test]
    async fn a_ready_endpoint_serves() {
        let c = cluster(true, vec![slice(&[false, true])]);
        let r = wait(&c, soon(), &CancellationToken::new()).await.unwrap();
        assert!(matches!(r, Served::Ready(_)), "{r:?}");
    }

    /// CoreDNS started but not ready, and not started at all: the case's set-up fails at
    /// its deadline, saying what was seen, instead of its steps meeting `bad address`.
    #[tokio::test]
    async fn no_ready_endpoint_is_waited_for_until_the_deadline_and_said() {
        for (slices, seen) in [
            (vec![slice(&[false, false])], "2 endpoint(s), none ready"),
            (vec![], "no endpoints (0 EndpointSlice(s))"),
        ] {
            let c = cluster(true, slices);
            let e = wait(&c, soon(), &CancellationToken::new())
                .await
                .unwrap_err();
            let text = crate::errors::chain(&e);
            // Said once, by the watch that saw it.
            assert_eq!(text.matches("has no ready endpoint").count(), 1, "{text}");
            assert!(text.contains(seen), "{text}");
            assert!(text.contains("hint: `kubectl -n kube-system"), "{text}");
        }
    }

    #[tokio::test]
    async fn a_cluster_without_the_service_is_not_waited_for() {
        let c = cluster(false, vec![]);
        let r = wait(&c, soon(), &CancellationToken::new()).await.unwrap();
        assert_eq!(r, Served::NoService);
    }
}
