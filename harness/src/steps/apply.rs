//! `apply`: server-side apply of a manifest (file or inline) into the case's namespace.
//!
//! ```yaml
//! - apply: { file: ../fixtures/manifests/kuard-pod.yaml }
//! - apply:
//!     manifest: {apiVersion: v1, kind: Service, metadata: {name: kuard}, spec: {...}}
//! ```
//!
//! Through the API (not `kubectl apply`) because it is fast and says exactly what the API
//! server did; a case that checks kubectl's own apply output (`pod/kuard created`, the
//! last-applied annotation) runs `kubectl apply -f ${file:...}` in a `kubectl` step.
//! Namespaced objects always land in the case's namespace.

use std::time::Duration;

use kube::api::{Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::fields::Dur;
use crate::fields::manifest::{InlineManifest, Resolved, describe_doc, resolve};

/// The field manager podcheck applies as.
pub const FIELD_MANAGER: &str = "podcheck";

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Apply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<InlineManifest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
    #[serde(skip)]
    pub resolved: Resolved,
}

impl StepKind for Apply {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    fn timeout_field(&self) -> Option<Dur> {
        self.timeout
    }

    fn validate(&mut self, cx: &LoadCx<'_>) -> Result<(), Invalid> {
        self.resolved = resolve(&self.file, &self.manifest, cx.dir)?;
        for d in &self.resolved.docs {
            if d.pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_none()
            {
                return Err(format!(
                    "{}: apply needs `metadata.name` (use `create` for generateName)",
                    describe_doc(d)
                )
                .into());
            }
        }
        Ok(())
    }
    fn summary(&self) -> String {
        self.resolved.to_string()
    }
    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        for doc in self.resolved.render(cx.vars())? {
            let (api, name, doc) = cx.place(doc).await?;
            let pp = PatchParams::apply(FIELD_MANAGER).force();
            let obj = cx
                .bounded("apply", async {
                    api.patch(&name, &pp, &Patch::Apply(&doc))
                        .await
                        .map_err(|e| StepError::api(format!("applying {}", describe_doc(&doc)), e))
                })
                .await?;
            cx.note(format!(
                "applied {} (uid {}, resourceVersion {})",
                describe_doc(&doc),
                obj.metadata.uid.as_deref().unwrap_or("?"),
                obj.metadata.resource_version.as_deref().unwrap_or("?")
            ));
        }
        Ok(())
    }
}
