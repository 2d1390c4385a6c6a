//! What the devices' snapshot and event routes share: the picture of a
//! channel now, drawn off the async workers, and who has which event.

use axum::response::{IntoResponse, Response};

use super::{frame, CameraState, DeviceEvent, Size};
use crate::state::{lock, Shared};

/// The JPEG of `channel` now, on the device's own clock, at `size`;
/// `None` for a channel the device does not have. A truck set to pass
/// is seen once: this snapshot takes it.
pub async fn jpeg(dev: &Shared, channel: &str, size: Size) -> Option<Vec<u8>> {
    let (cam, now) = {
        let mut d = lock(dev);
        let (device, offset, now) = (d.id.clone(), d.offset(), d.now());
        let ch = d.channels.iter_mut().find(|c| c.id == channel)?;
        let cam = CameraState::of(&device, channel, &ch.view, offset);
        ch.view.odd_frame = false;
        (cam, now)
    };
    // Drawing and encoding a large picture takes tens of milliseconds:
    // not on a worker that also serves the other devices.
    tokio::task::spawn_blocking(move || frame(&cam, now, size))
        .await
        .ok()
}

/// A `200` with the picture, as cameras send it.
pub fn jpeg_response(body: Vec<u8>) -> Response {
    ([("content-type", "image/jpeg")], body).into_response()
}

/// The ids of the channels on which `event` is active, in device order.
pub fn channels_with(dev: &Shared, event: DeviceEvent) -> Vec<String> {
    lock(dev)
        .channels
        .iter()
        .filter(|c| c.view.events.contains(&event))
        .map(|c| c.id.clone())
        .collect()
}

/// Every active event of every channel: (channel id, event).
pub fn active(dev: &Shared) -> Vec<(String, DeviceEvent)> {
    lock(dev)
        .channels
        .iter()
        .flat_map(|c| c.view.events.iter().map(|e| (c.id.clone(), *e)))
        .collect()
}
