//! Hikvision ISAPI (XML over HTTP, digest auth).
//!
//! Reads the device (`System/deviceInfo`, `System/status`), its disks
//! (`ContentMgmt/Storage`), the recording tracks (`ContentMgmt/record/tracks`,
//! whose `LoopEnable` is the overwrite setting), the IP channels' link state
//! (`ContentMgmt/InputProxy/channels/status`) and, per channel, the newest
//! recorded segment through `POST ContentMgmt/search` on track `channel×100+1`.
//!
//! Times: recorders answer the search in their own wall-clock time, even
//! where the text ends in `Z` (a long-standing ISAPI quirk). So the search
//! window is written, and the answers read, in the device's offset as its
//! `currentDeviceTime` states it. A time with an explicit offset is taken
//! as written.

use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use ronda_wire::RecorderDisk;

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::http::{Clients, Device};
use crate::probe::ProbeError;
use crate::xml;

/// Search pages read per channel before settling for the newest seen so far.
const MAX_PAGES: usize = 5;
const PAGE: usize = 50;

pub struct Hikvision {
    device: Device,
    channels: Vec<String>,
    lookback: Duration,
}

impl Hikvision {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        Hikvision {
            device: Device::new(
                clients.pick(cfg.insecure_tls),
                &cfg.url,
                cfg.creds.clone(),
                cfg.timeout,
            ),
            channels: cfg.channels.iter().map(|c| c.id.clone()).collect(),
            lookback: cfg.lookback,
        }
    }

    async fn read_all(&self, now: Timestamp) -> Result<Reading, ProbeError> {
        let (model, firmware) =
            parse_device_info(&self.device.get("/ISAPI/System/deviceInfo").await?)?;
        let (device_time, offset) = parse_status(&self.device.get("/ISAPI/System/status").await?)?;
        let disks = parse_storage(&self.device.get("/ISAPI/ContentMgmt/Storage").await?)?;
        let tracks = parse_tracks(&self.device.get("/ISAPI/ContentMgmt/record/tracks").await?)?;
        // Recorders with only analogue inputs have no InputProxy: no opinion then.
        let links = match self
            .device
            .get("/ISAPI/ContentMgmt/InputProxy/channels/status")
            .await
        {
            Ok(body) => parse_channel_status(&body)?,
            Err(ProbeError::Status { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut channels = Vec::new();
        for id in &self.channels {
            let mut r = ChannelReading::new(id);
            let track = id.parse::<u32>().map(|n| n * 100 + 1).unwrap_or(0);
            let t = tracks.iter().find(|t| t.id == track);
            r.recording = t.map(|t| t.enabled);
            r.online = links.iter().find(|l| &l.id == id).and_then(|l| l.online);
            match self.newest_segment(track, now, offset).await {
                Ok(end) => r.last_segment_end = end,
                Err(e) => r.error = Some(format!("recording search failed: {e}")),
            }
            channels.push(r);
        }
        Ok(Reading {
            model: Some(model),
            firmware: Some(firmware),
            device_time: Some(device_time),
            overwrite: overwrite(&tracks),
            disks,
            channels,
        })
    }

    async fn newest_segment(
        &self,
        track: u32,
        now: Timestamp,
        offset: Offset,
    ) -> Result<Option<Timestamp>, ProbeError> {
        let lookback =
            SignedDuration::try_from(self.lookback).unwrap_or(SignedDuration::from_hours(1));
        let (from, to) = (
            wall(now - lookback, offset),
            wall(now + SignedDuration::from_mins(5), offset),
        );
        let mut newest = None;
        for page in 0..MAX_PAGES {
            let body = search_request(track, &from, &to, page * PAGE);
            let answer = self
                .device
                .post("/ISAPI/ContentMgmt/search", "application/xml", body)
                .await?;
            let result = parse_search(&answer, offset)?;
            newest = newest.max(result.newest);
            if !result.more {
                break;
            }
        }
        Ok(newest)
    }
}

impl Adapter for Hikvision {
    fn read(&self, now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all(now))
    }
}

/// `2018-06-11T08:00:00Z`: the device's wall clock, written the way it reads it.
fn wall(t: Timestamp, offset: Offset) -> String {
    format!("{}Z", offset.to_datetime(t).strftime("%Y-%m-%dT%H:%M:%S"))
}

fn search_request(track: u32, from: &str, to: &str, position: usize) -> String {
    // A fresh searchID per request; the device uses it to page.
    let id = format!("{:08X}-RONDA-{track:04}-{position:04}", fastrand::u32(..));
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CMSearchDescription>\
<searchID>{id}</searchID><trackList><trackID>{track}</trackID></trackList>\
<timeSpanList><timeSpan><startTime>{from}</startTime><endTime>{to}</endTime></timeSpan></timeSpanList>\
<maxResults>{PAGE}</maxResults><searchResultPostion>{position}</searchResultPostion>\
<metadataList><metadataDescriptor>//recordType.meta.std-cgi.com</metadataDescriptor></metadataList>\
</CMSearchDescription>"
    )
}

pub fn parse_device_info(body: &str) -> Result<(String, String), ProbeError> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    let model = xml::need(root, "model")?.to_owned();
    let firmware = xml::need(root, "firmwareVersion")?;
    let firmware = match xml::text(root, "firmwareReleasedDate") {
        Some(date) if !date.is_empty() => format!("{firmware} {date}"),
        _ => firmware.to_owned(),
    };
    Ok((model, firmware))
}

/// The device's clock and its offset from UTC.
pub fn parse_status(body: &str) -> Result<(Timestamp, Offset), ProbeError> {
    let doc = xml::parse(body)?;
    let text = xml::need(doc.root_element(), "currentDeviceTime")?;
    let zoned: jiff::Zoned = text
        .parse::<Timestamp>()
        .map(|t| t.to_zoned(TimeZone::UTC))
        .map_err(|e| ProbeError::Parse(format!("currentDeviceTime `{text}`: {e}")))?;
    let offset = offset_of(text).unwrap_or(Offset::UTC);
    Ok((zoned.timestamp(), offset))
}

/// The offset written at the end of an RFC 3339 time, if any.
fn offset_of(text: &str) -> Option<Offset> {
    if text.ends_with('Z') {
        return Some(Offset::UTC);
    }
    let tail = text.get(text.len().checked_sub(6)?..)?;
    let sign = match tail.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = tail[1..].split_once(':')?;
    let secs = sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60);
    Offset::from_seconds(secs).ok()
}

/// HDD states a recorder can write to. Hikvision's others (`error`,
/// `unformatted`, `smartFailed`, `mismatch`, `offline`, `notexist`, …) cannot.
const HEALTHY: [&str; 3] = ["ok", "idle", "sleeping"];

pub fn parse_storage(body: &str) -> Result<Vec<RecorderDisk>, ProbeError> {
    let doc = xml::parse(body)?;
    let mb = |n: Option<&str>| {
        n.and_then(|v| v.parse::<u64>().ok())
            .map(|v| v * 1024 * 1024)
    };
    Ok(xml::all(doc.root_element(), "hdd")
        .map(|hdd| {
            let status = xml::child_text(hdd, "status")
                .unwrap_or("unknown")
                .to_owned();
            RecorderDisk {
                id: xml::child_text(hdd, "id").unwrap_or("?").to_owned(),
                healthy: HEALTHY.contains(&status.as_str()),
                status,
                capacity_bytes: mb(xml::child_text(hdd, "capacity")),
                free_bytes: mb(xml::child_text(hdd, "freeSpace")),
            }
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub id: u32,
    pub enabled: bool,
    pub loop_enable: Option<bool>,
}

pub fn parse_tracks(body: &str) -> Result<Vec<Track>, ProbeError> {
    let doc = xml::parse(body)?;
    Ok(xml::all(doc.root_element(), "Track")
        .filter_map(|t| {
            let id = xml::child_text(t, "id")?.parse().ok()?;
            // A track records when it is enabled and its schedule is on.
            let schedule = xml::is_true(xml::text(t, "enableSchedule")).unwrap_or(true);
            Some(Track {
                id,
                enabled: xml::is_true(xml::child_text(t, "Enable")).unwrap_or(false) && schedule,
                loop_enable: xml::is_true(xml::child_text(t, "LoopEnable")),
            })
        })
        .collect())
}

/// Overwrite is on when every track that says so loops.
fn overwrite(tracks: &[Track]) -> Option<bool> {
    let known: Vec<bool> = tracks.iter().filter_map(|t| t.loop_enable).collect();
    (!known.is_empty()).then(|| known.iter().all(|l| *l))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub id: String,
    pub online: Option<bool>,
}

/// `chanDetectResult` words that say the camera is not delivering video.
const DETECT_DOWN: [&str; 6] = [
    "offline",
    "netUnreachable",
    "passwordError",
    "ipcStreamFail",
    "userLocked",
    "notExist",
];

pub fn parse_channel_status(body: &str) -> Result<Vec<Link>, ProbeError> {
    let doc = xml::parse(body)?;
    Ok(xml::all(doc.root_element(), "InputProxyChannelStatus")
        .filter_map(|c| {
            let id = xml::child_text(c, "id")?.to_owned();
            let mut online = xml::is_true(xml::child_text(c, "online"));
            // Only a known word overrides `online`; anything else is no opinion.
            match xml::child_text(c, "chanDetectResult") {
                Some("connect") => online = online.or(Some(true)),
                Some(word) if DETECT_DOWN.contains(&word) => online = Some(false),
                _ => {}
            }
            Some(Link { id, online })
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    pub newest: Option<Timestamp>,
    pub more: bool,
}

pub fn parse_search(body: &str, offset: Offset) -> Result<SearchResult, ProbeError> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    let status = xml::text(root, "responseStatusStrg").unwrap_or("OK");
    let mut newest = None;
    for item in xml::all(root, "searchMatchItem") {
        if let Some(end) = xml::find(item, "timeSpan").and_then(|s| xml::child_text(s, "endTime")) {
            newest = newest.max(Some(device_time(end, offset)?));
        }
    }
    Ok(SearchResult {
        newest,
        more: status.eq_ignore_ascii_case("MORE"),
    })
}

/// A search time: wall clock in the device's offset, unless it names its own.
fn device_time(text: &str, offset: Offset) -> Result<Timestamp, ProbeError> {
    let bad = |e: &dyn std::fmt::Display| ProbeError::Parse(format!("time `{text}`: {e}"));
    if !text.ends_with('Z') {
        if let Ok(t) = text.parse::<Timestamp>() {
            return Ok(t);
        }
    }
    let civil: DateTime = text.trim_end_matches('Z').parse().map_err(|e| bad(&e))?;
    offset.to_timestamp(civil).map_err(|e| bad(&e))
}

#[cfg(test)]
#[path = "hikvision_tests.rs"]
mod tests;
