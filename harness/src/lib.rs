//! podcheck: an end-to-end conformance harness for the Kubernetes Pod.
//!
//! The crate is split along the seams of a run:
//! - [`cluster`]: where the cases run (a kind node started through testcontainers, or a
//!   cluster given by kubeconfig);
//! - [`image`]: the fixture images, assembled offline as OCI archives;
//! - [`suite`]: suite files, the catalogue and the strict loader;
//! - [`fields`]: the typed fields suites are written with (durations, placeholders, ...);
//! - [`matchers`]: how observed state is judged (text, partial objects, CEL);
//! - [`steps`]: the step kinds, one file each;
//! - [`api`]: watching, reading and resolving objects, shared by steps and runner;
//! - [`runner`]: namespaces, parallelism, timeouts, cleanup and diagnostics;
//! - [`report`]: JUnit, JSON and the terminal summary;
//! - [`cli`]: the `podcheck` command line.

pub mod api;
pub mod bundle;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod errors;
pub mod fields;
pub mod image;
pub mod kinds;
pub mod kubectl;
pub mod logging;
pub mod matchers;
pub mod matrix;
pub mod paths;
pub mod report;
pub mod runner;
pub mod steps;
pub mod suite;
