//! Pure parsers for the ISAPI access-control answers: the `AcsEvent` search
//! page and `AcsWorkStatus` (JSON, `docs/vendors/hikvision-access.md` §1.2
//! and §3). Body text in, typed data out, no I/O.
//!
//! Numbers are read as numbers or as digit strings: the guide's skeletons
//! write `numOfMatches` as `""`, and firmware differ. A list item that lacks
//! what an event needs is counted, not guessed.

use ronda_wire::DoorState;
use serde_json::{Map, Value};

use crate::probe::ProbeError;

/// Most doors read from one work status: a DS-K26xx panel has four.
pub const MAX_DOORS: usize = 64;
/// Longest `time` text kept from an event.
const MAX_TIME_LEN: usize = 40;

/// `responseStatusStrg` of a search page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum More {
    /// `MORE`: more results remain after this page.
    More,
    /// `OK`: the search is complete.
    Done,
    /// `NO MATCH`: nothing matched.
    NoMatch,
}

/// One page of `AcsEvent`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub status: More,
    pub events: Vec<RawEvent>,
    /// `InfoList` items without `major`, `minor` or `time`.
    pub malformed: usize,
}

/// One `InfoList` item, as far as Ronda reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub major: u32,
    pub minor: u32,
    /// As the device wrote it; read by `recorders::hikvision::stated`.
    pub time: String,
    pub serial: Option<u64>,
    pub door: Option<u32>,
    /// `employeeNoString`, else `employeeNo`; not yet checked as an id.
    pub employee: Option<String>,
}

/// `POST /ISAPI/AccessControl/AcsEvent?format=json`: a page, or the
/// device's refusal (`JSON_ResponseStatus`) as [`ProbeError::Device`].
pub fn parse_events(body: &str) -> Result<Page, ProbeError> {
    let root: Value = serde_json::from_str(body.trim())
        .map_err(|e| ProbeError::parse(format!("bad JSON: {e}")))?;
    let Some(page) = root.get("AcsEvent").and_then(Value::as_object) else {
        return Err(refusal(&root).unwrap_or_else(|| ProbeError::parse("no `AcsEvent` object")));
    };
    let status = match page.get("responseStatusStrg").and_then(Value::as_str) {
        Some("MORE") => More::More,
        Some("OK") => More::Done,
        Some("NO MATCH") => More::NoMatch,
        other => {
            return Err(ProbeError::parse(format!(
                "responseStatusStrg is {}",
                other.map_or("missing".to_owned(), |s| format!(
                    "`{}`",
                    crate::http::snippet(s)
                ))
            )))
        }
    };
    let list = match page.get("InfoList") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => return Err(ProbeError::parse("InfoList is not a list")),
    };
    let mut events = Vec::with_capacity(list.len());
    let mut malformed = 0;
    for item in list {
        match item.as_object().and_then(event) {
            Some(e) => events.push(e),
            None => malformed += 1,
        }
    }
    Ok(Page {
        status,
        events,
        malformed,
    })
}

fn event(item: &Map<String, Value>) -> Option<RawEvent> {
    let time = item.get("time")?.as_str()?.trim();
    if time.is_empty() || time.len() > MAX_TIME_LEN {
        return None;
    }
    let employee = ["employeeNoString", "employeeNo"]
        .into_iter()
        .filter_map(|k| match item.get(k)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .next();
    Some(RawEvent {
        major: small(item.get("major")?)?,
        minor: small(item.get("minor")?)?,
        time: time.to_owned(),
        serial: item.get("serialNo").and_then(number),
        door: item.get("doorNo").and_then(small),
        employee,
    })
}

/// A non-negative integer given as a number or as digits.
pub fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn small(v: &Value) -> Option<u32> {
    number(v).and_then(|n| u32::try_from(n).ok())
}

/// `JSON_ResponseStatus`: what the device says when it refuses a request.
fn refusal(root: &Value) -> Option<ProbeError> {
    let code = root.get("statusCode")?;
    let say = |k: &str| {
        root.get(k)
            .and_then(Value::as_str)
            .map(crate::http::snippet)
            .unwrap_or_default()
    };
    Some(ProbeError::Device(format!(
        "device refused: statusCode {} {} {}",
        crate::http::snippet(&code.to_string()),
        say("statusString"),
        say("subStatusCode")
    )))
}

/// `GET /ISAPI/AccessControl/AcsWorkStatus?format=json`: each door's state,
/// by door number (from 1), `None` where the device does not say one.
///
/// `doorStatus` is the door's *mode* (2 remain unlocked, 3 remain locked);
/// in the other modes `magneticStatus`, the door contact, says whether it
/// is open (0 closed, 1 open; 2–4 are wiring alarms, no state).
pub fn parse_work_status(body: &str) -> Result<Vec<(u32, Option<DoorState>)>, ProbeError> {
    let root: Value = serde_json::from_str(body.trim())
        .map_err(|e| ProbeError::parse(format!("bad JSON: {e}")))?;
    let Some(status) = root.get("AcsWorkStatus").and_then(Value::as_object) else {
        return Err(
            refusal(&root).unwrap_or_else(|| ProbeError::parse("no `AcsWorkStatus` object"))
        );
    };
    let list = |k: &str| -> Vec<Option<u64>> {
        match status.get(k) {
            Some(Value::Array(a)) => a.iter().take(MAX_DOORS).map(number).collect(),
            _ => Vec::new(),
        }
    };
    let (mode, contact) = (list("doorStatus"), list("magneticStatus"));
    let doors = mode.len().max(contact.len());
    Ok((0..doors)
        .map(|i| {
            let by_mode = match mode.get(i).copied().flatten() {
                Some(2) => Some(DoorState::AlwaysOpen),
                Some(3) => Some(DoorState::AlwaysClosed),
                _ => None,
            };
            let by_contact = match contact.get(i).copied().flatten() {
                Some(0) => Some(DoorState::Closed),
                Some(1) => Some(DoorState::Open),
                _ => None,
            };
            // `i` is below MAX_DOORS.
            (i as u32 + 1, by_mode.or(by_contact))
        })
        .collect())
}

/// `GET /ISAPI/System/deviceInfo`: the model and serial number, when given.
pub fn parse_device_info(body: &str) -> Result<(Option<String>, Option<String>), ProbeError> {
    let doc = crate::xml::parse(body)?;
    let root = doc.root_element();
    let field = |k: &str| {
        crate::xml::text(root, k)
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 64)
            .map(str::to_owned)
    };
    Ok((field("model"), field("serialNumber")))
}
