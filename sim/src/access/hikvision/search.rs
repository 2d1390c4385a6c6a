//! The access terminal's event search, `POST /ISAPI/AccessControl/AcsEvent?format=json`
//! (docs/vendors/hikvision-access.md §1, from [ACP] §6.1.2–6.1.3 and [HPP]
//! A.5): read the `AcsEventCond`, pick the matching events of the log,
//! answer one page of `AcsEvent`.
//!
//! `maxResults` above the device's capability maximum is cut to it without
//! a word, as [ACP] p.180 says devices do. The fields the doc marks
//! required (`searchID`, `searchResultPosition`, `maxResults`, `major`,
//! `minor`) are required here: without one the device answers 400.

use jiff::tz::Offset;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::access::{AccessState, Happening, Logged};
use crate::hikvision::numeric;

/// Why a search request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CondError {
    #[error("not an AcsEventCond: {0}")]
    Json(String),
    #[error("`{0}` is required")]
    Missing(&'static str),
    #[error("`{0}` is out of range")]
    Range(&'static str),
    #[error("`{0}` is not a time")]
    Time(&'static str),
}

#[derive(Deserialize)]
struct Wrapper {
    #[serde(rename = "AcsEventCond")]
    cond: RawCond,
}

/// The request as sent; unknown fields (`cardNo`, `name`, `picEnable`, …)
/// are taken and not used, as the simulated device has no cards or photos.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCond {
    #[serde(rename = "searchID")]
    search_id: Option<String>,
    search_result_position: Option<i64>,
    max_results: Option<i64>,
    major: Option<i64>,
    minor: Option<i64>,
    start_time: Option<String>,
    end_time: Option<String>,
    begin_serial_no: Option<i64>,
    end_serial_no: Option<i64>,
    employee_no_string: Option<String>,
    employee_no: Option<String>,
    event_attribute: Option<String>,
    time_reverse_order: Option<bool>,
}

/// A checked search condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub search_id: String,
    pub position: usize,
    /// As asked; the page is cut to the device's maximum.
    pub max_results: usize,
    /// 0: any.
    pub major: u32,
    /// 0: any.
    pub minor: u32,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub begin_serial: Option<u64>,
    pub end_serial: Option<u64>,
    pub employee: Option<String>,
    /// `attendance` (valid authentications) or `other`.
    pub attendance: Option<bool>,
    pub newest_first: bool,
}

fn count(v: Option<i64>, name: &'static str) -> Result<usize, CondError> {
    let v = v.ok_or(CondError::Missing(name))?;
    usize::try_from(v).map_err(|_| CondError::Range(name))
}

fn code(v: Option<i64>, name: &'static str) -> Result<u32, CondError> {
    let v = v.ok_or(CondError::Missing(name))?;
    u32::try_from(v).map_err(|_| CondError::Range(name))
}

fn serial(v: Option<i64>, name: &'static str) -> Result<Option<u64>, CondError> {
    v.map(|n| u64::try_from(n).map_err(|_| CondError::Range(name)))
        .transpose()
}

/// A condition time: with its offset as the doc's examples write it, or
/// without one, read on the device's own wall clock.
fn time(
    v: Option<&str>,
    name: &'static str,
    offset: Offset,
) -> Result<Option<Timestamp>, CondError> {
    let Some(text) = v else { return Ok(None) };
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(Some(t));
    }
    let civil: jiff::civil::DateTime = text.parse().map_err(|_| CondError::Time(name))?;
    offset
        .to_timestamp(civil)
        .map(Some)
        .map_err(|_| CondError::Time(name))
}

impl Cond {
    /// Read a request body; `offset` is the device's wall clock, for times
    /// given without one.
    pub fn parse(body: &str, offset: Offset) -> Result<Cond, CondError> {
        let w: Wrapper = serde_json::from_str(body).map_err(|e| CondError::Json(e.to_string()))?;
        let r = w.cond;
        let max_results = count(r.max_results, "maxResults")?;
        if max_results == 0 {
            return Err(CondError::Range("maxResults"));
        }
        let attendance = match r.event_attribute.as_deref() {
            None => None,
            Some("attendance") => Some(true),
            Some("other") => Some(false),
            Some(_) => return Err(CondError::Range("eventAttribute")),
        };
        Ok(Cond {
            search_id: r.search_id.ok_or(CondError::Missing("searchID"))?,
            position: count(r.search_result_position, "searchResultPosition")?,
            max_results,
            major: code(r.major, "major")?,
            minor: code(r.minor, "minor")?,
            from: time(r.start_time.as_deref(), "startTime", offset)?,
            to: time(r.end_time.as_deref(), "endTime", offset)?,
            begin_serial: serial(r.begin_serial_no, "beginSerialNo")?,
            end_serial: serial(r.end_serial_no, "endSerialNo")?,
            employee: r.employee_no_string.or(r.employee_no),
            attendance,
            newest_first: r.time_reverse_order.unwrap_or(false),
        })
    }
}

/// The (major, minor) pair the device logs for `what`, from the doc's §2
/// table. A refusal is `MINOR_CARD_NO_RIGHT` for a known user,
/// `MINOR_EMPLOYEE_NO_NOT_EXIST` for an unknown id and
/// `MINOR_FACE_RECOGNIZE_FAIL` when nobody was recognised.
pub fn codes(e: &Logged, a: &AccessState) -> (u32, u32) {
    match e.what {
        Happening::Granted => (5, 75),
        Happening::Denied => match &e.user {
            Some(u) if a.people.contains_key(u) => (5, 6),
            Some(_) => (5, 152),
            None => (5, 80),
        },
        Happening::DoorOpen => (5, 25),
        Happening::DoorClosed => (5, 26),
        Happening::Forced => (5, 27),
        Happening::HeldOpen => (5, 28),
        Happening::RemoteOpen => (3, 1024),
        Happening::Tamper => (1, 1028),
        Happening::TamperRestored => (1, 1029),
        Happening::MainsLost => (2, 1029),
        Happening::MainsRestored => (2, 1030),
        Happening::DeviceStart => (2, 1024),
    }
}

fn matches(c: &Cond, e: &Logged, a: &AccessState) -> bool {
    let (major, minor) = codes(e, a);
    let window = a.serial_window;
    (c.major == 0 || c.major == major)
        && (c.minor == 0 || c.minor == minor)
        && c.from.is_none_or(|f| e.at >= f)
        && c.to.is_none_or(|t| e.at <= t)
        && (!window || c.begin_serial.is_none_or(|b| e.serial >= b))
        && (!window || c.end_serial.is_none_or(|b| e.serial <= b))
        && c.employee
            .as_ref()
            .is_none_or(|id| e.user.as_ref() == Some(id))
        && c.attendance
            .is_none_or(|att| att == (e.what == Happening::Granted))
}

/// One page of the search.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub total: usize,
    pub events: Vec<Logged>,
}

impl Page {
    /// `MORE` while matches remain past this page, `NO MATCH` for an empty
    /// page, `OK` for the last one.
    pub fn status(&self, position: usize) -> &'static str {
        if self.events.is_empty() {
            "NO MATCH"
        } else if position + self.events.len() < self.total {
            "MORE"
        } else {
            "OK"
        }
    }
}

/// The page of `c`: matches oldest first (newest first when asked), from
/// `position`, at most the smaller of `maxResults` and the device maximum.
pub fn page(c: &Cond, a: &AccessState) -> Page {
    let mut all: Vec<&Logged> = a.log.iter().filter(|e| matches(c, e, a)).collect();
    if c.newest_first {
        all.reverse();
    }
    let size = c.max_results.min(a.max_results);
    Page {
        total: all.len(),
        events: all
            .into_iter()
            .skip(c.position)
            .take(size)
            .cloned()
            .collect(),
    }
}

/// `2025-12-25T09:14:02+07:00`: the device's wall clock and its offset.
pub fn device_time(t: Timestamp, offset: Offset) -> String {
    let wall = offset.to_datetime(t).strftime("%Y-%m-%dT%H:%M:%S");
    format!("{wall}{}", numeric(offset))
}

/// One `InfoList` entry, with the fields of the doc's example (§1.3).
pub fn info(e: &Logged, a: &AccessState, offset: Offset) -> Value {
    let (major, minor) = codes(e, a);
    let mut m = Map::new();
    m.insert("major".into(), json!(major));
    m.insert("minor".into(), json!(minor));
    m.insert("time".into(), json!(device_time(e.at, offset)));
    m.insert("serialNo".into(), json!(e.serial));
    if let Some(user) = &e.user {
        m.insert("employeeNoString".into(), json!(user));
        if let Some(name) = a.people.get(user) {
            m.insert("name".into(), json!(name));
        }
    }
    if let Some(door) = e.door {
        m.insert("doorNo".into(), json!(door));
    }
    if matches!(e.what, Happening::Granted | Happening::Denied) {
        m.insert("cardReaderNo".into(), json!(1));
        m.insert("currentVerifyMode".into(), json!("face"));
    }
    if e.what == Happening::Granted {
        m.insert("cardType".into(), json!(1));
        m.insert("userType".into(), json!("normal"));
        m.insert("attendanceStatus".into(), json!("undefined"));
    }
    Value::Object(m)
}

/// The `AcsEvent` answer. An empty page carries no `InfoList`, as the
/// doc's empty-page example shows it (whether some firmware sends `[]`
/// instead is not confirmed).
pub fn answer(c: &Cond, p: &Page, a: &AccessState, offset: Offset) -> Value {
    let mut m = Map::new();
    m.insert("searchID".into(), json!(c.search_id));
    m.insert("responseStatusStrg".into(), json!(p.status(c.position)));
    m.insert("numOfMatches".into(), json!(p.events.len()));
    m.insert("totalMatches".into(), json!(p.total));
    if !p.events.is_empty() {
        let list: Vec<Value> = p.events.iter().map(|e| info(e, a, offset)).collect();
        m.insert("InfoList".into(), Value::Array(list));
    }
    json!({ "AcsEvent": Value::Object(m) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIB: Offset = Offset::constant(7);

    fn cond(extra: &str) -> String {
        format!(
            r#"{{"AcsEventCond":{{"searchID":"t","searchResultPosition":0,"maxResults":30,"major":0,"minor":0{extra}}}}}"#
        )
    }

    #[test]
    fn the_docs_example_request_is_read() {
        let body = r#"{"AcsEventCond":{"searchID":"ronda-7f3a","searchResultPosition":0,"maxResults":30,
 "major":0,"minor":0,"startTime":"2025-12-24T00:00:00+01:00","endTime":"2025-12-27T23:59:59+01:00",
 "timeReverseOrder":false}}"#;
        let c = Cond::parse(body, WIB).unwrap();
        assert_eq!(c.search_id, "ronda-7f3a");
        assert_eq!(c.from, Some("2025-12-23T23:00:00Z".parse().unwrap()));
        assert!(!c.newest_first);
    }

    #[test]
    fn required_fields_and_ranges_are_checked() {
        let no_major = r#"{"AcsEventCond":{"searchID":"t","searchResultPosition":0,"maxResults":30,"minor":0}}"#;
        assert_eq!(Cond::parse(no_major, WIB), Err(CondError::Missing("major")));
        let negative = cond(r#","beginSerialNo":-1"#);
        assert_eq!(
            Cond::parse(&negative, WIB),
            Err(CondError::Range("beginSerialNo"))
        );
        assert!(matches!(
            Cond::parse(&cond(r#","startTime":"yesterday""#), WIB),
            Err(CondError::Time("startTime"))
        ));
        // A time without an offset is the device's wall clock.
        let local = Cond::parse(&cond(r#","startTime":"2025-12-24T07:00:00""#), WIB).unwrap();
        assert_eq!(local.from, Some("2025-12-24T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn times_are_written_with_the_device_offset() {
        let t: Timestamp = "2025-12-25T02:14:02Z".parse().unwrap();
        assert_eq!(device_time(t, WIB), "2025-12-25T09:14:02+07:00");
    }
}
