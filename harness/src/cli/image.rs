//! `podcheck image build [--out DIR]`: build the fixture images as OCI archives, offline,
//! and print one line per image (name, reference, archive, size).

use std::path::PathBuf;

use super::Outcome;
use crate::image::{self, FixtureImage};

#[derive(Debug, clap::Subcommand)]
pub enum ImageCommand {
    /// Build the fixture images as OCI archives, offline.
    Build(BuildArgs),
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
