//! Frigate NVR's HTTP API (JSON): `/api/stats` (per-camera fps, recordings
//! storage), `/api/version`, and `/api/<camera>/recordings` for the newest
//! recorded segment of each camera (channel ids are camera names).
//!
//! Frigate 0.12 put the cameras at the top level of `/api/stats`; 0.13 and
//! later put them under `cameras`. Storage sizes are in MiB.

use std::time::Duration;

use jiff::Timestamp;
use ronda_wire::RecorderDisk;
use serde_json::Value;

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::http::{Clients, Device};
use crate::probe::ProbeError;

const RECORDINGS_MOUNT: &str = "/media/frigate/recordings";

pub struct Frigate {
    device: Device,
    cameras: Vec<String>,
    lookback: Duration,
}

impl Frigate {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        Frigate {
            device: Device::new(
                clients.pick(cfg.insecure_tls),
                &cfg.url,
                cfg.creds.clone(),
                cfg.timeout,
            ),
            cameras: cfg.channels.iter().map(|c| c.id.clone()).collect(),
            lookback: cfg.lookback,
        }
    }

    async fn read_all(&self, now: Timestamp) -> Result<Reading, ProbeError> {
        let stats = json(&self.device.get("/api/stats").await?)?;
        let version = self.device.get("/api/version").await?.trim().to_owned();
        let after = now.as_second() - i64::try_from(self.lookback.as_secs()).unwrap_or(3600);
        let mut channels = Vec::new();
        for cam in &self.cameras {
            let mut r = ChannelReading::new(cam);
            r.online = Some(camera_fps(&stats, cam).is_some_and(|fps| fps > 0.0));
            let path = format!(
                "/api/{cam}/recordings?after={after}&before={}",
                now.as_second() + 300
            );
            match self
                .device
                .get(&path)
                .await
                .and_then(|b| newest_recording(&b))
            {
                Ok(end) => r.last_segment_end = end,
                Err(e) => r.error = Some(format!("recordings query failed: {e}")),
            }
            channels.push(r);
        }
        Ok(Reading {
            model: Some("Frigate".into()),
            firmware: Some(version),
            device_time: None,
            overwrite: None,
            disks: recordings_disk(&stats).into_iter().collect(),
            channels,
        })
    }
}

impl Adapter for Frigate {
    fn read(&self, now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all(now))
    }
}

fn json(body: &str) -> Result<Value, ProbeError> {
    serde_json::from_str(body).map_err(|e| ProbeError::Parse(format!("bad JSON: {e}")))
}

/// A camera's capture rate; `None` when Frigate does not list the camera.
pub fn camera_fps(stats: &Value, camera: &str) -> Option<f64> {
    let cam = stats
        .pointer(&format!("/cameras/{camera}"))
        .or_else(|| stats.get(camera))?;
    cam.get("camera_fps")?.as_f64()
}

/// The recordings mount as a disk. Frigate deletes old footage by its
/// retention settings, so a full mount is a problem, not overwrite.
pub fn recordings_disk(stats: &Value) -> Option<RecorderDisk> {
    let s = stats.pointer("/service/storage")?.get(RECORDINGS_MOUNT)?;
    let mib = |k: &str| s.get(k)?.as_f64().map(|v| (v * 1_048_576.0) as u64);
    Some(RecorderDisk {
        id: RECORDINGS_MOUNT.into(),
        status: "mounted".into(),
        healthy: true,
        capacity_bytes: mib("total"),
        free_bytes: mib("free"),
    })
}

/// The newest `end_time` (Unix seconds) in a recordings list.
pub fn newest_recording(body: &str) -> Result<Option<Timestamp>, ProbeError> {
    let v = json(body)?;
    let list = v
        .as_array()
        .ok_or_else(|| ProbeError::Parse("recordings is not a list".into()))?;
    Ok(list
        .iter()
        .filter_map(|r| r.get("end_time")?.as_f64())
        .fold(None, |best: Option<f64>, t| {
            Some(best.map_or(t, |b| b.max(t)))
        })
        .and_then(|t| Timestamp::from_millisecond((t * 1000.0) as i64).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/../sim/fixtures/frigate/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        text.split_once("\n\n")
            .map_or(text.clone(), |(_, b)| b.to_owned())
    }

    #[test]
    fn stats_give_camera_rates_and_the_recordings_disk() {
        let stats = json(&fixture("stats.json")).unwrap();
        assert_eq!(camera_fps(&stats, "depan"), Some(5.1));
        assert_eq!(
            camera_fps(&stats, "halaman"),
            Some(0.0),
            "a camera at 0 fps is down"
        );
        assert_eq!(camera_fps(&stats, "gudang"), None);
        let disk = recordings_disk(&stats).unwrap();
        assert_eq!(disk.capacity_bytes, Some(953_869 * 1_048_576));
        assert_eq!(disk.free_bytes, Some(412_345 * 1_048_576));
    }

    #[test]
    fn cameras_at_the_top_level_in_frigate_0_12() {
        let old = serde_json::json!({ "depan": { "camera_fps": 5.0 }, "service": {} });
        assert_eq!(camera_fps(&old, "depan"), Some(5.0));
    }

    #[test]
    fn newest_recording_end() {
        let t = newest_recording(&fixture("recordings.json")).unwrap();
        assert_eq!(t, Some(Timestamp::from_second(1_528_678_790).unwrap()));
        assert_eq!(newest_recording("[]").unwrap(), None);
        assert!(newest_recording("[{\"end_time\":").is_err());
    }
}
