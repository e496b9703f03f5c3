//! `podcheck coverage` (owned by the suite engine work).
use super::{Outcome, SuitesArgs};

pub fn run(_args: SuitesArgs) -> Outcome {
    Outcome::BadInput
}
