//! `podcheck image build [--out DIR]`: build the fixture images as OCI archives, offline,
//! and print one line per image (name, reference, archive, size).
//! `podcheck image push REGISTRY`: build them and push them to a registry, and print one line
//! per image (name, reference in the registry, digest, bytes sent), as `run --registry` does
//! before its cases.

use std::path::PathBuf;

use super::Outcome;
use crate::image::{self, FixtureImage};

#[derive(Debug, clap::Subcommand)]
pub enum ImageCommand {
    /// Build the fixture images as OCI archives, offline.
    Build(BuildArgs),
    /// Build the fixture images and push them to a registry (what `run --registry` does first).
    Push(PushArgs),
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The registry: `[http://]HOST[:PORT][/PREFIX]` (`http://` for one without TLS);
    /// credentials from PODCHECK_REGISTRY_USERNAME and PODCHECK_REGISTRY_PASSWORD.
    #[arg(value_name = "REGISTRY")]
    pub registry: crate::image::registry::Registry,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Where to write the archives. Default: target/podcheck/images in the repository.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub async fn run(cmd: ImageCommand) -> Outcome {
    match cmd {
        ImageCommand::Build(args) => build(args).await,
        ImageCommand::Push(args) => push(args).await,
    }
}

async fn push(args: PushArgs) -> Outcome {
    let out = image::default_out_dir();
    let images = match tokio::task::spawn_blocking(move || image::build_all(&out)).await {
        Ok(Ok(images)) => images,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            return Outcome::BadInput;
        }
        Err(e) => {
            eprintln!("error: the image build panicked: {e}");
            return Outcome::BadInput;
        }
    };
    let started = std::time::Instant::now();
    match image::registry::push(&args.registry, &images).await {
        Ok(pushed) => {
            for p in &pushed {
                println!(
                    "{:<12} {:<56} {} {:.1} MB sent",
                    p.name,
                    p.reference,
                    p.digest,
                    p.bytes_sent as f64 / 1_000_000.0
                );
            }
            eprintln!(
                "pushed {} images to {} in {:.2} s",
                pushed.len(),
                args.registry,
                started.elapsed().as_secs_f64()
            );
            Outcome::Success
        }
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::CouldNotRun
        }
    }
}

async fn build(args: BuildArgs) -> Outcome {
    let out = args.out.unwrap_or_else(image::default_out_dir);
    // Building may run cargo for a while: keep it off the async workers.
    match tokio::task::spawn_blocking(move || image::build_all(&out)).await {
        Ok(Ok(images)) => {
            for img in &images {
                println!("{}", line(img));
            }
            Outcome::Success
        }
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            Outcome::BadInput
        }
        Err(e) => {
            eprintln!("error: the image build panicked: {e}");
            Outcome::BadInput
        }
    }
}

fn line(img: &FixtureImage) -> String {
    let size = std::fs::metadata(&img.archive)
        .map(|m| m.len())
        .unwrap_or(0);
    format!(
        "{:<12} {:<40} {} {:.1} MB",
        img.name,
        img.reference,
        img.archive.display(),
        size as f64 / 1_000_000.0
    )
}
