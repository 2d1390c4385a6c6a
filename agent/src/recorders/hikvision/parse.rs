//! Pure parsers for the ISAPI answers the Hikvision adapter reads: body text
//! in, typed data out, no I/O. Elements are matched by local name (see
//! `crate::xml`), so the `hikvision.com/ver20` and `std-cgi.com/ver20`
//! namespaces of different firmwares read alike.

use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::Offset;
use ronda_wire::RecorderDisk;

use super::clock::{stated, Suffix};
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

/// HDD states a recorder can write to. The ISAPI `hdd/status` enumeration
/// is `ok, unformatted, error, idle, mismatch, offline, smartFailed,
/// reparing, formating, notexist, unRecordHostFormatted` (the vendor's own
/// spellings), and NVRs with disk power saving add `sleeping`. `idle` and
/// `sleeping` are good disks at rest; every other word is a disk that is
/// failing, missing, foreign (`mismatch`, `unRecordHostFormatted`), not
/// ready for footage (`unformatted`, `formating`, `reparing`), or unknown.
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

/// A segment end as the search wrote it. Only `exact` times (with a
/// numeric offset) are instants by themselves; a `Z` or bare time means
/// the device's wall clock or UTC depending on the firmware (see
/// `convention`). Ordered by its digits, as the device orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// The digits; for an exact time, its UTC digits.
    pub civil: DateTime,
    pub exact: bool,
}

/// Read a search time.
pub fn stamp(text: &str) -> Result<Stamp, ProbeError> {
    let t = stated(text)?;
    Ok(match t.suffix {
        Suffix::Offset(o) => Stamp {
            civil: Offset::UTC.to_datetime(
                o.to_timestamp(t.civil)
                    .map_err(|e| ProbeError::Parse(format!("time `{text}`: {e}")))?,
            ),
            exact: true,
        },
        Suffix::Z | Suffix::Bare => Stamp {
            civil: t.civil,
            exact: false,
        },
    })
}

/// One page of a `CMSearchResult`.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// The latest `endTime` among the page's matches.
    pub newest: Option<Stamp>,
    /// How many matches the page held, to advance `searchResultPostion`.
    pub matches: usize,
    /// `responseStatusStrg` was `MORE`: another page waits.
    pub more: bool,
}

pub fn parse_search(body: &str) -> Result<SearchPage, ProbeError> {
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
            page.newest = page.newest.max(Some(stamp(end)?));
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

/// The longest lock believed: a device saying more is broken or hostile,
/// and the agent would otherwise wait it out (the firmware's own maximum
/// `maxIllegalLoginLockTime` is in the order of an hour).
pub const MAX_LOCK: Duration = Duration::from_secs(24 * 3600);

/// The `userCheck` body of a refused login: `Some` when `lockStatus` is
/// `lock` (too many failed logins), with `unlockTime`, the seconds left,
/// when it gives one. A wrong password answers `unlock` with the
/// `retryLoginTime` left, which is no lock.
pub fn read_lock(body: &str) -> Option<Option<Duration>> {
    let doc = xml::parse(body).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "userCheck"
        || !xml::child_text(root, "lockStatus")?.eq_ignore_ascii_case("lock")
    {
        return None;
    }
    let left = xml::child_text(root, "unlockTime")
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(|s| Duration::from_secs(s).min(MAX_LOCK));
    Some(left)
}
