//! Suite files and the catalogue: what a suite file can say ([`model`]), the behaviour
//! catalogue ([`catalogue`]) and the strict [`loader`] that turns files into [`Case`]s or into
//! errors naming `file:line:column` and the field.
//!
//! Suites are data: one YAML file per suite, several cases per file, each case a list of
//! typed steps. The steps' own schemas and behaviour are in [`crate::steps`]; the typed
//! fields they are written with in [`crate::fields`]; how they judge in [`crate::matchers`].

pub mod catalogue;
pub mod loader;
pub mod model;
pub mod mutants;
pub mod needs;
pub mod sabotage;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod portable;

pub use catalogue::{Behaviour, Catalogue};
pub use loader::{Case, LoadError, LoadErrors, Suite, Suites, load};
