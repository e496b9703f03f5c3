//! How podcheck's errors are told: one rule for all of them.
//!
//! Every error is a type (`thiserror`) whose message says what failed in its own words and
//! keeps what caused it as its `#[source]`; a message may end with one `; hint: …` (what to do
//! about it). Nothing prints a message with its causes but [`chain`]: each message once, the
//! causes after it, `: `-joined, and the hints gathered at the end. Errors become strings only
//! at the edge: the terminal, the JSON and JUnit reports.

use std::error::Error;

/// How a message gives its hint.
const HINT: &str = "; hint: ";

/// An error and its causes as one text: `what failed: why: the root cause`, then each hint on
/// a line of its own (`\n  hint: …`), the outermost first. A cause whose text the message
/// above it already holds (libraries that print their source too) is not said twice. kube's
/// errors are told as [`crate::api::error_text`] tells them (the API server's own message).
pub fn chain(e: &(dyn Error + 'static)) -> String {
    let mut text = String::new();
    let mut hints = Vec::new();
    let mut next = Some(e);
    while let Some(e) = next {
        let own = match e.downcast_ref::<kube::Error>() {
            Some(k) => crate::api::error_text(k),
            None => e.to_string(),
        };
        // The API server's answer is told whole by `error_text`: nothing below it to add.
        let told_whole = matches!(e.downcast_ref::<kube::Error>(), Some(kube::Error::Api(_)));
        let (message, hint) = match own.split_once(HINT) {
            Some((m, h)) => (m.to_string(), Some(h.to_string())),
            None => (own, None),
        };
        if text.is_empty() {
            text = message;
        } else if !message.is_empty() && !text.contains(&message) {
            text = format!("{text}: {message}");
        }
        hints.extend(hint);
        next = if told_whole { None } else { e.source() };
    }
    for h in hints {
        text.push_str("\n  hint: ");
        text.push_str(&h);
    }
    text
}

/// The first line of an error's [`chain`]: what a summary or a JUnit message shows.
pub fn headline(e: &(dyn Error + 'static)) -> String {
    chain(e).lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("starting the cluster; hint: is Docker running?")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("creating the node container")]
    struct Middle(#[source] std::io::Error);

    /// A library error that prints its source in its own message, as reqwest's and others do.
    #[derive(Debug, thiserror::Error)]
    #[error("request failed: {0}")]
    struct Chatty(#[source] std::io::Error);

    #[test]
    fn each_cause_once_and_the_hints_last() {
        let e = Outer(Middle(std::io::Error::other("connection refused")));
        assert_eq!(
            chain(&e),
            "starting the cluster: creating the node container: connection refused\n  hint: is Docker running?"
        );
        assert_eq!(
            headline(&e),
            "starting the cluster: creating the node container: connection refused"
        );
        let e = Chatty(std::io::Error::other("connection reset"));
        assert_eq!(chain(&e), "request failed: connection reset");
    }

    /// The API server's own words, not kube's wrapping of them.
    #[test]
    fn a_kube_error_is_told_in_the_api_servers_words() {
        let status =
            kube::core::Status::failure("Debug endpoints are disabled", "MethodNotAllowed")
                .with_code(405);
        let e = kube::Error::Api(Box::new(status));
        assert_eq!(
            chain(&e),
            "Debug endpoints are disabled (405 MethodNotAllowed)"
        );
    }
}
