//! Tests of the image assembly. Most use the host's real busybox (Debian's
//! `busybox-static`) and a stand-in for the kuard binary, so they need no cargo build;
//! `build_all_builds_every_image_reproducibly` builds the real thing.

use std::sync::Arc;

use tar::EntryType;

use super::archive::{self, LayerEntry};
use super::busybox::{self, Busybox};
use super::kuard_bin::KuardBinary;
use super::rootfs::{self, ImageSpec};
use super::*;

fn host_busybox() -> Busybox {
    busybox::locate().unwrap_or_else(|e| panic!("these tests need busybox: {e}"))
}

fn fake_kuard(text: &str) -> KuardBinary {
    KuardBinary {
        path: "/nonexistent/kuard".into(),
        data: text.as_bytes().to_vec(),
    }
}

fn specs(kuard_text: &str) -> (ImageSpec, ImageSpec) {
    let k = rootfs::kuard(&fake_kuard(kuard_text), &host_busybox());
    let b = rootfs::kuard_bash(&k);
    (k, b)
}

fn layer_of(image: &FixtureImage) -> Vec<LayerEntry> {
    let inspected = read_archive(&image.archive).expect("a valid archive");
    assert_eq!(inspected.layers.len(), 1);
    archive::list_layer(&inspected.layers[0]).unwrap()
}

fn entry<'a>(layer: &'a [LayerEntry], path: &str) -> Option<&'a LayerEntry> {
    layer.iter().find(|e| e.path == path)
}

#[test]
fn same_inputs_give_the_same_bytes_and_digest() {
    let (k, _) = specs("kuard v1");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = build_image(&k, a.path()).unwrap();
    let two = build_image(&k, b.path()).unwrap();
    assert_eq!(one.digest, two.digest);
    assert_eq!(one.reference, two.reference);
    assert_eq!(
        std::fs::read(&one.archive).unwrap(),
        std::fs::read(&two.archive).unwrap()
    );
    // Rebuilt from freshly made specs (new Arc'd data, same bytes): still the same.
    let three = build_image(&specs("kuard v1").0, tempfile::tempdir().unwrap().path()).unwrap();
    assert_eq!(three.digest, one.digest);
}

#[test]
fn other_inputs_give_another_tag_and_digest() {
    let dir = tempfile::tempdir().unwrap();
    let one = build_image(&specs("kuard v1").0, dir.path()).unwrap();
    let two = build_image(&specs("kuard v2").0, dir.path()).unwrap();
    assert_ne!(one.reference, two.reference);
    assert_ne!(one.digest, two.digest);
    assert_ne!(one.archive, two.archive);
}

#[test]
fn reference_and_file_name_carry_name_and_input_hash() {
    let dir = tempfile::tempdir().unwrap();
    let (k, b) = specs("x");
    for spec in [&k, &b] {
        let img = build_image(spec, dir.path()).unwrap();
        let tag = &input_hash(spec)[..12];
        assert_eq!(img.name, spec.name);
        assert_eq!(img.reference, format!("podcheck.local/{}:{tag}", spec.name));
        assert_eq!(
            img.archive.file_name().unwrap().to_str().unwrap(),
            format!("{}-{tag}.tar", spec.name)
        );
        assert!(
            img.digest.starts_with("sha256:") && img.digest.len() == 71,
            "{}",
            img.digest
        );
    }
}

#[test]
fn archive_has_both_layouts_with_verified_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let img = build_image(&specs("x").0, dir.path()).unwrap();
    let i = read_archive(&img.archive).unwrap();
    assert_eq!(i.manifest_digest, img.digest);
    assert_eq!(i.reference, img.reference);
    assert_eq!(i.ref_name, img.reference.rsplit_once(':').unwrap().1);
    for p in ["oci-layout", "index.json", "manifest.json", "blobs/sha256/"] {
        assert!(
            i.paths.iter().any(|x| x == p),
            "{p} missing from {:?}",
            i.paths
        );
    }
    assert_eq!(i.docker.repo_tags, std::slice::from_ref(&img.reference));
    assert_eq!(i.docker.config, oci::blob_path(&i.manifest.config.digest));
    assert_eq!(i.manifest.layers[0].media_type, oci::MEDIA_LAYER);
    assert_eq!(i.config.config.cmd, ["/kuard"]);
    assert_eq!(i.config.config.user, "65534:65534");
    assert_eq!(
        (i.config.os.as_str(), i.config.architecture.as_str()),
        ("linux", "amd64")
    );
    // Blobs: manifest, config, one layer; nothing else.
    let blobs = i
        .paths
        .iter()
        .filter(|p| p.starts_with("blobs/sha256/") && p.len() > 13)
        .count();
    assert_eq!(blobs, 3);
}

#[test]
fn a_tampered_blob_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let img = build_image(&specs("x").0, dir.path()).unwrap();
    let mut bytes = std::fs::read(&img.archive).unwrap();
    // Flip a byte inside the layer's busybox data (well past the small JSON files).
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    let err = archive::inspect(&bytes).unwrap_err();
    assert!(err.contains("has digest"), "{err}");
}

#[test]
fn kuard_image_has_busybox_applets_and_no_bash() {
    let dir = tempfile::tempdir().unwrap();
    let layer = layer_of(&build_image(&specs("x").0, dir.path()).unwrap());
    assert!(
        entry(&layer, "bin/bash").is_none(),
        "the kuard image must have no bash"
    );
    for applet in [
        "sh", "ash", "cat", "tar", "sleep", "ls", "echo", "test", "hostname", "wget", "kill",
    ] {
        let e = entry(&layer, &format!("bin/{applet}")).unwrap_or_else(|| panic!("no {applet}"));
        assert_eq!(
            (e.kind, e.link.as_deref()),
            (EntryType::Symlink, Some("busybox"))
        );
    }
    let kuard = entry(&layer, "kuard").unwrap();
    assert_eq!((kuard.kind, kuard.mode), (EntryType::Regular, 0o755));
    let tmp = entry(&layer, "tmp").unwrap();
    assert_eq!((tmp.kind, tmp.mode), (EntryType::Directory, 0o1777));
    assert!(entry(&layer, "etc/passwd").is_some() && entry(&layer, "etc/group").is_some());
    // Reproducible metadata throughout.
    assert!(
        layer
            .iter()
            .all(|e| e.uid == 0 && e.gid == 0 && e.mtime == 0),
        "{layer:?}"
    );
    // Sorted, each directory before its contents.
    let paths: Vec<&str> = layer.iter().map(|e| e.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}

#[test]
fn mutant_has_a_bash() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mutant) = specs("x");
    let img = build_image(&mutant, dir.path()).unwrap();
    assert_eq!(img.name, "kuard-bash");
    let layer = layer_of(&img);
    let bash = entry(&layer, "bin/bash").expect("the mutant has bash");
    assert_eq!((bash.kind, bash.mode), (EntryType::Regular, 0o755));
}

/// The book-like image: kuard's files, kuard's command, the extras off in its environment.
#[test]
fn book_like_image_is_kuard_with_the_extras_off() {
    let dir = tempfile::tempdir().unwrap();
    let (kuard, _) = specs("x");
    let book = rootfs::kuard_book(&kuard);
    let img = build_image(&book, dir.path()).unwrap();
    assert_eq!(img.name, "kuard-book");
    assert!(img.reference.starts_with("podcheck.local/kuard-book:"));
    let i = read_archive(&img.archive).unwrap();
    assert_eq!(i.config.config.cmd, ["/kuard"]);
    assert!(
        i.config
            .config
            .env
            .iter()
            .any(|e| e == "KUARD_PODCHECK_EXTRAS=off")
    );
    assert!(i.config.config.env.iter().any(|e| e.starts_with("PATH=")));
    let paths = |s: &rootfs::ImageSpec| {
        s.rootfs
            .iter()
            .map(|(p, _)| p.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(&book), paths(&kuard));
}

#[test]
fn an_existing_archive_is_reused_and_a_corrupt_one_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let spec = specs("x").0;
    let first = build_image(&spec, dir.path()).unwrap();
    let stamp = std::fs::metadata(&first.archive)
        .unwrap()
        .modified()
        .unwrap();
    let again = build_image(&spec, dir.path()).unwrap();
    assert_eq!(again, first);
    assert_eq!(
        std::fs::metadata(&first.archive)
            .unwrap()
            .modified()
            .unwrap(),
        stamp
    );

    std::fs::write(&first.archive, b"not a tar").unwrap();
    let rebuilt = build_image(&spec, dir.path()).unwrap();
    assert_eq!(rebuilt, first);
    assert!(read_archive(&rebuilt.archive).is_ok());
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        [first.archive.file_name().unwrap().to_str().unwrap()]
    );
}

#[test]
fn a_dynamic_busybox_is_refused_with_the_install_hint() {
    // Debian's `ls` is dynamically linked: the situation of the non-static busybox package.
    let err = busybox::load(std::path::Path::new("/bin/ls")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ImageError::NotStatic { .. }), "{msg}");
    assert!(msg.contains("apt-get install busybox-static"), "{msg}");
}

#[test]
fn missing_busybox_error_names_the_package() {
    let err = ImageError::BusyboxNotFound {
        tried: vec!["/bin/busybox".into(), "/usr/bin/busybox".into()],
    };
    let msg = err.to_string();
    assert!(msg.contains("/bin/busybox, /usr/bin/busybox"), "{msg}");
    assert!(msg.contains("apt-get install busybox-static"), "{msg}");
}

#[test]
fn file_data_is_shared_not_copied_per_image() {
    let (k, b) = specs("x");
    let data = |s: &ImageSpec| match s.rootfs.get("bin/busybox") {
        Some(rootfs::Entry::File { data, .. }) => data.clone(),
        other => panic!("{other:?}"),
    };
    assert!(Arc::ptr_eq(&data(&k), &data(&b)));
}

/// The real thing: builds kuard with cargo (a no-op when up to date) and every image.
#[test]
fn build_all_builds_every_image_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let images = build_all(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, IMAGE_NAMES);
    for img in &images {
        let size = std::fs::metadata(&img.archive).unwrap().len();
        assert!(
            size < 10_000_000,
            "{} is {size} bytes",
            img.archive.display()
        );
    }
    let kuard = read_archive(&images[0].archive).unwrap();
    let layer = archive::list_layer(&kuard.layers[0]).unwrap();
    assert!(entry(&layer, "bin/bash").is_none());

    let other = tempfile::tempdir().unwrap();
    let again = build_all(other.path()).unwrap();
    let digests = |v: &[FixtureImage]| v.iter().map(|i| i.digest.clone()).collect::<Vec<_>>();
    assert_eq!(digests(&again), digests(&images));

    let map = ImageMap::offline(&images);
    assert_eq!(map.get("kuard"), Some(images[0].reference.as_str()));
    assert_eq!(map.get("kuard-bash"), Some(images[1].reference.as_str()));
    let book_like = ImageMap::book_like(&images).unwrap();
    assert_eq!(book_like.get("kuard"), Some(images[2].reference.as_str()));
}
