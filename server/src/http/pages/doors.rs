//! Door words for the pages, and an office's latest door events as rows.

use ronda_wire::DoorEventKind;

use crate::store::doors::StoredEvent;

/// A door event's kind in the page's language.
pub(super) fn kind_word(kind: &str, en: bool) -> String {
    let Some(k) = DoorEventKind::parse(kind) else {
        return kind.to_owned();
    };
    let (id, en_word) = match k {
        DoorEventKind::Open => ("pintu terbuka", "door opened"),
        DoorEventKind::Forced => ("pintu dibobol", "door forced"),
        DoorEventKind::HeldOpen => ("pintu terbuka terlalu lama", "door held open"),
        DoorEventKind::Granted => ("masuk diizinkan", "entry granted"),
        DoorEventKind::Denied => ("masuk ditolak", "entry denied"),
        DoorEventKind::RemoteOpen => ("dibuka dari jauh", "opened remotely"),
        DoorEventKind::Tamper => ("perangkat dirusak", "device tampered"),
        DoorEventKind::PowerLost => ("listrik perangkat putus", "device lost mains"),
        DoorEventKind::DeviceStart => ("perangkat menyala ulang", "device started"),
    };
    (if en { en_word } else { id }).to_owned()
}

/// A door's state in the page's language; a dash when the device did not say.
pub(super) fn state_word(state: Option<&str>, en: bool) -> String {
    let (id, en_word) = match state {
        Some("open") => ("terbuka", "open"),
        Some("closed") => ("tertutup", "closed"),
        Some("always_open") => ("selalu terbuka", "held open by schedule"),
        Some("always_closed") => ("selalu terkunci", "locked by schedule"),
        Some(other) => return other.to_owned(),
        None => return "–".to_owned(),
    };
    (if en { en_word } else { id }).to_owned()
}

/// Rows for the office page: device time as the device told it (with its
/// offset), and the receipt on the region's clock.
pub(super) fn rows(events: Vec<StoredEvent>, tz: &jiff::tz::TimeZone) -> Vec<minijinja::Value> {
    events
        .into_iter()
        .map(|s| {
            let e = s.seen.event;
            minijinja::context! {
                at => e.at.to_string(),
                device => e.device,
                door => e.door,
                door_no => e.door_no,
                kind => e.kind.as_str(),
                code => e.code,
                who => e.who,
                received => super::format_local(s.seen.received, tz),
            }
        })
        .collect()
}
