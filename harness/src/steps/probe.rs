//! `probe`: drive the kuard workload's health through the API server's pod proxy, as the
//! chapter does through port-forward: flip liveness or readiness (`PUT /healthy/api`,
//! `PUT /ready/api` with `{"failNext": N}`, N < 0 = fail forever, 0 = healthy again), or GET a
//! path and check the answer.
//!
//! ```yaml
//! - probe: { pod: kuard, liveness: { failNext: -1 } }
//! - probe: { pod: kuard, readiness: { failNext: 0 } }
//! - probe: { pod: kuard, get: /ready, status: 500, body: "fail" }
//! ```

use std::time::Duration;

use http::{Method, Request};
use serde::{Deserialize, Serialize};

use super::error::{Invalid, StepError};
use super::kind::{LoadCx, StepCx, StepKind};
use crate::fields::Dur;
use crate::fields::template::Template;
use crate::matchers::Mismatch;
use crate::matchers::text::{TextSpec, quote_block};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FailNext {
    #[serde(rename = "failNext")]
    pub fail_next: i64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    pub pod: Template,
    /// The workload's HTTP port (default 8080, kuard's).
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<FailNext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<FailNext>,
    /// GET this path and check `status` and `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get: Option<Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<TextSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
}

fn default_port() -> u16 {
    8080
}

impl StepKind for Probe {
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

    fn timeout_field(&self) -> Option<Dur> {
        self.timeout
    }

    fn validate(&mut self, _: &LoadCx<'_>) -> Result<(), Invalid> {
        if self.liveness.is_none() && self.readiness.is_none() && self.get.is_none() {
            return Err("nothing to do: give liveness, readiness or get".into());
        }
        if self.get.is_none() && (self.status.is_some() || self.body.is_some()) {
            return Err("`status` and `body` check the answer of `get`".into());
        }
        if self.get.is_some()
            && self.status.is_none()
            && self.body.as_ref().is_none_or(|b| b.is_empty())
        {
            return Err(
                "`get` checks nothing without `status` or `body`: say what the answer must be"
                    .into(),
            );
        }
        if let Some(g) = &self.get
            && !g.raw().starts_with('/')
        {
            return Err(format!("`get` is a path starting with `/`, not `{g}`").into());
        }
        Ok(())
    }
    fn summary(&self) -> String {
        let mut parts = vec![format!("pod/{}:{}", self.pod, self.port)];
        if let Some(l) = self.liveness {
            parts.push(format!("liveness failNext={}", l.fail_next));
        }
        if let Some(r) = self.readiness {
            parts.push(format!("readiness failNext={}", r.fail_next));
        }
        if let Some(g) = &self.get {
            parts.push(format!("GET {g}"));
        }
        parts.join(" ")
    }
    async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let pod = self.pod.render(cx.vars())?;
        let base = format!(
            "/api/v1/namespaces/{}/pods/{pod}:{}/proxy",
            cx.ns(),
            self.port
        );
        for (path, fail) in [
            ("/healthy/api", self.liveness),
            ("/ready/api", self.readiness),
        ] {
            let Some(f) = fail else { continue };
            let body = serde_json::to_vec(&f).map_err(|e| StepError::Invalid(e.to_string()))?;
            let (code, text) = cx
                .bounded("PUT", send(cx, Method::PUT, &format!("{base}{path}"), body))
                .await?;
            cx.note(format!(
                "PUT {path} {{\"failNext\": {}}} -> {code} {}",
                f.fail_next,
                text.trim()
            ));
            if !(200..300).contains(&code) {
                return Err(StepError::Failed(Mismatch::new(
                    format!("the workload refused PUT {path}"),
                    "a 2xx answer",
                    format!("{code}: {}", quote_block(&text)),
                )));
            }
        }
        if let Some(g) = &self.get {
            let path = g.render(cx.vars())?;
            let (code, text) = cx
                .bounded(
                    "GET",
                    send(cx, Method::GET, &format!("{base}{path}"), Vec::new()),
                )
                .await?;
            cx.note(format!("GET {path} -> {code} {}", text.trim()));
            if let Some(want) = self.status
                && want != code
            {
                return Err(StepError::Failed(Mismatch::new(
                    format!("GET {path} answered another status"),
                    format!("status {want}"),
                    format!("status {code}, body {}", quote_block(&text)),
                )));
            }
            if let Some(b) = &self.body {
                cx.check_text(b, &format!("the body of GET {path}"), &text)?;
            }
        }
        Ok(())
    }
}

/// One request through the API server; any HTTP status is an answer (a 500 from /ready is
/// what some cases want), only transport failures are errors.
async fn send(
    cx: &StepCx<'_>,
    method: Method,
    uri: &str,
    body: Vec<u8>,
) -> Result<(u16, String), StepError> {
    let mut req = Request::builder().method(method).uri(uri);
    if !body.is_empty() {
        req = req.header(http::header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(kube::client::Body::from(body))
        .map_err(|e| StepError::Invalid(format!("bad request {uri}: {e}")))?;
    let resp = cx.client().send(req).await?;
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect_bytes().await?;
    Ok((code, String::from_utf8_lossy(&bytes).into_owned()))
}
