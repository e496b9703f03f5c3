//! What a standalone binary (`--features standalone`) carries instead of a source tree: the
//! default suites and the files they use (manifests, files to copy), the mutants (for `coverage`), and the binaries the
//! fixture images are made of. They are written out once, under the user's cache, to a
//! directory named after their content; [`root`] is then where podcheck finds its files, as
//! it would find them in a checkout.

#[cfg(feature = "standalone")]
mod embedded {
    use include_dir::{Dir, include_dir};

    pub static SUITES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../suites");
    pub static MANIFESTS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../fixtures/manifests");
    pub static FILES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../fixtures/files");
    pub static MUTANTS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../fixtures/mutants");
    pub static KUARD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kuard"));
    pub static BUSYBOX: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/busybox"));
}

use std::path::PathBuf;

/// Whether this binary carries its own files.
pub const STANDALONE: bool = cfg!(feature = "standalone");

/// The user's cache for podcheck: `$XDG_CACHE_HOME/podcheck`, `~/.cache/podcheck`, else
/// under the temporary directory.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("podcheck");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => PathBuf::from(h).join(".cache").join("podcheck"),
        None => std::env::temp_dir().join("podcheck"),
    }
}

#[cfg(feature = "standalone")]
pub use standalone::{busybox, kuard, root};

#[cfg(not(feature = "standalone"))]
pub fn kuard() -> Option<&'static [u8]> {
    None
}

#[cfg(not(feature = "standalone"))]
pub fn busybox() -> Option<PathBuf> {
    None
}

#[cfg(feature = "standalone")]
mod standalone {
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    use sha2::{Digest, Sha256};

    use super::embedded;

    /// The carried files, written out (once per content) under the cache.
    pub fn root() -> PathBuf {
        static ROOT: OnceLock<PathBuf> = OnceLock::new();
        ROOT.get_or_init(|| match write_out() {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: writing podcheck's built-in suites under {}: {e}; hint: set XDG_CACHE_HOME to a writable directory", super::cache_dir().display());
                std::process::exit(3);
            }
        })
        .clone()
    }

    pub fn kuard() -> Option<&'static [u8]> {
        Some(embedded::KUARD)
    }

    /// The busybox must be run (to list its applets), so it is a file.
    pub fn busybox() -> Option<PathBuf> {
        Some(root().join("bin").join("busybox"))
    }

    fn trees() -> [(&'static str, &'static include_dir::Dir<'static>); 4] {
        [
            ("suites", &embedded::SUITES),
            ("fixtures/manifests", &embedded::MANIFESTS),
            ("fixtures/files", &embedded::FILES),
            ("fixtures/mutants", &embedded::MUTANTS),
        ]
    }

    fn content_hash() -> String {
        let mut h = Sha256::new();
        fn add(h: &mut Sha256, d: &include_dir::Dir<'_>) {
            for f in d.files() {
                h.update(f.path().to_string_lossy().as_bytes());
                h.update(f.contents());
            }
            for sub in d.dirs() {
                add(h, sub);
            }
        }
        for (name, dir) in trees() {
            h.update(name.as_bytes());
            add(&mut h, dir);
        }
        h.update(embedded::BUSYBOX);
        format!("{:x}", h.finalize())[..12].to_string()
    }

    fn write_out() -> std::io::Result<PathBuf> {
        let base = super::cache_dir();
        let dir = base.join(format!("bundle-{}", content_hash()));
        if dir.join(".complete").is_file() {
            return Ok(dir);
        }
        std::fs::create_dir_all(&base)?;
        // Beside the target, then renamed: a concurrent podcheck sees all of it or none.
        let tmp = tempfile::Builder::new()
            .prefix(".bundle-")
            .tempdir_in(&base)?;
        for (name, tree) in trees() {
            let to = tmp.path().join(name);
            std::fs::create_dir_all(&to)?;
            tree.extract(&to)?;
        }
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&bin)?;
        write_executable(&bin.join("busybox"), embedded::BUSYBOX)?;
        std::fs::write(tmp.path().join(".complete"), b"")?;
        let tmp = tmp.keep();
        match std::fs::rename(&tmp, &dir) {
            Ok(()) => Ok(dir),
            // Another podcheck got there first: its copy is the same content.
            Err(_) if dir.join(".complete").is_file() => {
                let _ = std::fs::remove_dir_all(&tmp);
                Ok(dir)
            }
            Err(e) => Err(e),
        }
    }

    fn write_executable(path: &Path, data: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, data)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
    }
}
