//! What a failed case leaves for the person reading the report: for every pod of the case's
//! namespace, `kubectl describe`, then the namespace's events, then current and previous
//! logs of every container (the last lines). Collected within a deadline, best effort: a
//! failure to collect is written down, never hides the case's own failure.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams};

use crate::api::error_text as api_error_text;
use crate::kubectl::Kubectl;
use crate::steps::events::show_event;

/// Lines of each log kept.
const LOG_TAIL: i64 = 80;

pub async fn collect(
    client: &kube::Client,
    kubectl: &Kubectl,
    ns: &str,
    within: Duration,
) -> String {
    let deadline = Instant::now() + within;
    match tokio::time::timeout(within, gather(client, kubectl, ns, deadline)).await {
        Ok(s) => s,
        Err(_) => format!("(diagnostics of {ns} did not finish within {within:?})\n"),
    }
}

async fn gather(client: &kube::Client, kubectl: &Kubectl, ns: &str, deadline: Instant) -> String {
    let mut out = String::new();
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let list = match pods.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(e) => {
            out.push_str(&format!(
                "(cannot list pods in {ns}: {})\n",
                api_error_text(&e)
            ));
            Vec::new()
        }
    };
    if list.is_empty() {
        out.push_str(&format!("== no pods in namespace {ns}\n"));
    }
    for p in &list {
        let name = p.metadata.name.clone().unwrap_or_default();
        out.push_str(&format!("== kubectl describe pod {name}\n"));
        match kubectl
            .run(
                &["describe".into(), "pod".into(), name.clone()],
                None,
                deadline,
            )
            .await
        {
            Ok(o) => {
                out.push_str(&o.stdout);
                out.push_str(&o.stderr);
            }
            Err(e) => out.push_str(&format!("({e})\n")),
        }
    }
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    out.push_str(&format!("== events in {ns}\n"));
    match events.list(&ListParams::default()).await {
        Ok(l) => {
            let mut items = l.items;
            items.sort_by_key(|e| e.last_timestamp.clone().or(e.first_timestamp.clone()));
            for e in &items {
                let on = format!(
                    "{}/{}",
                    e.involved_object.kind.as_deref().unwrap_or("?"),
                    e.involved_object.name.as_deref().unwrap_or("?")
                );
                let at = e
                    .last_timestamp
                    .as_ref()
                    .map(|t| t.0.to_string())
                    .unwrap_or_default();
                out.push_str(&format!("{at} {on} {}\n", show_event(e)));
            }
            if items.is_empty() {
                out.push_str("(none)\n");
            }
        }
        Err(e) => out.push_str(&format!("(cannot list events: {})\n", api_error_text(&e))),
    }
    for p in &list {
        let name = p.metadata.name.clone().unwrap_or_default();
        let spec = p.spec.clone().unwrap_or_default();
        let containers = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter());
        for c in containers {
            for previous in [false, true] {
                let lp = LogParams {
                    container: Some(c.name.clone()),
                    previous,
                    tail_lines: Some(LOG_TAIL),
                    ..LogParams::default()
                };
                let which = if previous { "previous" } else { "current" };
                match pods.logs(&name, &lp).await {
                    Ok(text) => {
                        out.push_str(&format!(
                            "== logs {name} -c {} ({which}, last {LOG_TAIL} lines)\n",
                            c.name
                        ));
                        out.push_str(&text);
                        if !text.ends_with('\n') && !text.is_empty() {
                            out.push('\n');
                        }
                    }
                    // No previous instance is the common case: say nothing.
                    Err(_) if previous => {}
                    Err(e) => out.push_str(&format!(
                        "== logs {name} -c {} ({which}): {}\n",
                        c.name,
                        api_error_text(&e)
                    )),
                }
            }
        }
    }
    out
}
