//! Attendance-dialect lines: ATTLOG records [ATT 11.2] and the OPERLOG
//! table's `OPLOG` lines [ATT 11.4, App.3–5]. The table's user, template
//! and photo lines are dropped unread (doc §2.3).

use ronda_wire::DoorEventKind;

use super::{keyed, local_time, who, Entry, Record};

/// `PIN⇥YYYY-MM-DD HH:MM:SS⇥Status⇥Verify⇥Workcode⇥Reserved1⇥Reserved2[⇥…]`
/// [ATT 11.2]: a verified punch, so `granted`. Status and verify codes are
/// not used. A line whose first field holds `=` is the rtlog-style variant
/// some firmware posts under `table=ATTLOG` (doc §2.1) and is read by key.
pub fn parse_attlog(line: &str) -> Entry {
    let mut fields = line.split('\t');
    let pin = fields.next().unwrap_or_default();
    if pin.contains('=') {
        return keyed::parse_keyed(line);
    }
    let Some(time) = fields.next().and_then(local_time) else {
        return Entry::Bad;
    };
    Entry::Record(Record {
        kind: Some(DoorEventKind::Granted),
        state: None,
        who: who(pin),
        time,
        door_no: None,
        code: "ATTLOG".into(),
    })
}

/// App.5 alarm reasons Ronda reports, and what each is. 50 (door closed)
/// and 65535 (alarm cancelled) are reasons too, but no event.
fn alarm(reason: u32) -> Option<Option<DoorEventKind>> {
    Some(match reason {
        51 | 53 => Some(DoorEventKind::Open),
        54 => Some(DoorEventKind::Forced),
        55 => Some(DoorEventKind::Tamper),
        58 => Some(DoorEventKind::Denied),
        50 | 65535 => None,
        _ => return None,
    })
}

/// `OPLOG␠OpType⇥Operator⇥OpTime⇥Obj1⇥Obj2⇥Obj3⇥Obj4` [ATT 11.4]. The
/// spec's example prints the separators as spaces, so a line without a
/// TAB is read by whitespace too (the time then spans two words).
///
/// Mapped: op 0 (power on) as `device_start`, op 2 (verification failed)
/// as `denied`, op 3 (alarm) by its reason (App.5). The reason is in
/// object 2 by App.4 and in object 1 by an older revision (doc §2.2): the
/// first object holding an App.5 reason is taken. Any other line of the
/// table (`USER`, `FP`, `FACE`, `BIOPHOTO`, ...) is ignored unread.
pub fn parse_oplog(line: &str) -> Entry {
    let Some(rest) = line
        .strip_prefix("OPLOG")
        .filter(|r| r.starts_with([' ', '\t']))
    else {
        return Entry::Ignored;
    };
    let rest = rest.trim_start();
    let fields: Vec<String> = if rest.contains('\t') {
        rest.split('\t').map(|f| f.trim().to_owned()).collect()
    } else {
        let words: Vec<&str> = rest.split_whitespace().collect();
        if words.len() < 4 {
            return Entry::Bad;
        }
        let mut f: Vec<String> = words[..2].iter().map(|w| (*w).to_owned()).collect();
        f.push(format!("{} {}", words[2], words[3]));
        f.extend(words[4..].iter().map(|w| (*w).to_owned()));
        f
    };
    let (Some(op), Some(time)) = (
        fields.first().and_then(|f| f.parse::<u32>().ok()),
        fields.get(2).and_then(|f| local_time(f)),
    ) else {
        return Entry::Bad;
    };
    let objects = fields.get(3..).unwrap_or_default();
    let (kind, who_, code) = match op {
        0 => (DoorEventKind::DeviceStart, None, "OPERLOG 0".to_owned()),
        // Object 1 is the PIN when the verification was 1:1 (App.4).
        2 => (
            DoorEventKind::Denied,
            objects.first().and_then(|p| who(p)),
            "OPERLOG 2".to_owned(),
        ),
        3 => {
            let found = objects
                .iter()
                .filter_map(|o| o.parse::<u32>().ok())
                .find_map(|r| alarm(r).map(|k| (r, k)));
            match found {
                Some((reason, Some(kind))) => (kind, None, format!("OPERLOG 3/{reason}")),
                Some((_, None)) => return Entry::Ignored,
                None => return Entry::Unmapped(3),
            }
        }
        other => return Entry::Unmapped(other),
    };
    Entry::Record(Record {
        kind: Some(kind),
        state: None,
        who: who_,
        time,
        door_no: None,
        code,
    })
}
