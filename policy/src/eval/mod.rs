//! The checklist evaluation: a pure function of (letter, office state, now).
//!
//! Each item gives one finding per subject (a zone, a plug, a disk, a
//! service, an agent) with its evidence. A finding is `ok`, `fail`,
//! `no-data` (nothing fresh to judge, for example because the agent that
//! would tell is offline) or `pending` (an attestation nobody has signed).
//! Only `fail` findings become alerts, during the letter's window; a
//! finding marked `anytime` (a door forced) also outside it.

pub mod access;
mod cctv;
mod finding;
mod hosts;
mod logins;
mod power;
mod storage;
#[cfg(test)]
mod tests;
mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use ronda_wire::Report;
use serde::Serialize;

pub use finding::{Finding, Status};
pub use view::{Light, ViewPin};

pub(crate) use finding::finding;

use crate::model::{Check, Item, Letter, Severity};

/// What the server knows about one office at one moment.
#[derive(Debug, Clone, Default)]
pub struct OfficeState {
    pub office: String,
    pub agents: Vec<AgentView>,
    /// `(letter, item)` → who attested it.
    pub attestations: BTreeMap<(String, String), Attestation>,
    /// Door events stored for this office, oldest first, as far back as
    /// the server keeps them in memory ([`DOOR_LOOKBACK`]).
    pub door_events: Vec<DoorSeen>,
    /// Camera views a person confirmed as right, by (agent, recorder,
    /// channel): `moved` and `blurred` are judged against them.
    pub view_pins: BTreeMap<(String, String, String), Vec<ViewPin>>,
}

/// How far back the server keeps an office's door events for evaluation.
pub const DOOR_LOOKBACK: Duration = Duration::from_secs(48 * 3600);

/// A door event as the server stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct DoorSeen {
    /// The agent that sent it.
    pub agent: String,
    pub event: ronda_wire::DoorEvent,
    /// When the server received it (server clock).
    pub received: Timestamp,
}

#[derive(Debug, Clone)]
pub struct AgentView {
    pub agent: String,
    /// From the retained `state` topic: false after the Last Will.
    pub online: bool,
    /// When its latest report arrived.
    pub last_seen: Option<Timestamp>,
    /// When it last came online; silence is counted from here too, so a
    /// fresh connection gets time to send its first report.
    pub online_since: Option<Timestamp>,
    pub report: Option<Arc<Report>>,
    /// Boot times seen to change from one report to the next: reboots
    /// that happened while Ronda watched.
    pub reboots: Vec<Timestamp>,
    /// The agent's clock minus the server's, from its latest report sent
    /// straight away (its `observed_at` against the time it arrived).
    pub clock_offset: Option<jiff::SignedDuration>,
    /// When its latest report was taken, on the server's clock: its arrival,
    /// or for one that waited in the agent's outbox, its `observed_at`
    /// corrected by the clock offset.
    pub taken: Option<Timestamp>,
}

impl AgentView {
    pub fn new(agent: impl Into<String>) -> AgentView {
        AgentView {
            agent: agent.into(),
            online: false,
            last_seen: None,
            online_since: None,
            report: None,
            reboots: Vec::new(),
            clock_offset: None,
            taken: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attestation {
    pub by: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemResult {
    pub item: String,
    pub kind: &'static str,
    pub severity: Severity,
    /// Decided by the findings that are not advisory.
    pub status: Status,
    pub findings: Vec<Finding>,
}

impl ItemResult {
    /// Advisory findings that fail: shown beside the item's status.
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.advisory.is_some() && f.status == Status::Fail)
            .count()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub letter: String,
    pub office: String,
    pub at: Timestamp,
    /// Inside the letter's window: failures become alerts.
    pub enforced: bool,
    /// Agents that are offline or silent; their data is not judged.
    pub down: Vec<String>,
    pub items: Vec<ItemResult>,
}

/// How long without a report before an agent's data is stale, when the
/// letter has no `agent.online` item to say.
pub const DEFAULT_SILENCE: Duration = Duration::from_secs(90);

pub fn evaluate(letter: &Letter, state: &OfficeState, now: Timestamp) -> Evaluation {
    let cx = Cx::new(letter, state, now);
    let items = letter.items.iter().map(|item| cx.item(item)).collect();
    Evaluation {
        letter: letter.id.clone(),
        office: state.office.clone(),
        at: now,
        enforced: letter.enforced_at(now),
        down: cx.down.iter().cloned().collect(),
        items,
    }
}

/// What every check needs: the letter, the time, and which agents to trust.
pub(crate) struct Cx<'a> {
    pub letter: &'a Letter,
    pub state: &'a OfficeState,
    pub now: Timestamp,
    pub silence: Duration,
    pub down: BTreeSet<String>,
    /// Channel ages up to this prove a recorder records (and so overwrites
    /// a full disk): the strictest `max_segment_age` of the letter.
    pub fresh: Duration,
}

impl<'a> Cx<'a> {
    fn new(letter: &'a Letter, state: &'a OfficeState, now: Timestamp) -> Self {
        let silence = letter
            .items
            .iter()
            .find_map(|i| match i.check {
                Check::AgentOnline { silence, .. } => Some(silence),
                _ => None,
            })
            .unwrap_or(DEFAULT_SILENCE);
        let fresh = letter
            .items
            .iter()
            .filter_map(|i| match i.check {
                Check::CctvRecording {
                    max_segment_age, ..
                } => Some(max_segment_age),
                _ => None,
            })
            .min()
            .unwrap_or(cctv::DEFAULT_FRESH);
        let mut cx = Cx {
            letter,
            state,
            now,
            silence,
            down: BTreeSet::new(),
            fresh,
        };
        cx.down = state
            .agents
            .iter()
            .filter(|a| !cx.is_up(a))
            .map(|a| a.agent.clone())
            .collect();
        cx
    }

    /// Connected and heard from within the silence limit.
    pub fn is_connected(&self, a: &AgentView) -> bool {
        a.online && self.silent_for(a).is_some_and(|s| s <= self.silence)
    }

    /// Connected, with a report to judge.
    pub fn is_up(&self, a: &AgentView) -> bool {
        self.is_connected(a) && a.report.is_some()
    }

    pub fn silent_for(&self, a: &AgentView) -> Option<Duration> {
        let heard = a.last_seen.max(a.online_since)?;
        Some(self.age(heard))
    }

    /// How long ago the latest report of `agent` was taken, on the
    /// server's clock: what a reading's age grows by until the next one.
    pub fn since_taken(&self, agent: &str) -> Duration {
        self.view(agent)
            .and_then(|a| a.taken.or(a.last_seen))
            .map_or(Duration::ZERO, |t| self.age(t))
    }

    pub fn view(&self, agent: &str) -> Option<&'a AgentView> {
        self.state.agents.iter().find(|a| a.agent == agent)
    }

    /// Reports of the agents that are up, with their agent ids.
    pub fn live(&self) -> impl Iterator<Item = (&'a str, &'a Report)> + '_ {
        self.state
            .agents
            .iter()
            .filter(|a| !self.down.contains(&a.agent))
            .filter_map(|a| Some((a.agent.as_str(), a.report.as_deref()?)))
    }

    /// One `no-data` finding per agent that is down, so the item shows why
    /// it cannot be judged and raises nothing.
    fn down_findings(&self) -> Vec<Finding> {
        self.down
            .iter()
            .map(|a| Finding {
                subject: format!("agent:{a}"),
                agent: Some(a.clone()),
                status: Status::NoData,
                message: text!(
                    "tidak ada data baru: agen {a} luring atau diam",
                    "no fresh data: agent {a} is offline or silent"
                ),
                evidence: serde_json::Value::Null,
                advisory: None,
                severity: None,
                anytime: false,
            })
            .collect()
    }

    fn item(&self, item: &Item) -> ItemResult {
        let mut findings = match &item.check {
            Check::CctvRecording {
                zones,
                max_segment_age,
                channel_severity,
            } => cctv::recording(self, zones, *max_segment_age, *channel_severity),
            Check::CctvStorage => storage::storage(self),
            Check::CctvView(rule) => view::view(self, rule),
            Check::PowerOff { keep_on } => power::off(self, keep_on),
            Check::PowerOn { classes } => power::on(self, classes),
            Check::PowerSafe { .. } => power::safe(self, &item.check),
            Check::ServiceUp { .. } => hosts::services(self, &item.check),
            Check::HostUp { .. } => hosts::hosts(self, &item.check),
            Check::AgentOnline {
                max_clock_offset, ..
            } => {
                let mut f = hosts::agents(self);
                f.extend(hosts::clocks(self, *max_clock_offset));
                f.extend(logins::findings(self));
                f
            }
            Check::AccessClosed(rule) => {
                // Door events are stored as they arrive, whatever their
                // agent does now: they are judged even while it is down.
                let mut f = access::closed(self, rule);
                f.extend(self.down_findings());
                f
            }
            Check::Attestation => vec![self.attestation(item)],
        };
        if !matches!(
            item.check,
            Check::AgentOnline { .. } | Check::Attestation | Check::AccessClosed(_)
        ) {
            if self.live().next().is_none() {
                // Nothing to judge at all: say why instead of failing zones
                // and plugs nobody has reported on.
                findings.clear();
            }
            findings.extend(self.down_findings());
            if findings.is_empty() {
                let message = if self.live().next().is_none() {
                    text!(
                        "belum ada laporan agen untuk kantor ini",
                        "no agent reports for this office yet"
                    )
                } else {
                    text!(
                        "laporan kantor ini tidak memuat perangkat yang diperiksa butir ini",
                        "this office's reports hold no device this item checks"
                    )
                };
                findings.push(Finding {
                    subject: "office".into(),
                    agent: None,
                    status: Status::NoData,
                    message,
                    evidence: serde_json::Value::Null,
                    advisory: None,
                    severity: None,
                    anytime: false,
                });
            }
        }
        ItemResult {
            item: item.id.clone(),
            kind: item.check.kind(),
            severity: item.severity,
            status: overall(&findings),
            findings,
        }
    }

    fn attestation(&self, item: &Item) -> Finding {
        let key = (self.letter.id.clone(), item.id.clone());
        match self.state.attestations.get(&key) {
            Some(a) => Finding {
                subject: "office".into(),
                agent: None,
                status: Status::Ok,
                message: text!("dinyatakan oleh {}", "attested by {}", a.by),
                evidence: serde_json::json!({ "by": a.by, "at": a.at }),
                advisory: None,
                severity: None,
                anytime: false,
            },
            None => Finding {
                subject: "office".into(),
                agent: None,
                status: Status::Pending,
                message: text!(
                    "menunggu pernyataan kepala kantor",
                    "waiting for the head of office to attest"
                ),
                evidence: serde_json::Value::Null,
                advisory: None,
                severity: None,
                anytime: false,
            },
        }
    }

    pub fn age(&self, since: Timestamp) -> Duration {
        Duration::try_from(self.now.duration_since(since)).unwrap_or(Duration::ZERO)
    }
}

/// The worst finding decides: fail, then no-data, then pending, then ok.
/// Advisory findings inform and do not decide.
fn overall(findings: &[Finding]) -> Status {
    let has = |s| {
        findings
            .iter()
            .any(|f| f.advisory.is_none() && f.status == s)
    };
    if has(Status::Fail) {
        Status::Fail
    } else if has(Status::NoData) || findings.iter().all(|f| f.advisory.is_some()) {
        Status::NoData
    } else if has(Status::Pending) {
        Status::Pending
    } else {
        Status::Ok
    }
}
