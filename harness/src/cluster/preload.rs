//! Image archives that a cluster podcheck starts imports while its control plane starts,
//! instead of after: the archives may still be building when the nodes boot, so they are
//! handed over through a channel when ready. A sender dropped before it sent means none (the
//! build failed and its caller reports why); the cluster then starts without them.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

/// The cluster's end: what [`super::ClusterOptions::preload`] holds.
#[derive(Clone, Debug)]
pub struct Preload(watch::Receiver<Option<Arc<[PathBuf]>>>);

/// The builder's end.
#[derive(Debug)]
pub struct PreloadSender(watch::Sender<Option<Arc<[PathBuf]>>>);

impl Preload {
    pub fn channel() -> (PreloadSender, Preload) {
        let (tx, rx) = watch::channel(None);
        (PreloadSender(tx), Preload(rx))
    }

    /// The archives once sent; `None` when the sender went away without sending.
    pub async fn archives(mut self) -> Option<Arc<[PathBuf]>> {
        self.0
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|v| v.clone())
    }
}

impl PreloadSender {
    pub fn send(self, archives: Vec<PathBuf>) {
        // No receiver left (the cluster is not podcheck's to start): nothing to do.
        let _ = self.0.send(Some(archives.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn archives_arrive_when_sent_and_a_dropped_sender_means_none() {
        let (tx, rx) = Preload::channel();
        let waiting = tokio::spawn(rx.clone().archives());
        tx.send(vec![PathBuf::from("/a.tar")]);
        assert_eq!(
            waiting.await.unwrap().as_deref(),
            Some(&[PathBuf::from("/a.tar")][..])
        );
        let (tx, rx) = Preload::channel();
        drop(tx);
        assert_eq!(rx.archives().await, None);
    }
}
