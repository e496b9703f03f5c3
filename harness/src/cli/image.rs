//! `podcheck image` (owned by the image work).
use super::Outcome;

#[derive(Debug, clap::Subcommand)]
pub enum ImageCommand {
    /// Build the fixture images as OCI archives, offline.
    Build,
}

pub async fn run(_cmd: ImageCommand) -> Outcome {
    Outcome::BadInput
}
