//! `create`: POST a manifest, as `kubectl create` does; fails if the object exists. With
//! `rejected:` the API server must refuse it (MANIFEST-VALIDATE), with the given HTTP code,
//! reason and message.
//!
//! ```yaml
//! - create: { file: kuard-pod.yaml }
//! - create:
//!     manifest: {apiVersion: v1, kind: Pod, metadata: {name: bad}, spec: {containers: [{name: x}]}}
//!     rejected: { code: 422, reason: Invalid, message: "spec.containers[0].image: Required value" }
//! ```

use std::time::Duration;

use kube::api::PostParams;
use serde::{Deserialize, Serialize};

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::fields::Dur;
use crate::fields::manifest::{InlineManifest, Resolved, describe_doc, resolve};
use crate::matchers::Mismatch;
use crate::matchers::text::TextSpec;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Create {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<InlineManifest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Rejected>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    #[serde(skip)]
    pub resolved: Resolved,
}

/// How the API server must refuse the object.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rejected {
    /// HTTP status code, e.g. 422.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// The Status reason, e.g. `Invalid`, `AlreadyExists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<TextSpec>,
}

impl StepKind for Create {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    fn timeout_field(&self) -> Option<Dur> {
        self.timeout
    }

    fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid> {
        self.resolved = resolve(&self.file, &self.manifest, cx.dir)?;
        if let Some(r) = &self.rejected {
            if self.resolved.docs.len() != 1 {
                return Err("`rejected` needs a manifest with exactly one document".into());
            }
            if r.code.is_none()
                && r.reason.is_none()
                && r.message.as_ref().is_none_or(|m| m.is_empty())
            {
                return Err("`rejected: {}` accepts any refusal, even one for another reason: give `code`, `reason` or `message`".into());
            }
        }
        Ok(())
    }
    fn summary(&self) -> String {
        match &self.rejected {
            Some(_) => format!("{} (must be rejected)", self.resolved),
            None => self.resolved.to_string(),
        }
    }
    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        for doc in self.resolved.render(cx.vars())? {
            let (api, _, doc) = cx.place(doc).await?;
            let what = describe_doc(&doc);
            let obj: kube::api::DynamicObject = serde_json::from_value(doc)
                .map_err(|e| StepError::Invalid(format!("{what}: {e}")))?;
            let pp = PostParams {
                field_manager: Some(super::apply::FIELD_MANAGER.into()),
                ..PostParams::default()
            };
            let result = cx
                .bounded("create", async { Ok(api.create(&pp, &obj).await) })
                .await?;
            match (result, &self.rejected) {
                (Ok(o), None) => cx.note(format!(
                    "created {what} (name {}, uid {})",
                    o.metadata.name.as_deref().unwrap_or("?"),
                    o.metadata.uid.as_deref().unwrap_or("?")
                )),
                (Err(e), None) => return Err(StepError::api(format!("creating {what}"), e)),
                (Ok(o), Some(_)) => {
                    return Err(StepError::Failed(Mismatch::new(
                        format!("the API server accepted {what}"),
                        "the API server to reject it",
                        format!("created (uid {})", o.metadata.uid.as_deref().unwrap_or("?")),
                    )));
                }
                (Err(kube::Error::Api(status)), Some(want)) => {
                    cx.note(format!(
                        "rejected as expected: {} {}: {}",
                        status.code, status.reason, status.message
                    ));
                    check_rejection(want, status.code, &status.reason, &status.message, cx)?;
                }
                (Err(e), Some(_)) => return Err(StepError::api(format!("creating {what}"), e)),
            }
        }
        Ok(())
    }
}

fn check_rejection(
    want: &Rejected,
    code: u16,
    reason: &str,
    message: &str,
    cx: &mut StepCx<'_>,
) -> Result<(), StepError> {
    let actual = format!("{code} {reason}: {message}");
    if let Some(c) = want.code
        && c != code
    {
        return Err(StepError::Failed(Mismatch::new(
            "the rejection has another HTTP code",
            format!("code {c}"),
            actual,
        )));
    }
    if let Some(r) = &want.reason
        && r != reason
    {
        return Err(StepError::Failed(Mismatch::new(
            "the rejection has another reason",
            format!("reason {r}"),
            actual,
        )));
    }
    if let Some(m) = &want.message {
        cx.check_text(m, "the rejection message", message)?;
    }
    Ok(())
}
