//! The one shape every failed check takes: what was checked, what was expected, what was seen.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// One line: what did not hold.
    pub summary: String,
    pub expected: String,
    pub actual: String,
}

impl Mismatch {
    pub fn new(
        summary: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Mismatch {
            summary: summary.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n  expected: {}\n  actual:   {}",
            self.summary, self.expected, self.actual
        )
    }
}

impl std::error::Error for Mismatch {}
