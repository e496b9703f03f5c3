//! Logical image names (what suites and fixtures write: `${image.kuard}`) mapped to the
//! references a run uses: podcheck's offline images (the default), the book's, or the
//! book-like one (podcheck's kuard with its extras off, standing in for the book's).

use std::collections::{BTreeMap, BTreeSet};

use super::FixtureImage;

/// The book's image for each logical name that has one.
pub const BOOK_IMAGES: &[(&str, &str)] = &[("kuard", "gcr.io/kuar-demo/kuard-amd64:blue")];

/// Logical name -> image reference, and what the images offer beyond the book's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageMap {
    refs: BTreeMap<String, String>,
    /// Names of [`super::FEATURES`] these images have.
    features: BTreeSet<String>,
}

impl ImageMap {
    /// The images podcheck built (see [`super::build_all`]), each under its logical name.
    pub fn offline(images: &[FixtureImage]) -> Self {
        Self::podchecks(images.iter().map(|i| (&i.name, &i.reference)))
    }

    /// podcheck's images as pushed to a registry (`--registry`).
    pub fn pushed(images: &[super::registry::Pushed]) -> Self {
        Self::podchecks(images.iter().map(|i| (&i.name, &i.reference)))
    }

    /// podcheck's own images, wherever they come from: every feature.
    fn podchecks<'a>(named: impl Iterator<Item = (&'a String, &'a String)>) -> Self {
        ImageMap {
            refs: named.map(|(n, r)| (n.clone(), r.clone())).collect(),
            features: super::FEATURES.iter().map(|(n, _)| n.to_string()).collect(),
        }
    }

    /// The book's images, for clusters that can pull from a registry. Names without a
    /// book image (the `kuard-bash` mutant) are absent: a case that needs one cannot run.
    pub fn book() -> Self {
        ImageMap {
            refs: BOOK_IMAGES
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            features: BTreeSet::new(),
        }
    }

    /// Book-like: the book's logical names (only `kuard`), each mapped to podcheck's image
    /// that behaves as the book's does (`kuard-book`: the extras off), and no features. What
    /// passes with these images uses nothing the book's image lacks; `None` when `images`
    /// has no book-like image.
    pub fn book_like(images: &[FixtureImage]) -> Option<Self> {
        let book = images.iter().find(|i| i.name == "kuard-book")?;
        Some(ImageMap {
            refs: BOOK_IMAGES
                .iter()
                .map(|(k, _)| (k.to_string(), book.reference.clone()))
                .collect(),
            features: BTreeSet::new(),
        })
    }

    /// Whether these images have a feature of [`super::FEATURES`].
    pub fn has(&self, feature: &str) -> bool {
        self.features.contains(feature)
    }

    pub fn features(&self) -> &BTreeSet<String> {
        &self.features
    }

    pub fn get(&self, logical: &str) -> Option<&str> {
        self.refs.get(logical).map(String::as_str)
    }

    /// In logical-name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.refs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.refs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_has_kuard_blue_and_no_mutant() {
        let m = ImageMap::book();
        assert_eq!(m.get("kuard"), Some("gcr.io/kuar-demo/kuard-amd64:blue"));
        assert_eq!(m.get("kuard-bash"), None);
        assert!(!m.has("kuard-extras"));
    }

    #[test]
    fn offline_maps_each_built_image() {
        let img = |name: &str| FixtureImage {
            name: name.into(),
            reference: format!("podcheck.local/{name}:0123456789ab"),
            archive: format!("/x/{name}.tar").into(),
            digest: "sha256:00".into(),
        };
        let m = ImageMap::offline(&[img("kuard"), img("kuard-bash")]);
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [
                ("kuard", "podcheck.local/kuard:0123456789ab"),
                ("kuard-bash", "podcheck.local/kuard-bash:0123456789ab")
            ]
        );
        assert_eq!(m.len(), 2);
        assert!(m.has("kuard-extras"));
    }

    #[test]
    fn book_like_maps_kuard_to_the_book_like_image_without_features() {
        let img = |name: &str| FixtureImage {
            name: name.into(),
            reference: format!("podcheck.local/{name}:0123456789ab"),
            archive: format!("/x/{name}.tar").into(),
            digest: "sha256:00".into(),
        };
        let m = ImageMap::book_like(&[img("kuard"), img("kuard-bash"), img("kuard-book")]).unwrap();
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [("kuard", "podcheck.local/kuard-book:0123456789ab")]
        );
        assert!(!m.has("kuard-extras") && m.features().is_empty());
        assert_eq!(ImageMap::book_like(&[img("kuard")]), None);
    }

    /// Every `${image.<name>}` in the chapter's manifests names an image podcheck builds,
    /// and the book has an image for it (so the manifests run with either map).
    #[test]
    fn fixture_manifests_name_known_images() {
        let dir = crate::paths::repo_root().join("fixtures/manifests");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("${image.").skip(1) {
                let name = part.split('}').next().unwrap();
                assert!(
                    crate::image::IMAGE_NAMES.contains(&name),
                    "{}: unknown image {name:?}",
                    path.display()
                );
                assert!(
                    ImageMap::book().get(name).is_some(),
                    "{name} has no book image"
                );
                seen += 1;
            }
        }
        assert!(
            seen >= 4,
            "expected the chapter's manifests in {}",
            dir.display()
        );
    }
}
