//! Cluster access that steps and the runner share, independent of any one step kind:
//! - [`watch`]: the one "until a predicate over watched objects holds" mechanism;
//! - [`log`]: the same for the lines of a container's log, streamed;
//! - [`resolve`]: from the kinds suites name to API resources;
//! - [`object`]: reading one object (with retries of transport errors) and placing
//!   manifest documents in a namespace;
//! - [`backoff`]: how everything that is sent again waits between tries.

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

/// Exponential back-off from `min` to `max` between tries, for as long as `total` allows,
/// however many tries that is: what is retried is bounded by a deadline, not a count.
pub fn backoff(
    min: std::time::Duration,
    max: std::time::Duration,
    total: std::time::Duration,
) -> backon::ExponentialBuilder {
    backon::ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_total_delay(Some(total))
        .without_max_times()
}

/// Whether an EndpointSlice endpoint is ready: an unset `ready` means ready (the API's rule).
pub fn endpoint_ready(e: &k8s_openapi::api::discovery::v1::Endpoint) -> bool {
    e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true)
}
