//! The shape of a letter file and of the office registry, as serde reads it.
//!
//! Everything is optional here so that a missing key is reported by the
//! meaning check together with every other problem, not as serde's first
//! and only error. Times are kept as text for the same reason.

use std::fmt;

use ronda_common::conf::Dur;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLetter {
    pub letter: Option<RawHeader>,
    pub timezone: Option<String>,
    pub window: Option<RawWindow>,
    pub readiness: Option<RawReadiness>,
    pub offices: Option<RawScope>,
    pub keep_on: Option<Vec<String>>,
    pub checklist: Option<Vec<RawItem>>,
    pub notify: Option<RawNotify>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    pub id: Option<String>,
    pub number: Option<String>,
    pub title: Option<String>,
    pub issuer: Option<String>,
    pub issued: Option<String>,
    pub source: Option<String>,
}

/// `always`, or a list of periods.
#[derive(Debug)]
pub enum RawWindow {
    Always,
    Periods(Vec<RawPeriod>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPeriod {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReadiness {
    pub deadline: Option<String>,
    #[serde(default)]
    pub remind_before: Vec<Dur>,
}

/// `all`, a list of office ids, or `{groups: [...], offices: [...]}`.
#[derive(Debug)]
pub enum RawScope {
    All,
    Listed(Vec<String>),
    Groups(RawGroups),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroups {
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub offices: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    pub id: Option<String>,
    /// A short name for the overview's column heads, in both languages.
    pub label: Option<RawText>,
    pub text: Option<RawText>,
    pub check: Option<RawCheck>,
    #[serde(rename = "for")]
    pub grace: Option<Dur>,
    pub severity: Option<String>,
    pub remediation: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawText {
    pub id: Option<String>,
    pub en: Option<String>,
}

/// Every parameter any check kind takes. The meaning check says which ones
/// belong to the named kind, so a misplaced one is an error with its place.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub kind: Option<String>,
    pub zones: Option<Vec<String>>,
    pub max_segment_age: Option<Dur>,
    pub classes: Option<Vec<String>>,
    pub max_power_w: Option<f32>,
    pub max_current_a: Option<f32>,
    pub max_temperature_c: Option<f32>,
    pub services: Option<Vec<String>>,
    pub max_latency: Option<Dur>,
    pub min_tls_days: Option<i32>,
    pub max_disk_percent: Option<f32>,
    pub max_memory_percent: Option<f32>,
    pub reboot_lookback: Option<Dur>,
    pub interval: Option<Dur>,
    pub missed: Option<u32>,
    pub channel_severity: Option<String>,
    pub max_clock_offset: Option<Dur>,
    // cctv.view
    pub dark_below: Option<u8>,
    pub covered_contrast: Option<u8>,
    pub covered_edges: Option<u16>,
    pub blurred_ratio: Option<f32>,
    pub moved_bits: Option<u32>,
    pub frozen_after: Option<Dur>,
    pub max_sample_age: Option<Dur>,
    // access.closed
    pub doors: Option<RawDoors>,
    pub allow: Option<Vec<String>>,
    pub hold: Option<Dur>,
    pub silence: Option<Dur>,
    pub max_clock_skew: Option<Dur>,
    pub passage: Option<Dur>,
    pub severities: Option<RawSeverities>,
}

/// `all`, or a list of door places.
#[derive(Debug)]
pub enum RawDoors {
    All,
    Listed(Vec<String>),
}

/// The severity of each kind of `access.closed` finding besides entries,
/// which take the item's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeverities {
    pub forced: Option<String>,
    pub held_open: Option<String>,
    pub tamper: Option<String>,
    pub power_lost: Option<String>,
    pub silence: Option<String>,
    pub clock: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub critical: Option<Vec<String>>,
    pub warning: Option<Vec<String>>,
    pub info: Option<Vec<String>>,
    pub repeat: Option<Dur>,
    pub group_wait: Option<Dur>,
    #[serde(default)]
    pub escalation: Vec<RawTier>,
    /// Office id → its on-duty shifts.
    #[serde(default)]
    pub piket: std::collections::BTreeMap<String, Vec<RawShift>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTier {
    pub after: Option<Dur>,
    pub to: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShift {
    pub from: Option<String>,
    pub to: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    /// A Telegram chat of the registry (its name) that reaches the person
    /// on duty, told beside the email.
    pub telegram: Option<String>,
    /// The person's user ids on the office's door controllers.
    pub ids: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for RawWindow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawWindow;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`always` or a list of periods with `start` and `end`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawWindow, E> {
                match v {
                    "always" => Ok(RawWindow::Always),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a window: write `always` or a list of periods with `start` and `end`"
                    ))),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawWindow, A::Error> {
                Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(RawWindow::Periods)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawDoors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDoors;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`all` or a list of door places")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDoors, E> {
                match v {
                    "all" => Ok(RawDoors::All),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a door list: write `all` or a list such as [back-gate]"
                    ))),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawDoors, A::Error> {
                Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(RawDoors::Listed)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawScope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawScope;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`all`, a list of office ids, or `groups:` and `offices:`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawScope, E> {
                match v {
                    "all" => Ok(RawScope::All),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a scope: write `all`, a list of office ids, or `groups:`"
                    ))),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawScope, A::Error> {
                Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(RawScope::Listed)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawScope, A::Error> {
                Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawScope::Groups)
            }
        }
        d.deserialize_any(V)
    }
}
