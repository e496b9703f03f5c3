//! Only for `--features standalone`: build the kuard fixture binary (static, as the image
//! code builds it at run time from a checkout) and take the build machine's static busybox,
//! into OUT_DIR, where `src/bundle.rs` includes them. Without the feature this does nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_STANDALONE").is_none() {
        return;
    }
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest_dir.parent().unwrap().to_path_buf();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for dir in [
        "suites",
        "fixtures/manifests",
        "fixtures/files",
        "fixtures/mutants",
        "fixtures/kuard/src",
    ] {
        println!("cargo:rerun-if-changed={}", repo.join(dir).display());
    }
    println!("cargo:rerun-if-env-changed=PODCHECK_BUSYBOX");
    std::fs::copy(build_kuard(&repo), out.join("kuard")).expect("copying kuard");
    std::fs::copy(busybox(), out.join("busybox")).expect("copying busybox");
}

/// The same build as `harness/src/image/kuard_bin.rs` does, in the same target directory,
/// so that a checkout builds kuard once for both.
fn build_kuard(repo: &Path) -> PathBuf {
    let target = repo.join("target").join("fixture-build");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["rustc", "--quiet", "-p", "kuard", "--bin", "kuard"])
        .args(["--profile", "fixture"])
        .arg("--manifest-path")
        .arg(repo.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .args(["--", "-C", "target-feature=+crt-static"])
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("running cargo to build kuard");
    assert!(
        status.success(),
        "building kuard for the standalone binary failed"
    );
    target.join("fixture").join("kuard")
}

/// `PODCHECK_BUSYBOX`, else Debian's busybox-static where it installs it.
fn busybox() -> PathBuf {
    if let Some(p) = std::env::var_os("PODCHECK_BUSYBOX").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("the standalone binary carries a static busybox: `apt-get install busybox-static`")
}
