//! ZKTeco PUSH text, with no network in sight: the query string, the
//! answers the agent gives, and the lines a device uploads, read as
//! `docs/vendors/zkteco-push.md` describes them.
//!
//! Every parser here takes whatever bytes a device (or anyone on the LAN)
//! sends and answers with a value or a count of what it could not read;
//! nothing a device sent is kept except the PIN of a record, and only when
//! it is a user id.

mod keyed;
mod query;
mod records;

use std::collections::BTreeSet;

use jiff::civil::DateTime;
use ronda_wire::{DoorEventKind, DoorState};

pub use keyed::{parse_keyed, parse_rtstate, rtlog_kind, RtState};
pub use query::{options_reply, push_reply, registry_reply, time_zone, valid_stamp, Query, Stamps};
pub use records::{parse_attlog, parse_oplog};

/// Longest line read from an upload; a longer one is counted, never read.
/// The longest real record (an rtlog line with its extra keys) is about
/// 200 bytes; user photos and templates are longer but are dropped anyway.
pub const MAX_LINE: usize = 4096;
/// Most non-empty lines in one upload. The shortest real ATTLOG record is
/// about 33 bytes, so a real body under the 1 MiB cap stays below this; a
/// body over it is a flood of junk lines, refused whole.
pub const MAX_LINES: usize = 32_768;
/// Distinct unknown event codes remembered from one upload, for the log.
const MAX_CODES: usize = 16;

/// One record a device uploaded, read but not yet placed in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The event it is, when it is one Ronda reports.
    pub kind: Option<DoorEventKind>,
    /// The door's state it reports (rtlog 200 and 201).
    pub state: Option<DoorState>,
    /// The device's user id, only when it is one (`ronda_wire::is_user_id`).
    pub who: Option<String>,
    /// The device's wall-clock time, without an offset.
    pub time: DateTime,
    pub door_no: Option<u32>,
    /// The vendor's code: `ATTLOG`, `OPERLOG 3/54`, `rtlog 102`.
    pub code: String,
}

/// What one line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Record(Record),
    /// Known, and not a door event: a user or biometric line, an
    /// informational code. Counted, never logged.
    Ignored,
    /// An event code the vendor document does not map.
    Unmapped(u32),
    /// Unreadable: too long, a bad time, a missing field.
    Bad,
}

/// The table an upload is for (`table=` in the query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    AttLog,
    OperLog,
    RtLog,
    RtState,
    /// Anything else (`options`, `ATTPHOTO`, `tabledata`, ...): accepted,
    /// not read.
    Other,
}

impl Table {
    pub fn parse(name: &str) -> Table {
        match name.to_ascii_lowercase().as_str() {
            "attlog" => Table::AttLog,
            "operlog" => Table::OperLog,
            "rtlog" => Table::RtLog,
            "rtstate" => Table::RtState,
            _ => Table::Other,
        }
    }

    /// Whether the table's uploads carry a `Stamp` the agent keeps as the
    /// device's cursor [ATT §6].
    pub fn stamped(self) -> bool {
        matches!(self, Table::AttLog | Table::OperLog)
    }
}

/// What one upload holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Non-empty lines: the `n` of the `OK:<n>` answer [ATT 11.2].
    pub lines: usize,
    pub records: Vec<Record>,
    pub states: Vec<RtState>,
    pub ignored: usize,
    pub unmapped: usize,
    /// Some of the unmapped codes, for the log.
    pub unmapped_codes: BTreeSet<u32>,
    pub bad: usize,
}

/// An upload with more lines than [`MAX_LINES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than {MAX_LINES} lines in one upload")]
pub struct TooManyLines;

/// Read an upload for `table`, line by line (LF or CRLF; empty lines
/// skipped [ZPS]). Bytes that are not UTF-8 read as U+FFFD.
pub fn parse_upload(table: Table, body: &[u8]) -> Result<Upload, TooManyLines> {
    let mut up = Upload::default();
    if table == Table::Other {
        return Ok(up);
    }
    for raw in body.split(|b| *b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        up.lines += 1;
        if up.lines > MAX_LINES {
            return Err(TooManyLines);
        }
        if raw.len() > MAX_LINE {
            up.bad += 1;
            continue;
        }
        let line = String::from_utf8_lossy(raw);
        if table == Table::RtState {
            match parse_rtstate(&line) {
                Some(s) => up.states.push(s),
                None => up.bad += 1,
            }
            continue;
        }
        let entry = match table {
            Table::AttLog => parse_attlog(&line),
            Table::OperLog => parse_oplog(&line),
            _ => parse_keyed(&line),
        };
        up.add(entry);
    }
    Ok(up)
}

impl Upload {
    fn add(&mut self, entry: Entry) {
        match entry {
            Entry::Record(r) => self.records.push(r),
            Entry::Ignored => self.ignored += 1,
            Entry::Unmapped(code) => {
                self.unmapped += 1;
                if self.unmapped_codes.len() < MAX_CODES {
                    self.unmapped_codes.insert(code);
                }
            }
            Entry::Bad => self.bad += 1,
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS`, the device's local wall clock [ATT 11.2, 11.4];
/// nothing else, so that a time is never half-read.
pub fn local_time(text: &str) -> Option<DateTime> {
    let b = text.trim().as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i16> {
        let digits = &b[from..to];
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let date = jiff::civil::Date::new(y, i8::try_from(mo).ok()?, i8::try_from(d).ok()?).ok()?;
    let time = jiff::civil::Time::new(
        i8::try_from(h).ok()?,
        i8::try_from(mi).ok()?,
        i8::try_from(s).ok()?,
        0,
    )
    .ok()?;
    Some(date.to_datetime(time))
}

/// A device's user id from a PIN field: only an id (`is_user_id`), and not
/// `0`, which these devices write where no person is involved.
pub fn who(pin: &str) -> Option<String> {
    let pin = pin.trim();
    (ronda_wire::is_user_id(pin) && pin != "0").then(|| pin.to_owned())
}

/// Text a device sent, made safe for a log line: at most 64 characters,
/// everything outside printable ASCII escaped.
pub fn shown(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(64)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
