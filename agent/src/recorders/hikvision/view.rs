//! Hikvision pictures and view events (ISAPI), as /root/i23/VENDOR.md sets
//! them out: the channel's sub-stream picture
//! (`Streaming/channels/<ch>02/picture`), falling back to the NVR's
//! `ContentMgmt/StreamingProxy` path and to the main stream where a path is
//! refused; the first path that gives a picture is kept per channel.
//!
//! ISAPI states tamper, defocus and scene change only as pushed alerts, so
//! the events are a bounded look at `Event/notification/alertStream`: what
//! arrives within two seconds (a device repeats an active alert about once
//! a second), kept a minute for the device's other channels.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use ronda_wire::ViewEvent;

use super::clock::DeviceClock;
use crate::http::{Device, Raw};
use crate::probe::ProbeError;
use crate::recorders::picture::{self, of_channel, Recent, Turn};
use crate::recorders::BoxFuture;
use crate::view::Viewer;
use crate::xml;

/// The paths tried for a channel's picture, in order: the sub-stream's
/// picture is the smallest the device gives without asking its sizes.
const PATHS: [(&str, &str); 4] = [
    ("/ISAPI/Streaming/channels/", "02/picture"),
    ("/ISAPI/ContentMgmt/StreamingProxy/channels/", "02/picture"),
    ("/ISAPI/Streaming/channels/", "01/picture"),
    ("/ISAPI/ContentMgmt/StreamingProxy/channels/", "01/picture"),
];
const ALERT_STREAM: &str = "/ISAPI/Event/notification/alertStream";
/// How long the alert stream is read: two repeats of an active alert.
const LOOK: Duration = Duration::from_secs(2);
/// How much of the alert stream is read at most (an alert is about 500 bytes).
const LOOK_BYTES: usize = 64 * 1024;

pub struct HikvisionViewer {
    device: Device,
    turn: Turn,
    /// Per channel, the index in [`PATHS`] that last gave a picture.
    path: Mutex<HashMap<u32, usize>>,
    events: Recent<Vec<(u32, ViewEvent)>>,
}

impl HikvisionViewer {
    pub fn new(device: Device) -> Self {
        HikvisionViewer {
            device,
            turn: Turn::default(),
            path: Mutex::default(),
            events: Recent::new(),
        }
    }

    async fn picture(&self, channel: &str, cap: usize) -> Result<Vec<u8>, ProbeError> {
        let ch = number(channel)?;
        let _turn = self.turn.lock().await;
        let first = self.known(ch).unwrap_or(0);
        let mut last = None;
        for (i, (head, tail)) in PATHS.iter().enumerate().skip(first) {
            let raw = self.device.fetch(&format!("{head}{ch}{tail}"), cap).await?;
            if refused(&raw) {
                last = Some(raw);
                continue;
            }
            let jpeg = picture::jpeg(raw, refusal)?;
            self.remember(ch, i);
            return Ok(jpeg);
        }
        // A kept path refused now: start from the first next time.
        self.forget(ch);
        Err(last.map_or_else(
            || ProbeError::Device("no picture path".into()),
            |raw| picture::not_a_picture(&raw, refusal),
        ))
    }

    async fn read_events(&self) -> Result<Vec<(u32, ViewEvent)>, ProbeError> {
        let _turn = self.turn.lock().await;
        if let Some(kept) = self.events.get() {
            return Ok(kept);
        }
        let window = LOOK.min(self.device_timeout() / 2);
        let raw = self.device.peek(ALERT_STREAM, LOOK_BYTES, window).await?;
        if !raw.status.is_success() {
            return Err(picture::not_a_picture(&raw, refusal));
        }
        let events = parse_alerts(&String::from_utf8_lossy(&raw.body));
        self.events.put(events.clone());
        Ok(events)
    }

    fn device_timeout(&self) -> Duration {
        self.device.timeout()
    }

    fn known(&self, ch: u32) -> Option<usize> {
        self.path.lock().ok()?.get(&ch).copied()
    }

    fn remember(&self, ch: u32, i: usize) {
        if let Ok(mut p) = self.path.lock() {
            p.insert(ch, i);
        }
    }

    fn forget(&self, ch: u32) {
        if let Ok(mut p) = self.path.lock() {
            p.remove(&ch);
        }
    }
}

impl Viewer for HikvisionViewer {
    fn snapshot<'a>(
        &'a self,
        channel: &'a str,
        cap: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProbeError>> {
        Box::pin(self.picture(channel, cap))
    }

    fn events<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Vec<ViewEvent>, ProbeError>> {
        Box::pin(async move {
            let ch = number(channel)?;
            let all = self.read_events().await?;
            Ok(of_channel(&all, ch))
        })
    }

    fn clock(&self) -> BoxFuture<'_, Option<Timestamp>> {
        Box::pin(async {
            let _turn = self.turn.lock().await;
            super::read_clock(&self.device)
                .await
                .ok()
                .map(|c: DeviceClock| c.now)
        })
    }
}

/// A configured channel is a channel number; anything else never reaches
/// a path.
fn number(channel: &str) -> Result<u32, ProbeError> {
    channel
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=999).contains(n))
        .ok_or_else(|| ProbeError::Device(format!("`{channel}` is not a channel number")))
}

/// A path this device does not serve, so the next one is tried: HTTP 400,
/// 403, 404, 405 or 501, or a `ResponseStatus` saying Invalid Operation (4)
/// or Invalid XML Content (6) whatever the status. A device error (3), an
/// unknown login and everything else are not worked around.
pub fn refused(raw: &Raw) -> bool {
    let body = String::from_utf8_lossy(&raw.body[..raw.body.len().min(4096)]);
    if let Some(code) = status_code(&body) {
        return code == "4" || code == "6";
    }
    matches!(raw.status.as_u16(), 400 | 403 | 404 | 405 | 501)
}

fn status_code(body: &str) -> Option<String> {
    let doc = xml::parse(body).ok()?;
    let root = doc.root_element();
    (root.tag_name().name() == "ResponseStatus")
        .then(|| xml::text(root, "statusCode").map(str::to_owned))
        .flatten()
}

/// A `ResponseStatus` body in words.
pub fn refusal(body: &str) -> Option<String> {
    let doc = xml::parse(body).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "ResponseStatus" {
        return None;
    }
    let code = xml::text(root, "statusCode").unwrap_or("?");
    let text = xml::text(root, "statusString").unwrap_or("");
    let sub = xml::text(root, "subStatusCode").unwrap_or("");
    Some(format!("recorder refused: {code} {text} ({sub})"))
}

/// Every active view alert in what was read of the alert stream, by
/// channel. Parts are found by their XML, not by the multipart framing,
/// which firmware writes in more than one way; a part cut off at the end
/// of the look is left out.
pub fn parse_alerts(text: &str) -> Vec<(u32, ViewEvent)> {
    const OPEN: &str = "<EventNotificationAlert";
    const CLOSE: &str = "</EventNotificationAlert>";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let Some(len) = rest[start..].find(CLOSE) else {
            break;
        };
        let part = &rest[start..start + len + CLOSE.len()];
        rest = &rest[start + len + CLOSE.len()..];
        if let Some(found) = alert(part) {
            if !out.contains(&found) {
                out.push(found);
            }
        }
    }
    out
}

/// One alert: its channel and view event, when it is an active view alert.
fn alert(part: &str) -> Option<(u32, ViewEvent)> {
    let doc = xml::parse(part).ok()?;
    let root = doc.root_element();
    if xml::child_text(root, "eventState")? != "active" {
        return None;
    }
    let event = match xml::child_text(root, "eventType")?
        .to_ascii_lowercase()
        .as_str()
    {
        "tamperdetection" | "shelteralarm" => ViewEvent::Tamper,
        "videoloss" => ViewEvent::VideoLoss,
        "defocus" => ViewEvent::Defocus,
        "scenechangedetection" => ViewEvent::SceneChange,
        _ => return None,
    };
    let channel = xml::child_text(root, "dynChannelID")
        .or_else(|| xml::child_text(root, "channelID"))?
        .trim()
        .parse()
        .ok()?;
    Some((channel, event))
}
