//! The kuard binary the images carry: `PODCHECK_KUARD_BIN` when set, else the one a
//! standalone podcheck carries, else built from the repository with the workspace's
//! `fixture` profile as a static executable.
//!
//! The build always runs `cargo rustc`: cargo itself knows whether the binary is stale, and
//! costs about a second when it is not. It uses its own target directory so that an outer
//! `cargo test`, which holds the lock on the main target directory while tests run, cannot
//! deadlock with it; and `crt-static` is passed to the final link only, so the flag never
//! touches any other artefact.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ImageError;
use super::elf::ensure_static;

const REMEDY: &str = "build it with `cargo rustc -p kuard --bin kuard --profile fixture -- -C \
                      target-feature=+crt-static`, or unset PODCHECK_KUARD_BIN";

/// The kuard executable's bytes, checked to be static.
#[derive(Debug, Clone)]
pub struct KuardBinary {
    pub path: PathBuf,
    pub data: Vec<u8>,
}

pub fn obtain(repo: &Path) -> Result<KuardBinary, ImageError> {
    let from_env = crate::config::KUARD_BIN.path();
    // A standalone binary carries the kuard it was built with: no cargo, no sources.
    if from_env.is_none()
        && let Some(data) = crate::bundle::kuard()
    {
        return Ok(KuardBinary {
            path: PathBuf::from("(built into podcheck)"),
            data: data.to_vec(),
        });
    }
    let path = match from_env {
        Some(p) => {
            if !p.is_file() {
                return Err(ImageError::KuardBinMissing(p));
            }
            p
        }
        None => build(repo)?,
    };
    let data = std::fs::read(&path).map_err(ImageError::io("reading kuard", &path))?;
    ensure_static(&path, &data, REMEDY)?;
    Ok(KuardBinary { path, data })
}

/// Where [`build`] puts its artefacts.
pub fn target_dir(repo: &Path) -> PathBuf {
    repo.join("target").join("fixture-build")
}

fn build(repo: &Path) -> Result<PathBuf, ImageError> {
    let manifest = repo.join("Cargo.toml");
    if !repo.join("fixtures/kuard/Cargo.toml").is_file() || !manifest.is_file() {
        return Err(ImageError::KuardSources(repo.to_path_buf()));
    }
    let target = target_dir(repo);
    // Under cargo, CARGO names the cargo that is running: use the same toolchain.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args([
        "rustc",
        "--quiet",
        "-p",
        "kuard",
        "--bin",
        "kuard",
        "--profile",
        "fixture",
    ])
    .arg("--manifest-path")
    .arg(&manifest)
    .arg("--target-dir")
    .arg(&target)
    .args(["--", "-C", "target-feature=+crt-static"])
    .current_dir(repo)
    // Settings meant for the outer build must not redirect or retarget this one.
    .env_remove("CARGO_TARGET_DIR")
    .env_remove("CARGO_BUILD_TARGET")
    .env_remove("CARGO_BUILD_TARGET_DIR");
    let shown = format!(
        "{} rustc -p kuard --bin kuard --profile fixture --target-dir {} -- -C target-feature=+crt-static",
        Path::new(&cargo).display(),
        target.display()
    );
    tracing::info!(command = %shown, "building kuard (a no-op when it is up to date)");
    let out = cmd.output().map_err(|e| ImageError::KuardBuild {
        command: shown.clone(),
        status: "could not start".into(),
        output: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(ImageError::KuardBuild {
            command: shown,
            status: out.status.to_string(),
            output: tail(&String::from_utf8_lossy(&out.stderr), 30),
        });
    }
    Ok(target.join("fixture").join("kuard"))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
