//! A software recorder's footage folder: new segment files while recording.

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use crate::state::Shared;

pub async fn run(root: PathBuf, dev: Shared, shutdown: CancellationToken) {
    let _ = (root, dev);
    shutdown.cancelled().await;
}
