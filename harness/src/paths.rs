//! Where podcheck's own files and its output go. From a checkout: the repository this binary
//! was built from. A standalone binary (`--features standalone`) carries its files
//! ([`crate::bundle`]) and writes reports under the current directory.

use std::path::PathBuf;

/// Where podcheck's files are (`suites/`, `fixtures/`): the workspace this binary was built
/// from, or for a standalone binary the copy of its built-in files.
pub fn repo_root() -> PathBuf {
    #[cfg(feature = "standalone")]
    return crate::bundle::root();
    #[cfg(not(feature = "standalone"))]
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Default suite directory.
pub fn suites_dir() -> PathBuf {
    repo_root().join("suites")
}

/// Default report directory: `reports/` of the checkout, or of the current directory for a
/// standalone binary.
pub fn reports_dir() -> PathBuf {
    if crate::bundle::STANDALONE {
        return PathBuf::from("reports");
    }
    repo_root().join("reports")
}

/// Scratch space for cached artefacts (images, copied kubectl, kubeconfigs).
pub fn work_dir() -> PathBuf {
    if crate::bundle::STANDALONE {
        return crate::bundle::cache_dir().join("work");
    }
    repo_root().join("target").join("podcheck")
}
