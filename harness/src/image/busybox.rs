//! The busybox the images carry: Debian's `busybox-static`, found by `PODCHECK_BUSYBOX`,
//! then `/bin/busybox`, then `/usr/bin/busybox`, and refused unless statically linked.
//! Its applet list comes from the binary itself (`busybox --list`), so every applet it
//! has is linked into `/bin`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ImageError;
use super::elf::ensure_static;

const CANDIDATES: &[&str] = &["/bin/busybox", "/usr/bin/busybox"];
const REMEDY: &str = "`apt-get install busybox-static` (Debian's `busybox` package is dynamic), \
                      or set PODCHECK_BUSYBOX to a static busybox";

#[derive(Debug, Clone)]
pub struct Busybox {
    pub path: PathBuf,
    pub data: Vec<u8>,
    /// Applet names, sorted, as `busybox --list` gives them.
    pub applets: Vec<String>,
}

/// Find, check and list the busybox to use.
pub fn locate() -> Result<Busybox, ImageError> {
    let from_env = crate::config::BUSYBOX.path();
    let tried: Vec<PathBuf> = match from_env {
        // An explicit choice is the only candidate: silently using another would hide a typo.
        Some(p) => vec![p],
        // A standalone podcheck carries the busybox it was built with.
        None => match crate::bundle::busybox() {
            Some(p) => vec![p],
            None => CANDIDATES.iter().map(PathBuf::from).collect(),
        },
    };
    let path =
        tried
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .ok_or_else(|| ImageError::BusyboxNotFound {
                tried: tried.clone(),
            })?;
    load(&path)
}

/// Check and list the busybox at `path`.
pub fn load(path: &Path) -> Result<Busybox, ImageError> {
    let data = std::fs::read(path).map_err(ImageError::io("reading busybox", path))?;
    ensure_static(path, &data, REMEDY)?;
    let applets = list_applets(path)?;
    Ok(Busybox {
        path: path.to_path_buf(),
        data,
        applets,
    })
}

fn list_applets(path: &Path) -> Result<Vec<String>, ImageError> {
    let err = |detail: String| ImageError::BusyboxList {
        path: path.to_path_buf(),
        detail,
    };
    let out = Command::new(path)
        .arg("--list")
        .output()
        .map_err(|e| err(e.to_string()))?;
    if !out.status.success() {
        return Err(err(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8(out.stdout).map_err(|e| err(e.to_string()))?;
    let mut applets: Vec<String> = text
        .lines()
        .map(str::trim)
        // An applet name becomes a file name in /bin: refuse anything path-like.
        .filter(|a| !a.is_empty() && !a.contains('/') && *a != "." && *a != "..")
        .map(String::from)
        .collect();
    applets.sort();
    applets.dedup();
    for must in ["sh", "ash", "tar", "cat"] {
        if !applets.iter().any(|a| a == must) {
            return Err(err(format!(
                "it has no `{must}` applet, which the suites need"
            )));
        }
    }
    Ok(applets)
}
