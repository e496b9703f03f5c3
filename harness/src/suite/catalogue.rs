//! The behaviour catalogue (`suites/behaviours.yaml`): the stable IDs cases name in `covers`.
//!
//! ```yaml
//! behaviours:
//!   - id: LIVENESS-HTTP
//!     text: a failing httpGet liveness probe restarts the container ...
//!     section: Health Checks / Liveness Probe
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
}

/// One behaviour of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Behaviour {
    pub id: String,
    pub text: String,
    pub section: String,
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
