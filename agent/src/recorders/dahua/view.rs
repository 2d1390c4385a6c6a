//! Dahua pictures and view events (HTTP API), as /root/i23/VENDOR.md sets
//! them out: `snapshot.cgi?channel=N&subtype=1` (channels from 1; the
//! sub-stream's size, community usage that firmware without it may refuse,
//! then asked once more without), with whatever firmware appends after the
//! JPEG's end cut off; and `eventManager.cgi?action=getEventIndexes` for
//! `VideoBlind`, `VideoLoss`, `VideoAbnormalDetection` and `VideoUnFocus`,
//! whose answer counts channels from 0.

use std::sync::atomic::{AtomicBool, Ordering};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use ronda_wire::ViewEvent;

use super::{parse_current_time, parse_kv, parse_lock, RecorderConfig};
use crate::http::{Clients, Device, Raw};
use crate::probe::ProbeError;
use crate::recorders::picture::{self, Recent, Turn};
use crate::recorders::BoxFuture;
use crate::view::Viewer;

/// The event codes read, and what each says of a channel's picture.
pub const CODES: [(&str, ViewEvent); 4] = [
    ("VideoBlind", ViewEvent::Tamper),
    ("VideoLoss", ViewEvent::VideoLoss),
    ("VideoAbnormalDetection", ViewEvent::SceneChange),
    ("VideoUnFocus", ViewEvent::Defocus),
];

pub struct DahuaViewer {
    device: Device,
    turn: Turn,
    /// The device refused `subtype`: pictures are asked without it.
    plain: AtomicBool,
    /// Active events as (channel from 1, event).
    events: Recent<Vec<(u32, ViewEvent)>>,
}

impl DahuaViewer {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        DahuaViewer {
            device: cfg.device(clients, &cfg.url).with_lock_reader(parse_lock),
            turn: Turn::default(),
            plain: AtomicBool::new(false),
            events: Recent::new(),
        }
    }

    async fn picture(&self, channel: &str, cap: usize) -> Result<Vec<u8>, ProbeError> {
        let n = number(channel)?;
        let _turn = self.turn.lock().await;
        let plain = format!("/cgi-bin/snapshot.cgi?channel={n}");
        if !self.plain.load(Ordering::Relaxed) {
            let raw = self
                .device
                .fetch(&format!("{plain}&subtype=1"), cap)
                .await?;
            if !refused(&raw) {
                return picture::jpeg(raw, refusal);
            }
            self.plain.store(true, Ordering::Relaxed);
        }
        picture::jpeg(self.device.fetch(&plain, cap).await?, refusal)
    }

    async fn read_events(&self) -> Result<Vec<(u32, ViewEvent)>, ProbeError> {
        let _turn = self.turn.lock().await;
        if let Some(kept) = self.events.get() {
            return Ok(kept);
        }
        let mut found = Vec::new();
        let mut known = 0;
        for (code, event) in CODES {
            let path = format!("/cgi-bin/eventManager.cgi?action=getEventIndexes&code={code}");
            let raw = self
                .device
                .fetch(&path, crate::http::DEFAULT_MAX_BODY)
                .await?;
            let Some(indexes) =
                parse_indexes(raw.status.as_u16(), &String::from_utf8_lossy(&raw.body))
            else {
                tracing::debug!(
                    code,
                    status = raw.status.as_u16(),
                    "event code refused; no opinion"
                );
                continue;
            };
            known += 1;
            found.extend(indexes.into_iter().map(|i| (i.saturating_add(1), event)));
        }
        if known == 0 {
            return Err(ProbeError::Device(
                "the recorder refused every view event code".into(),
            ));
        }
        self.events.put(found.clone());
        Ok(found)
    }
}

impl Viewer for DahuaViewer {
    fn snapshot<'a>(
        &'a self,
        channel: &'a str,
        cap: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProbeError>> {
        Box::pin(self.picture(channel, cap))
    }

    fn events<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Vec<ViewEvent>, ProbeError>> {
        Box::pin(async move {
            let n = number(channel)?;
            let all = self.read_events().await?;
            Ok(picture::of_channel(&all, n))
        })
    }

    /// The device's wall clock read in the agent's zone: only its moving on
    /// matters here, which no zone changes.
    fn clock(&self) -> BoxFuture<'_, Option<Timestamp>> {
        Box::pin(async {
            let _turn = self.turn.lock().await;
            let body = self
                .device
                .get("/cgi-bin/global.cgi?action=getCurrentTime")
                .await
                .ok()?;
            let wall = parse_current_time(&parse_kv(&body).ok()?).ok()?;
            wall.to_zoned(TimeZone::system())
                .ok()
                .map(|z| z.timestamp())
        })
    }
}

fn number(channel: &str) -> Result<u32, ProbeError> {
    channel
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=999).contains(n))
        .ok_or_else(|| ProbeError::Device(format!("`{channel}` is not a channel number (from 1)")))
}

/// A picture request the firmware does not take as asked: HTTP 400 or
/// 501, or an `Error` body.
fn refused(raw: &Raw) -> bool {
    matches!(raw.status.as_u16(), 400 | 501) || raw.body.starts_with(b"Error")
}

/// A Dahua `Error` body in words.
pub fn refusal(body: &str) -> Option<String> {
    let rest = body.trim_start().strip_prefix("Error")?;
    let reason = rest
        .trim_start_matches([':', ' '])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Some(
        format!("recorder says Error: {reason}")
            .trim_end_matches([':', ' '])
            .to_owned(),
    )
}

/// The channel indexes (from 0) a `getEventIndexes` answer names: none for
/// `Error: No Events` (with 200 or 400, on one line or two); `None` when
/// the device refused the code otherwise (it does not know it).
pub fn parse_indexes(status: u16, body: &str) -> Option<Vec<u32>> {
    let text = body.trim();
    if text.starts_with("Error") {
        return text.contains("No Events").then(Vec::new);
    }
    if !(200..300).contains(&status) {
        return None;
    }
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim().starts_with("channels[") {
            if let Ok(i) = value.trim().parse::<u32>() {
                if i < 1000 && !out.contains(&i) {
                    out.push(i);
                }
            }
        }
    }
    Some(out)
}
