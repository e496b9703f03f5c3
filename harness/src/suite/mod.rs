//! The suite model and its strict loader.
//!
//! Suites are data: one YAML file per suite, several cases per file, each case a list of
//! typed steps (see [`crate::steps`]). This module holds what a suite file can say and how
//! it is checked when loaded: the schema ([`model`]), typed fields ([`duration`],
//! [`template`] placeholders, [`objref`], [`manifest`]), the matchers steps share ([`text`],
//! [`partial`], [`cel`], [`check`]) and the [`loader`] that turns files into [`Case`]s or
//! into errors naming `file:line:column` and the field.

pub mod catalogue;
pub mod cel;
pub mod check;
pub mod duration;
pub mod loader;
pub mod manifest;
mod mismatch;
pub mod model;
pub mod objref;
pub mod one_or_many;
pub mod partial;
pub mod template;
pub mod text;

pub use catalogue::{Behaviour, Catalogue};
pub use duration::Dur;
pub use loader::{Case, LoadError, LoadErrors, Suite, Suites, load};
pub use mismatch::Mismatch;
