//! podcheck: an end-to-end conformance harness for the Kubernetes Pod.
//!
//! The crate is split along the seams of a run:
//! - [`cluster`]: where the cases run (a kind node started through testcontainers, or a
//!   cluster given by kubeconfig);
//! - [`image`]: the fixture images, assembled offline as OCI archives;
//! - [`suite`]: the data model of suites and the strict loader;
//! - [`steps`]: the step kinds, one file each;
//! - [`runner`]: namespaces, parallelism, timeouts, cleanup and diagnostics;
//! - [`report`]: JUnit, JSON and the terminal summary;
//! - [`cli`]: the `podcheck` command line.

pub mod cli;
pub mod cluster;
pub mod image;
pub mod kubectl;
pub mod logging;
pub mod paths;
pub mod report;
pub mod runner;
pub mod steps;
pub mod suite;
