//! Everything that can go wrong building the fixture images, each with what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(
        "busybox not found (looked at {}); the images need a statically linked busybox: \
         `apt-get install busybox-static`, or set PODCHECK_BUSYBOX to one",
        list(.tried)
    )]
    BusyboxNotFound { tried: Vec<PathBuf> },

    #[error(
        "{} is dynamically linked (it names the ELF interpreter {interpreter}); the images have \
         no C library, so it would not start in them: {remedy}",
        .path.display()
    )]
    NotStatic {
        path: PathBuf,
        interpreter: String,
        remedy: &'static str,
    },

    #[error("{} is not an ELF executable: {reason}", .path.display())]
    NotElf { path: PathBuf, reason: String },

    #[error("`{} --list` failed: {detail}", .path.display())]
    BusyboxList { path: PathBuf, detail: String },

    #[error(
        "PODCHECK_KUARD_BIN={} does not exist (unset it to build kuard from the repository)",
        .0.display()
    )]
    KuardBinMissing(PathBuf),

    #[error(
        "cannot build kuard: the repository sources are not at {} (this podcheck was built \
         elsewhere); set PODCHECK_KUARD_BIN to a static kuard binary",
        .0.display()
    )]
    KuardSources(PathBuf),

    #[error("building kuard failed: `{command}` {status}; its last output:\n{output}")]
    KuardBuild {
        command: String,
        status: String,
        output: String,
    },

    #[error("{context} {}: {source}", .path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{} is not a valid image archive: {detail}", .path.display())]
    Corrupt { path: PathBuf, detail: String },
}

impl ImageError {
    pub(crate) fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> ImageError {
        let path = path.into();
        move |source| ImageError::Io {
            context,
            path,
            source,
        }
    }
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
