//! `describe`: run `kubectl describe` and check its fields and sections: present, with given
//! values, and (for pods, by default) consistent with the API object and its Events.
//!
//! ```yaml
//! - describe:
//!     pod: kuard                           # kubectl describe pods kuard
//!     present: [Conditions.PodScheduled, "Volumes.kube-api-access-*", Events.Scheduled]
//!     fields: { "QoS Class": BestEffort, "Containers.kuard.Port": 8080/TCP }
//!     matches: { "Containers.kuard.Container ID": '^containerd://' }
//! - describe:
//!     args: [pods, -l, app=kuard]          # by selector, name prefix, -f ${file:...}
//!     objects: 2
//! ```
//! Paths: see [`parse`]. The consistency check compares every described pod with the Pod
//! read from the API just before and just after describe (retrying while the pod changes
//! under it, so a moving pod does not make a false difference).

pub mod consistency;
pub mod parse;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use serde::{Deserialize, Serialize};

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::fields::Dur;
use crate::fields::template::{ArgTemplate, Template, TemplateError};
use crate::fields::versioned::Versioned;
use crate::matchers::Mismatch;
use crate::matchers::text::{RegexTemplate, quote_block};
use parse::Node;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Describe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Template>,
    /// Raw `kubectl describe` arguments instead of `pod:`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgTemplate>,
    /// How many objects the output must describe (default: 1 with `pod:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<usize>,
    /// Compare every described pod with the API (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent: Option<bool>,
    /// Each may be given `by_version` (a section a release added).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub present: Vec<Versioned<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Template>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub matches: BTreeMap<String, RegexTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    #[serde(skip)]
    pub files: BTreeMap<String, PathBuf>,
}

impl StepKind for Describe {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    fn timeout_field(&self) -> Option<Dur> {
        self.timeout
    }

    fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid> {
        match (self.pod.is_some(), self.args.is_empty()) {
            (true, false) => return Err("give either `pod` or `args`, not both".into()),
            (false, true) => {
                return Err("missing what to describe: give `pod: <name>` or `args: [...]`".into());
            }
            _ => {}
        }
        Ok(super::kubectl::resolve_files(
            self.args.iter(),
            cx.dir,
            &mut self.files,
        )?)
    }
    fn summary(&self) -> String {
        match &self.pod {
            Some(p) => format!("pods {p}"),
            None => self
                .args
                .iter()
                .map(|a| crate::kubectl::shell_quote(a.raw()))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let mut args = vec!["describe".to_string()];
        match &self.pod {
            Some(p) => args.extend(["pods".to_string(), p.render(cx.vars())?]),
            None => args.extend(super::kubectl::render_args(cx, &self.args, &self.files)?),
        }
        let consistent = self.consistent.unwrap_or(true);
        let pods: Api<Pod> = Api::namespaced(cx.client(), cx.ns());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let before = if consistent {
                Some(list_pods(cx, &pods).await?)
            } else {
                None
            };
            let out = cx
                .bounded("kubectl describe", async {
                    Ok(cx.env.kubectl.run(&args, None, cx.deadline).await?)
                })
                .await?;
            super::outcome::log(cx, &out);
            if out.code != Some(0) {
                return Err(StepError::Failed(Mismatch::new(
                    format!("{} failed", out.command),
                    "exit code 0",
                    format!(
                        "exit code {:?}; stderr: {}",
                        out.code,
                        quote_block(&out.stderr)
                    ),
                )));
            }
            let docs = parse::parse(&out.stdout);
            let want = self.objects.or(self.pod.as_ref().map(|_| 1));
            if let Some(n) = want
                && docs.len() != n
            {
                return Err(StepError::Failed(Mismatch::new(
                    "describe showed another number of objects",
                    format!("{n} objects"),
                    format!("{} objects: {}", docs.len(), quote_block(&out.stdout)),
                )));
            }
            if docs.is_empty() {
                return Err(StepError::Failed(Mismatch::new(
                    "describe showed nothing",
                    "at least one object",
                    quote_block(&format!("{}{}", out.stdout, out.stderr)),
                )));
            }
            self.check_fields(cx, &docs)?;
            let Some(before) = before else { return Ok(()) };
            let after = list_pods(cx, &pods).await?;
            if before != after && cx.remaining() > Duration::from_secs(2) && attempt < 5 {
                cx.note("the pods changed while describe ran: again");
                continue;
            }
            let events: Api<Event> = Api::namespaced(cx.client(), cx.ns());
            let events = cx
                .bounded("list events", async {
                    Ok(events.list(&ListParams::default()).await?)
                })
                .await?;
            return self.check_consistency(cx, &docs, &after, &events.items);
        }
    }
}

impl Describe {
    fn check_fields(&self, cx: &StepCx<'_>, docs: &[Node]) -> Result<(), StepError> {
        let mut problems = Vec::new();
        let (mut want, mut got) = (Vec::new(), Vec::new());
        for (i, d) in docs.iter().enumerate() {
            let who = d
                .value_of("Name")
                .unwrap_or_else(|| format!("object {}", i + 1));
            for p in &self.present {
                let (p, _) = p
                    .pick(cx.vars().kubernetes.as_ref())
                    .map_err(|e| StepError::Template(TemplateError::NoForm(e)))?;
                if d.find(p).is_none() {
                    problems.push(format!("{who}: `{p}` is missing"));
                    want.push(format!("{p} present"));
                    got.push(format!("{p} missing"));
                }
            }
            for (p, v) in &self.fields {
                let v = v.render(cx.vars())?;
                let actual = d.find(p).map(|f| f.text());
                if actual.as_deref() != Some(v.as_str()) {
                    problems.push(format!("{who}: `{p}` differs"));
                    want.push(format!("{p}: {v}"));
                    got.push(format!(
                        "{p}: {}",
                        actual.unwrap_or_else(|| "(missing)".into())
                    ));
                }
            }
            for (p, r) in &self.matches {
                let re = r
                    .compile(cx.vars())
                    .map_err(|e| StepError::Invalid(e.to_string()))?;
                let actual = d.find(p).map(|f| f.text());
                if !actual.as_deref().is_some_and(|a| re.is_match(a)) {
                    problems.push(format!("{who}: `{p}` does not match"));
                    want.push(format!("{p} =~ /{}/", re.as_str()));
                    got.push(format!(
                        "{p}: {}",
                        actual.unwrap_or_else(|| "(missing)".into())
                    ));
                }
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(StepError::Failed(Mismatch::new(
            problems.join("; "),
            want.join("; "),
            got.join("; "),
        )))
    }
    fn check_consistency(
        &self,
        cx: &mut StepCx<'_>,
        docs: &[Node],
        pods: &[Pod],
        events: &[Event],
    ) -> Result<(), StepError> {
        let mut diffs = Vec::new();
        let mut checked = 0;
        let mut unmatched = Vec::new();
        for d in docs {
            let name = d.value_of("Name").unwrap_or_default();
            let Some(pod) = pods
                .iter()
                .find(|p| p.metadata.name.as_deref() == Some(name.as_str()))
            else {
                unmatched.push(if name.is_empty() {
                    "(no Name)".to_string()
                } else {
                    name
                });
                continue;
            };
            checked += 1;
            let uid = pod.metadata.uid.clone();
            let own: Vec<Event> = events
                .iter()
                .filter(|e| {
                    e.involved_object.uid == uid
                        || e.involved_object.name.as_deref() == Some(name.as_str())
                })
                .cloned()
                .collect();
            diffs.extend(
                consistency::pod(d, pod, &own)
                    .into_iter()
                    .map(|x| (name.clone(), x)),
            );
        }
        cx.note(format!(
            "{checked} described pod(s) compared with the API: {} difference(s)",
            diffs.len()
        ));
        // A consistency check that compared nothing checked nothing: every described object
        // must be a pod of the namespace (describe of other kinds: `consistent: false`).
        if !unmatched.is_empty() {
            return Err(StepError::Failed(Mismatch::new(
                format!(
                    "described object(s) {} match no pod of the namespace, so nothing could be compared",
                    unmatched.join(", ")
                ),
                "every described object to be a pod of the namespace (give `consistent: false` to describe other kinds)",
                format!(
                    "pods of the namespace: {}",
                    if pods.is_empty() {
                        "none".to_string()
                    } else {
                        pods.iter()
                            .filter_map(|p| p.metadata.name.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            )));
        }
        if diffs.is_empty() {
            return Ok(());
        }
        Err(StepError::Failed(Mismatch::new(
            format!(
                "kubectl describe disagrees with the API object in {} field(s): {}",
                diffs.len(),
                diffs
                    .iter()
                    .map(|(n, d)| format!("{n}: {}", d.path))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            diffs
                .iter()
                .map(|(_, d)| format!("{} = {}", d.path, d.expected))
                .collect::<Vec<_>>()
                .join("; "),
            diffs
                .iter()
                .map(|(_, d)| format!("{} = {}", d.path, d.actual))
                .collect::<Vec<_>>()
                .join("; "),
        )))
    }
}

async fn list_pods(cx: &StepCx<'_>, pods: &Api<Pod>) -> Result<Vec<Pod>, StepError> {
    cx.bounded("list pods", async {
        Ok(pods.list(&ListParams::default()).await?.items)
    })
    .await
}
