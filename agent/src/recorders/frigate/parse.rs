//! Pure parsers for the Frigate NVR answers the adapter reads: body text in,
//! typed data out, no I/O. Frigate has no API reference for 0.12–0.14; its
//! source is the document (`frigate/stats/util.py` `stats_snapshot`,
//! `frigate/api/app.py`, `frigate/api/media.py`).

use jiff::Timestamp;
use ronda_wire::RecorderDisk;
use serde_json::Value;

use crate::http::snippet;
use crate::probe::ProbeError;

/// Where Frigate keeps its recordings; its entry in `service.storage` is
/// the disk Ronda reports.
pub const RECORDINGS_MOUNT: &str = "/media/frigate/recordings";

const MIB: f64 = 1_048_576.0;
const MB: f64 = 1_000_000.0;

fn json(body: &str) -> Result<Value, ProbeError> {
    serde_json::from_str(body).map_err(|e| ProbeError::Parse(format!("bad JSON: {e}")))
}

/// `GET /api/stats`: a JSON object (anything else is not Frigate's stats).
pub fn parse_stats(body: &str) -> Result<Value, ProbeError> {
    let v = json(body)?;
    if !v.is_object() {
        return Err(ProbeError::Parse("stats is not a JSON object".into()));
    }
    Ok(v)
}

/// A camera's capture rate (`camera_fps`, frames/s from ffmpeg; 0.0 when
/// the stream is lost). Frigate 0.13 and later list cameras under
/// `cameras`; 0.12 put them at the top level next to `service`. `None`
/// when the stats do not list the camera.
pub fn camera_fps(stats: &Value, camera: &str) -> Option<f64> {
    let cam = match stats.get("cameras") {
        Some(cameras) => cameras.get(camera)?,
        None => stats.get(camera)?,
    };
    cam.get("camera_fps")?.as_f64()
}

/// `service.last_updated`: Frigate's clock (Unix seconds, `int(time.time())`)
/// when the stats were taken; see [`super::clock`]. `None` when the stats
/// do not state it or state no time a clock can read.
pub fn stats_time(stats: &Value) -> Option<Timestamp> {
    let secs = stats.pointer("/service/last_updated")?.as_f64()?;
    if !secs.is_finite() || secs <= 0.0 {
        return None;
    }
    Timestamp::from_millisecond((secs * 1000.0).round() as i64).ok()
}

/// `service.version`, the same text `/api/version` answers.
pub fn stats_version(stats: &Value) -> Option<&str> {
    stats.pointer("/service/version")?.as_str()
}

/// Bytes per storage unit: 0.12 wrote MB (bytes / 10^6), 0.13 and later
/// MiB (bytes / 2^20). The version decides; without one, the 0.12 shape
/// (no `cameras` key) does.
pub fn storage_unit(stats: &Value) -> f64 {
    let minor = stats_version(stats).and_then(|v| {
        let mut parts = v.split(['.', '-']);
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next()?.parse().ok()?;
        Some((major, minor))
    });
    match minor {
        Some(v) if v < (0, 13) => MB,
        Some(_) => MIB,
        None if stats.get("cameras").is_none() => MB,
        None => MIB,
    }
}

/// The recordings mount as a disk. Frigate says nothing of disk health, so
/// a mount it measures is healthy; a mount it lists empty (`{}`, 0.13+ when
/// the path is missing) or not at all is a missing disk. `None` when the
/// stats carry no storage section. A full mount is not an error by itself:
/// Frigate deletes the oldest recordings when space runs out.
pub fn recordings_disk(stats: &Value) -> Option<RecorderDisk> {
    let storage = stats.pointer("/service/storage")?.as_object()?;
    let unit = storage_unit(stats);
    let mount = storage.get(RECORDINGS_MOUNT);
    let size = |k: &str| {
        let v = mount?.get(k)?.as_f64()?;
        (v >= 0.0).then(|| (v * unit).round() as u64)
    };
    let Some(total) = size("total") else {
        return Some(RecorderDisk {
            id: RECORDINGS_MOUNT.into(),
            status: "missing".into(),
            healthy: false,
            capacity_bytes: None,
            free_bytes: None,
        });
    };
    let status = mount
        .and_then(|m| m.get("mount_type")?.as_str())
        .unwrap_or("mounted");
    Some(RecorderDisk {
        id: RECORDINGS_MOUNT.into(),
        status: status.to_owned(),
        healthy: true,
        capacity_bytes: Some(total),
        // `free` as Frigate measured it; total minus `used` if it is absent.
        free_bytes: size("free").or_else(|| size("used").map(|u| total.saturating_sub(u))),
    })
}

/// `GET /api/version`: `0.14.1-f4f3cfa` as plain text (Flask's default
/// `text/html`), no newline. An HTML page is a proxy's answer, not the
/// version.
pub fn parse_version(body: &str) -> Result<String, ProbeError> {
    let v = body.trim();
    let plain = !v.is_empty() && v.len() <= 64 && !v.contains(['<', '{', '\n', ' ']);
    if plain {
        Ok(v.to_owned())
    } else {
        Err(ProbeError::Parse(format!("version `{}`", snippet(v))))
    }
}

/// `GET /api/<camera>/recordings?after=&before=`: segments oldest first,
/// `end_time` in Unix seconds (a float: start plus the probed duration).
/// The newest end, `None` for `[]`. Every segment must carry an
/// `end_time`: one without is not the format this reads.
pub fn newest_recording(body: &str) -> Result<Option<Timestamp>, ProbeError> {
    let v = json(body)?;
    let list = v
        .as_array()
        .ok_or_else(|| ProbeError::Parse("recordings is not a list".into()))?;
    let mut newest: Option<f64> = None;
    for seg in list {
        let end = seg
            .get("end_time")
            .and_then(Value::as_f64)
            .ok_or_else(|| ProbeError::Parse("a recording without `end_time`".into()))?;
        newest = Some(newest.map_or(end, |n| n.max(end)));
    }
    newest
        .map(|t| {
            Timestamp::from_millisecond((t * 1000.0).round() as i64)
                .map_err(|e| ProbeError::Parse(format!("end_time {t}: {e}")))
        })
        .transpose()
}
