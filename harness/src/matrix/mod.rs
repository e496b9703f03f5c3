//! `podcheck matrix`: the selected cases on several implementations of the Pod API, one
//! column each, and one report of behaviour × implementation.
//!
//! - [`target`]: the targets, one file each under `ci/targets/`;
//! - [`column`]: one target's cluster, its cases and its facts;
//! - [`report`]: the cells, counts and timing figures; [`render`]: terminal, Markdown, HTML;
//! - [`expect`]: what each target says the matrix must show, checked (a matrix that cannot
//!   tell a fake kubelet from a real one is broken).

pub mod column;
pub mod expect;
pub mod render;
pub mod report;
pub mod target;

pub use column::Column;
pub use report::MatrixReport;
pub use target::Target;
