//! Why a step did not pass ([`StepError`]: a behaviour that did not hold, told apart from a
//! step that could not check), and why a step cannot be right as written ([`Invalid`]).

use crate::api::resolve::ResolveError;
use crate::api::watch::{TimedOut, WatchError};
use crate::fields::template::TemplateError;
use crate::matchers::Mismatch;

/// A step that cannot be right as written, found when the suite loads (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
            source: None,
        }
    }

    /// A rule broken because of another error (a file that cannot be read, a bad regex).
    pub fn because(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Invalid {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The message with every source in the chain: what the loader prints.
    pub fn full_text(&self) -> String {
        crate::errors::chain(self)
    }
}

impl From<String> for Invalid {
    fn from(message: String) -> Self {
        Invalid::new(message)
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Self {
        Invalid::new(message)
    }
}

/// Why a step did not pass. [`StepError::is_behaviour`] tells a behaviour that did not hold
/// (the implementation's fault) from a step that could not check (the cluster's, or the
/// suite's).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The behaviour did not hold.
    #[error("{0}")]
    Failed(Mismatch),
    /// A wait ran out of time; the last state seen says why.
    #[error(transparent)]
    Timeout(TimedOut),
    /// A check over time could not observe all of its window.
    #[error(transparent)]
    Unobserved(WatchError),
    /// The API server answered with an error (or not at all).
    #[error("{what}: {}; hint: the API server refused or did not answer", crate::api::error_text(.source))]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    /// Reading what the API server streams (a log) broke off.
    #[error("{what}: {source}")]
    Stream {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// API discovery failed (a kind the API does not serve is a [`StepError::Failed`]).
    #[error(transparent)]
    Resolve(ResolveError),
    /// The step cannot run as written (an unmapped image, a placeholder without a value).
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Kubectl(#[from] crate::kubectl::KubectlError),
    #[error("cancelled")]
    Cancelled,
}

impl StepError {
    /// An API call that failed, with what was being done. When the API server (or the
    /// kubelet behind it) answered — refused the request, or could not do it — the answer
    /// is the implementation's behaviour, and the step failed: expected success, actual
    /// the answer. Only when nothing answered (a connection refused or cut, a gateway or
    /// an unavailable server: 502, 503, 504) could the step not check.
    pub fn api(what: impl Into<String>, source: kube::Error) -> Self {
        let what = what.into();
        let answered = match &source {
            kube::Error::Api(s) if ![502, 503, 504].contains(&s.code) => {
                Some(format!("{} {}: {}", s.code, s.reason, s.message))
            }
            kube::Error::UpgradeConnection(
                kube::client::UpgradeConnectionError::ProtocolSwitch(code),
            ) if ![502, 503, 504].contains(&code.as_u16()) => {
                Some(format!("{code} instead of switching to a stream"))
            }
            _ => None,
        };
        match answered {
            // The answer goes in the first line too: it is the cause, in the API server's words.
            Some(actual) => StepError::Failed(Mismatch::new(
                format!("{what}: the API server refused: {}", first_line(&actual)),
                format!("{what} to succeed"),
                actual,
            )),
            None => StepError::Api { what, source },
        }
    }

    /// Expected and actual, when the failure has them.
    pub fn mismatch(&self) -> Option<&Mismatch> {
        match self {
            StepError::Failed(m) => Some(m),
            StepError::Timeout(t) => t.last.as_ref(),
            _ => None,
        }
    }

    /// Whether this says the behaviour did not hold (a check failed, or never held before
    /// the deadline) rather than that the step could not check.
    pub fn is_behaviour(&self) -> bool {
        matches!(self, StepError::Failed(_) | StepError::Timeout(_))
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// A kind the API server does not serve is its answer, so the step failed; a discovery that
/// could not be made is an error.
impl From<ResolveError> for StepError {
    fn from(e: ResolveError) -> Self {
        match &e {
            ResolveError::Discovery(_) => StepError::Resolve(e),
            ResolveError::UnknownKind(k) => StepError::Failed(Mismatch::new(
                e.to_string(),
                format!("the API server to serve a resource kind `{k}`"),
                "no such kind in its API discovery",
            )),
            ResolveError::NotServed { kind, api_version } => StepError::Failed(Mismatch::new(
                e.to_string(),
                format!("the API server to serve kind `{kind}` in `{api_version}`"),
                "not in its API discovery",
            )),
        }
    }
}

/// An API call inside a step, without more to say about it than the call itself does.
impl From<kube::Error> for StepError {
    fn from(source: kube::Error) -> Self {
        StepError::api("API request", source)
    }
}

impl From<WatchError> for StepError {
    fn from(e: WatchError) -> Self {
        match e {
            WatchError::Timeout(t) => StepError::Timeout(t),
            WatchError::Broken(m) => StepError::Failed(m),
            WatchError::Cancelled => StepError::Cancelled,
            e @ (WatchError::Unobserved { .. } | WatchError::Ended) => StepError::Unobserved(e),
        }
    }
}
