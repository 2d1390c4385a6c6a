//! The `access:` section of `agent.yaml`: door access controllers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use jiff::tz::Offset;
use serde::Deserialize;

use crate::devconf::{self, RawCreds};
use crate::http::Creds;
use ronda_common::conf::{duration_in, Checker, Dur, Secret};

/// How often a polled controller is asked for new events by default.
pub const DEFAULT_POLL: Duration = Duration::from_secs(5);
/// A pushing controller that has not called in this long is unreachable.
pub const DEFAULT_SILENCE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessKind {
    /// Hikvision DS-K1T terminals and DS-K26xx panels, polled over ISAPI.
    HikvisionAccess,
    /// Dahua access controllers, polled over the HTTP CGI API.
    DahuaAccess,
    /// ZKTeco devices that push to the agent (PUSH protocol, `/iclock/`).
    ZktecoPush,
}

impl AccessKind {
    pub fn name(self) -> &'static str {
        match self {
            AccessKind::HikvisionAccess => "hikvision-access",
            AccessKind::DahuaAccess => "dahua-access",
            AccessKind::ZktecoPush => "zkteco-push",
        }
    }

    /// Whether the device calls the agent rather than the other way round.
    pub fn pushes(self) -> bool {
        self == AccessKind::ZktecoPush
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccess {
    id: String,
    kind: AccessKind,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    insecure_tls: bool,
    #[serde(default)]
    timeout: Option<Dur>,
    /// Polled kinds: time between two asks for new events.
    #[serde(default)]
    poll: Option<Dur>,
    /// Pushing kinds: the device's serial number (`SN=`); others are refused.
    #[serde(default)]
    serial: Option<String>,
    /// Where the device's clock is, as `+07:00`, for kinds whose times carry
    /// no offset (ZKTeco logs, Dahua records).
    #[serde(default)]
    utc_offset: Option<String>,
    /// Pushing kinds: how long without a call before it counts as gone.
    #[serde(default)]
    silence: Option<Dur>,
    #[serde(default)]
    doors: Vec<RawDoor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDoor {
    no: u32,
    /// Where the door is: one of `ronda_wire::vocab::DOORS`.
    door: String,
}

/// A checked access controller.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    pub id: String,
    pub kind: AccessKind,
    /// Base URL of a polled device (no trailing slash).
    pub url: Option<String>,
    pub creds: Option<Creds>,
    pub insecure_tls: bool,
    pub timeout: Duration,
    pub poll: Duration,
    pub serial: Option<String>,
    /// The device's offset from UTC, where its times carry none.
    pub offset: Option<Offset>,
    pub silence: Duration,
    pub doors: Vec<DoorPlace>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorPlace {
    pub no: u32,
    pub door: String,
}

impl AccessConfig {
    /// Where door `no` is, if the config names it.
    pub fn place(&self, no: u32) -> Option<String> {
        self.doors
            .iter()
            .find(|d| d.no == no)
            .map(|d| d.door.clone())
    }
}

impl RawAccess {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn kind(&self) -> AccessKind {
        self.kind
    }

    pub fn check(self, c: &mut Checker<'_>, path: &str) -> Option<AccessConfig> {
        let id = devconf::device_id(c, &format!("{path}.id"), &self.id);
        let url = if self.kind.pushes() {
            if self.url.is_some() {
                c.fail(
                    &format!("{path}.url"),
                    "a zkteco-push device calls the agent: set its server address \
                     to the agent's `access_listen`, and give no url here",
                );
            }
            Some(None)
        } else {
            devconf::http_url(c, &format!("{path}.url"), self.url.as_deref()).map(Some)
        };
        let serial = self.serial_checked(c, path);
        let offset = self.offset_checked(c, path);
        let creds = RawCreds {
            username: self.username,
            password: self.password,
            password_file: self.password_file,
            password_env: self.password_env,
        }
        .check(c, path);
        let timeout = devconf::timeout(
            c,
            &format!("{path}.timeout"),
            self.timeout,
            devconf::DEFAULT_DEVICE_TIMEOUT,
        );
        let poll = duration_in(
            c,
            &format!("{path}.poll"),
            self.poll,
            DEFAULT_POLL,
            1..=3_600,
        );
        let silence = duration_in(
            c,
            &format!("{path}.silence"),
            self.silence,
            DEFAULT_SILENCE,
            30..=86_400,
        );
        let doors = doors(c, path, self.doors);
        Some(AccessConfig {
            id: id?,
            kind: self.kind,
            url: url?,
            creds: creds?,
            insecure_tls: self.insecure_tls,
            timeout: timeout?,
            poll: poll?,
            serial: serial?,
            offset: offset?,
            silence: silence?,
            doors: doors?,
        })
    }

    fn serial_checked(&self, c: &mut Checker<'_>, path: &str) -> Option<Option<String>> {
        let at = format!("{path}.serial");
        match (&self.serial, self.kind.pushes()) {
            (None, true) => {
                c.fail(&at, "a zkteco-push device needs its serial number (SN), as the device shows it under System Info");
                None
            }
            (Some(s), true) if !is_serial(s) => {
                c.fail(
                    &at,
                    format!("`{s}` is not a serial number: 1 to 32 letters and digits"),
                );
                None
            }
            (Some(_), false) => {
                c.fail(
                    &at,
                    "only zkteco-push devices are told apart by serial number",
                );
                None
            }
            (s, _) => Some(s.clone()),
        }
    }

    fn offset_checked(&self, c: &mut Checker<'_>, path: &str) -> Option<Option<Offset>> {
        let at = format!("{path}.utc_offset");
        let needed = self.kind != AccessKind::HikvisionAccess;
        match (&self.utc_offset, needed) {
            (None, true) => {
                c.fail(&at, format!("a {} device gives times without an offset: say where its clock is, like `+07:00` (WIB), `+08:00` (WITA) or `+09:00` (WIT)", self.kind.name()));
                None
            }
            (None, false) => Some(None),
            (Some(text), _) => match parse_offset(text) {
                Some(o) => Some(Some(o)),
                None => {
                    c.fail(&at, format!("`{text}` is not an offset like `+07:00`"));
                    None
                }
            },
        }
    }
}

fn doors(c: &mut Checker<'_>, path: &str, raw: Vec<RawDoor>) -> Option<Vec<DoorPlace>> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let mut ok = true;
    for (i, d) in raw.into_iter().enumerate() {
        let at = format!("{path}.doors.{i}");
        devconf::unique(c, &format!("{at}.no"), &mut seen, &d.no.to_string());
        if !ronda_wire::vocab::is_door(&d.door) {
            c.fail(
                &format!("{at}.door"),
                format!(
                    "`{}` is not a door place; expected one of: {}",
                    d.door,
                    ronda_wire::vocab::DOORS.join(", ")
                ),
            );
            ok = false;
        }
        out.push(DoorPlace {
            no: d.no,
            door: d.door,
        });
    }
    ok.then_some(out)
}

/// A device serial number: what ZKTeco devices send as `SN=`.
pub fn is_serial(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `+07:00`, `-03:30` or `Z`.
pub fn parse_offset(s: &str) -> Option<Offset> {
    if s == "Z" {
        return Some(Offset::UTC);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 {
        return None;
    }
    Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

/// The `access_listen:` address, required when a device pushes.
pub fn check_listen(
    c: &mut Checker<'_>,
    listen: Option<&str>,
    devices: &[AccessConfig],
) -> Option<Option<SocketAddr>> {
    let pushing = devices.iter().any(|d| d.kind.pushes());
    match (listen, pushing) {
        (None, true) => {
            c.fail(
                "access_listen",
                "zkteco-push devices need an address for the agent to listen on, like 0.0.0.0:8088",
            );
            None
        }
        (Some(text), _) => match text.parse::<SocketAddr>() {
            Ok(a) => Some(Some(a)),
            Err(_) => {
                c.fail(
                    "access_listen",
                    format!("`{text}` is not an address like 0.0.0.0:8088"),
                );
                None
            }
        },
        (None, false) => Some(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_like_the_devices_write_them() {
        assert_eq!(parse_offset("+07:00").unwrap().seconds(), 7 * 3600);
        assert_eq!(
            parse_offset("-03:30").unwrap().seconds(),
            -(3 * 3600 + 1800)
        );
        assert_eq!(parse_offset("Z").unwrap(), Offset::UTC);
        for bad in ["7", "+7:00", "+07", "+15:00", "+07:60", "", "WIB"] {
            assert!(parse_offset(bad).is_none(), "{bad}");
        }
    }
}

#[cfg(test)]
mod example {
    use crate::config::AgentConfig;

    /// The commented `access:` example in `examples/office.yaml`, taken in,
    /// is a valid config: the documentation cannot go stale.
    #[test]
    fn the_documented_example_is_a_valid_config() {
        let text = std::fs::read_to_string("../examples/office.yaml").unwrap();
        let start = text.find("# access_listen:").unwrap();
        let access: String = text[start..]
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
            .map(|l| format!("{l}\n"))
            .collect();
        // The passwords are read at load: give them a file that exists.
        let dir = tempfile::tempdir().unwrap();
        let pass = dir.path().join("pass");
        std::fs::write(&pass, "s3cret").unwrap();
        let file = format!("password_file: {}", pass.display());
        let access = access
            .replace("password_file: /etc/ronda/pintu-depan.pass", &file)
            .replace("password_env: DAHUA_ACS_PASSWORD", &file);
        let yaml =
            format!("office: dinsos\nagent: gw\nbroker:\n  url: mqtt://127.0.0.1:1883\n{access}");
        let config = AgentConfig::from_text(std::path::Path::new("office.yaml"), yaml)
            .unwrap_or_else(|e| panic!("{e}"));
        let kinds: Vec<_> = config.access.iter().map(|a| a.kind.name()).collect();
        assert_eq!(kinds, ["hikvision-access", "dahua-access", "zkteco-push"]);
        assert_eq!(config.access[2].serial.as_deref(), Some("CKJM201960012"));
        assert_eq!(config.access[1].offset.map(|o| o.seconds()), Some(7 * 3600));
        assert!(config.access_listen.is_some());
    }
}
