//! The one mechanism behind every step that waits: watch a set of objects (one object by
//! name, the EndpointSlices of a Service, the Events of a pod) and evaluate a predicate over
//! the current set on every change, until it holds (`Until`) or for as long as it must hold
//! (`Hold`). Never a polling sleep: the API server tells us when something changed, so a step
//! completes within one watch event of the condition becoming true.
//!
//! Every watch has a deadline. Watch errors (the API server unreachable, a relist) are
//! retried with kube-runtime's backoff until then; a timeout reports the last mismatch and,
//! if any, the last API error.

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

use super::StepError;
use crate::suite::Mismatch;

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
) -> Result<Observed<K>, StepError>
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
            _ = cancel.cancelled() => return Err(StepError::Cancelled),
            _ = tokio::time::sleep_until(hold_end), if hold_until.is_some() => {
                return Ok(Observed { set, elapsed: started.elapsed() });
            }
            _ = tokio::time::sleep_until(far) => {
                return Err(StepError::Timeout {
                    after: started.elapsed(),
                    last: last.or_else(|| (!ready).then(|| Mismatch::new(
                        "no state was observed", "the watch to list the objects", "nothing listed yet"))),
                    api_error,
                });
            }
            ev = stream.next() => ev,
        };
        let changed = match event {
            None => {
                return Err(StepError::Api("the watch ended unexpectedly".into()));
            }
            Some(Err(e)) => {
                api_error = Some(e.to_string());
                false
            }
            Some(Ok(Event::Init)) => {
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
                return Err(StepError::Failed(Mismatch {
                    summary: format!(
                        "{} (after {:.1}s of the {} it had to hold)",
                        m.summary,
                        started.elapsed().as_secs_f64(),
                        crate::suite::Dur(d)
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
) -> Result<(Option<K>, Duration), StepError>
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
