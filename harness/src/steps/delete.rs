//! `delete`: delete objects and wait until they are gone (watched, by UID, so a new object
//! of the same name does not count as the old one still being there).
//!
//! ```yaml
//! - delete: { pod: kuard }                  # or object: <kind>/<name>, or file:/manifest:
//! - delete: { pod: kuard, grace_period: 0s, wait: false }
//! ```

use std::time::Duration;

use kube::api::{DeleteParams, DynamicObject};
use serde::{Deserialize, Serialize};

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::api::watch::{Mode, watch_object};
use crate::fields::Dur;
use crate::fields::manifest::{InlineManifest, Resolved, resolve};
use crate::fields::objref::ObjectRef;
use crate::fields::template::Template;
use crate::matchers::Mismatch;

/// The default grace period is 30s; deletion finishes within it plus some slack.

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Delete {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<InlineManifest>,
    /// `gracePeriodSeconds` of the delete call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<Dur>,
    /// Wait until gone (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
    /// An object that does not exist is fine (default false: it is a failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_ok: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    #[serde(skip)]
    pub resolved: Option<Resolved>,
}

impl StepKind for Delete {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

    fn timeout_field(&self) -> Option<Dur> {
        self.timeout
    }

    fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid> {
        let by_name = self.pod.is_some() as u8 + self.object.is_some() as u8;
        let by_manifest = self.file.is_some() || self.manifest.is_some();
        match (by_name, by_manifest) {
            (1, false) => Ok(()),
            (0, true) => {
                self.resolved = Some(resolve(&self.file, &self.manifest, cx.dir)?);
                Ok(())
            }
            _ => Err("give exactly one of `pod`, `object`, `file`, `manifest`".into()),
        }
    }
    fn summary(&self) -> String {
        match (&self.pod, &self.object, &self.resolved) {
            (Some(p), _, _) => format!("pod/{p}"),
            (_, Some(o), _) => o.to_string(),
            (_, _, Some(r)) => r.to_string(),
            _ => String::new(),
        }
    }
    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        // (kind or document) -> (api, name)
        let mut targets = Vec::new();
        if let Some(r) = &self.resolved {
            for doc in r.render(cx.vars())? {
                let (api, name, _) = cx.place(doc).await?;
                targets.push((api, name));
            }
        } else {
            let o = match (&self.pod, &self.object) {
                (Some(p), _) => ObjectRef::pod(p.clone()),
                (_, Some(o)) => o.clone(),
                _ => unreachable!("validated"),
            };
            let (kind, name) = o.render(cx.vars())?;
            let r = cx.env.resolver.by_name(&kind).await?;
            targets.push((cx.env.resolver.api(&r, cx.ns()), name));
        }
        let dp = DeleteParams {
            grace_period_seconds: self.grace_period.map(|d| d.0.as_secs() as u32),
            ..DeleteParams::default()
        };
        for (api, name) in targets {
            let res = cx
                .bounded("delete", async { Ok(api.delete(&name, &dp).await) })
                .await?;
            let uid = match res {
                Ok(either) => {
                    let uid = either.left().and_then(|o: DynamicObject| o.metadata.uid);
                    cx.note(format!(
                        "deleted {name} (uid {})",
                        uid.as_deref().unwrap_or("?")
                    ));
                    uid
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    if self.missing_ok == Some(true) {
                        cx.note(format!("{name} did not exist"));
                        continue;
                    }
                    return Err(StepError::Failed(Mismatch::new(
                        format!("{name} cannot be deleted: it does not exist"),
                        format!("{name} to exist"),
                        format!("404 {}: {}", s.reason, s.message),
                    )));
                }
                Err(e) => return Err(e.into()),
            };
            if self.wait == Some(false) {
                continue;
            }
            let (_, took) = watch_object(
                api,
                &name,
                Mode::Until,
                cx.deadline,
                &cx.env.cancel,
                |o| match o {
                    None => Ok(()),
                    Some(o) if uid.is_some() && o.metadata.uid != uid => Ok(()),
                    Some(o) => Err(Mismatch::new(
                        format!("{name} is still there"),
                        format!("{name} to be gone"),
                        match &o.metadata.deletion_timestamp {
                            Some(t) => format!("terminating since {}", t.0),
                            None => "not even terminating".into(),
                        },
                    )),
                },
            )
            .await?;
            cx.note(format!("{name} gone after {:.1}s", took.as_secs_f64()));
        }
        Ok(())
    }
}
