//! One tar that both loaders read, sharing the blobs:
//! - the OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`), which containerd's
//!   `ctr -n k8s.io images import` (and so kind's image loading) prefers when present, with
//!   the image name in the `io.containerd.image.name` annotation;
//! - Docker's `manifest.json` (Config, RepoTags, Layers pointing into `blobs/`), which is
//!   all that `docker load` of Docker engine 20.10 understands.
//!
//! [`inspect`] reads an archive back and verifies every blob against its digest; the cache
//! uses it to trust an existing archive, and the tests to check the layout.

use std::collections::BTreeMap;
use std::io::Read;

use tar::{Builder, EntryType, Header};

use super::layer;
use super::oci::{
    self, Descriptor, DockerManifest, ImageConfig, Index, Layout, Manifest, Platform,
};
use super::rootfs::ImageSpec;

pub const EPOCH: &str = "1970-01-01T00:00:00Z";

/// An assembled archive.
#[derive(Debug, Clone)]
pub struct Assembled {
    pub bytes: Vec<u8>,
    /// `sha256:…` of the image manifest.
    pub manifest_digest: String,
}

/// Build the archive of `spec`, named `reference` (`repo:tag`).
pub fn assemble(spec: &ImageSpec, reference: &str) -> std::io::Result<Assembled> {
    let layer = layer::write(&spec.rootfs)?;
    let layer_digest = oci::digest(&layer);

    let config = ImageConfig {
        created: EPOCH.into(),
        architecture: "amd64".into(),
        os: "linux".into(),
        config: oci::ContainerConfig {
            user: spec.run.user.clone(),
            exposed_ports: spec
                .run
                .exposed_ports
                .iter()
                .map(|p| (p.clone(), oci::Empty {}))
                .collect(),
            env: spec.run.env.clone(),
            cmd: spec.run.cmd.clone(),
            working_dir: "/".into(),
            labels: BTreeMap::from([
                (
                    "org.opencontainers.image.title".to_string(),
                    spec.name.to_string(),
                ),
                (
                    "org.opencontainers.image.description".to_string(),
                    "podcheck's kuard-compatible fixture, built offline".to_string(),
                ),
            ]),
        },
        rootfs: oci::RootFs {
            kind: "layers".into(),
            diff_ids: vec![layer_digest.clone()],
        },
        history: vec![oci::History {
            created: EPOCH.into(),
            created_by: "podcheck image build".into(),
        }],
    };
    let config_bytes = to_json(&config);
    let config_digest = oci::digest(&config_bytes);

    let manifest = Manifest {
        schema_version: 2,
        media_type: oci::MEDIA_MANIFEST.into(),
        config: descriptor(oci::MEDIA_CONFIG, &config_digest, config_bytes.len()),
        layers: vec![descriptor(oci::MEDIA_LAYER, &layer_digest, layer.len())],
    };
    let manifest_bytes = to_json(&manifest);
    let manifest_digest = oci::digest(&manifest_bytes);

    let tag = reference.rsplit_once(':').map_or("", |(_, t)| t);
    let mut manifest_desc = descriptor(oci::MEDIA_MANIFEST, &manifest_digest, manifest_bytes.len());
    manifest_desc.platform = Some(Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
    });
    manifest_desc.annotations = BTreeMap::from([
        (
            oci::ANNOTATION_CONTAINERD_NAME.to_string(),
            reference.to_string(),
        ),
        (oci::ANNOTATION_REF_NAME.to_string(), tag.to_string()),
    ]);
    let index = Index {
        schema_version: 2,
        media_type: oci::MEDIA_INDEX.into(),
        manifests: vec![manifest_desc],
    };
    let docker = vec![DockerManifest {
        config: oci::blob_path(&config_digest),
        repo_tags: vec![reference.to_string()],
        layers: vec![oci::blob_path(&layer_digest)],
    }];
    let layout = Layout {
        image_layout_version: oci::LAYOUT_VERSION.into(),
    };

    // Sorted names, so the archive's bytes are a function of its contents.
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    files.insert("oci-layout".into(), to_json(&layout));
    files.insert("index.json".into(), to_json(&index));
    files.insert("manifest.json".into(), to_json(&docker));
    files.insert(oci::blob_path(&manifest_digest), manifest_bytes);
    files.insert(oci::blob_path(&config_digest), config_bytes);
    files.insert(oci::blob_path(&layer_digest), layer);

    let mut b = Builder::new(Vec::new());
    for dir in ["blobs/", "blobs/sha256/"] {
        let mut h = header(EntryType::Directory, 0o755, 0);
        b.append_data(&mut h, dir, std::io::empty())?;
    }
    for (name, data) in &files {
        let mut h = header(EntryType::Regular, 0o644, data.len() as u64);
        b.append_data(&mut h, name, data.as_slice())?;
    }
    Ok(Assembled {
        bytes: b.into_inner()?,
        manifest_digest,
    })
}

fn header(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn descriptor(media_type: &str, digest: &str, size: usize) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: digest.into(),
        size: size as u64,
        platform: None,
        annotations: BTreeMap::new(),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail (no maps with non-string keys).
    serde_json::to_vec(value).expect("image documents serialize")
}

/// What an archive holds, after verification.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub manifest_digest: String,
    /// From the `io.containerd.image.name` annotation.
    pub reference: String,
    /// The `org.opencontainers.image.ref.name` annotation.
    pub ref_name: String,
    pub docker: DockerManifest,
    pub manifest: Manifest,
    /// The manifest's bytes, as its digest was taken (a registry push sends exactly these).
    pub manifest_bytes: Vec<u8>,
    pub config: ImageConfig,
    pub config_bytes: Vec<u8>,
    /// The layers' bytes, in order.
    pub layers: Vec<Vec<u8>>,
    /// Every path in the archive, in archive order.
    pub paths: Vec<String>,
}

/// Read an archive back and check it: both layouts present and consistent, every blob's
/// bytes matching its digest and size.
pub fn inspect(bytes: &[u8]) -> Result<Inspected, String> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut paths = Vec::new();
    let mut ar = tar::Archive::new(bytes);
    for entry in ar.entries().map_err(|e| format!("reading tar: {e}"))? {
        let mut entry = entry.map_err(|e| format!("reading tar: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("entry path: {e}"))?
            .to_string_lossy()
            .into_owned();
        paths.push(path.clone());
        if entry.header().entry_type() == EntryType::Regular {
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| format!("reading {path}: {e}"))?;
            files.insert(path, data);
        }
    }
    let file = |name: &str| files.get(name).ok_or_else(|| format!("no {name}"));
    let json = |name: &str| -> Result<serde_json::Value, String> {
        serde_json::from_slice(file(name)?).map_err(|e| format!("{name}: {e}"))
    };
    for (name, data) in &files {
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            let actual = oci::digest(data);
            if actual != format!("sha256:{hex}") {
                return Err(format!("blob {name} has digest {actual}"));
            }
        }
    }
    let blob = |d: &Descriptor| -> Result<&Vec<u8>, String> {
        let data = file(&oci::blob_path(&d.digest))?;
        if data.len() as u64 != d.size {
            return Err(format!(
                "blob {} is {} bytes, its descriptor says {}",
                d.digest,
                data.len(),
                d.size
            ));
        }
        Ok(data)
    };
    let layout: Layout =
        serde_json::from_value(json("oci-layout")?).map_err(|e| format!("oci-layout: {e}"))?;
    if layout.image_layout_version != oci::LAYOUT_VERSION {
        return Err(format!(
            "oci-layout version {}",
            layout.image_layout_version
        ));
    }
    let index: Index =
        serde_json::from_value(json("index.json")?).map_err(|e| format!("index.json: {e}"))?;
    let [desc] = index.manifests.as_slice() else {
        return Err(format!(
            "index.json lists {} manifests, want 1",
            index.manifests.len()
        ));
    };
    let annotation = |k: &str| {
        desc.annotations
            .get(k)
            .cloned()
            .ok_or_else(|| format!("index.json: no {k} annotation"))
    };
    let reference = annotation(oci::ANNOTATION_CONTAINERD_NAME)?;
    let ref_name = annotation(oci::ANNOTATION_REF_NAME)?;
    let manifest_bytes = blob(desc)?.clone();
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| format!("manifest: {e}"))?;
    let config_bytes = blob(&manifest.config)?.clone();
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(|e| format!("config: {e}"))?;
    let layers = manifest
        .layers
        .iter()
        .map(|l| blob(l).cloned())
        .collect::<Result<Vec<_>, _>>()?;
    let diff_ids: Vec<String> = layers.iter().map(|l| oci::digest(l)).collect();
    if diff_ids != config.rootfs.diff_ids {
        return Err("config diff_ids do not match the layers".into());
    }
    let docker: Vec<DockerManifest> = serde_json::from_value(json("manifest.json")?)
        .map_err(|e| format!("manifest.json: {e}"))?;
    let [docker] = <[DockerManifest; 1]>::try_from(docker)
        .map_err(|d| format!("manifest.json lists {} images, want 1", d.len()))?;
    if docker.config != oci::blob_path(&manifest.config.digest)
        || docker.layers
            != manifest
                .layers
                .iter()
                .map(|l| oci::blob_path(&l.digest))
                .collect::<Vec<_>>()
    {
        return Err("manifest.json and the OCI manifest name different blobs".into());
    }
    if docker.repo_tags != [reference.clone()] {
        return Err(format!(
            "manifest.json RepoTags {:?}, index names {reference}",
            docker.repo_tags
        ));
    }
    Ok(Inspected {
        manifest_digest: desc.digest.clone(),
        reference,
        ref_name,
        docker,
        manifest,
        manifest_bytes,
        config,
        config_bytes,
        layers,
        paths,
    })
}

/// One entry of a layer, for checks of what an image contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerEntry {
    pub path: String,
    pub kind: EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub link: Option<String>,
}

pub fn list_layer(layer: &[u8]) -> Result<Vec<LayerEntry>, String> {
    let mut out = Vec::new();
    let mut ar = tar::Archive::new(layer);
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let h = entry.header();
        out.push(LayerEntry {
            path: entry
                .path()
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string(),
            kind: h.entry_type(),
            mode: h.mode().map_err(|e| e.to_string())?,
            uid: h.uid().map_err(|e| e.to_string())?,
            gid: h.gid().map_err(|e| e.to_string())?,
            mtime: h.mtime().map_err(|e| e.to_string())?,
            link: entry
                .link_name()
                .map_err(|e| e.to_string())?
                .map(|l| l.to_string_lossy().into_owned()),
        });
    }
    Ok(out)
}
