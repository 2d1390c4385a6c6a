//! Software recorders (ZoneMinder, Shinobi, Agent DVR, a script with ffmpeg):
//! the newest file under each camera's recording folder is its newest segment.
//!
//! The modification time of the newest file is the end of the newest segment:
//! recorders write a segment until they close it. The walk is bounded, so a
//! folder with years of footage cannot stall the agent.
//!
//! Times: the files are written on this host, stamped by its clock, so the
//! recorder's clock is this host's: the age is this host's now against the
//! newest modification time, both on the one clock, however far off it is.
//! A folder that holds no file was searched and found nothing (no error);
//! one that cannot be read is an error.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use jiff::Timestamp;

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::probe::ProbeError;

/// Entries looked at per channel before giving up on finding the newest.
const MAX_ENTRIES: usize = 200_000;

pub struct Folder {
    channels: Vec<(String, PathBuf)>,
}

impl Folder {
    pub fn new(cfg: &RecorderConfig) -> Self {
        Folder {
            channels: cfg
                .channels
                .iter()
                .filter_map(|c| Some((c.id.clone(), c.path.clone()?)))
                .collect(),
        }
    }
}

impl Adapter for Folder {
    fn read(&self, _now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        let channels = self.channels.clone();
        Box::pin(async move {
            // File system walks block; keep them off the agent's one thread.
            tokio::task::spawn_blocking(move || read_all(&channels))
                .await
                .map_err(|e| ProbeError::Device(format!("folder walk failed: {e}")))
        })
    }
}

fn read_all(channels: &[(String, PathBuf)]) -> Reading {
    let channels = channels
        .iter()
        .map(|(id, path)| {
            let mut r = ChannelReading::new(id);
            match newest(path) {
                Ok(end) => r.last_segment_end = end,
                Err(e) => r.error = Some(e),
            }
            r
        })
        .collect();
    Reading {
        channels,
        // Read after the walk: the clock that stamped the files, now.
        device_time: Some(Timestamp::now()),
        detected: vec!["clock: this host's (file modification times)".into()],
        ..Reading::default()
    }
}

/// The newest modification time of any file under `root`.
pub fn newest(root: &Path) -> Result<Option<Timestamp>, String> {
    let meta =
        std::fs::metadata(root).map_err(|e| format!("cannot read {}: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a folder", root.display()));
    }
    let mut best: Option<SystemTime> = None;
    let mut stack = vec![root.to_owned()];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return Err(format!("more than {MAX_ENTRIES} entries under {}; point the channel at a smaller folder", root.display()));
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if let Ok(m) = meta.modified() {
                best = best.max(Some(m));
            }
        }
    }
    Ok(best.and_then(|t| Timestamp::try_from(t).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_file_in_nested_folders_wins() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("2018-06-11");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(dir.path().join("old.mp4"), b"x").unwrap();
        let old = SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(dir.path().join("old.mp4"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        std::fs::write(day.join("08-00-00.mp4"), b"x").unwrap();
        let t = newest(dir.path()).unwrap().unwrap();
        assert!(Timestamp::now().duration_since(t).as_secs() < 60, "{t}");
    }

    /// Issue 17 point 5: an empty folder was read and holds nothing (did
    /// not record); a folder that cannot be read is an error (could not
    /// read), never the other way round.
    #[test]
    fn an_empty_folder_found_nothing_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(newest(dir.path()), Ok(None));
        let missing = dir.path().join("nope");
        let err = newest(&missing).unwrap_err();
        assert!(err.contains("cannot read"), "{err}");
        let r = read_all(&[
            ("empty".into(), dir.path().to_owned()),
            ("missing".into(), missing),
        ]);
        let (empty, gone) = (&r.channels[0], &r.channels[1]);
        assert_eq!((empty.last_segment_end, &empty.error), (None, &None));
        assert!(gone.error.as_deref().unwrap().contains("cannot read"));
    }

    /// Issue 17 point 8: the age is taken on the clock that stamped the
    /// files, this host's, so the recorder's time is this host's now.
    #[test]
    fn the_age_is_on_this_hosts_clock() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.mp4"), b"x").unwrap();
        let before = Timestamp::now();
        let r = read_all(&[("cam".into(), dir.path().to_owned())]);
        let (now, end) = (
            r.device_time.unwrap(),
            r.channels[0].last_segment_end.unwrap(),
        );
        assert!(now >= before && now >= end, "{now} {end}");
        assert!(now.duration_since(end).as_secs() < 60);
    }
}
