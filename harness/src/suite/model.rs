//! The suite file format, as deserialized (strict: unknown fields are errors everywhere).
//!
//! ```yaml
//! suite: probes                      # the suite's name (lower-case words joined by `-`)
//! description: Health checks of the Pods chapter
//! cases:
//!   - name: failing-liveness-restarts-the-container
//!     description: ...
//!     covers: [LIVENESS-HTTP, LOGS-PREVIOUS]   # IDs of suites/behaviours.yaml
//!     covers_in_part: [LOGS-PREVIOUS]  # of those, the ones it checks only in part: on its own
//!                                    #   it does not make them conform ("checked in part")
//!     timeout: 3m                    # the whole case (default 5m)
//!     nodes: 2                       # needs this many schedulable nodes; on fewer the
//!                                    #   case is "not applicable", never failed (default 1)
//!     needs: [kuard-extras]          # what the case needs beyond pods on nodes (suite::needs):
//!                                    #   of the workload images beyond the book's (with images
//!                                    #   that lack it the case is "not applicable", never
//!                                    #   failed), or `cluster-dns`, waited for before it starts
//!     ignore: "why"                  # skipped unless --ignored
//!     expect_failure:                # a self-test: the case must FAIL (a check, not an
//!       step: 4                      #   error), at this step (1-based),
//!       message: "actual:   exit code 0"   # with this in its summary/expected/actual
//!     steps:
//!       - apply: { file: ../fixtures/manifests/kuard-pod-health.yaml }
//!       - wait: { pod: kuard, condition: Ready }
//! ```

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::fields::Dur;
use crate::matchers::text::TextSpec;
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
    pub covers_in_part: Vec<Spanned<String>>,
    #[serde(default)]
    pub timeout: Option<Dur>,
    #[serde(default)]
    pub nodes: Option<Spanned<u32>>,
    #[serde(default)]
    pub needs: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub ignore: Option<String>,
    #[serde(default)]
    pub expect_failure: Option<ExpectFailure>,
    pub steps: Spanned<Vec<Spanned<Step>>>,
}

/// The case is a mutant or a self-test: it passes when it fails like this. Both fields are
/// required: a self-test that does not say where and how it fails accepts any failure.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectFailure {
    /// The 1-based step whose check must fail.
    pub step: usize,
    /// What the failure's summary, expected and actual values must say.
    pub message: TextSpec,
}
