//! The DVR's pictures and picture events: `snapshot.cgi` and
//! `eventManager.cgi?action=getEventIndexes`.
//!
//! Sources: Dahua "HTTP API for IPC & NVR" V2.x (e.g. V2.76, 2019-07-25),
//! Snapshot (`channel` from 1) and Event management (`getEventIndexes`,
//! `channels[n]=<index>` with indexes from 0; codes `VideoBlind`,
//! `VideoLoss`, `VideoAbnormalDetection`, `VideoUnFocus`). Community: the
//! sub-stream snapshot `subtype=1` (Zabbix templates and other
//! integrations), `Error: No Events` when none is active (python-amcrest,
//! openHAB), and firmware that sends bytes after the JPEG's end marker.

use minijinja::context;

use super::{bad_request, text, Dvr, Q};
use crate::fixture::render;
use crate::state::lock;
use crate::view::serve::{channels_with, jpeg, jpeg_response};
use crate::view::{DeviceEvent, PictureFirmware, Size};

const INDEXES: &str = include_str!("../../templates/dahua/event_indexes.txt");
/// What the tail firmware sends after the end marker: zero padding and a
/// line end, as field captures show.
const TAIL_ZEROS: usize = 1024;

/// `channel=N` (1 when absent), `subtype=1` for the sub stream.
pub async fn snapshot(d: &Dvr, q: &Q) -> axum::response::Response {
    let channel = q.get("channel").map_or("1", String::as_str);
    let size = match q.get("subtype").map(String::as_str) {
        None | Some("0") => Size::FULL_HD,
        Some("1") => Size::SUB,
        Some(_) => return bad_request(),
    };
    let Some(mut body) = jpeg(&d.dev, channel, size).await else {
        return bad_request();
    };
    if lock(&d.dev).picture_firmware == PictureFirmware::TailAfterEoi {
        body.extend(std::iter::repeat_n(0u8, TAIL_ZEROS));
        body.extend_from_slice(b"\r\n");
    }
    jpeg_response(body)
}

/// The channels on which the event `code` is active, 0-based.
pub fn event_indexes(d: &Dvr, q: &Q) -> axum::response::Response {
    let event = match q.get("code").map(String::as_str) {
        Some("VideoBlind") => Some(DeviceEvent::Tamper),
        Some("VideoLoss") => Some(DeviceEvent::VideoLoss),
        Some("VideoAbnormalDetection") => Some(DeviceEvent::SceneChange),
        Some("VideoUnFocus") => Some(DeviceEvent::Defocus),
        // Codes the firmware knows but the sim never raises.
        Some("VideoMotion" | "AlarmLocal" | "StorageFailure") => None,
        _ => return bad_request(),
    };
    let indexes: Vec<u32> = event
        .map(|e| channels_with(&d.dev, e))
        .unwrap_or_default()
        .iter()
        .filter_map(|id| id.parse::<u32>().ok()?.checked_sub(1))
        .collect();
    text(render("event_indexes", INDEXES, context! { indexes }))
}
