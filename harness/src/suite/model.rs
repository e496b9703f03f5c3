//! The suite file format, as deserialized (strict: unknown fields are errors everywhere).
//!
//! ```yaml
//! suite: probes                      # the suite's name (lower-case words joined by `-`)
//! description: Health checks of the Pods chapter
//! cases:
//!   - name: failing-liveness-restarts-the-container
//!     description: ...
//!     covers: [LIVENESS-HTTP, LOGS-PREVIOUS]   # IDs of suites/behaviours.yaml
//!     timeout: 3m                    # the whole case (default 5m)
//!     ignore: "why"                  # skipped unless --ignored
//!     expect_failure:                # a mutant: the case must FAIL, at this step, so
//!       step: 4                      #   (1-based; optional)
//!       message: "restartCount"      #   (text match on the failure message; optional)
//!     steps:
//!       - apply: { file: ../fixtures/manifests/kuard-pod-health.yaml }
//!       - wait: { pod: kuard, condition: Ready }
//! ```

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::duration::Dur;
use super::text::TextSpec;
use crate::steps::Step;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    pub suite: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub cases: Vec<CaseSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub covers: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub timeout: Option<Dur>,
    #[serde(default)]
    pub ignore: Option<String>,
    #[serde(default)]
    pub expect_failure: Option<ExpectFailure>,
    pub steps: Spanned<Vec<Spanned<Step>>>,
}

/// The case is a mutant or a self-test: it passes when it fails like this.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectFailure {
    /// The 1-based step that must fail.
    #[serde(default)]
    pub step: Option<usize>,
    /// What the failure message must say (kind, summary, expected and actual).
    #[serde(default)]
    pub message: Option<TextSpec>,
}
