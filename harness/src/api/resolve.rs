//! From what a suite writes (`pod`, `svc`, `Pod` in `v1`) to the API resource to call.
//! The kinds suites use every day are known without asking the API server; anything else
//! is found once per run through discovery.

use std::sync::Arc;

use kube::api::{Api, ApiResource, DynamicObject};
use kube::discovery::{Discovery, Scope};
use tokio::sync::OnceCell;

use crate::kinds;

/// Why a kind could not be mapped to an API resource.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("API discovery failed; hint: is the API server reachable?")]
    Discovery(#[source] kube::Error),
    #[error(
        "the API server has no resource kind `{0}`; hint: `kubectl api-resources` lists what it serves"
    )]
    UnknownKind(String),
    #[error(
        "the API server does not serve kind `{kind}` in `{api_version}`; hint: `kubectl api-resources` lists what it serves"
    )]
    NotServed { kind: String, api_version: String },
}

/// An API resource and whether it lives in a namespace.
#[derive(Clone, Debug)]
pub struct Resource {
    pub api: ApiResource,
    pub namespaced: bool,
}

/// The kinds known without discovery ([`crate::kinds`]), as API resources.
fn known() -> Vec<(Resource, kinds::Names)> {
    struct AsResource;
    impl kinds::Visit for AsResource {
        type Out = (Resource, kinds::Names);
        fn kind<K: kinds::Known>(&self, names: kinds::Names) -> Self::Out {
            let api = ApiResource::erase::<K>(&());
            let namespaced = names.namespaced;
            (Resource { api, namespaced }, names)
        }
    }
    kinds::each(&AsResource)
}

/// Finds API resources; one per run, shared by all cases.
pub struct Resolver {
    client: kube::Client,
    discovery: OnceCell<Arc<Discovery>>,
}

impl Resolver {
    pub fn new(client: kube::Client) -> Self {
        Resolver {
            client,
            discovery: OnceCell::new(),
        }
    }

    async fn discovery(&self) -> Result<Arc<Discovery>, ResolveError> {
        self.discovery
            .get_or_try_init(|| async {
                Discovery::new(self.client.clone())
                    .run()
                    .await
                    .map(Arc::new)
                    .map_err(ResolveError::Discovery)
            })
            .await
            .cloned()
    }

    /// A kind as a suite names it: `pod`, `pods`, `po`, `Pod`, `deployment.apps`.
    pub async fn by_name(&self, name: &str) -> Result<Resource, ResolveError> {
        if let Some((r, _)) = known().into_iter().find(|(_, n)| n.matches(name)) {
            return Ok(r);
        }
        let lower = name.to_ascii_lowercase();
        let (kind, group) = match lower.split_once('.') {
            Some((k, g)) => (k.to_string(), Some(g.to_string())),
            None => (lower.clone(), None),
        };
        let d = self.discovery().await?;
        for g in d.groups() {
            if group.as_ref().is_some_and(|want| g.name() != want) {
                continue;
            }
            for (ar, caps) in g.recommended_resources() {
                if ar.kind.to_ascii_lowercase() == kind || ar.plural == kind {
                    return Ok(Resource {
                        api: ar,
                        namespaced: caps.scope == Scope::Namespaced,
                    });
                }
            }
        }
        Err(ResolveError::UnknownKind(name.to_string()))
    }

    /// The resource of a manifest document, from its `apiVersion` and `kind`.
    pub async fn for_document(&self, doc: &serde_json::Value) -> Result<Resource, ResolveError> {
        let api_version = doc
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let kind = doc.get("kind").and_then(|v| v.as_str()).unwrap_or_default();
        if let Some((r, _)) = known()
            .into_iter()
            .find(|(r, _)| r.api.api_version == api_version && r.api.kind == kind)
        {
            return Ok(r);
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let d = self.discovery().await?;
        for g in d.groups().filter(|g| g.name() == group) {
            for (ar, caps) in g.versioned_resources(version) {
                if ar.kind == kind {
                    return Ok(Resource {
                        api: ar,
                        namespaced: caps.scope == Scope::Namespaced,
                    });
                }
            }
        }
        Err(ResolveError::NotServed {
            kind: kind.to_string(),
            api_version: api_version.to_string(),
        })
    }

    /// A dynamic API handle for `r` in `namespace` (ignored for cluster-scoped kinds).
    pub fn api(&self, r: &Resource, namespace: &str) -> Api<DynamicObject> {
        if r.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &r.api)
        } else {
            Api::all_with(self.client.clone(), &r.api)
        }
    }
}
