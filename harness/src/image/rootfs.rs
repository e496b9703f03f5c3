//! What the images contain, as a sorted list of entries (the layer is written from it in
//! order), and the images podcheck builds: `kuard` (kuard + busybox, no `bash`, as the
//! chapter's image), the `kuard-bash` mutant (the same plus a `bash`), which exists to
//! show that the EXEC-NO-BASH check can fail, and `kuard-book` (the same as `kuard` with
//! podcheck's extras turned off), which stands in for the book's image.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::busybox::Busybox;
use super::kuard_bin::KuardBinary;

/// One file-system entry. Paths are relative (`bin/sh`); ownership is always root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir { mode: u32 },
    File { mode: u32, data: Arc<Vec<u8>> },
    Symlink { target: String },
}

/// A root file system: path -> entry, in byte order of the path, which puts every
/// directory before its contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rootfs {
    entries: BTreeMap<String, Entry>,
}

impl Rootfs {
    /// Add a directory (and its missing parents, mode 0755).
    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        self.parents(path);
        self.entries.insert(path.to_string(), Entry::Dir { mode });
        self
    }

    pub fn file(&mut self, path: &str, mode: u32, data: impl Into<Arc<Vec<u8>>>) -> &mut Self {
        self.parents(path);
        self.entries.insert(
            path.to_string(),
            Entry::File {
                mode,
                data: data.into(),
            },
        );
        self
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.parents(path);
        self.entries.insert(
            path.to_string(),
            Entry::Symlink {
                target: target.to_string(),
            },
        );
        self
    }

    pub fn remove(&mut self, path: &str) -> &mut Self {
        self.entries.remove(path);
        self
    }

    fn parents(&mut self, path: &str) {
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let parent = &path[..at + i];
            self.entries
                .entry(parent.to_string())
                .or_insert(Entry::Dir { mode: 0o755 });
            at += i + 1;
        }
    }

    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// The image-config fields podcheck sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    pub cmd: Vec<String>,
    pub user: String,
    pub env: Vec<String>,
    pub exposed_ports: Vec<String>,
}

/// One image to build: its logical name, contents and run configuration.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub name: &'static str,
    pub rootfs: Rootfs,
    pub run: RunConfig,
}

const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// As Alpine's, which kuard's image is built on: nobody's home is `/`, so a shell in the
/// container starts at home and prompts `~ $`, as the chapter's notes show.
const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nnobody:x:65534:\n";
/// The mutant's `bash`: busybox has no bash applet, so a script hands over to ash.
const BASH_SHIM: &str =
    "#!/bin/sh\n# podcheck's kuard-bash mutant: a bash that is ash\nexec /bin/ash \"$@\"\n";

/// The kuard image: `/kuard`, busybox with its applets in /bin except `bash`, /tmp 1777,
/// minimal /etc/passwd and /etc/group. Run as kuard's image runs: `CMD ["/kuard"]` (no
/// entrypoint, so a manifest's `command` replaces it exactly as with the book's image)
/// as user 65534:65534.
pub fn kuard(kuard: &KuardBinary, busybox: &Busybox) -> ImageSpec {
    let busybox_data = Arc::new(busybox.data.clone());
    let mut fs = Rootfs::default();
    fs.dir("bin", 0o755)
        .dir("etc", 0o755)
        .dir("root", 0o700)
        .dir("tmp", 0o1777)
        .dir("usr/bin", 0o755)
        .file("kuard", 0o755, kuard.data.clone())
        .file("bin/busybox", 0o755, busybox_data)
        .file("etc/passwd", 0o644, PASSWD.as_bytes().to_vec())
        .file("etc/group", 0o644, GROUP.as_bytes().to_vec());
    for applet in &busybox.applets {
        if applet != "busybox" {
            fs.symlink(&format!("bin/{applet}"), "busybox");
        }
    }
    // The chapter's point: `kubectl exec … bash` fails in this image.
    fs.remove("bin/bash");
    ImageSpec {
        name: "kuard",
        rootfs: fs,
        run: RunConfig {
            cmd: vec!["/kuard".into()],
            user: "65534:65534".into(),
            env: vec![PATH.into()],
            exposed_ports: vec!["8080/tcp".into()],
        },
    }
}

/// What turns the kuard fixture's extras off (`fixtures/kuard/src/cli.rs`, `EXTRAS_ENV`).
pub const EXTRAS_OFF: &str = "KUARD_PODCHECK_EXTRAS=off";

/// The book-like image: the kuard image, same files, with [`EXTRAS_OFF`] in its config's
/// environment (so a manifest's `command:` keeps it): podcheck's kuard answering only as
/// kuard does, for checking that the cases which claim to need nothing more really don't.
pub fn kuard_book(kuard_image: &ImageSpec) -> ImageSpec {
    let mut spec = kuard_image.clone();
    spec.name = "kuard-book";
    spec.run.env.push(EXTRAS_OFF.into());
    spec
}

/// The mutant: the kuard image plus `/bin/bash`.
pub fn kuard_bash(kuard_image: &ImageSpec) -> ImageSpec {
    let mut spec = kuard_image.clone();
    spec.name = "kuard-bash";
    spec.rootfs
        .file("bin/bash", 0o755, BASH_SHIM.as_bytes().to_vec());
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_added_and_sorted_before_children() {
        let mut fs = Rootfs::default();
        fs.file("a/b/c", 0o644, b"x".to_vec()).symlink("a-z", "a");
        let paths: Vec<&str> = fs.iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["a", "a-z", "a/b", "a/b/c"]);
        assert_eq!(fs.get("a/b"), Some(&Entry::Dir { mode: 0o755 }));
    }
}
