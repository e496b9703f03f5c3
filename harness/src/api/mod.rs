//! Cluster access that steps and the runner share, independent of any one step kind:
//! - [`watch`]: the one "until a predicate over watched objects holds" mechanism;
//! - [`log`]: the same for the lines of a container's log, streamed;
//! - [`resolve`]: from the kinds suites name to API resources;
//! - [`object`]: reading one object (with retries of transport errors) and placing
//!   manifest documents in a namespace.

pub mod log;
pub mod object;
pub mod resolve;
pub mod watch;

/// A kube error as a person wants to read it: the API server's own message when it sent one.
pub fn error_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({} {})", s.message, s.code, s.reason),
        other => other.to_string(),
    }
}
