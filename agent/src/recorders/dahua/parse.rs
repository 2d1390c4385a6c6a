//! Pure parsers for the Dahua HTTP API's `key=value` answers: body text in,
//! typed data out, no I/O.
//!
//! Every answer is lines of `key=value` (CRLF on the wire). A refused
//! request answers `Error` and a reason on the next line instead, often
//! with HTTP 400, sometimes with 200.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use ronda_wire::RecorderDisk;

use crate::probe::ProbeError;

/// One answer's `key=value` pairs, in the order sent.
pub type Kv = Vec<(String, String)>;

/// `key=value` lines. A body of `Error` (with a reason on the next line) is
/// the device refusing the request. Lines without `=` are skipped: some
/// firmwares end the list with a blank or stray line.
pub fn parse_kv(body: &str) -> Result<Kv, ProbeError> {
    let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
    if let Some(first) = lines.clone().next() {
        if first.eq_ignore_ascii_case("Error") {
            let reason = lines.nth(1).unwrap_or("no reason given");
            return Err(ProbeError::Device(format!("recorder says Error: {reason}")));
        }
    }
    Ok(lines
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect())
}

pub fn get<'a>(kv: &'a [(String, String)], key: &str) -> Option<&'a str> {
    kv.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A required key: its absence means the answer was cut short or is not
/// the one asked for.
pub fn need<'a>(kv: &'a [(String, String)], key: &str) -> Result<&'a str, ProbeError> {
    get(kv, key).ok_or_else(|| ProbeError::Parse(format!("no `{key}` in the answer")))
}

/// `magicBox.cgi?action=getDeviceType`: `type=DH-XVR5108HS-4KL-I2`, the
/// model as on the label.
pub fn parse_device_type(kv: &[(String, String)]) -> Option<String> {
    get(kv, "type").filter(|v| !v.is_empty()).map(str::to_owned)
}

/// `magicBox.cgi?action=getSystemInfo`: the model is `deviceType`, which on
/// some NVR/XVR firmware is a platform name (so `getDeviceType` comes
/// first); a few OEM firmwares leave it empty and name it in `updateSerial`.
pub fn parse_model(kv: &[(String, String)]) -> Option<String> {
    [get(kv, "deviceType"), get(kv, "updateSerial")]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `magicBox.cgi?action=getSoftwareVersion`: `version=4.001.0000000.3.R,build:2018-03-06`.
/// The firmware is the text after `version=` up to the first comma or
/// space; some firmware put `build:…` on a line of its own instead.
pub fn parse_firmware(kv: &[(String, String)]) -> Result<String, ProbeError> {
    let v = need(kv, "version")?;
    let firmware = v.split([',', ' ', '\t']).next().unwrap_or(v);
    if firmware.is_empty() {
        return Err(ProbeError::Parse("empty `version`".into()));
    }
    Ok(firmware.to_owned())
}

/// UTC offsets of `table.NTP.TimeZone`, by index: Dahua NetSDK
/// `dhconfigsdk.h` `EM_CFG_TIME_ZONE_TYPE`, in minutes east of UTC.
const ZONES_MIN: [i32; 40] = [
    0, 60, 120, 180, 210, 240, 270, 300, 330, 345, 360, 390, 420, 480, 540, 570, 600, 660, 720,
    780, -60, -120, -180, -210, -240, -300, -360, -420, -480, -540, -600, -660, -720, -270, 630,
    840, -570, 510, 525, 765,
];

/// `configManager.cgi?action=getConfig&name=NTP`: `table.NTP.TimeZone` is
/// an index into Dahua's zone table (12 is +07:00, WIB), not an offset.
/// Daylight saving (`Locales.DSTEnable`) is not applied: Indonesia has
/// none. `None` for a missing or unknown index.
pub fn parse_time_zone(kv: &[(String, String)]) -> Option<TimeZone> {
    let index: usize = get(kv, "table.NTP.TimeZone")?.parse().ok()?;
    let minutes = *ZONES_MIN.get(index)?;
    let offset = jiff::tz::Offset::from_seconds(minutes * 60).ok()?;
    Some(TimeZone::fixed(offset))
}

/// The highest `[n]` read from a list in an answer (disks, storage
/// groups). The index sizes a list here, so a garbled or hostile
/// `list.info[4000000000]` must not allocate gigabytes, which aborts the
/// agent (found by `fuzz_dahua_mutated_fixtures`). No recorder has anywhere
/// near this many disks or groups.
pub const MAX_INDEX: usize = 255;

/// `configManager.cgi?action=getConfig&name=StorageGroup`:
/// `table.StorageGroup[n].OverWrite` (the key is inferred from the NetSDK
/// `AV_CFG_StorageGroup.bOverWrite`, not documented for CGI). The
/// `ReadWrite` groups decide when there are any, since read-only and
/// redundant groups are not recorded onto; overwrite is on when every
/// deciding group says so. `None` when none says.
pub fn parse_overwrite(kv: &[(String, String)]) -> Option<bool> {
    let mut groups: Vec<(Option<&str>, Option<bool>)> = Vec::new();
    for (k, v) in kv {
        let Some((n, field)) = k
            .strip_prefix("table.StorageGroup[")
            .and_then(|rest| rest.split_once("]."))
        else {
            continue;
        };
        // A group past the bound is no group a recorder has: no opinion.
        let Some(n) = n.parse::<usize>().ok().filter(|n| *n <= MAX_INDEX) else {
            continue;
        };
        if groups.len() <= n {
            groups.resize(n + 1, (None, None));
        }
        match field {
            "Name" => groups[n].0 = Some(v.as_str()),
            "OverWrite" => groups[n].1 = is_true(v),
            _ => {}
        }
    }
    let read_write = groups.iter().any(|g| g.0 == Some("ReadWrite"));
    let known: Vec<bool> = groups
        .iter()
        .filter(|g| !read_write || g.0 == Some("ReadWrite"))
        .filter_map(|g| g.1)
        .collect();
    (!known.is_empty()).then(|| known.iter().all(|o| *o))
}

fn is_true(v: &str) -> Option<bool> {
    match v {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A Dahua wall-clock time, `2018-6-11 8:00:00` or `2018-06-11 08:00:00`
/// (leading zeros vary by firmware), read in `tz`.
pub fn wall_time(text: &str, tz: &TimeZone) -> Option<Timestamp> {
    civil(text)?
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// The civil date and time in a Dahua time text.
pub fn civil(text: &str) -> Option<DateTime> {
    let (date, time) = text.trim().split_once(' ')?;
    let d: Vec<i16> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i8> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (&[y, m, day], &[h, min, s]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    DateTime::new(
        y,
        i8::try_from(m).ok()?,
        i8::try_from(day).ok()?,
        h,
        min,
        s,
        0,
    )
    .ok()
}

/// `global.cgi?action=getCurrentTime`: `result=2018-06-11 08:00:00`, the
/// device's wall clock with no offset.
pub fn parse_current_time(kv: &[(String, String)]) -> Result<DateTime, ProbeError> {
    let text = need(kv, "result")?;
    civil(text).ok_or_else(|| ProbeError::Parse(format!("device time `{text}`")))
}

/// `table.RecordMode[index].Mode` of channel `index` (counted from 0):
/// 0 automatic (by the record schedule) and 1 manual both record, 2 stops.
/// Another value, or none, is no opinion.
pub fn record_mode(kv: &[(String, String)], index: usize) -> Option<bool> {
    match get(kv, &format!("table.RecordMode[{index}].Mode"))? {
        "0" | "1" => Some(true),
        "2" => Some(false),
        _ => None,
    }
}

/// Disk `State` words that mean the disk can record. Everything else
/// (`Error`, unformatted, missing, …) cannot.
pub const HEALTHY: [&str; 1] = ["Success"];

/// `storageDevice.cgi?action=getDeviceAllInfo`: one disk per `list.info[n]`,
/// its partitions (`Detail[m]`) summed. A disk is healthy when its `State`
/// is healthy and no partition says `IsError=true`; free space is total
/// minus used. A disk without `State` means the answer was cut short.
pub fn parse_disks(kv: &[(String, String)]) -> Result<Vec<RecorderDisk>, ProbeError> {
    let mut disks: Vec<DiskParts> = Vec::new();
    for (k, v) in kv {
        let Some((n, field)) = k
            .strip_prefix("list.info[")
            .and_then(|rest| rest.split_once("]."))
        else {
            continue;
        };
        let Ok(n) = n.parse::<usize>() else { continue };
        if n > MAX_INDEX {
            return Err(ProbeError::Parse(format!(
                "disk index {n} in `{k}` is past {MAX_INDEX}"
            )));
        }
        if disks.len() <= n {
            disks.resize_with(n + 1, DiskParts::default);
        }
        disks[n].take(field, v);
    }
    disks
        .into_iter()
        .enumerate()
        .map(|(n, d)| d.finish(n))
        .collect()
}

/// What one `list.info[n]` said, before it is summed up.
#[derive(Default)]
struct DiskParts {
    name: Option<String>,
    state: Option<String>,
    total: Option<u64>,
    used: Option<u64>,
    is_error: bool,
}

impl DiskParts {
    fn take(&mut self, field: &str, v: &str) {
        // Byte counts come as `1000204886016.000000`.
        let bytes = || v.parse::<f64>().ok().map(|b| b as u64);
        let add = |sum: Option<u64>| Some(sum.unwrap_or(0).saturating_add(bytes().unwrap_or(0)));
        let in_detail = field.starts_with("Detail[");
        match field.rsplit('.').next().unwrap_or(field) {
            "State" if !in_detail => self.state = Some(v.to_owned()),
            "Name" if !in_detail => self.name = Some(v.to_owned()),
            "TotalBytes" => self.total = add(self.total),
            "UsedBytes" => self.used = add(self.used),
            "IsError" if v.eq_ignore_ascii_case("true") => self.is_error = true,
            _ => {}
        }
    }

    fn finish(self, n: usize) -> Result<RecorderDisk, ProbeError> {
        let state = self.state.ok_or_else(|| {
            ProbeError::Parse(format!("disk {n} has no State (answer cut short?)"))
        })?;
        let healthy = HEALTHY.contains(&state.as_str()) && !self.is_error;
        // A partition in error on a disk that still says Success: show why
        // the disk counts as unhealthy.
        let status = if self.is_error && HEALTHY.contains(&state.as_str()) {
            "IsError".to_owned()
        } else {
            state
        };
        Ok(RecorderDisk {
            id: self.name.unwrap_or_else(|| n.to_string()),
            status,
            healthy,
            capacity_bytes: self.total,
            free_bytes: self.total.zip(self.used).map(|(t, u)| t.saturating_sub(u)),
        })
    }
}

/// One `findNextFile` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundPage {
    /// `found=N`: files in this answer; 0 when the list is exhausted.
    pub found: usize,
    /// The latest `EndTime` among them, on the device's wall clock.
    pub newest: Option<DateTime>,
}

/// `found=N` then `items[i].EndTime` (and more) for i in 0..N. Every one of
/// the N files must carry a readable `EndTime`; one missing or cut off
/// means the answer was truncated, which is an error, not fewer files.
pub fn parse_found(kv: &[(String, String)]) -> Result<FoundPage, ProbeError> {
    let text = need(kv, "found")?;
    let found: usize = text
        .parse()
        .map_err(|_| ProbeError::Parse(format!("found=`{text}`")))?;
    let mut newest = None;
    for i in 0..found {
        let key = format!("items[{i}].EndTime");
        let end = get(kv, &key).and_then(civil).ok_or_else(|| {
            ProbeError::Parse(format!(
                "findNextFile said found={found} but `{key}` is missing or unreadable (answer cut short?)"
            ))
        })?;
        newest = newest.max(Some(end));
    }
    Ok(FoundPage { found, newest })
}
