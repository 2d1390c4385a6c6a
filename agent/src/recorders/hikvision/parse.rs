//! Pure parsers for the ISAPI answers the Hikvision adapter reads: body text
//! in, typed data out, no I/O. Elements are matched by local name (see
//! `crate::xml`), so the `hikvision.com/ver20` and `std-cgi.com/ver20`
//! namespaces of different firmwares read alike.

use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::Timestamp;
use ronda_wire::RecorderDisk;

use crate::probe::ProbeError;
use crate::xml;

/// `DeviceInfo`: the model, and the firmware with its build date when given.
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

/// The device's clock as `DeviceStatus/currentDeviceTime` states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// The instant, when the text names its offset.
    pub time: Option<Timestamp>,
    /// The offset of the device's wall clock; UTC when the text names none.
    pub offset: Offset,
}

pub fn parse_status(body: &str) -> Result<Clock, ProbeError> {
    let doc = xml::parse(body)?;
    let text = xml::need(doc.root_element(), "currentDeviceTime")?;
    let bad =
        |e: &dyn std::fmt::Display| ProbeError::Parse(format!("currentDeviceTime `{text}`: {e}"));
    match offset_of(text) {
        Some(offset) => {
            let time = text.parse::<Timestamp>().map_err(|e| bad(&e))?;
            Ok(Clock {
                time: Some(time),
                offset,
            })
        }
        // A wall clock without an offset is no instant: no skew from it,
        // and the search window is written and read as UTC.
        None => {
            text.parse::<DateTime>().map_err(|e| bad(&e))?;
            Ok(Clock {
                time: None,
                offset: Offset::UTC,
            })
        }
    }
}

/// The offset written at the end of an RFC 3339 time, if any.
pub fn offset_of(text: &str) -> Option<Offset> {
    if text.ends_with('Z') || text.ends_with('z') {
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

/// HDD states a recorder can write to; `idle` and `sleeping` are disks
/// spun down by the recorder's own power saving. Every other word
/// (`error`, `unformatted`, `smartFailed`, `mismatch`, `offline`, …) is not.
pub const HEALTHY: [&str; 3] = ["ok", "idle", "sleeping"];

/// `storage/hddList/hdd`: one disk each, sizes in MB turned into bytes.
pub fn parse_storage(body: &str) -> Result<Vec<RecorderDisk>, ProbeError> {
    let doc = xml::parse(body)?;
    let mb = |n: Option<&str>| {
        n.and_then(|v| v.parse::<u64>().ok())
            .map(|v| v.saturating_mul(1024 * 1024))
    };
    let Some(list) = xml::find(doc.root_element(), "hddList") else {
        return Ok(Vec::new());
    };
    Ok(list
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "hdd")
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

/// One recording track of `TrackList`.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// `channel × 100 + 1` for a channel's main stream.
    pub id: u32,
    /// Recording is switched on for the track.
    pub enabled: bool,
    /// `LoopEnable`: overwrite the oldest footage when the disks are full.
    pub loop_enable: Option<bool>,
}

pub fn parse_tracks(body: &str) -> Result<Vec<Track>, ProbeError> {
    let doc = xml::parse(body)?;
    Ok(xml::all(doc.root_element(), "Track")
        .filter_map(|t| {
            Some(Track {
                id: xml::child_text(t, "id")?.parse().ok()?,
                enabled: xml::is_true(xml::child_text(t, "Enable")).unwrap_or(false),
                loop_enable: xml::is_true(xml::child_text(t, "LoopEnable")),
            })
        })
        .collect())
}

/// `storageExtension/LoopEnable`: the recorder's overwrite setting, as a
/// list of at most one so that a missing element reads as no opinion.
pub fn parse_storage_extension(body: &str) -> Result<Vec<bool>, ProbeError> {
    let doc = xml::parse(body)?;
    Ok(xml::is_true(xml::text(doc.root_element(), "LoopEnable"))
        .into_iter()
        .collect())
}

/// Overwrite is on when every track that says so loops; `None` when none says.
pub fn tracks_overwrite(tracks: &[Track]) -> Option<bool> {
    let known: Vec<bool> = tracks.iter().filter_map(|t| t.loop_enable).collect();
    (!known.is_empty()).then(|| known.iter().all(|l| *l))
}

/// One IP channel's link to its camera.
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

/// `InputProxyChannelStatusList`: `online` per channel. A known
/// `chanDetectResult` word may say more; an unknown one is no opinion.
pub fn parse_channel_status(body: &str) -> Result<Vec<Link>, ProbeError> {
    let doc = xml::parse(body)?;
    Ok(xml::all(doc.root_element(), "InputProxyChannelStatus")
        .filter_map(|c| {
            let id = xml::child_text(c, "id")?.to_owned();
            let mut online = xml::is_true(xml::child_text(c, "online"));
            match xml::child_text(c, "chanDetectResult") {
                Some("connect") => online = online.or(Some(true)),
                Some(word) if DETECT_DOWN.contains(&word) => online = Some(false),
                _ => {}
            }
            Some(Link { id, online })
        })
        .collect())
}

/// One page of a `CMSearchResult`.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// The latest `endTime` among the page's matches.
    pub newest: Option<Timestamp>,
    /// How many matches the page held, to advance `searchResultPostion`.
    pub matches: usize,
    /// `responseStatusStrg` was `MORE`: another page waits.
    pub more: bool,
}

pub fn parse_search(body: &str, offset: Offset) -> Result<SearchPage, ProbeError> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    if root.tag_name().name() == "ResponseStatus" {
        return Err(response_status(root));
    }
    let status = xml::text(root, "responseStatusStrg").unwrap_or("OK");
    let mut page = SearchPage {
        newest: None,
        matches: 0,
        more: status.eq_ignore_ascii_case("MORE"),
    };
    let Some(list) = xml::find(root, "matchList") else {
        return Ok(page);
    };
    for item in xml::all(list, "searchMatchItem") {
        page.matches += 1;
        let end = xml::find(item, "timeSpan").and_then(|s| xml::child_text(s, "endTime"));
        if let Some(end) = end {
            page.newest = page.newest.max(Some(device_time(end, offset)?));
        }
    }
    Ok(page)
}

/// A `ResponseStatus` body: the device refusing a request.
fn response_status(root: roxmltree::Node<'_, '_>) -> ProbeError {
    let code = xml::text(root, "statusCode").unwrap_or("?");
    let text = xml::text(root, "statusString").unwrap_or("");
    let sub = xml::text(root, "subStatusCode").unwrap_or("");
    ProbeError::Device(format!("recorder refused: {code} {text} ({sub})"))
}

/// A search time. Recorders write it in their own wall clock and still put
/// a `Z` after it, so a `Z` (or no offset) means the device's `offset`; a
/// time with a numeric offset is taken as written.
pub fn device_time(text: &str, offset: Offset) -> Result<Timestamp, ProbeError> {
    let bad = |e: &dyn std::fmt::Display| ProbeError::Parse(format!("time `{text}`: {e}"));
    let has_numeric_offset = offset_of(text).is_some() && !text.ends_with(['Z', 'z']);
    if has_numeric_offset {
        return text.parse::<Timestamp>().map_err(|e| bad(&e));
    }
    let civil: DateTime = text
        .trim_end_matches(['Z', 'z'])
        .parse()
        .map_err(|e| bad(&e))?;
    offset.to_timestamp(civil).map_err(|e| bad(&e))
}

/// `2018-06-11T08:00:00Z`: an instant on the device's wall clock, written
/// with the `Z` the recorder expects (see [`device_time`]).
pub fn wall(t: Timestamp, offset: Offset) -> String {
    format!("{}Z", offset.to_datetime(t).strftime("%Y-%m-%dT%H:%M:%S"))
}
