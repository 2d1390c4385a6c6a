//! Frigate pictures and its one view event, as /root/i23/VENDOR.md sets
//! them out (Frigate HTTP API, docs.frigate.video/integrations/api; source
//! v0.14.1 `frigate/api/media.py`): `GET /api/<camera>/latest.jpg?h=360`,
//! the latest frame scaled to 360 rows; and video loss when `/api/stats`
//! says the camera takes no frames (`camera_fps` 0). Frigate serves its
//! "camera error" picture for a camera without frames, so the stats, not
//! the picture, tell a lost camera.

use std::time::Instant;

use jiff::Timestamp;
use ronda_wire::ViewEvent;
use serde_json::Value;

use super::{camera_fps, parse_stats, path_segment, stats_time, FrigateClock};
use crate::http::Device;
use crate::probe::ProbeError;
use crate::recorders::picture::{self, Recent, Turn};
use crate::recorders::BoxFuture;
use crate::view::Viewer;

/// The height asked for: about a sub-stream's, the smallest that still
/// shows a road's lines once decoded at 1/8 scale.
pub const HEIGHT: u32 = 360;

pub struct FrigateViewer {
    device: Device,
    turn: Turn,
    stats: Recent<Value>,
    clock: FrigateClock,
}

impl FrigateViewer {
    pub fn new(device: Device) -> Self {
        FrigateViewer {
            device,
            turn: Turn::default(),
            stats: Recent::new(),
            clock: FrigateClock::default(),
        }
    }

    async fn picture(&self, camera: &str, cap: usize) -> Result<Vec<u8>, ProbeError> {
        let _turn = self.turn.lock().await;
        let path = format!("/api/{}/latest.jpg?h={HEIGHT}", path_segment(camera));
        picture::jpeg(self.device.fetch(&path, cap).await?, refusal)
    }

    async fn read_stats(&self, fresh: bool) -> Result<Value, ProbeError> {
        let _turn = self.turn.lock().await;
        if !fresh {
            if let Some(kept) = self.stats.get() {
                return Ok(kept);
            }
        }
        let stats = parse_stats(&self.device.get("/api/stats").await?)?;
        self.stats.put(stats.clone());
        Ok(stats)
    }
}

impl Viewer for FrigateViewer {
    fn snapshot<'a>(
        &'a self,
        channel: &'a str,
        cap: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProbeError>> {
        Box::pin(self.picture(channel, cap))
    }

    fn events<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Vec<ViewEvent>, ProbeError>> {
        Box::pin(async move {
            let stats = self.read_stats(false).await?;
            events_of(&stats, channel)
        })
    }

    /// Frigate's clock as the adapter reads it: the stats' time, moved on
    /// by the time since it was first seen.
    fn clock(&self) -> BoxFuture<'_, Option<Timestamp>> {
        Box::pin(async {
            let stats = self.read_stats(true).await.ok()?;
            stats_time(&stats).map(|t| self.clock.now(t, Instant::now()))
        })
    }
}

/// Video loss while the camera takes no frames.
pub fn events_of(stats: &Value, camera: &str) -> Result<Vec<ViewEvent>, ProbeError> {
    match camera_fps(stats, camera) {
        Some(fps) if fps > 0.0 => Ok(Vec::new()),
        Some(_) => Ok(vec![ViewEvent::VideoLoss]),
        None => Err(ProbeError::Device(format!(
            "camera `{camera}` is not in Frigate's stats"
        ))),
    }
}

/// Frigate's JSON refusal (`{"success": false, "message": "Camera not
/// found"}`) in words.
pub fn refusal(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let message = v.get("message")?.as_str()?;
    Some(format!("Frigate says: {}", crate::http::snippet(message)))
}
