//! A software recorder's footage folder: while a channel records, a new
//! segment file appears every few seconds under `<root>/<channel>/<date>/`,
//! and segments older than ten minutes are removed.
//!
//! File names follow the device's clock on its wall clock; modification
//! times are stamped by this host, as for a recorder writing on the agent's
//! own host (the agent reads them against the same host clock, so a
//! device clock skew cannot show here).

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::state::{lock, Shared};

const SEGMENT: Duration = Duration::from_secs(5);
const KEEP: Duration = Duration::from_secs(600);

pub async fn run(root: PathBuf, dev: Shared, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(SEGMENT);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (recording, now, offset) = {
            let d = lock(&dev);
            let ids: Vec<String> = d
                .channels
                .iter()
                .filter(|c| c.recording)
                .map(|c| c.id.clone())
                .collect();
            (ids, d.now(), d.offset())
        };
        for ch in recording {
            if let Err(e) = write_segment(&root.join(&ch), now, offset) {
                tracing::warn!(channel = %ch, error = %e, "cannot write a simulated segment");
            }
        }
    }
}

fn write_segment(dir: &Path, now: Timestamp, offset: jiff::tz::Offset) -> std::io::Result<()> {
    let local = now.to_zoned(jiff::tz::TimeZone::fixed(offset));
    let day = dir.join(local.strftime("%Y-%m-%d").to_string());
    std::fs::create_dir_all(&day)?;
    std::fs::write(
        day.join(local.strftime("%H-%M-%S.mp4").to_string()),
        b"\0\0\0\x18ftypmp42",
    )?;
    prune(dir, KEEP)
}

fn prune(dir: &Path, keep: Duration) -> std::io::Result<()> {
    for day in std::fs::read_dir(dir)?.flatten() {
        let Ok(files) = std::fs::read_dir(day.path()) else {
            continue;
        };
        for f in files.flatten() {
            let old = f
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > keep);
            if old {
                let _ = std::fs::remove_file(f.path());
            }
        }
    }
    Ok(())
}
