//! The ZKTeco PUSH texts the simulated device writes and reads, from
//! docs/vendors/zkteco-push.md: the handshake's options (§1), the upload
//! lines (`rtlog` §3.1, `ATTLOG` §2.1, `OPLOG` §2.2), the server's answers
//! (§2.5) and its queued commands (§4). Pure functions, so that each is
//! tested and fuzzed on its own.

use std::collections::BTreeMap;

use jiff::tz::Offset;
use jiff::Timestamp;

use crate::access::{AccessState, Dialect, Happening, Logged};

/// As the doc's example requests carry it (§0).
pub const USER_AGENT: &str = "iClock Proxy/1.09";
/// Longest server answer the device reads; the rest is dropped.
pub const MAX_ANSWER: usize = 64 * 1024;
/// Records per upload. The doc gives no number; a device that has to send
/// its whole log again sends it in several uploads.
pub const MAX_BATCH: usize = 100;
/// Commands taken from one `getrequest` answer; the rest are ignored.
pub const MAX_COMMANDS: usize = 32;
/// `language=73`: Indonesian (§1, App.2).
pub const LANGUAGE: u32 = 73;

/// Why a handshake answer is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("the first line is not `GET OPTION FROM: <SN>`")]
    NoHeader,
    #[error("the answer is for serial `{0}`")]
    OtherSerial(String),
}

/// `GET /iclock/cdata?SN=…&options=all&pushver=…&language=73` (§1).
/// Attendance firmware says 2.4.1; access firmware the security
/// protocol's 3.1.2 (§3, [SEC] title).
pub fn handshake_path(sn: &str, dialect: Dialect) -> String {
    let pushver = match dialect {
        Dialect::Access => "3.1.2",
        Dialect::Attendance => "2.4.1",
    };
    format!("/iclock/cdata?SN={sn}&options=all&pushver={pushver}&language={LANGUAGE}")
}

/// The handshake answer's options: the first non-empty line must be
/// `GET OPTION FROM: <SN>` for this device, then `key=value` lines (LF or
/// CRLF); lines without `=` are skipped.
pub fn parse_options(body: &str, sn: &str) -> Result<BTreeMap<String, String>, OptionsError> {
    let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().ok_or(OptionsError::NoHeader)?;
    let to = first
        .strip_prefix("GET OPTION FROM:")
        .ok_or(OptionsError::NoHeader)?
        .trim();
    if to != sn {
        return Err(OptionsError::OtherSerial(to.chars().take(40).collect()));
    }
    Ok(lines
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.trim().is_empty())
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect())
}

/// `TimeZone`: −12 < TZ < 12 is hours, |TZ| > 60 minutes (§1); anything
/// else is no zone.
pub fn time_zone(v: &str) -> Option<Offset> {
    let tz: i32 = v.trim().parse().ok()?;
    let secs = match tz.unsigned_abs() {
        0..=11 => tz * 3600,
        61..=840 => tz * 60,
        _ => return None,
    };
    Offset::from_seconds(secs).ok()
}

/// `Delay`, `ErrorDelay`: whole seconds, kept within 1 s and a day so that
/// a server cannot make the device spin or fall silent.
pub fn seconds(v: &str) -> Option<u64> {
    v.trim().parse::<u64>().ok().map(|s| s.clamp(1, 86_400))
}

/// Which attendance tables upload, from `TransFlag` (§1): format 2
/// `TransData AttLog⇥OpLog…`, or format 1 bits (bit 1 ATTLOG, bit 2
/// OPERLOG). Absent or unreadable: both.
pub fn trans_tables(flag: Option<&str>) -> (bool, bool) {
    let Some(flag) = flag.map(str::trim) else {
        return (true, true);
    };
    if let Some(names) = flag.strip_prefix("TransData") {
        let has = |n: &str| names.split_whitespace().any(|w| w.eq_ignore_ascii_case(n));
        return (has("AttLog"), has("OpLog"));
    }
    let bits = flag.as_bytes();
    if !bits.is_empty() && bits.iter().all(|b| *b == b'0' || *b == b'1') {
        return (bits[0] == b'1', bits.get(1) == Some(&b'1'));
    }
    (true, true)
}

/// Whether the server took an upload: a 2xx answer whose body starts with
/// `OK` (`OK`, `OK:3`, `OK: 3`; §2.5). Anything else is sent again.
pub fn accepted(status: u16, body: &str) -> bool {
    (200..300).contains(&status) && body.trim_start().starts_with("OK")
}

/// A command the server queued: `C:<id>:<command>` (§4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub id: String,
    pub text: String,
}

impl Command {
    /// The command's name for the result line: `CHECK`, `DATA`, `AC_UNLOCK`.
    pub fn name(&self) -> &str {
        self.text.split_whitespace().next().unwrap_or("")
    }
}

/// The commands of a `getrequest` answer (`OK` when idle): split on the
/// first two `:` only; ids of 1 to 16 letters and digits, as the doc says
/// the server chooses them; other lines are skipped.
pub fn commands(body: &str) -> Vec<Command> {
    body.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("C:")?;
            let (id, text) = rest.split_once(':')?;
            let id_ok =
                !id.is_empty() && id.len() <= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric());
            id_ok.then(|| Command {
                id: id.to_owned(),
                text: text.trim().to_owned(),
            })
        })
        .take(MAX_COMMANDS)
        .collect()
}

/// The device's local wall clock, no offset (§5): `2026-08-14 15:28:03`.
pub fn local(t: Timestamp, offset: Offset) -> String {
    offset
        .to_datetime(t)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The rtlog `event` code (§3.1) for `e`; none for what the doc has no
/// code for (mains lost or back, a tamper alarm ending).
pub fn rtlog_event(e: &Logged, a: &AccessState) -> Option<u32> {
    Some(match e.what {
        Happening::Granted => 0,
        Happening::Denied => match &e.user {
            Some(u) if a.people.contains_key(u) => 23,
            _ => 27,
        },
        Happening::DoorOpen => 200,
        Happening::DoorClosed => 201,
        Happening::Forced => 102,
        Happening::HeldOpen => 28,
        Happening::RemoteOpen => 8,
        Happening::Tamper => 100,
        Happening::DeviceStart => 206,
        Happening::TamperRestored | Happening::MainsLost | Happening::MainsRestored => return None,
    })
}

/// One `table=rtlog` line (§3.1), keys in the order the doc's example has
/// them. Nobody identified is `pin=0`; a device event is `eventaddr=0`;
/// `inoutstatus` is 0 (in); `verifytype` 15 (face) for a person, 200
/// (other) otherwise.
pub fn rtlog_line(e: &Logged, a: &AccessState, offset: Offset) -> Option<String> {
    let event = rtlog_event(e, a)?;
    let verify = if e.user.is_some() { 15 } else { 200 };
    Some(format!(
        "time={}\tpin={}\tcardno=0\teventaddr={}\tevent={event}\tinoutstatus=0\tverifytype={verify}\tindex={}",
        local(e.at, offset),
        e.user.as_deref().unwrap_or("0"),
        e.door.unwrap_or(0),
        e.serial
    ))
}

/// One `table=ATTLOG` line (§2.1) for a grant: PIN, local time, status 0,
/// verify 15 (face), workcode 0, two reserved zeros.
pub fn attlog_line(e: &Logged, offset: Offset) -> Option<String> {
    let pin = e.user.as_deref().filter(|_| e.what == Happening::Granted)?;
    Some(format!("{pin}\t{}\t0\t15\t0\t0\t0", local(e.at, offset)))
}

/// One `OPLOG` line (§2.2, App.3–5) for what the attendance firmware logs
/// as an operation: op 3 (alarm) with the App.5 reason in object 2, as
/// [ATT] App.4 places it; op 2 (verification failed) with the PIN in
/// object 1; op 29 (unlock); op 0 (power on). Operator 0.
pub fn oplog_line(e: &Logged, offset: Offset) -> Option<String> {
    let (op, obj1, obj2) = match e.what {
        Happening::Forced => (3, "0".to_owned(), 54),
        Happening::Tamper => (3, "0".to_owned(), 55),
        Happening::DoorOpen => (3, "0".to_owned(), 51),
        Happening::DoorClosed => (3, "0".to_owned(), 50),
        Happening::Denied => (2, e.user.clone().unwrap_or_else(|| "0".into()), 0),
        Happening::RemoteOpen => (29, "0".to_owned(), 0),
        Happening::DeviceStart => (0, "0".to_owned(), 0),
        _ => return None,
    };
    Some(format!(
        "OPLOG {op}\t0\t{}\t{obj1}\t{obj2}\t0\t0",
        local(e.at, offset)
    ))
}

/// The tables a dialect uploads, and the line of `e` in each.
pub fn line(table: &str, e: &Logged, a: &AccessState, offset: Offset) -> Option<String> {
    match table {
        "rtlog" => rtlog_line(e, a, offset),
        "ATTLOG" => attlog_line(e, offset),
        "OPERLOG" => oplog_line(e, offset),
        _ => None,
    }
}

/// `POST /iclock/cdata?SN=…&table=…` (`&Stamp=` for the attendance tables:
/// the serial of the batch's last record).
pub fn upload_path(sn: &str, table: &str, last: u64) -> String {
    if table == "rtlog" {
        format!("/iclock/cdata?SN={sn}&table=rtlog")
    } else {
        format!("/iclock/cdata?SN={sn}&table={table}&Stamp={last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handshake_answer_is_read() {
        let body = "GET OPTION FROM: CKJM201960012\r\nATTLOGStamp=None\r\nErrorDelay=30\r\nDelay=10\r\nTransFlag=TransData AttLog\tOpLog\r\nTimeZone=7\r\nRealtime=1\r\n";
        let o = parse_options(body, "CKJM201960012").unwrap();
        assert_eq!(o["Delay"], "10");
        assert_eq!(o["TransFlag"], "TransData AttLog\tOpLog");
        assert_eq!(time_zone(&o["TimeZone"]), Some(Offset::constant(7)));
        assert_eq!(
            parse_options(body, "OTHER1"),
            Err(OptionsError::OtherSerial("CKJM201960012".into()))
        );
        assert_eq!(parse_options("OK\n", "X"), Err(OptionsError::NoHeader));
    }

    #[test]
    fn time_zones_are_hours_or_minutes() {
        assert_eq!(time_zone("420"), Some(Offset::constant(7)));
        assert_eq!(time_zone("330").map(|o| o.seconds()), Some(19_800));
        assert_eq!(time_zone("-5"), Some(Offset::constant(-5)));
        for bad in ["30", "12", "+05:30", "", "9999"] {
            assert_eq!(time_zone(bad), None, "{bad}");
        }
    }

    #[test]
    fn trans_flag_both_formats() {
        assert_eq!(trans_tables(Some("TransData AttLog OpLog")), (true, true));
        assert_eq!(trans_tables(Some("TransData AttLog")), (true, false));
        assert_eq!(trans_tables(Some("0100000000")), (false, true));
        assert_eq!(trans_tables(None), (true, true));
    }

    #[test]
    fn answers_and_commands() {
        assert!(accepted(200, "OK"));
        assert!(accepted(200, "OK: 3"));
        assert!(!accepted(200, "ERROR"));
        assert!(!accepted(500, "OK"));
        let c = commands(
            "C:101:DATA QUERY ATTLOG StartTime=2026-01-01 00:00:00\nC:a:b:c\nC:bad id:x\nOK\n",
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].name(), "DATA");
        assert_eq!(c[1].text, "b:c");
    }
}
