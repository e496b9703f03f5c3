//! The fixture images, assembled offline as OCI image archives: no Docker, no registry.
//!
//! - [`build_all`] builds `kuard` (podcheck's kuard-compatible workload with busybox, and
//!   no `bash`, like the chapter's image), the `kuard-bash` mutant and `kuard-book` (kuard
//!   with its extras off), and returns one [`FixtureImage`] each: its reference, archive
//!   and manifest digest.
//! - [`ImageMap`] maps the logical names suites use to the references of a run: these
//!   images (offline, the default), the book's, or the book-like one.
//!
//! Reproducible: the same inputs (kuard binary, busybox binary, image layout) give the
//! same bytes and so the same digest. The reference's tag is a hash of those inputs
//! (`podcheck.local/kuard:<12 hex>`, never `:latest`, so pods default to
//! `imagePullPolicy: IfNotPresent` and never try a registry), the archive is
//! `<out>/kuard-<12 hex>.tar`, and when it exists building is a no-op.
//!
//! One concern per file: [`busybox`] and [`kuard_bin`] find the inputs ([`elf`] checks
//! they are static), [`rootfs`] says what the images contain, [`layer`] writes it as a
//! tar layer, [`oci`] has the JSON documents, [`archive`] puts it all in one tar both
//! `docker load` and `ctr images import` read.

pub mod archive;
pub mod busybox;
pub mod elf;
mod error;
pub mod kuard_bin;
pub mod layer;
mod map;
pub mod oci;
pub mod registry;
pub mod rootfs;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use error::ImageError;
pub use map::{BOOK_IMAGES, ImageMap};
use rootfs::{Entry, ImageSpec};

/// The registry part of every fixture image reference. It is never contacted: the
/// images are loaded into the nodes, and the tag is never `latest`.
pub const REGISTRY: &str = "podcheck.local";

/// What podcheck's images offer beyond the book's, for cases to name in `needs:`. A case that
/// needs a feature the run's images lack is not applicable, never failed.
pub const FEATURES: &[(&str, &str)] = &[(
    "kuard-extras",
    "podcheck's kuard extras (/podcheck/…, --podcheck-…, `kuard podcheck …`)",
)];

/// The description of a feature of [`FEATURES`].
pub fn feature(name: &str) -> Option<&'static str> {
    FEATURES.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// The logical names [`build_all`] builds, in its order.
pub const IMAGE_NAMES: &[&str] = &["kuard", "kuard-bash", "kuard-book"];

/// Changes whenever the archive format changes, so old cached archives are not reused.
const FORMAT: &str = "podcheck-image-archive/1";

/// A built image archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureImage {
    /// The logical name: `kuard`, `kuard-bash`, `kuard-book`.
    pub name: String,
    /// `podcheck.local/<name>:<12 hex of the input hash>`.
    pub reference: String,
    pub archive: PathBuf,
    /// `sha256:…` of the image manifest.
    pub digest: String,
}

/// Where `podcheck image build` puts archives unless told otherwise.
pub fn default_out_dir() -> PathBuf {
    crate::paths::work_dir().join("images")
}

/// Build (or find, when already built for the same inputs) every fixture image.
/// Blocking: it may run `cargo` to build kuard. Call it from a blocking context
/// (`tokio::task::spawn_blocking`) inside async code.
pub fn build_all(out_dir: &Path) -> Result<Vec<FixtureImage>, ImageError> {
    let busybox = busybox::locate()?;
    let kuard = kuard_bin::obtain(&crate::paths::repo_root())?;
    let kuard_image = rootfs::kuard(&kuard, &busybox);
    let mutant = rootfs::kuard_bash(&kuard_image);
    let book = rootfs::kuard_book(&kuard_image);
    [kuard_image, mutant, book]
        .iter()
        .map(|spec| build_image(spec, out_dir))
        .collect()
}

/// Build one image into `out_dir`, or reuse the archive already there for these inputs.
pub fn build_image(spec: &ImageSpec, out_dir: &Path) -> Result<FixtureImage, ImageError> {
    let tag = &input_hash(spec)[..12];
    let reference = format!("{REGISTRY}/{}:{tag}", spec.name);
    let archive = out_dir.join(format!("{}-{tag}.tar", spec.name));
    let image = |digest: String| FixtureImage {
        name: spec.name.to_string(),
        reference: reference.clone(),
        archive: archive.clone(),
        digest,
    };

    if archive.is_file() {
        match read_archive(&archive) {
            Ok(found) if found.reference == reference => {
                tracing::debug!(archive = %archive.display(), "image archive up to date");
                return Ok(image(found.manifest_digest));
            }
            Ok(found) => tracing::warn!(
                archive = %archive.display(), found = %found.reference,
                "cached archive names another image; rebuilding"
            ),
            Err(e) => tracing::warn!("{e}; rebuilding"),
        }
    }

    std::fs::create_dir_all(out_dir).map_err(ImageError::io("creating", out_dir))?;
    let built =
        archive::assemble(spec, &reference).map_err(ImageError::io("assembling", &archive))?;
    // Write beside the target and rename: a concurrent reader (another test process) sees
    // either no archive or a whole one.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}-", spec.name))
        .suffix(".tar.tmp")
        .tempfile_in(out_dir)
        .map_err(ImageError::io("creating a temporary file in", out_dir))?;
    std::io::Write::write_all(&mut tmp, &built.bytes)
        .map_err(ImageError::io("writing", tmp.path()))?;
    tmp.persist(&archive)
        .map_err(|e| ImageError::io("renaming into", &archive)(e.error))?;
    tracing::info!(reference = %reference, archive = %archive.display(), "built image archive");
    Ok(image(built.manifest_digest))
}

/// Read and verify an archive (see [`archive::inspect`]).
pub fn read_archive(path: &Path) -> Result<archive::Inspected, ImageError> {
    let bytes = std::fs::read(path).map_err(ImageError::io("reading", path))?;
    archive::inspect(&bytes).map_err(|detail| ImageError::Corrupt {
        path: path.to_path_buf(),
        detail,
    })
}

/// The hash that names an image: everything its archive is made from, in a framing that
/// cannot be ambiguous (every field length-prefixed).
pub fn input_hash(spec: &ImageSpec) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(FORMAT.as_bytes());
    field(spec.name.as_bytes());
    for list in [&spec.run.cmd, &spec.run.env, &spec.run.exposed_ports] {
        field(&(list.len() as u64).to_le_bytes());
        for item in list {
            field(item.as_bytes());
        }
    }
    field(spec.run.user.as_bytes());
    for (path, entry) in spec.rootfs.iter() {
        field(path.as_bytes());
        match entry {
            Entry::Dir { mode } => {
                field(b"dir");
                field(&mode.to_le_bytes());
            }
            Entry::File { mode, data } => {
                field(b"file");
                field(&mode.to_le_bytes());
                field(&Sha256::digest(data.as_slice()));
            }
            Entry::Symlink { target } => {
                field(b"symlink");
                field(target.as_bytes());
            }
        }
    }
    oci::hex(&h.finalize())
}

#[cfg(test)]
mod tests;
