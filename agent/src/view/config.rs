//! A recorder's `view:` key in `agent.yaml`: `view: off`, or how often each
//! channel is sampled and how large a snapshot may be.
//!
//! ```yaml
//! view: {every: 20m, cap: 2MiB}
//! ```

use std::fmt;
use std::time::Duration;

use ronda_common::conf::{duration_in, Checker, Dur};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// How often a channel is sampled by default: the issue asks for every
/// 15–30 minutes, and each wait is drawn between 0.75× and 1.5× of it.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(20 * 60);
/// The largest snapshot body by default. Cameras send 100–600 KB at 1080p
/// and up to 2 MB at 4K on their highest quality.
pub const DEFAULT_CAP: usize = 2 << 20;
/// Bounds of `cap`: a snapshot smaller than 16 KiB is no picture, and the
/// agent's memory budget allows one body of at most 8 MiB.
const CAP_RANGE: std::ops::RangeInclusive<usize> = (16 << 10)..=(8 << 20);

/// View sampling of one recorder, when on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewConfig {
    pub every: Duration,
    pub cap: usize,
}

impl Default for ViewConfig {
    fn default() -> Self {
        ViewConfig {
            every: DEFAULT_EVERY,
            cap: DEFAULT_CAP,
        }
    }
}

/// `view:` as written.
#[derive(Debug)]
pub enum RawView {
    Off,
    On(RawViewMap),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawViewMap {
    #[serde(default)]
    every: Option<Dur>,
    #[serde(default)]
    cap: Option<Size>,
}

impl<'de> Deserialize<'de> for RawView {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawView, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawView;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`off` or a map like {every: 20m, cap: 2MiB}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawView, E> {
                match v {
                    "off" => Ok(RawView::Off),
                    _ => Err(E::custom(format!(
                        "`{v}`: expected `off` or a map like {{every: 20m, cap: 2MiB}}"
                    ))),
                }
            }
            // YAML 1.1 readers take `off` for false.
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawView, E> {
                match v {
                    false => Ok(RawView::Off),
                    true => Ok(RawView::On(RawViewMap::default())),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawView, A::Error> {
                RawViewMap::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawView::On)
            }
        }
        d.deserialize_any(V)
    }
}

/// Check `view:` at `path`. `None` written means on with the defaults.
/// `Some(None)` is a checked `off`; `None` a problem, reported to `c`.
pub fn check(c: &mut Checker<'_>, path: &str, raw: Option<RawView>) -> Option<Option<ViewConfig>> {
    let map = match raw {
        Some(RawView::Off) => return Some(None),
        Some(RawView::On(map)) => map,
        None => RawViewMap::default(),
    };
    let every = duration_in(
        c,
        &format!("{path}.every"),
        map.every,
        DEFAULT_EVERY,
        1..=86_400,
    );
    let cap = match map.cap {
        None => Some(DEFAULT_CAP),
        Some(Size(n)) if CAP_RANGE.contains(&n) => Some(n),
        Some(Size(_)) => {
            c.fail(
                &format!("{path}.cap"),
                "expected a size from 16KiB to 8MiB, like `2MiB`",
            );
            None
        }
    };
    Some(Some(ViewConfig {
        every: every?,
        cap: cap?,
    }))
}

/// A size in bytes written like `2MiB`, `512KiB`, `300KB` or `65536`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub usize);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size like 2MiB, 512KiB or 65536")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                usize::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom("too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map(Size).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Bytes from `2MiB`, `512 KiB`, `300KB`, `1MB` or a plain number.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let bad = || format!("`{text}` is not a size like 2MiB, 512KiB or 65536");
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: usize = digits.parse().map_err(|_| bad())?;
    let scale: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "KB" | "kB" => 1000,
        "MB" => 1_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::AgentConfig;

    fn load(view: &str, kind: &str) -> Result<AgentConfig, String> {
        let text = format!("office: o\nagent: a\nbroker:\n  url: mqtt://127.0.0.1:1883\nrecorders:\n  - id: nvr\n    kind: {kind}\n    url: http://192.168.1.64\n    channels:\n      - id: 1\n        zone: front-road\n{view}");
        AgentConfig::from_text(std::path::Path::new("a.yaml"), text).map_err(|e| e.to_string())
    }

    fn view_of(view: &str) -> Option<ViewConfig> {
        load(view, "hikvision").unwrap().devices.recorders[0].view
    }

    #[test]
    fn view_is_on_by_default_and_can_be_set_or_turned_off() {
        assert_eq!(view_of(""), Some(ViewConfig::default()));
        assert_eq!(view_of("    view: off\n"), None);
        let set = view_of("    view: {every: 1s, cap: 512KiB}\n").unwrap();
        assert_eq!((set.every, set.cap), (Duration::from_secs(1), 512 << 10));
        let block = view_of("    view:\n      every: 30m\n").unwrap();
        assert_eq!(
            (block.every, block.cap),
            (Duration::from_secs(1800), DEFAULT_CAP)
        );
    }

    #[test]
    fn view_mistakes_name_their_place() {
        for (view, want) in [
            (
                "    view: {cap: 9MiB}\n",
                "recorders.0.view.cap: expected a size from 16KiB",
            ),
            (
                "    view: {cap: 4KiB}\n",
                "recorders.0.view.cap: expected a size from 16KiB",
            ),
            (
                "    view: {every: 3d}\n",
                "recorders.0.view.every: expected a duration from 1s",
            ),
            ("    view: {cap: lots}\n", "`lots` is not a size"),
            ("    view: {often: 1m}\n", "unknown field `often`"),
            ("    view: sometimes\n", "`sometimes`: expected `off`"),
        ] {
            let e = load(view, "hikvision").unwrap_err();
            assert!(e.contains(want), "{view:?}: {e}");
        }
        let e = load("    view: {every: 1m}\n", "rtsp").unwrap_err();
        assert!(
            e.contains("recorders.0.view: rtsp recorders give no snapshots"),
            "{e}"
        );
        assert!(load("    view: off\n", "rtsp").is_err_and(|e| !e.contains(".view")));
    }

    #[test]
    fn sizes_read_in_binary_and_decimal_units() {
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert_eq!(parse_size(" 512 KiB "), Ok(512 << 10));
        assert_eq!(parse_size("300KB"), Ok(300_000));
        assert_eq!(parse_size("65536"), Ok(65536));
        for bad in [
            "",
            "MiB",
            "2 GiB",
            "-1",
            "1.5MiB",
            "99999999999999999999MiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }
}
