//! `podcheck cluster`.
use super::Outcome;

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Start a kind cluster and keep it.
    Up,
    /// Remove the cluster `up` started.
    Down,
    /// Show the cluster `up` started.
    Status,
}

pub async fn run(_cmd: ClusterCommand) -> Outcome {
    Outcome::BadInput
}
