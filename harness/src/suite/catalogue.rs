//! The behaviour catalogue (`suites/behaviours.yaml`): the stable IDs cases name in `covers`.
//!
//! ```yaml
//! behaviours:
//!   - id: LIVENESS-HTTP
//!     text: a failing httpGet liveness probe restarts the container ...
//!     section: Health Checks / Liveness Probe
//!     notes: [332-339, 343-373]          # lines of ../shared/chapter/pods-chapter-notes.ko.md
//!     weak: "why the cases cannot check it fully here"      # optional
//!     no_mutant: "why no mutant can break it"               # optional
//! ```

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueFile {
    pub behaviours: Vec<BehaviourEntry>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourEntry {
    pub id: Spanned<String>,
    pub text: String,
    /// The chapter section it comes from.
    pub section: String,
    /// The lines of the chapter notes it comes from: `13-24` or `52`.
    #[serde(default)]
    pub notes: Vec<Spanned<String>>,
    /// The cases covering it cannot check it fully (and why): coverage says so.
    #[serde(default)]
    pub weak: Option<String>,
    /// Why no mutant can break it (else every behaviour has at least one).
    #[serde(default)]
    pub no_mutant: Option<String>,
}

/// One behaviour of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Behaviour {
    pub id: String,
    pub text: String,
    pub section: String,
    /// Line ranges of the chapter notes, inclusive.
    pub notes: Vec<(u32, u32)>,
    pub weak: Option<String>,
    pub no_mutant: Option<String>,
}

impl Behaviour {
    /// A behaviour with an ID and nothing else said about it.
    pub fn named(id: &str) -> Self {
        Behaviour {
            id: id.to_string(),
            text: String::new(),
            section: String::new(),
            notes: Vec::new(),
            weak: None,
            no_mutant: None,
        }
    }
}

/// `13-24` or `52` as an inclusive line range.
pub fn parse_lines(s: &str) -> Option<(u32, u32)> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
        None => {
            let n = s.trim().parse().ok()?;
            (n, n)
        }
    };
    (a >= 1 && a <= b).then_some((a, b))
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Catalogue {
    pub behaviours: Vec<Behaviour>,
}

impl Catalogue {
    pub fn get(&self, id: &str) -> Option<&Behaviour> {
        self.behaviours.iter().find(|b| b.id == id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.behaviours.iter().map(|b| b.id.as_str())
    }
}

/// IDs are upper-case words joined by `-`: `POD-SHARED-NET`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}
