//! Pure parsers for the Dahua access-control CGI answers
//! (`docs/vendors/dahua-access.md`): the `AccessControlCardRec` records of
//! `recordFinder.cgi` (§1) and `getDoorStatus` (§3). Body text in, typed
//! data out, no I/O. `key=value` lines are read by the recorder adapter's
//! `parse_kv`, which also turns a bare `Error` answer into the device's word.

use std::collections::BTreeMap;

use jiff::tz::Offset;
use jiff::Timestamp;
use ronda_wire::DoorState;

use crate::probe::ProbeError;
use crate::recorders::dahua::{civil, get, parse_kv};

/// Records read from one answer, at most: a device asked for a page of
/// 100 that sends more is cut here.
pub const MAX_RECORDS: usize = 1000;
/// Longest field value kept.
const MAX_VALUE: usize = 64;

/// One `find` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// `found`: the rows in this answer, as the device counts them.
    pub found: Option<u64>,
    /// `totalCount`: the matches in all, where the device says.
    pub total: Option<u64>,
    pub records: Vec<Record>,
}

/// One `records[i]`, as far as Ronda reads it; values not yet checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub rec_no: Option<u64>,
    pub create_time: Option<String>,
    pub card_no: Option<String>,
    pub user_id: Option<String>,
    pub door: Option<u32>,
    pub method: Option<u32>,
    /// `Status`: `1`/`true` granted, `0`/`false` refused; else `None`.
    pub status: Option<bool>,
}

/// `recordFinder.cgi?action=find&name=AccessControlCardRec`.
pub fn parse_records(body: &str) -> Result<Found, ProbeError> {
    let kv = parse_kv(body)?;
    let found = get(&kv, "found").and_then(|v| v.parse().ok());
    let mut rows: BTreeMap<usize, Record> = BTreeMap::new();
    for (k, v) in &kv {
        let Some((i, field)) = record_key(k) else {
            continue;
        };
        if v.is_empty() || v.len() > MAX_VALUE {
            continue;
        }
        if !rows.contains_key(&i) && rows.len() >= MAX_RECORDS {
            continue;
        }
        let r = rows.entry(i).or_default();
        let text = || Some(v.clone());
        match field {
            "RecNo" => r.rec_no = v.parse().ok(),
            "CreateTime" => r.create_time = text(),
            "CardNo" => r.card_no = text(),
            "UserID" => r.user_id = text(),
            "Door" => r.door = v.parse().ok(),
            "Method" => r.method = v.parse().ok(),
            "Status" => {
                r.status = match v.as_str() {
                    "1" | "true" => Some(true),
                    "0" | "false" => Some(false),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    if found.is_none() && rows.is_empty() {
        return Err(ProbeError::parse("no `found` and no records"));
    }
    Ok(Found {
        found,
        total: get(&kv, "totalCount").and_then(|v| v.parse().ok()),
        records: rows.into_values().collect(),
    })
}

/// `records[12].RecNo` → `(12, "RecNo")`.
fn record_key(k: &str) -> Option<(usize, &str)> {
    let rest = k.strip_prefix("records[")?;
    let (i, field) = rest.split_once("].")?;
    Some((i.parse().ok()?, field))
}

/// A record's `CreateTime`: epoch seconds (read as UTC, as the one tested
/// third-party client does), or a device-local `YYYY-MM-DD HH:MM:SS` read
/// in `offset`. `None` when neither reading applies.
pub fn record_time(text: &str, offset: Option<Offset>) -> Option<Timestamp> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Timestamp::from_second(text.parse().ok()?).ok();
    }
    offset?.to_timestamp(civil(text)?).ok()
}

/// What `getDoorStatus` said: a state, or a word Ronda does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    State(DoorState),
    Unknown(String),
}

/// `accessControl.cgi?action=getDoorStatus&channel=N`: `Info.status`.
pub fn parse_door_status(body: &str) -> Result<Said, ProbeError> {
    let kv = parse_kv(body)?;
    let word = get(&kv, "Info.status")
        .ok_or_else(|| ProbeError::parse("no `Info.status` in the answer"))?;
    Ok(match word {
        "Open" => Said::State(DoorState::Open),
        "Close" => Said::State(DoorState::Closed),
        other => Said::Unknown(crate::http::snippet(other).chars().take(32).collect()),
    })
}

/// `magicBox.cgi?action=getSystemInfo`: model and serial, when given.
pub fn parse_system_info(body: &str) -> Result<(Option<String>, Option<String>), ProbeError> {
    let kv = parse_kv(body)?;
    let serial = get(&kv, "serialNumber")
        .filter(|v| !v.is_empty() && v.len() <= MAX_VALUE)
        .map(str::to_owned);
    let model = crate::recorders::dahua::parse_model(&kv).filter(|m| m.len() <= MAX_VALUE);
    Ok((model, serial))
}
