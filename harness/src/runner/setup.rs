//! Getting a run's cluster: the cluster (started or given), the images the suites name,
//! kubectl. The first step of the run pipeline ([`super::pipeline`]), which goes on with the
//! prepare steps, the placement and the node count. Done once per run (once per process under
//! the test harness), lazily: listing cases and loading suites never get here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::api::resolve::Resolver;
use crate::cluster::{self, Cluster, ClusterOptions};
use crate::image::{self, ImageMap};
use crate::kubectl::Kubectl;

use super::Environment;

/// Which images `${image.<name>}` means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImagesMode {
    /// podcheck's own images, built offline and loaded into the nodes.
    Offline,
    /// The book's images, pulled by the cluster from their registry.
    Book,
    /// Book-like: podcheck's `kuard-book` image (its kuard with the extras off, answering
    /// only as the book's kuard does), built offline and loaded as `offline` loads them,
    /// under the book's logical names and with no features: cases that need podcheck's
    /// extras are not applicable, and every other case must pass as it would with the
    /// book's image. For clusters that cannot pull the book's image.
    BookLike,
    /// podcheck's own images, pushed to `--registry` and pulled from there by the cluster.
    #[value(skip)]
    Registry,
}

impl ImagesMode {
    /// The mode as `--images` and the reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            ImagesMode::Offline => "offline",
            ImagesMode::Book => "book",
            ImagesMode::BookLike => "book-like",
            ImagesMode::Registry => "registry",
        }
    }

    /// `PODCHECK_IMAGES=offline|book|book-like`, for processes that did not start the cluster
    /// (the nextest setup script loaded the offline images and says so).
    pub fn from_env() -> Option<Self> {
        match crate::config::IMAGES.get()?.as_str() {
            "offline" => Some(ImagesMode::Offline),
            "book" => Some(ImagesMode::Book),
            "book-like" => Some(ImagesMode::BookLike),
            _ => None,
        }
    }
}

/// `PODCHECK_IMAGES_LOADED=1`: the offline images are in the nodes already. The nextest setup
/// script says so after `cluster up` loaded them, so that the many test processes do not
/// all import the same archives into one containerd at once.
fn preloaded() -> bool {
    crate::config::IMAGES_LOADED.is_on()
}

#[derive(Clone, Debug)]
pub struct SetupOptions {
    pub cluster: ClusterOptions,
    /// `None`: offline when the images can be loaded into the cluster, else book.
    pub images: Option<ImagesMode>,
    pub keep_on_failure: bool,
    /// Fail a text worded otherwise than the notes word it (`--strict-wording`).
    pub strict_wording: bool,
    pub run_id: String,
    /// Where the run's pods go (`--runtime-class`, `--node-selector`, `--toleration`).
    pub placement: super::placement::Placement,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cluster")]
    Cluster(#[from] cluster::ClusterError),
    #[error("fixture images")]
    Image(#[from] image::ImageError),
    #[error("fixture images")]
    Registry(#[from] image::registry::RegistryError),
    #[error("fixture images: the build task failed")]
    ImageTask(#[source] tokio::task::JoinError),
    /// The prepare steps' own account of what did not pass (the report's words).
    #[error("the target's prepare steps did not pass: {0}")]
    Prepare(String),
    #[error("pod placement")]
    Placement(#[from] super::placement::PlacementError),
    #[error(
        "listing the cluster's nodes; hint: podcheck counts the nodes that take the run's pods \
         for cases with `nodes:`, so it needs to list nodes"
    )]
    Nodes(#[source] kube::Error),
}

impl SetupError {
    /// Whether the user asked for something that cannot be (exit 2), rather than the cluster
    /// failing (exit 3).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            SetupError::Placement(
                super::placement::PlacementError::NoRuntimeClass(_)
                    | super::placement::PlacementError::NotServed(_)
            )
        )
    }
}

/// A cluster and the environment cases run in. Shut the cluster down when done.
pub struct Prepared {
    pub cluster: Cluster,
    pub env: Environment,
    pub images_mode: ImagesMode,
}

type Built = Result<Vec<image::FixtureImage>, SetupError>;

/// podcheck's fixture images, built (or found built) in the image cache.
pub async fn build_images() -> Built {
    let out = image::default_out_dir();
    tokio::task::spawn_blocking(move || image::build_all(&out))
        .await
        .map_err(SetupError::ImageTask)?
        .map_err(SetupError::from)
}

/// Which images the run will use, when that is known before the cluster is: asked for, or
/// implied by a registry or by a cluster podcheck starts (whose nodes it can load).
fn mode_before_the_cluster(opts: &SetupOptions) -> Option<ImagesMode> {
    if opts.cluster.registry.is_some() {
        return Some(ImagesMode::Registry);
    }
    opts.images.or_else(ImagesMode::from_env).or(opts
        .cluster
        .kubeconfig
        .is_none()
        .then_some(ImagesMode::Offline))
}

/// The cluster and the fixture images, built at the same time; with `load`, a cluster that
/// podcheck starts imports them into its nodes as its control plane starts.
pub async fn acquire_while_building(
    mut opts: ClusterOptions,
    load: bool,
) -> (Result<Cluster, cluster::ClusterError>, Built) {
    let sender = load.then(|| {
        let (tx, rx) = cluster::Preload::channel();
        opts.preload = Some(rx);
        tx
    });
    let build = async {
        let built = build_images().await;
        if let (Some(tx), Ok(images)) = (sender, &built) {
            tx.send(images.iter().map(|i| i.archive.clone()).collect());
        }
        built
    };
    tokio::join!(cluster::acquire(&opts), build)
}

/// The cluster, its images and kubectl; the environment's placement and node count are the
/// pipeline's to set.
///
/// The fixture images are built while the cluster starts when the mode needs them and is known
/// beforehand: the two do not depend on each other, and a cold build takes as long as a start.
pub async fn prepare(opts: &SetupOptions) -> Result<Prepared, SetupError> {
    let early = mode_before_the_cluster(opts).filter(|m| *m != ImagesMode::Book);
    let loads = matches!(early, Some(ImagesMode::Offline | ImagesMode::BookLike)) && !preloaded();
    let (cluster, built) = match early {
        Some(_) => {
            let (cluster, built) = acquire_while_building(opts.cluster.clone(), loads).await;
            (cluster?, Some(built))
        }
        None => (cluster::acquire(&opts.cluster).await?, None),
    };
    let mode = early.unwrap_or_else(|| {
        opts.images
            .or_else(ImagesMode::from_env)
            .unwrap_or(if cluster.can_load_images() {
                ImagesMode::Offline
            } else {
                ImagesMode::Book
            })
    });
    match finish(&cluster, opts, mode, built).await {
        Ok(env) => Ok(Prepared {
            cluster,
            env,
            images_mode: mode,
        }),
        Err(e) => {
            cluster.shutdown().await;
            Err(e)
        }
    }
}

async fn finish(
    cluster: &Cluster,
    opts: &SetupOptions,
    mode: ImagesMode,
    built: Option<Built>,
) -> Result<Environment, SetupError> {
    let built = async || match built {
        Some(b) => b,
        None => build_images().await,
    };
    let map = match mode {
        ImagesMode::Book => ImageMap::book(),
        ImagesMode::Registry => {
            let registry = opts
                .cluster
                .registry
                .as_ref()
                .expect("registry mode has a registry");
            let built = built().await?;
            let started = std::time::Instant::now();
            let pushed = image::registry::push(registry, &built).await?;
            tracing::info!(
                "pushed {} fixture images to {registry} in {:.1} s ({} bytes sent)",
                pushed.len(),
                started.elapsed().as_secs_f64(),
                pushed.iter().map(|p| p.bytes_sent).sum::<u64>()
            );
            ImageMap::pushed(&pushed)
        }
        ImagesMode::Offline | ImagesMode::BookLike => {
            let built = built().await?;
            if preloaded() {
                tracing::info!("offline images: loaded by whoever started the cluster");
            } else if cluster.images_preloaded() {
                tracing::info!("offline images: imported while the cluster started");
            } else if cluster.can_load_images() {
                let started = std::time::Instant::now();
                let archives: Vec<PathBuf> = built.iter().map(|i| i.archive.clone()).collect();
                cluster.load_images(&archives).await?;
                tracing::info!(
                    "loaded {} fixture images into the cluster in {:.1} s",
                    archives.len(),
                    started.elapsed().as_secs_f64()
                );
            } else {
                tracing::info!("offline images: assuming they are already in the cluster's nodes");
            }
            match mode {
                ImagesMode::BookLike => {
                    ImageMap::book_like(&built).expect("build_all builds kuard-book")
                }
                _ => ImageMap::offline(&built),
            }
        }
    };
    let images: BTreeMap<String, String> = map
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let bin = match cluster.kubectl().await {
        Ok(p) => p,
        Err(e) => {
            let fallback = crate::config::KUBECTL
                .path()
                .unwrap_or_else(|| PathBuf::from("kubectl"));
            tracing::warn!(
                "no kubectl from the cluster ({e}); using {}",
                fallback.display()
            );
            fallback
        }
    };
    let run_dir = crate::paths::work_dir().join("runs").join(&opts.run_id);
    let env = Environment {
        client: cluster.client(),
        kubectl: Kubectl::new(bin, cluster.kubeconfig()),
        context: opts.cluster.context.clone(),
        resolver: Arc::new(Resolver::new(cluster.client())),
        images,
        info: cluster.info().clone(),
        run_id: opts.run_id.clone(),
        work_dir: run_dir,
        keep_on_failure: opts.keep_on_failure,
        janitor: super::janitor::Janitor::new(cluster.client(), &opts.run_id),
        nodes: cluster.nodes().to_vec(),
        schedulable_nodes: 0,
        image_features: map.features().clone(),
        slots: None,
        placement: Default::default(),
        strict_wording: opts.strict_wording,
    };
    Ok(env)
}
