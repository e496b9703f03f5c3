//! `podcheck run` (owned by the suite engine work).
use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct RunArgs {}

pub async fn run(_args: RunArgs) -> Outcome {
    Outcome::BadInput
}
