//! The control API: read the devices' state and change it while they run.
//!
//! - `GET  /devices`       every device's state
//! - `GET  /devices/{id}`  one device
//! - `POST /devices/{id}`  apply a change, e.g. `{"channel":"1","recording":false}`,
//!   `{"disk":"1","disk_status":"error"}`, `{"relay_on":true}`,
//!   `{"fault":"overpower"}`, `{"hang":true}`, `{"password":"wrong"}`
//!
//! Door controllers (`hikvision-access`, `zkteco-push`; `crate::access`):
//! - `{"door_event":"entry","user":"9001"}` someone let in (granted, door
//!   opens, door closes); `"door":N` picks a door, the first by default
//! - `{"door_event":"denied","user":"4242"}`, `"forced"`, `"held_open"`,
//!   `"open"` (nobody identified), `"close"`, `"remote_open"`, `"restart"`
//! - `{"tamper":true}` / `false`, `{"mains":false}` / `true`: an event
//!   each time the condition changes
//! - `{"door":1,"door_mode":"remain-open"}` (`normal`, `remain-closed`, `sleep`)
//! - `{"clock_skew_s":86400}` or `-86400`: a clock a day off (events and
//!   `System/time` follow it); `{"hang":true}`: the terminal answers
//!   nothing, the ZKTeco device calls nobody (it shakes hands again after)
//! - ZKTeco: `{"resend_all":true}` its next upload carries the whole log
//!   again; `{"push_server":"http://127.0.0.1:8088"}` where it calls;
//!   `{"push_second_ms":50}` how long its protocol second lasts
//! - Hikvision: `{"max_results":24}` the `maxResults` maximum;
//!   `{"serial_window":false}` firmware that ignores `beginSerialNo`
//!
//! Camera pictures (Hikvision, Dahua, ONVIF, Frigate; `crate::view`):
//! - `{"channel":"1","view":"cover"}` what the channel's picture shows:
//!   `normal` (the road, lit by the hour), `cover` (tape or a bag: a
//!   near-uniform field), `dark` (near black at any hour: the infrared is
//!   dead), `freeze` (the frame of that moment, byte for byte, until another
//!   view is set), `turn` (the sky over the rooftops), `defocus` (a strong
//!   blur), `no_signal` (the recorder's blue "NO VIDEO" screen; Frigate also
//!   counts 0 `camera_fps`). A fault raises no device event by itself:
//! - `{"channel":"1","view_event":"tamper","active":true}` (`video_loss`,
//!   `defocus`, `scene_change`, `too_dark`; `false` clears it): Hikvision's
//!   alertStream, Dahua's `getEventIndexes` (ONVIF has no event service)
//! - `{"channel":"1","odd_frame":true}`: the next snapshot only shows a
//!   truck passing close, filling the frame; the one after is normal again
//! - `{"light":"night"}` (`day`, `auto`): every channel's light, or one
//!   channel's with `channel`. `auto`, the default, follows the device's
//!   wall clock (`clock_skew_s` moves it): day from 06:30 to 17:30, night
//!   from 18:30 to 05:30, ramps between
//! - `{"picture_firmware":"proxy_only"}`: a Hikvision NVR that refuses
//!   `Streaming/channels/…/picture` (HTTP 400, `badXmlContent`) and serves
//!   `ContentMgmt/StreamingProxy/…`; `"tail_after_eoi"`: a Dahua that sends
//!   1 KiB of zeros and CRLF after the JPEG's end; `"standard"`

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use jiff::Timestamp;

use crate::state::{lock, DeviceState, Patch};
use crate::Served;

pub fn router(devices: Vec<Served>) -> Router {
    Router::new()
        .route("/devices", get(list))
        .route("/devices/{id}", get(show).post(change))
        .with_state(devices)
}

async fn list(State(devices): State<Vec<Served>>) -> Json<Vec<DeviceState>> {
    Json(devices.iter().map(|d| lock(&d.state).clone()).collect())
}

fn find<'a>(devices: &'a [Served], id: &str) -> Result<&'a Served, (StatusCode, String)> {
    devices
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no device `{id}`\n")))
}

async fn show(
    State(devices): State<Vec<Served>>,
    Path(id): Path<String>,
) -> Result<Json<DeviceState>, (StatusCode, String)> {
    let d = find(&devices, &id)?;
    Ok(Json(lock(&d.state).clone()))
}

async fn change(
    State(devices): State<Vec<Served>>,
    Path(id): Path<String>,
    Json(patch): Json<Patch>,
) -> Result<Json<DeviceState>, (StatusCode, String)> {
    let d = find(&devices, &id)?;
    let mut state = lock(&d.state);
    patch
        .apply(&mut state, Timestamp::now())
        .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, format!("{e}\n")))?;
    tracing::info!(device = %id, ?patch, "device changed");
    Ok(Json(state.clone()))
}
