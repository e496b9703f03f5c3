//! `probe`: drive the kuard workload's health through the API server's pod proxy, as the
//! chapter does through port-forward: flip liveness or readiness (`PUT /healthy/api`,
//! `PUT /ready/api` with `{"failNext": N}`, N < 0 = fail forever, 0 = healthy again), or GET a
//! path and check the answer. A request the proxy could not deliver because nothing listens
//! on the port yet is sent again until shortly before the deadline, then judged.
//!
//! ```yaml
//! - probe: { pod: kuard, liveness: { failNext: -1 } }
//! - probe: { pod: kuard, readiness: { failNext: 0 } }
//! - probe: { pod: kuard, get: /ready, status: 500, body: "fail" }
//! ```

use std::time::Duration;

use backon::Retryable;
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
                .bounded(
                    "PUT",
                    send_when_listening(cx, Method::PUT, &format!("{base}{path}"), body),
                )
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
                    send_when_listening(cx, Method::GET, &format!("{base}{path}"), Vec::new()),
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

/// What the API server's pod proxy answers when nothing listens on the pod's port: the
/// request never reached the workload.
fn unreached(code: u16, body: &str) -> bool {
    matches!(code, 502 | 503) && body.contains("connection refused")
}

/// [`send`], sent again while nothing listens on the pod's port. A pod without a readiness
/// probe is Ready once its container starts, which can be before its server listens (a
/// loaded node showed it). Sent again with back-off until shortly before the step's deadline;
/// then the last answer is judged like any other, so a workload that never listens fails the
/// step with the proxy's own words.
async fn send_when_listening(
    cx: &StepCx<'_>,
    method: Method,
    uri: &str,
    body: Vec<u8>,
) -> Result<(u16, String), StepError> {
    enum Sent {
        Unreached(u16, String),
        Failed(StepError),
    }
    let attempt = || async {
        match send(cx, method.clone(), uri, body.clone()).await {
            Ok((code, text)) if unreached(code, &text) => Err(Sent::Unreached(code, text)),
            Ok(answer) => Ok(answer),
            Err(e) => Err(Sent::Failed(e)),
        }
    };
    let room = cx.remaining().saturating_sub(Duration::from_secs(1));
    let sent = attempt
        .retry(crate::api::backoff(
            Duration::from_millis(50),
            Duration::from_secs(1),
            room,
        ))
        .when(|s| matches!(s, Sent::Unreached(..)))
        .await;
    match sent {
        Ok(answer) => Ok(answer),
        Err(Sent::Unreached(code, text)) => Ok((code, text)),
        Err(Sent::Failed(e)) => Err(e),
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

#[cfg(test)]
mod tests {
    //! The probe step against a fake API server whose pod proxy answers as the real one does
    //! while nothing listens on the pod's port.
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Instant;

    use bytes::Bytes;
    use http::{Response, StatusCode};
    use http_body_util::Full;
    use tokio_util::sync::CancellationToken;

    use crate::fields::template::Vars;
    use crate::kubectl::Kubectl;
    use crate::steps::Step;
    use crate::steps::error::StepError;
    use crate::steps::kind::{CaseEnv, LoadCx, StepCx};

    const REFUSED: &str =
        "error trying to reach service: dial tcp 10.244.0.7:8080: connect: connection refused";

    /// A pod whose server listens after `closed` requests (never, with `u32::MAX`) and then
    /// answers `/healthy` with `ok`; how many requests it got.
    fn pod(closed: u32) -> (CaseEnv, Arc<AtomicU32>) {
        let asked = Arc::new(AtomicU32::new(0));
        let count = asked.clone();
        let svc = tower::service_fn(move |_req: http::Request<kube::client::Body>| {
            let n = count.fetch_add(1, Ordering::SeqCst);
            async move {
                let (status, body) = if n < closed {
                    (StatusCode::SERVICE_UNAVAILABLE, REFUSED)
                } else {
                    (StatusCode::OK, "ok")
                };
                let mut r = Response::new(Full::new(Bytes::from(body)));
                *r.status_mut() = status;
                Ok::<_, Infallible>(r)
            }
        });
        let client = kube::Client::new(svc, "pc-1");
        let env = CaseEnv {
            client: client.clone(),
            namespace: "pc-1".into(),
            vars: Vars::default(),
            kubectl: Kubectl::new("kubectl", "/dev/null"),
            resolver: Arc::new(crate::api::resolve::Resolver::new(client)),
            workdir: std::env::temp_dir(),
            suite_dir: std::env::temp_dir(),
            cancel: CancellationToken::new(),
        };
        (env, asked)
    }

    async fn run(env: &CaseEnv, secs: u64) -> Result<(), StepError> {
        let mut step: Step = serde_saphyr::from_str(
            "probe: { pod: kuard, get: /healthy, status: 200, body: { equals: ok } }",
        )
        .unwrap();
        step.validate(&LoadCx {
            dir: &std::env::temp_dir(),
        })
        .unwrap();
        let mut cx = StepCx::new(env, Instant::now() + std::time::Duration::from_secs(secs));
        step.run(&mut cx).await
    }

    #[tokio::test]
    async fn a_pod_that_listens_late_is_asked_again() {
        let (env, asked) = pod(3);
        run(&env, 10).await.unwrap();
        assert_eq!(asked.load(Ordering::SeqCst), 4);
    }

    /// Never listening is judged at the end, with the proxy's words, before the deadline
    /// cuts the request off.
    #[tokio::test]
    async fn a_pod_that_never_listens_fails_with_what_the_proxy_said() {
        let (env, asked) = pod(u32::MAX);
        let e = run(&env, 3).await.unwrap_err().to_string();
        assert!(e.contains("GET /healthy answered another status"), "{e}");
        assert!(e.contains("expected: status 200"), "{e}");
        assert!(e.contains("connect: connection refused"), "{e}");
        assert!(asked.load(Ordering::SeqCst) > 2);
    }
}
