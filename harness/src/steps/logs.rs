//! `logs`: a container's log (`kubectl logs`, through the API) matches. For the current
//! container, a log that does not match yet is followed (streamed) until it does or the
//! deadline passes: no polling. `previous: true` reads the last terminated instance.
//!
//! ```yaml
//! - logs: { pod: kuard, contains: "Serving on HTTP on :8080" }
//! - logs: { pod: kuard, container: kuard, previous: true, regex: '^Starting kuard', min_lines: 2 }
//! ```

use std::time::Duration;

use futures::AsyncBufReadExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use serde::{Deserialize, Serialize};

use super::{StepCx, StepError};
use crate::suite::Dur;
use crate::suite::one_or_many::OneOrMany;
use crate::suite::template::Template;
use crate::suite::text::{CompiledText, RegexTemplate, TextMatch};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Logs {
    pub pod: Template,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Template>,
    #[serde(default)]
    pub previous: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Template>,
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub contains: OneOrMany<Template>,
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub not_contains: OneOrMany<Template>,
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub regex: OneOrMany<RegexTemplate>,
    #[serde(default, skip_serializing_if = "OneOrMany::is_empty")]
    pub not_regex: OneOrMany<RegexTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_lines: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lines: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Dur>,
}

impl Logs {
    fn text_match(&self) -> TextMatch {
        TextMatch {
            equals: self.equals.clone(),
            contains: self.contains.clone(),
            not_contains: self.not_contains.clone(),
            regex: self.regex.clone(),
            not_regex: self.not_regex.clone(),
            min_lines: self.min_lines,
            max_lines: self.max_lines,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        super::positive(self.timeout, "timeout")?;
        if self.text_match().is_empty() {
            return Err("nothing to check: give contains, not_contains, regex, not_regex, equals, min_lines or max_lines".into());
        }
        Ok(())
    }

    pub fn summary(&self) -> String {
        let mut s = format!("pod/{}", self.pod);
        if let Some(c) = &self.container {
            s.push_str(&format!(" -c {c}"));
        }
        if self.previous {
            s.push_str(" --previous");
        }
        s
    }

    pub async fn run(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        let name = self.pod.render(cx.vars())?;
        let container = self
            .container
            .as_ref()
            .map(|c| c.render(cx.vars()))
            .transpose()?;
        let m = self
            .text_match()
            .compile(cx.vars())
            .map_err(|e| StepError::Invalid(e.to_string()))?;
        let api: Api<Pod> = Api::namespaced(cx.client(), cx.ns());
        let what = if self.previous {
            "the previous log"
        } else {
            "the log"
        };
        let lp = LogParams {
            container: container.clone(),
            previous: self.previous,
            ..LogParams::default()
        };
        let text = cx
            .bounded("logs", async { Ok(api.logs(&name, &lp).await?) })
            .await?;
        cx.note(format!("{what} of {name}: {} lines", text.lines().count()));
        if m.failures(&text).is_empty() || self.previous {
            return m.check(what, &text).map_err(StepError::Failed);
        }
        // Not yet: follow the log until it matches.
        let text = self.follow(cx, &api, &name, container, &m).await?;
        m.check(what, &text).map_err(StepError::Failed)
    }

    async fn follow(
        &self,
        cx: &mut StepCx<'_>,
        api: &Api<Pod>,
        name: &str,
        container: Option<String>,
        m: &CompiledText,
    ) -> Result<String, StepError> {
        let lp = LogParams {
            container,
            follow: true,
            ..LogParams::default()
        };
        let started = std::time::Instant::now();
        let mut text = String::new();
        let res = cx
            .bounded("following the log", async {
                let stream = api.log_stream(name, &lp).await?;
                let mut lines = std::pin::pin!(stream.lines());
                use futures::StreamExt;
                while let Some(line) = lines.next().await {
                    let line = line.map_err(|e| StepError::Api(format!("reading the log: {e}")))?;
                    text.push_str(&line);
                    text.push('\n');
                    if m.failures(&text).is_empty() {
                        return Ok(());
                    }
                }
                Ok(())
            })
            .await;
        match res {
            Ok(()) => {
                cx.note(format!(
                    "followed the log for {:.2}s",
                    started.elapsed().as_secs_f64()
                ));
                Ok(text)
            }
            Err(StepError::Timeout { after, .. }) => Err(StepError::Timeout {
                after,
                last: m.check("the log", &text).err(),
                api_error: None,
            }),
            Err(e) => Err(e),
        }
    }
}
