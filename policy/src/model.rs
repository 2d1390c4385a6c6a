//! A checked letter: every field valid, every time an instant, ready to use.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{civil, Timestamp};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct Letter {
    pub id: String,
    pub number: String,
    pub title: String,
    pub issuer: String,
    pub issued: civil::Date,
    pub source: Option<String>,
    pub file: PathBuf,
    /// IANA name, as written.
    pub timezone: String,
    pub tz: TimeZone,
    pub window: Window,
    pub readiness: Option<Readiness>,
    pub offices: Scope,
    /// Classes that stay on: the exceptions of `power.off`, the duty of `power.on`.
    pub keep_on: Vec<String>,
    pub items: Vec<Item>,
    pub notify: Notify,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    Always,
    /// Sorted, each `start < end`.
    Periods(Vec<Period>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub start: Timestamp,
    pub end: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Readiness {
    pub deadline: Timestamp,
    /// How long before the deadline to remind heads who have not signed.
    pub remind_before: Vec<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Office ids, groups already expanded.
    Offices(BTreeSet<String>),
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    /// A short name for column heads; the id when the letter gives none.
    pub label: crate::Text,
    pub text_id: String,
    pub text_en: String,
    pub check: Check,
    /// How long a failure must last before the alert fires.
    pub grace: Duration,
    pub severity: Severity,
    pub remediation: Remediation,
}

/// The closed set of checks Ronda implements; a letter only sets parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    CctvRecording {
        zones: Vec<String>,
        max_segment_age: Duration,
        /// Each channel in the zones is also its own finding, so that a
        /// stopped camera is seen while its zone is still covered. It
        /// raises alerts at this severity and does not decide the item.
        channel_severity: Severity,
    },
    CctvStorage,
    CctvView(ViewRule),
    PowerOff {
        keep_on: Vec<String>,
    },
    PowerOn {
        classes: Vec<String>,
    },
    PowerSafe {
        max_power_w: Option<f32>,
        max_current_a: Option<f32>,
        max_temperature_c: Option<f32>,
    },
    ServiceUp {
        /// `None`: every service the office reports.
        services: Option<Vec<String>>,
        max_latency: Option<Duration>,
        min_tls_days: Option<i32>,
    },
    HostUp {
        max_disk_percent: f32,
        max_memory_percent: f32,
        /// A reboot seen within this long (and within the period) fails the check.
        reboot_lookback: Duration,
    },
    AgentOnline {
        /// No report for this long means the agent is gone.
        silence: Duration,
        /// An agent whose clock is off by more than this gets a finding.
        max_clock_offset: Duration,
    },
    AccessClosed(AccessClosed),
    Attestation,
}

/// `cctv.view`: each camera of the zones still sees what it should. The
/// thresholds are starting points, tuned with the fleet (README, "Camera
/// views").
#[derive(Debug, Clone, PartialEq)]
pub struct ViewRule {
    pub zones: Vec<String>,
    /// A picture darker than this mean luma, nearly all of it below 32,
    /// is dark (infrared dead at night, or a black cover).
    pub dark_below: u8,
    /// A picture with less contrast than this and fewer edges than
    /// `covered_edges` ‰ is covered (tape, a bag, paint).
    pub covered_contrast: u8,
    pub covered_edges: u16,
    /// Sharper than this share of the pinned view, or it is blurred.
    pub blurred_ratio: f32,
    /// More difference-hash bits than this from the pinned view: moved.
    pub moved_bits: u32,
    /// The same bytes for this long, while the device's clock moves on.
    pub frozen_after: Duration,
    /// A newest look older than this is no evidence.
    pub max_sample_age: Duration,
}

impl ViewRule {
    pub const DARK_BELOW: u8 = 24;
    pub const COVERED_CONTRAST: u8 = 8;
    pub const COVERED_EDGES: u16 = 5;
    pub const BLURRED_RATIO: f32 = 0.35;
    pub const MOVED_BITS: u32 = 20;
    pub const FROZEN_AFTER: Duration = Duration::from_secs(2 * 3600);
    pub const MAX_SAMPLE_AGE: Duration = Duration::from_secs(3600);
}

/// `access.closed`: nobody but the allowlist goes through the listed doors
/// during the window; a door forced or held open, a controller tampered
/// with or off mains, is a finding at any time.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessClosed {
    /// Door places (`ronda_wire::vocab::DOORS`); `None`: every door, named or not.
    pub doors: Option<Vec<String>>,
    /// Device user ids allowed through during the window.
    pub allow: Vec<String>,
    /// Whoever is on the office's piket roster at the time of the entry
    /// is allowed too (by the `ids` of their shift).
    pub roster: bool,
    /// How long an event's finding fails after the event.
    pub hold: Duration,
    /// A controller not heard from for this long is a finding (in the window).
    pub silence: Duration,
    /// A controller clock off by more than this gets an advisory finding.
    pub max_clock_skew: Duration,
    /// A door sensor's `open` this soon after a grant at the same door is
    /// the same passage, not a second entry.
    pub passage: Duration,
    pub severities: AccessSeverities,
}

/// The severity of each kind of `access.closed` finding; an entry by
/// someone not allowed takes the item's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessSeverities {
    pub forced: Severity,
    pub held_open: Severity,
    pub tamper: Severity,
    pub power_lost: Severity,
    pub silence: Severity,
    pub clock: Severity,
}

impl Default for AccessSeverities {
    fn default() -> Self {
        AccessSeverities {
            forced: Severity::Critical,
            held_open: Severity::Warning,
            tamper: Severity::Critical,
            power_lost: Severity::Warning,
            silence: Severity::Warning,
            clock: Severity::Warning,
        }
    }
}

impl AccessClosed {
    /// Subject prefixes of the findings that say a person is where nobody
    /// should be: their mail goes out at once, without `group_wait`.
    pub const IMMEDIATE: [&'static str; 3] = ["entry:", "forced:", "tamper:"];
}

impl Check {
    pub fn kind(&self) -> &'static str {
        match self {
            Check::CctvRecording { .. } => "cctv.recording",
            Check::CctvStorage => "cctv.storage",
            Check::CctvView(_) => "cctv.view",
            Check::PowerOff { .. } => "power.off",
            Check::PowerOn { .. } => "power.on",
            Check::PowerSafe { .. } => "power.safe",
            Check::ServiceUp { .. } => "service.up",
            Check::HostUp { .. } => "host.up",
            Check::AgentOnline { .. } => "agent.online",
            Check::AccessClosed(_) => "access.closed",
            Check::Attestation => "attestation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Remediation {
    Notify,
    /// Send `plug.set off` to the office's agent (power.off only).
    SwitchOff,
}

/// Who hears about what. The email side uses it; it is checked here.
#[derive(Debug, Clone, Default)]
pub struct Notify {
    /// Recipients per severity: `head`, `it`, `piket`, a registry contact group, or an address.
    pub critical: Vec<String>,
    pub warning: Vec<String>,
    pub info: Vec<String>,
    pub repeat: Option<Duration>,
    pub group_wait: Duration,
    pub escalation: Vec<Tier>,
    pub piket: Vec<Shift>,
}

#[derive(Debug, Clone)]
pub struct Tier {
    pub after: Duration,
    pub to: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Shift {
    pub office: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub name: String,
    pub email: String,
    /// The registry's name of a Telegram chat that reaches the person.
    pub telegram: Option<String>,
    /// The person's user ids on the office's door controllers, for
    /// `allow: [roster]` of `access.closed`.
    pub ids: Vec<String>,
}

impl Item {
    /// Whether the alert on `subject` of this item must be told at once,
    /// without waiting `group_wait` to be grouped with others: an entry by
    /// someone not allowed, a forced door, a tampered controller.
    pub fn immediate(&self, subject: &str) -> bool {
        matches!(self.check, Check::AccessClosed(_))
            && AccessClosed::IMMEDIATE
                .iter()
                .any(|p| subject.starts_with(p))
    }
}

impl Letter {
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    /// How long the alert on (`item`, `subject`) waits to be grouped into
    /// one message: none for an [`Item::immediate`] one, else `group_wait`.
    pub fn group_wait_for(&self, item: &str, subject: &str) -> Duration {
        match self.item(item) {
            Some(i) if i.immediate(subject) => Duration::ZERO,
            _ => self.notify.group_wait,
        }
    }

    pub fn covers(&self, office: &str) -> bool {
        match &self.offices {
            Scope::All => true,
            Scope::Offices(set) => set.contains(office),
        }
    }

    /// The period in force at `now`, if any. `Always` has no bounds.
    pub fn period_at(&self, now: Timestamp) -> Option<Period> {
        match &self.window {
            Window::Always => Some(Period {
                start: Timestamp::MIN,
                end: Timestamp::MAX,
            }),
            Window::Periods(ps) => ps.iter().copied().find(|p| p.start <= now && now < p.end),
        }
    }

    pub fn enforced_at(&self, now: Timestamp) -> bool {
        self.period_at(now).is_some()
    }

    /// The next start or end of a period after `now`, for the readiness view.
    pub fn next_edge(&self, now: Timestamp) -> Option<Timestamp> {
        match &self.window {
            Window::Always => None,
            Window::Periods(ps) => ps
                .iter()
                .flat_map(|p| [p.start, p.end])
                .filter(|t| *t > now)
                .min(),
        }
    }

    /// The same letter with its first period moved to start at `start`,
    /// keeping every period's length and the gaps between them. For the demo.
    pub fn shifted_to(mut self, start: Timestamp) -> Letter {
        if let Window::Periods(ps) = &mut self.window {
            if let Some(first) = ps.first().map(|p| p.start) {
                let by = start.duration_since(first);
                for p in ps.iter_mut() {
                    p.start = p.start.saturating_add(by).unwrap_or(p.start);
                    p.end = p.end.saturating_add(by).unwrap_or(p.end);
                }
                if let Some(r) = &mut self.readiness {
                    r.deadline = r.deadline.saturating_add(by).unwrap_or(r.deadline);
                }
                for s in &mut self.notify.piket {
                    s.from = s.from.saturating_add(by).unwrap_or(s.from);
                    s.to = s.to.saturating_add(by).unwrap_or(s.to);
                }
            }
        }
        self
    }
}
