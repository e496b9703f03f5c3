//! Action: wait for the image import that `preload` started; a failed import fails the start
//! (the run would otherwise find its images missing one case at a time).

use super::Context;
use crate::cluster::error::ClusterError;

pub async fn run(ctx: &mut Context) -> Result<(), ClusterError> {
    let Some(importing) = ctx.preloading.take() else {
        return Ok(());
    };
    ctx.images_preloaded = importing.await.map_err(|e| ClusterError::NodeStart {
        what: format!("importing the preload images: the task ended: {e}"),
        source: None,
    })??;
    Ok(())
}
