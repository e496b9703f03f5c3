//! The typed fields suite files are written with: durations ([`duration`]), placeholders
//! ([`template`]), object references ([`objref`]), manifests ([`manifest`]) and one-or-many
//! lists ([`one_or_many`]), and the keys of maps read by hand ([`key`]). Each checks itself
//! when the suite loads.

pub mod duration;
pub mod key;
pub mod manifest;
pub mod objref;
pub mod one_or_many;
pub mod template;
pub mod versioned;

pub use duration::Dur;
