//! Following a container's log: what [`super::watch`] is for objects, for the lines a
//! container writes. The log is streamed (`follow=true`), never polled; a predicate is judged
//! on everything streamed so far at every line, until it holds ([`Mode::Until`]) or for as
//! long as it must hold ([`Mode::Hold`]), with the same deadline, timeout and gap rules as a
//! watch: a window the stream did not cover whole (it ended: the container stopped) is
//! unobserved, never a pass.

use std::time::{Duration, Instant};

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use tokio_util::sync::CancellationToken;

use super::watch::{Mode, TimedOut, WatchError};
use crate::matchers::Mismatch;

/// How following a log ended badly.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Timed out, broken in a window, a window not seen whole, cancelled: as a watch.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// The API server refused the stream, or did not answer.
    #[error("opening the log stream")]
    Open(#[source] kube::Error),
    /// The stream broke off.
    #[error("reading the log stream")]
    Read(#[source] std::io::Error),
}

/// A log followed to its end or to the predicate's verdict.
#[derive(Debug)]
pub struct Followed {
    /// Every line streamed, each ending in `\n`.
    pub text: String,
    /// The stream ended (the container stopped) before the predicate held: what was there
    /// is all there is for now.
    pub ended: bool,
    /// From the start of the stream to the verdict.
    pub elapsed: Duration,
}

/// Stream `pod`'s log with `params` (whose `follow` is set here) and judge `pred` on the text
/// streamed so far at every line.
pub async fn follow_log(
    api: &Api<Pod>,
    pod: &str,
    params: &LogParams,
    mode: Mode,
    deadline: Instant,
    cancel: &CancellationToken,
    mut pred: impl FnMut(&str) -> Result<(), Mismatch>,
) -> Result<Followed, FollowError> {
    let started = Instant::now();
    let params = LogParams {
        follow: true,
        ..params.clone()
    };
    let mut text = String::new();
    let mut last: Option<Mismatch> = None;
    let window_end = match mode {
        Mode::Hold(d) => started + d,
        Mode::Until => deadline,
    };
    let stream = async {
        let stream = api
            .log_stream(pod, &params)
            .await
            .map_err(FollowError::Open)?;
        let mut lines = std::pin::pin!(stream.lines());
        while let Some(line) = lines.next().await {
            text.push_str(&line.map_err(FollowError::Read)?);
            text.push('\n');
            match (pred(&text), mode) {
                (Ok(()), Mode::Until) => return Ok(false),
                (Ok(()), Mode::Hold(_)) => {}
                (Err(m), Mode::Until) => last = Some(m),
                (Err(m), Mode::Hold(d)) => {
                    return Err(FollowError::Watch(WatchError::Broken(Mismatch {
                        summary: format!(
                            "{} (after {:.1}s of the {} it had to hold)",
                            m.summary,
                            started.elapsed().as_secs_f64(),
                            crate::fields::Dur(d)
                        ),
                        ..m
                    })));
                }
            }
        }
        Ok(true)
    };
    // `None`: time was up (the deadline, or the end of the window).
    let streamed = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(WatchError::Cancelled.into()),
        r = tokio::time::timeout_at(window_end.into(), stream) => r.ok(),
    };
    let ended = match (streamed, mode) {
        (Some(r), _) => r?,
        (None, Mode::Hold(_)) => false,
        (None, Mode::Until) => {
            // Nothing may have come at all: the mismatch is then the empty log's.
            let last = last.or_else(|| pred(&text).err());
            return Err(WatchError::Timeout(TimedOut {
                after: started.elapsed(),
                last,
                api_error: None,
            })
            .into());
        }
    };
    if ended && let Mode::Hold(window) = mode {
        return Err(WatchError::Unobserved {
            window,
            after: started.elapsed(),
            cause: "of the log ended (the container stopped?)".into(),
        }
        .into());
    }
    Ok(Followed {
        text,
        ended,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    //! Against a scripted API server that streams the given lines and then keeps the stream
    //! open, as a running container's log does.
    use std::convert::Infallible;

    use bytes::Bytes;
    use futures::stream;
    use http::{Request, Response};
    use http_body::Frame;
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    fn client(lines: &'static [&'static str]) -> kube::Client {
        let svc = tower::service_fn(move |_req: Request<kube::client::Body>| async move {
            let s = stream::iter(
                lines
                    .iter()
                    .map(|l| Ok::<_, Infallible>(Frame::data(Bytes::from(format!("{l}\n"))))),
            )
            .chain(stream::pending());
            Ok::<_, Infallible>(Response::new(StreamBody::new(s).boxed_unsync()))
        });
        kube::Client::new(svc, "ns")
    }

    fn has_serving(text: &str) -> Result<(), Mismatch> {
        if text.contains("Serving") {
            Ok(())
        } else {
            Err(Mismatch::new(
                "no line",
                "a line with Serving",
                format!("{text:?}"),
            ))
        }
    }

    async fn follow(lines: &'static [&'static str], mode: Mode) -> Result<Followed, FollowError> {
        let api: Api<Pod> = Api::namespaced(client(lines), "ns");
        let deadline = Instant::now() + Duration::from_millis(300);
        follow_log(
            &api,
            "kuard",
            &LogParams::default(),
            mode,
            deadline,
            &CancellationToken::new(),
            has_serving,
        )
        .await
    }

    #[tokio::test]
    async fn until_ends_at_the_line_that_makes_it_hold() {
        let f = follow(&["Starting", "Serving on HTTP"], Mode::Until)
            .await
            .unwrap();
        assert_eq!(f.text, "Starting\nServing on HTTP\n");
        assert!(!f.ended);
    }

    /// A log that stays empty still says what it was at the deadline: found by a mutant
    /// whose container logs nothing, when a timeout carried no mismatch at all.
    #[tokio::test]
    async fn a_log_that_stays_empty_times_out_saying_so() {
        let e = follow(&[], Mode::Until).await.unwrap_err();
        let FollowError::Watch(WatchError::Timeout(t)) = e else {
            panic!("{e}")
        };
        assert_eq!(t.last.unwrap().actual, "\"\"");
    }

    #[tokio::test]
    async fn hold_fails_at_the_first_line_that_breaks_it() {
        let e = follow(&["Starting"], Mode::Hold(Duration::from_secs(5)))
            .await
            .unwrap_err();
        let FollowError::Watch(WatchError::Broken(m)) = e else {
            panic!("{e}")
        };
        assert!(m.summary.starts_with("no line (after "), "{}", m.summary);
    }
}
