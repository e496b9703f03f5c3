//! Locations inside the podcheck repository that defaults point at.

use std::path::PathBuf;

/// The repository root: the workspace this binary was built from.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Default suite directory.
pub fn suites_dir() -> PathBuf {
    repo_root().join("suites")
}

/// Default report directory.
pub fn reports_dir() -> PathBuf {
    repo_root().join("reports")
}

/// Scratch space for cached artefacts (images, copied kubectl, kubeconfigs).
pub fn work_dir() -> PathBuf {
    repo_root().join("target").join("podcheck")
}
