//! The request's query string, and what the agent answers to the
//! handshakes: the attendance options block [ATT §6] and the access
//! dialect's registry and push replies [CS], [PSDK-S].

use jiff::tz::Offset;

/// Longest query string read; anything after it is ignored. A real one is
/// under 200 bytes (`SN`, `options`, `pushver`, `language`, `pushcommkey`).
const MAX_QUERY: usize = 2048;
/// Most `key=value` pairs read from a query.
const MAX_PAIRS: usize = 32;

/// `key=value` pairs of a query string, percent-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query: &str) -> Query {
        let query = match query.char_indices().nth(MAX_QUERY) {
            Some((end, _)) => &query[..end],
            None => query,
        };
        let pairs = query
            .split('&')
            .filter(|p| !p.is_empty())
            .take(MAX_PAIRS)
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        Query(pairs)
    }

    /// The first value of `key`, whatever its case (`SN`, `sn`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// `%XX` and `+` decoded; invalid escapes kept as written, and bytes that
/// are not UTF-8 read as U+FFFD.
fn decode(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let hex = |at: usize| b.get(at).and_then(|c| (*c as char).to_digit(16));
    let mut i = 0;
    while i < b.len() {
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                // Two hex digits are at most 255.
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
            (b'+', _, _) => out.push(b' '),
            (c, _, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A table's upload stamp, as the agent stores and echoes it: 1 to 32
/// ASCII letters and digits. The spec's stamps are numbers [ATT §6]; the
/// check keeps anything else out of the options block a device reads.
pub fn valid_stamp(stamp: &str) -> bool {
    !stamp.is_empty() && stamp.len() <= 32 && stamp.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Where a device's ATTLOG and OPERLOG uploads stand, kept as the device's
/// cursor in the outbox: `attlog:<stamp> operlog:<stamp>` (either part
/// absent when unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamps {
    pub attlog: Option<String>,
    pub operlog: Option<String>,
}

impl Stamps {
    /// Read a stored cursor; parts that do not read are dropped.
    pub fn parse(cursor: &str) -> Stamps {
        let mut s = Stamps::default();
        for part in cursor.split(' ') {
            match part.split_once(':') {
                Some(("attlog", v)) if valid_stamp(v) => s.attlog = Some(v.to_owned()),
                Some(("operlog", v)) if valid_stamp(v) => s.operlog = Some(v.to_owned()),
                _ => {}
            }
        }
        s
    }

    pub fn cursor(&self) -> Option<String> {
        let parts: Vec<String> = [("attlog", &self.attlog), ("operlog", &self.operlog)]
            .into_iter()
            .filter_map(|(name, v)| v.as_ref().map(|v| format!("{name}:{v}")))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// `TimeZone=` for an offset [ATT §6]: whole hours strictly between -12
/// and 12 as hours (`7` for WIB), anything else as minutes when more than
/// 60 of them (`330`, `-570`, `765`). An offset under an hour that is not
/// zero cannot be written either way: `None`.
pub fn time_zone(offset: Offset) -> Option<i32> {
    let seconds = offset.seconds();
    let minutes = seconds / 60;
    if seconds % 3600 == 0 && (-11..=11).contains(&(seconds / 3600)) {
        return Some(seconds / 3600);
    }
    (seconds % 60 == 0 && minutes.abs() > 60).then_some(minutes)
}

/// The answer to `GET /iclock/cdata?SN=..&options=all` [ATT §6]: first line
/// `GET OPTION FROM: <SN>`, then `key=value` lines separated by LF. The
/// stamps echo where the device's uploads stood when last kept (`None`, as
/// in the spec's example, when the agent has none). `TransFlag` asks only
/// for attendance and operation logs (format 2, names separated by TAB as
/// the spec writes them): no photos, no user or biometric data.
/// `PushProtVer` 2.3.0 is above the 2.2.14 the spec requires of a server
/// and below 2.4.0, whose key exchange (§7) the agent does not speak.
pub fn options_reply(sn: &str, stamps: &Stamps, offset: Option<Offset>) -> String {
    let stamp = |s: &Option<String>| s.clone().unwrap_or_else(|| "None".into());
    let mut lines = vec![
        format!("GET OPTION FROM: {sn}"),
        format!("ATTLOGStamp={}", stamp(&stamps.attlog)),
        format!("OPERLOGStamp={}", stamp(&stamps.operlog)),
        "ATTPHOTOStamp=None".into(),
        "ErrorDelay=30".into(),
        "Delay=10".into(),
        "TransTimes=00:00;14:05".into(),
        "TransInterval=1".into(),
        "TransFlag=TransData AttLog\tOpLog".into(),
    ];
    if let Some(tz) = offset.and_then(time_zone) {
        lines.push(format!("TimeZone={tz}"));
    }
    lines.extend(
        [
            "Realtime=1",
            "Encrypt=0",
            "ServerVer=2.3.0",
            "PushProtVer=2.3.0",
        ]
        .map(String::from),
    );
    let mut body = lines.join("\n");
    body.push('\n');
    body
}

/// The answer to `POST /iclock/registry` [PSDK-S], [CS]. The code is the
/// server's own session value, not a device credential (doc §6).
pub fn registry_reply(code: &str) -> String {
    format!("RegistryCode={code}\n")
}

/// The answer to `POST /iclock/push`: the parameter lines [CS] builds,
/// asking only for the event table (`Transaction`), never `User`.
pub fn push_reply(code: &str) -> String {
    let lines = [
        "registry=ok".to_owned(),
        format!("RegistryCode={code}"),
        "ServerVersion=3.1.2".into(),
        "ServerName=ADMS".into(),
        "PushProtVer=3.1.2".into(),
        "ErrorDelay=30".into(),
        "RequestDelay=10".into(),
        "TransTimes=00:00;14:05".into(),
        "TransInterval=1".into(),
        "TransTables=Transaction".into(),
        "Realtime=1".into(),
        format!("SessionID={code}"),
        "TimeoutSec=10".into(),
    ];
    let mut body = lines.join("\n");
    body.push('\n');
    body
}
