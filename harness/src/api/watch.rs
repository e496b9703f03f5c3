//! The one mechanism behind every step that waits: watch a set of objects (one object by
//! name, the EndpointSlices of a Service, the Events of a pod) and evaluate a predicate over
//! the current set on every change, until it holds (`Until`) or for as long as it must hold
//! (`Hold`). Never a polling sleep: the API server tells us when something changed, so a step
//! completes within one watch event of the condition becoming true.
//!
//! Every watch has a deadline. Watch errors (the API server unreachable, a relist) are
//! retried with kube-runtime's backoff until then; a timeout reports the last mismatch and,
//! if any, the last API error. A `Hold` is stricter: it claims that every state of the
//! window held, so a window with a gap in it (the watch broke, or had to list afresh and
//! may have missed states) is an error, never a pass.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::Resource;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::matchers::Mismatch;

/// A deadline that passed before what was awaited happened: how long was waited, the last
/// state seen (why it did not hold) and the last API error, if the API server was away.
/// Shared by watches and steps, so every timeout reads the same.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}", self.text())]
pub struct TimedOut {
    pub after: Duration,
    pub last: Option<Mismatch>,
    pub api_error: Option<String>,
}

impl TimedOut {
    fn text(&self) -> String {
        let mut s = format!("timed out after {:.1}s", self.after.as_secs_f64());
        if let Some(m) = &self.last {
            s.push_str(&format!(": {m}"));
        }
        if let Some(e) = &self.api_error {
            s.push_str(&format!("\n  last API error: {e}"));
        }
        s
    }
}

/// How a watch ended badly.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The deadline passed before the predicate held; the last state seen says why.
    #[error(transparent)]
    Timeout(TimedOut),
    /// A `Hold` saw a state that breaks the predicate.
    #[error("{0}")]
    Broken(Mismatch),
    /// A `Hold` could not observe its whole window: what happened in the gap is unknown.
    #[error(
        "could not watch the whole {}: the watch {cause} after {:.1}s, so states in between were not seen; \
         hint: the API server was unreachable or restarted — rerun once it is stable",
        crate::fields::Dur(*.window), .after.as_secs_f64()
    )]
    Unobserved {
        window: Duration,
        after: Duration,
        cause: String,
    },
    /// The API server closed the watch for good (kube-runtime retries everything else).
    #[error("the watch ended unexpectedly")]
    Ended,
    #[error("cancelled")]
    Cancelled,
}

/// What a watch waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Until the predicate holds (fails at the deadline).
    Until,
    /// The predicate must hold on every observed state for this long from the first
    /// observation (fails at the first state where it does not).
    Hold(Duration),
}

/// Objects keyed by `namespace/name`, in a stable order.
pub type Set<K> = BTreeMap<String, K>;

fn key<K: Resource>(o: &K) -> String {
    let m = o.meta();
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or("")
    )
}

/// How a watch ended well.
#[derive(Debug)]
pub struct Observed<K> {
    /// The set when the watch ended.
    pub set: Set<K>,
    /// From the start of the watch to the state that decided it.
    pub elapsed: Duration,
}

/// Watch `api` with `config` and check `pred` on each state of the set.
pub async fn watch_set<K>(
    api: Api<K>,
    config: watcher::Config,
    mode: Mode,
    deadline: Instant,
    cancel: &CancellationToken,
    mut pred: impl FnMut(&Set<K>) -> Result<(), Mismatch>,
) -> Result<Observed<K>, WatchError>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let started = Instant::now();
    let stream = watcher::watcher(api, config).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut set: Set<K> = BTreeMap::new();
    let mut init: Option<Set<K>> = None;
    let mut ready = false;
    let mut hold_until: Option<tokio::time::Instant> = None;
    let mut last: Option<Mismatch> = None;
    let mut api_error: Option<String> = None;
    let far = tokio::time::Instant::from_std(deadline);
    loop {
        let hold_end = hold_until.unwrap_or(far + Duration::from_secs(3600));
        let event = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(WatchError::Cancelled),
            _ = tokio::time::sleep_until(hold_end), if hold_until.is_some() => {
                return Ok(Observed { set, elapsed: started.elapsed() });
            }
            _ = tokio::time::sleep_until(far) => {
                return Err(WatchError::Timeout(TimedOut {
                    after: started.elapsed(),
                    last: last.or_else(|| (!ready).then(|| Mismatch::new(
                        "no state was observed", "the watch to list the objects", "nothing listed yet"))),
                    api_error,
                }));
            }
            ev = stream.next() => ev,
        };
        // A gap in a window that is being held: what happened in it is unknown.
        let gap = |cause: String| WatchError::Unobserved {
            window: match mode {
                Mode::Hold(d) => d,
                Mode::Until => Duration::ZERO,
            },
            after: started.elapsed(),
            cause,
        };
        let changed = match event {
            None => return Err(WatchError::Ended),
            Some(Err(e)) => {
                if hold_until.is_some() {
                    return Err(gap(format!("broke ({e})")));
                }
                api_error = Some(e.to_string());
                false
            }
            Some(Ok(Event::Init)) => {
                if hold_until.is_some() {
                    return Err(gap("had to list the objects afresh".into()));
                }
                init = Some(BTreeMap::new());
                false
            }
            Some(Ok(Event::InitApply(o))) => {
                init.get_or_insert_with(BTreeMap::new).insert(key(&o), o);
                false
            }
            Some(Ok(Event::InitDone)) => {
                set = init.take().unwrap_or_default();
                ready = true;
                api_error = None;
                true
            }
            Some(Ok(Event::Apply(o))) => {
                set.insert(key(&o), o);
                true
            }
            Some(Ok(Event::Delete(o))) => {
                set.remove(&key(&o));
                true
            }
        };
        if !(changed && ready) {
            continue;
        }
        match (pred(&set), mode) {
            (Ok(()), Mode::Until) => {
                return Ok(Observed {
                    set,
                    elapsed: started.elapsed(),
                });
            }
            (Ok(()), Mode::Hold(d)) => {
                if hold_until.is_none() {
                    hold_until = Some(tokio::time::Instant::now() + d);
                }
            }
            (Err(m), Mode::Until) => last = Some(m),
            (Err(m), Mode::Hold(d)) => {
                return Err(WatchError::Broken(Mismatch {
                    summary: format!(
                        "{} (after {:.1}s of the {} it had to hold)",
                        m.summary,
                        started.elapsed().as_secs_f64(),
                        crate::fields::Dur(d)
                    ),
                    ..m
                }));
            }
        }
    }
}

/// Watch one object by name; the predicate sees it or `None` when it does not exist.
pub async fn watch_object<K>(
    api: Api<K>,
    name: &str,
    mode: Mode,
    deadline: Instant,
    cancel: &CancellationToken,
    mut pred: impl FnMut(Option<&K>) -> Result<(), Mismatch>,
) -> Result<(Option<K>, Duration), WatchError>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let obs = watch_set(api, config, mode, deadline, cancel, |set| {
        pred(set.values().next())
    })
    .await?;
    Ok((obs.set.into_values().next(), obs.elapsed))
}

#[cfg(test)]
mod tests {
    //! Against a scripted API server (a tower service): list, then a watch stream that sends
    //! the given events at the given times. No cluster needed.
    use std::convert::Infallible;

    use bytes::Bytes;
    use futures::stream;
    use http::{Request, Response};
    use http_body::Frame;
    use http_body_util::{BodyExt, StreamBody, combinators::UnsyncBoxBody};
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    use super::*;

    type Body = UnsyncBoxBody<Bytes, Infallible>;

    fn cm(n: u32, rv: u32) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": "ns", "resourceVersion": rv.to_string()},
               "data": {"n": n.to_string()}})
    }

    /// A client whose API server lists `initial` and then streams `events` (after their
    /// delays), or, with `initial: None`, refuses every request.
    fn client(
        initial: Option<serde_json::Value>,
        events: Vec<(u64, serde_json::Value)>,
    ) -> kube::Client {
        let svc = tower::service_fn(move |req: Request<kube::client::Body>| {
            let initial = initial.clone();
            let events = events.clone();
            async move {
                let Some(initial) = initial else {
                    return Err::<Response<Body>, std::io::Error>(std::io::Error::other(
                        "connection refused",
                    ));
                };
                let watch = req.uri().query().unwrap_or("").contains("watch=true");
                let body: Body = if watch {
                    let s = stream::iter(events)
                        .then(|(ms, obj)| async move {
                            tokio::time::sleep(Duration::from_millis(ms)).await;
                            // A whole watch event as given, or an object that was modified.
                            let event = if obj.get("type").is_some() && obj.get("object").is_some()
                            {
                                obj
                            } else {
                                json!({"type": "MODIFIED", "object": obj})
                            };
                            let line = event.to_string() + "\n";
                            Ok::<_, Infallible>(Frame::data(Bytes::from(line)))
                        })
                        .chain(stream::pending());
                    StreamBody::new(s).boxed_unsync()
                } else {
                    let list = json!({"apiVersion": "v1", "kind": "ConfigMapList",
                                      "metadata": {"resourceVersion": "1"}, "items": [initial]});
                    http_body_util::Full::new(Bytes::from(list.to_string())).boxed_unsync()
                };
                Ok(Response::new(body))
            }
        });
        kube::Client::new(svc, "ns")
    }

    fn n_is(want: &'static str) -> impl FnMut(Option<&ConfigMap>) -> Result<(), Mismatch> {
        move |o| {
            let n = o
                .and_then(|c| c.data.as_ref())
                .and_then(|d| d.get("n"))
                .cloned()
                .unwrap_or_default();
            if n == want {
                Ok(())
            } else {
                Err(Mismatch::new(
                    "n differs",
                    format!("n={want}"),
                    format!("n={n}"),
                ))
            }
        }
    }

    #[tokio::test]
    async fn until_completes_on_the_event_that_makes_it_true() {
        let api: Api<ConfigMap> =
            Api::namespaced(client(Some(cm(0, 1)), vec![(150, cm(1, 2))]), "ns");
        let deadline = Instant::now() + Duration::from_secs(5);
        let (obj, took) = watch_object(
            api,
            "c",
            Mode::Until,
            deadline,
            &CancellationToken::new(),
            n_is("1"),
        )
        .await
        .unwrap();
        assert_eq!(obj.unwrap().data.unwrap()["n"], "1");
        assert!(
            took >= Duration::from_millis(150) && took < Duration::from_millis(400),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn timeout_reports_the_last_state_seen() {
        let api: Api<ConfigMap> = Api::namespaced(client(Some(cm(0, 1)), vec![]), "ns");
        let deadline = Instant::now() + Duration::from_millis(300);
        let e = watch_object(
            api,
            "c",
            Mode::Until,
            deadline,
            &CancellationToken::new(),
            n_is("1"),
        )
        .await
        .unwrap_err();
        let WatchError::Timeout(TimedOut { last: Some(m), .. }) = &e else {
            panic!("{e}")
        };
        assert_eq!((m.expected.as_str(), m.actual.as_str()), ("n=1", "n=0"));
    }

    #[tokio::test]
    async fn an_unreachable_api_server_ends_at_the_deadline_with_its_error() {
        let api: Api<ConfigMap> = Api::namespaced(client(None, vec![]), "ns");
        let started = Instant::now();
        let e = watch_object(
            api,
            "c",
            Mode::Until,
            started + Duration::from_millis(500),
            &CancellationToken::new(),
            n_is("1"),
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        let WatchError::Timeout(TimedOut {
            api_error: Some(a), ..
        }) = &e
        else {
            panic!("{e}")
        };
        assert!(a.contains("connection refused"), "{a}");
        assert!(e.to_string().contains("no state was observed"), "{e}");
    }

    #[tokio::test]
    async fn hold_fails_at_the_first_state_that_breaks_it() {
        let api: Api<ConfigMap> =
            Api::namespaced(client(Some(cm(1, 1)), vec![(100, cm(2, 2))]), "ns");
        let started = Instant::now();
        let e = watch_object(
            api,
            "c",
            Mode::Hold(Duration::from_secs(10)),
            started + Duration::from_secs(15),
            &CancellationToken::new(),
            n_is("1"),
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        let WatchError::Broken(m) = &e else {
            panic!("{e}")
        };
        assert!(
            m.summary.starts_with("n differs (after 0."),
            "{}",
            m.summary
        );
        assert_eq!(m.actual, "n=2");
    }

    /// A hold across a window the watch did not see whole (here the API server ends the
    /// watch with 410 Gone, so states in between may be lost) is an error, never a pass:
    /// before this rule it passed once the window's time was up.
    #[tokio::test]
    async fn a_hold_with_a_gap_in_its_window_is_unobserved_not_passed() {
        let gone = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
            "status": "Failure", "message": "too old resource version", "reason": "Expired", "code": 410}});
        let api: Api<ConfigMap> = Api::namespaced(client(Some(cm(1, 1)), vec![(100, gone)]), "ns");
        let started = Instant::now();
        let e = watch_object(
            api,
            "c",
            Mode::Hold(Duration::from_secs(2)),
            started + Duration::from_secs(5),
            &CancellationToken::new(),
            n_is("1"),
        )
        .await
        .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let WatchError::Unobserved { window, cause, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(*window, Duration::from_secs(2));
        assert!(cause.contains("broke"), "{cause}");
        assert!(
            e.to_string()
                .starts_with("could not watch the whole 2s: the watch broke ("),
            "{e}"
        );
    }

    #[tokio::test]
    async fn hold_passes_when_nothing_breaks_it_and_cancel_stops_a_watch() {
        let api: Api<ConfigMap> = Api::namespaced(client(Some(cm(1, 1)), vec![]), "ns");
        let started = Instant::now();
        watch_object(
            api,
            "c",
            Mode::Hold(Duration::from_millis(300)),
            started + Duration::from_secs(5),
            &CancellationToken::new(),
            n_is("1"),
        )
        .await
        .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        let api: Api<ConfigMap> = Api::namespaced(client(Some(cm(0, 1)), vec![]), "ns");
        let cancel = CancellationToken::new();
        cancel.cancel();
        let e = watch_object(
            api,
            "c",
            Mode::Until,
            started + Duration::from_secs(5),
            &cancel,
            n_is("1"),
        )
        .await;
        assert!(matches!(e, Err(WatchError::Cancelled)));
    }
}
