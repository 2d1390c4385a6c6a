//! Texts in Bahasa Indonesia and English. Findings, alert causes and the
//! words inside them (zones, equipment, durations) come in both, so a page or
//! a mail shows one language throughout, whichever its reader chose.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One text in both languages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub id: String,
    pub en: String,
}

impl Text {
    pub fn new(id: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            id: id.into(),
            en: en.into(),
        }
    }

    /// Words that are the same in both: a note a person typed, a device's
    /// own error text.
    pub fn same(s: impl Into<String>) -> Text {
        let s = s.into();
        Text {
            id: s.clone(),
            en: s,
        }
    }

    /// The text for a page or mail in `lang` (`en`, else Bahasa Indonesia).
    pub fn get(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.en
        } else {
            &self.id
        }
    }

    /// A stored text: the JSON of a [`Text`], or plain text written before
    /// texts came in two languages (shown as it is in both).
    pub fn from_stored(s: &str) -> Text {
        match serde_json::from_str::<Text>(s) {
            Ok(t) if s.starts_with('{') => t,
            _ => Text::same(s),
        }
    }

    /// The form kept in the database.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| self.en.clone())
    }
}

/// A value written into a [`Text`]: the same in both languages (ids,
/// numbers) or with a word of its own in each. A text lends its words
/// rather than copying them: findings are made for every report.
pub trait Tr {
    fn id(&self) -> Cow<'_, str>;
    fn en(&self) -> Cow<'_, str>;
}

impl<T: std::fmt::Display> Tr for T {
    fn id(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
    fn en(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

impl Tr for Text {
    fn id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }
    fn en(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.en)
    }
}

impl Tr for &Text {
    fn id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.id)
    }
    fn en(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.en)
    }
}

/// `text!("Bahasa {x} {}", "English {x} {}", arg)`: both formats share
/// their captured variables; each positional `arg` is written in the
/// language of its format ([`Tr`]).
#[macro_export]
macro_rules! text {
    ($id:literal, $en:literal $(, $arg:expr)* $(,)?) => {
        $crate::text::Text::new(
            format!($id $(, $crate::text::Tr::id(&$arg))*),
            format!($en $(, $crate::text::Tr::en(&$arg))*),
        )
    };
}

/// A duration, rounded to its largest unit: `10 menit` / `10 min`.
pub fn duration(d: Duration) -> Text {
    let s = d.as_secs();
    let (n, id, en) = match s {
        0..=119 => (s, "detik", "s"),
        120..=7199 => (s / 60, "menit", "min"),
        7200..=172_799 => (s / 3600, "jam", "h"),
        _ => (
            s / 86_400,
            "hari",
            if s / 86_400 == 1 { "day" } else { "days" },
        ),
    };
    Text::new(format!("{n} {id}"), format!("{n} {en}"))
}

/// A camera zone by name, with its id when it is not one Ronda knows.
pub fn zone(z: &str) -> Text {
    let (id, en) = zone_words(z).unwrap_or((z, z));
    Text::new(id, en)
}

fn zone_words(z: &str) -> Option<(&'static str, &'static str)> {
    Some(match z {
        "front-road" => ("jalan depan", "front road"),
        "entrance" => ("pintu masuk", "entrance"),
        "interior" => ("dalam kantor", "inside the office"),
        "perimeter" => ("sekeliling kantor", "perimeter"),
        "parking" => ("parkir", "parking"),
        "server-room" => ("ruang server", "server room"),
        "archive" => ("ruang arsip", "archive room"),
        "service-counter" => ("loket pelayanan", "service counter"),
        _ => return None,
    })
}

/// A door by its place, with its place word when it is not one Ronda knows.
pub fn door(d: &str) -> Text {
    let (id, en) = door_words(d).unwrap_or((d, d));
    Text::new(id, en)
}

fn door_words(d: &str) -> Option<(&'static str, &'static str)> {
    Some(match d {
        "main-gate" => ("gerbang utama", "main gate"),
        "side-gate" => ("gerbang samping", "side gate"),
        "back-gate" => ("gerbang belakang", "back gate"),
        "main-door" => ("pintu utama", "main door"),
        "side-door" => ("pintu samping", "side door"),
        "back-door" => ("pintu belakang", "back door"),
        "server-room" => ("pintu ruang server", "server room door"),
        "archive" => ("pintu ruang arsip", "archive room door"),
        "cash-room" => ("pintu ruang kas", "cash room door"),
        "warehouse" => ("pintu gudang", "warehouse door"),
        "office" => ("pintu ruang kantor", "office door"),
        _ => return None,
    })
}

/// The equipment behind a smart plug, by its class.
pub fn class(c: &str) -> Text {
    let (id, en) = class_words(c).unwrap_or((c, c));
    Text::new(id, en)
}

fn class_words(c: &str) -> Option<(&'static str, &'static str)> {
    Some(match c {
        "server" => ("server", "server"),
        "network" => ("perangkat jaringan", "network equipment"),
        "cctv-recorder" => ("perekam CCTV", "CCTV recorder"),
        "cctv-monitor" => ("monitor CCTV", "CCTV monitor"),
        "pc" => ("PC", "PC"),
        "printer" => ("printer", "printer"),
        "scanner" => ("pemindai", "scanner"),
        "photocopier" => ("mesin fotokopi", "photocopier"),
        "air-conditioner" => ("AC", "air conditioner"),
        "dispenser" => ("dispenser", "water dispenser"),
        "refrigerator" => ("kulkas", "refrigerator"),
        "fan" => ("kipas angin", "fan"),
        "lighting" => ("lampu", "lighting"),
        "tv" => ("TV", "TV"),
        "charger" => ("pengisi daya", "charger"),
        "queue-display" => ("layar antrean", "queue display"),
        "other" => ("lainnya", "other"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_share_captures_and_translate_their_arguments() {
        let cam = "nvr/1";
        let t = text!(
            "kamera {cam} terakhir merekam {} lalu",
            "camera {cam} last recorded {} ago",
            duration(Duration::from_secs(7200))
        );
        assert_eq!(t.id, "kamera nvr/1 terakhir merekam 2 jam lalu");
        assert_eq!(t.en, "camera nvr/1 last recorded 2 h ago");
        assert_eq!(t.get("en"), t.en);
        assert_eq!(t.get("id"), t.id);
    }

    #[test]
    fn stored_texts_read_back_and_old_plain_ones_show_as_they_are() {
        let t = Text::new("mati", "off");
        assert_eq!(Text::from_stored(&t.to_stored()), t);
        assert_eq!(
            Text::from_stored("printer is on"),
            Text::same("printer is on")
        );
        // A plain text that happens to be JSON of another shape is still text.
        assert_eq!(Text::from_stored("{\"a\":1}"), Text::same("{\"a\":1}"));
    }

    #[test]
    fn durations_read_naturally_in_both() {
        let d = |s| duration(Duration::from_secs(s));
        assert_eq!(d(45), Text::new("45 detik", "45 s"));
        assert_eq!(d(600), Text::new("10 menit", "10 min"));
        assert_eq!(d(86_400 * 3), Text::new("3 hari", "3 days"));
    }

    #[test]
    fn every_zone_class_and_door_has_a_name_in_both_languages() {
        for z in ronda_wire::vocab::ZONES {
            assert!(zone_words(z).is_some(), "zone {z}");
        }
        for c in ronda_wire::vocab::CLASSES {
            assert!(class_words(c).is_some(), "class {c}");
        }
        for d in ronda_wire::vocab::DOORS {
            assert!(door_words(d).is_some(), "door {d}");
        }
        assert_eq!(
            class("toaster"),
            Text::same("toaster"),
            "an unknown word shows as it is"
        );
    }
}
