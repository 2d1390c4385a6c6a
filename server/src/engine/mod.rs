//! The policy engine: keeps each office's latest state, evaluates every
//! letter that covers it, and moves alerts.
//!
//! [`Engine`] does no I/O and never reads the clock: each call takes `now`
//! and returns [`Effects`] (alert changes to store, commands to send).
//! [`worker`] runs it on the live server; tests drive it one step at a time.

mod doors;
mod due;
pub mod lead;
pub mod pins;
mod reload;
mod remedy;
pub mod views;
pub mod worker;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use ronda_policy::alert::{AckError, Book, Change, State};
use ronda_policy::eval::{evaluate, AgentView, Attestation, OfficeState};
use ronda_policy::{Check, Letter, Registry, Scope};
use ronda_wire::{Command, CommandResult, Report};

use crate::store::Seed;
pub use views::{OfficeView, Views};

/// What a step of the engine asks the outside world to do.
#[derive(Debug, Default)]
pub struct Effects {
    pub changes: Vec<Change>,
    pub commands: Vec<Outgoing>,
}

/// A command for one agent.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outgoing {
    pub office: String,
    pub agent: String,
    pub command: Command,
    /// Who asked: a user, or the remediation of an alert.
    pub by: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AttestError {
    #[error("unknown letter `{0}`")]
    Letter(String),
    #[error("letter has no attestation item `{0}`")]
    Item(String),
    #[error("the letter does not cover office `{0}`")]
    Office(String),
}

/// A boot time that moved by more than this is a reboot.
const REBOOT_SLACK_S: i64 = 60;
/// How long after start an office without any agent is left unjudged.
const NO_AGENT_GRACE_S: i64 = 120;
/// Reboots remembered per agent.
const MAX_REBOOTS: usize = 16;
/// A tick leaves an office alone that a report evaluated this recently:
/// nothing has changed for it but the clock, by less than a tick.
const FRESH_MS: i64 = 900;

pub struct Engine {
    letters: Arc<Vec<Letter>>,
    registry: Option<Arc<Registry>>,
    offices: BTreeMap<String, OfficeState>,
    seqs: HashMap<(String, String), u64>,
    book: Book,
    views: Views,
    /// Command id → the alert that sent it, and the agent it went to.
    commands: HashMap<String, remedy::Asked>,
    /// The first `now` the engine saw.
    started: Option<Timestamp>,
    /// When each office was last evaluated because of news about it.
    evaluated: HashMap<String, Timestamp>,
    /// Whether the open alerts were held against the letters in force
    /// since the start ([`Engine::settle`]).
    settled: bool,
}

impl Engine {
    pub fn new(
        letters: Arc<Vec<Letter>>,
        registry: Option<Arc<Registry>>,
        seed: Seed,
        views: Views,
    ) -> Engine {
        let mut offices: BTreeMap<String, OfficeState> = BTreeMap::new();
        let mut seqs = HashMap::new();
        for a in seed.agents {
            if let Some(seq) = a.last_seq {
                seqs.insert((a.office.clone(), a.agent.clone()), seq);
            }
            let office = offices
                .entry(a.office.clone())
                .or_insert_with(|| OfficeState {
                    office: a.office.clone(),
                    ..OfficeState::default()
                });
            let mut view = AgentView::new(a.agent);
            view.online = a.online;
            view.last_seen = a.last_seen;
            view.report = a.report.map(Arc::new);
            office.agents.push(view);
        }
        for ((letter, office, item), att) in seed.attestations {
            let state = offices
                .entry(office.clone())
                .or_insert_with(|| OfficeState {
                    office,
                    ..OfficeState::default()
                });
            state.attestations.insert((letter, item), att);
        }
        for stored in seed.door_events {
            let state = offices
                .entry(stored.office.clone())
                .or_insert_with(|| OfficeState {
                    office: stored.office,
                    ..OfficeState::default()
                });
            state.door_events.push(stored.seen);
        }
        for pin in seed.view_pins {
            let state = offices
                .entry(pin.office.clone())
                .or_insert_with(|| OfficeState {
                    office: pin.office.clone(),
                    ..OfficeState::default()
                });
            pins::put(state, pin.into());
        }
        Engine {
            letters,
            registry,
            offices,
            seqs,
            book: Book::new(seed.open_alerts, seed.last_alert_id),
            views,
            commands: HashMap::new(),
            started: None,
            evaluated: HashMap::new(),
            settled: false,
        }
    }

    pub fn letter(&self, id: &str) -> Option<&Letter> {
        self.letters.iter().find(|l| l.id == id)
    }

    /// The first moment after `after` an open alert may change by time
    /// alone: a grace time running out or an acknowledgement lapsing. (One
    /// at or before `after`, the last evaluation of every office, is
    /// waiting on data, such as an offline agent: a report or the tick has
    /// it.)
    pub fn next_due(&self, after: Timestamp) -> Option<Timestamp> {
        self.book
            .open()
            .filter_map(|a| match a.state {
                State::Pending => {
                    let grace = self.letter(&a.key.letter)?.item(&a.key.item)?.grace;
                    a.started.checked_add(grace).ok()
                }
                State::Acknowledged => a.ack.as_ref()?.until,
                _ => None,
            })
            .filter(|t| *t > after)
            .min()
    }

    /// A new report: newer than what is known for its agent, or ignored.
    pub fn report(&mut self, report: Report, received: Timestamp, now: Timestamp) -> Effects {
        let key = (report.office.to_string(), report.agent.to_string());
        if self.seqs.get(&key).is_some_and(|s| *s >= report.seq) {
            return Effects::default();
        }
        self.seqs.insert(key.clone(), report.seq);
        let offset = clock_offset(&report, received);
        if let Some(off) = offset {
            self.views.set_clock(&key.0, &key.1, off);
        }
        let view = self.agent(&key.0, &key.1);
        if offset.is_some() {
            view.clock_offset = offset;
        }
        let old_boot = view
            .report
            .as_ref()
            .and_then(|r| r.host.as_ref())
            .map(|h| h.boot_time);
        if let (Some(old), Some(new)) = (old_boot, report.host.as_ref().map(|h| h.boot_time)) {
            // Boot times computed from uptime wobble by a second or two.
            if new.duration_since(old).as_secs() > REBOOT_SLACK_S {
                // Kept on the server's clock: the agent's may be hours off.
                let off = view.clock_offset.unwrap_or_default();
                view.reboots.push(new.checked_sub(off).unwrap_or(new));
                let extra = view.reboots.len().saturating_sub(MAX_REBOOTS);
                view.reboots.drain(..extra);
            }
        }
        view.taken = Some(taken(&report, received, view.clock_offset));
        view.report = Some(Arc::new(report));
        view.last_seen = Some(received);
        // A report proves the agent is connected, whatever order the
        // retained `online` and the report arrived in.
        view.online = true;
        self.evaluated.insert(key.0.clone(), now);
        self.evaluate_office(&key.0, now)
    }

    pub fn presence(&mut self, office: &str, agent: &str, online: bool, now: Timestamp) -> Effects {
        let view = self.agent(office, agent);
        if online && !view.online {
            view.online_since = Some(now);
        }
        view.online = online;
        self.evaluate_office(office, now)
    }

    /// Re-evaluate everything: silences grow, grace times run out, windows open and close.
    pub fn tick(&mut self, now: Timestamp) -> Effects {
        self.evaluate_all(now, false)
    }

    /// The regular tick: as [`Engine::tick`], but an office a report
    /// evaluated under a second ago is left alone. Under load most offices
    /// were; at 20,000 reports/s the sweep would otherwise redo them all.
    pub fn sweep(&mut self, now: Timestamp) -> Effects {
        self.evaluate_all(now, true)
    }

    fn evaluate_all(&mut self, now: Timestamp, skip_fresh: bool) -> Effects {
        // Also when no office is left to evaluate: their alerts still close.
        let mut fx = self.settle(now);
        for office in self.office_ids() {
            let fresh = skip_fresh
                && self.evaluated.get(&office).is_some_and(|t| {
                    *t <= now && now.duration_since(*t).as_millis() < i128::from(FRESH_MS)
                });
            if fresh {
                continue;
            }
            let more = self.evaluate_office(&office, now);
            fx.changes.extend(more.changes);
            fx.commands.extend(more.commands);
        }
        fx
    }

    pub fn acknowledge(
        &mut self,
        id: i64,
        by: &str,
        note: &str,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Change, AckError> {
        let change = self.book.acknowledge(id, by, note, until, now)?;
        self.views.set_since(&change.alert.key.office, &self.book);
        Ok(change)
    }

    /// A head of office attests an `attestation` item.
    pub fn attest(
        &mut self,
        letter: &str,
        office: &str,
        item: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<(Attestation, Effects), AttestError> {
        let l = self
            .letters
            .iter()
            .find(|l| l.id == letter)
            .ok_or_else(|| AttestError::Letter(letter.into()))?;
        if !l.item(item).is_some_and(|i| i.check == Check::Attestation) {
            return Err(AttestError::Item(item.into()));
        }
        if !l.covers(office) || !self.judged(office) {
            return Err(AttestError::Office(office.into()));
        }
        let att = Attestation {
            by: by.to_owned(),
            at: now,
        };
        self.office(office)
            .attestations
            .insert((letter.to_owned(), item.to_owned()), att.clone());
        Ok((att, self.evaluate_office(office, now)))
    }

    /// An answer that came on the `cmd/result` topic of `office/agent`.
    /// Noted on its alert only if the command went to that agent; another
    /// agent's answer leaves the command waiting for the real one.
    pub fn command_result(
        &mut self,
        office: &str,
        agent: &str,
        result: &CommandResult,
        now: Timestamp,
    ) -> Effects {
        let mut fx = Effects::default();
        let Some(asked) = self.commands.get(&result.id) else {
            return fx;
        };
        if !asked.is_for(office, agent) {
            return fx;
        }
        let alert = asked.alert;
        self.commands.remove(&result.id);
        fx.changes
            .extend(self.book.note(alert, remedy::describe(result), now));
        fx
    }

    fn evaluate_office(&mut self, office: &str, now: Timestamp) -> Effects {
        let mut fx = self.settle(now);
        if !self.judged(office) {
            return fx;
        }
        let empty;
        let state = match self.offices.get(office) {
            Some(s) => s,
            None => {
                empty = OfficeState {
                    office: office.to_owned(),
                    ..OfficeState::default()
                };
                &empty
            }
        };
        let started = *self.started.get_or_insert(now);
        // Agents connect after a server (re)start; an office with none yet
        // is shown but not alerted on until they have had time to.
        let judge =
            !state.agents.is_empty() || now.duration_since(started).as_secs() >= NO_AGENT_GRACE_S;
        for letter in self.letters.iter().filter(|l| l.covers(office)) {
            let eval = evaluate(letter, state, now);
            let changes = if judge {
                self.book.apply(letter, &eval)
            } else {
                Vec::new()
            };
            fx.commands
                .extend(remedy::switch_offs(letter, &changes, &mut self.commands));
            fx.changes.extend(changes);
            self.views.put(eval);
        }
        fx.changes
            .extend(remedy::notes(&fx.commands, &mut self.book, now));
        self.views.set_since(office, &self.book);
        fx
    }

    /// Every office some letter should be evaluated for.
    fn office_ids(&self) -> BTreeSet<String> {
        let mut ids: BTreeSet<String> = self.offices.keys().cloned().collect();
        if let Some(r) = &self.registry {
            ids.extend(r.offices.keys().cloned());
        }
        for l in self.letters.iter() {
            if let Scope::Offices(set) = &l.offices {
                ids.extend(set.iter().cloned());
            }
        }
        ids.retain(|o| self.judged(o));
        ids
    }

    fn office(&mut self, office: &str) -> &mut OfficeState {
        self.offices
            .entry(office.to_owned())
            .or_insert_with(|| OfficeState {
                office: office.to_owned(),
                ..OfficeState::default()
            })
    }

    fn agent(&mut self, office: &str, agent: &str) -> &mut AgentView {
        let state = self.office(office);
        let i = match state.agents.iter().position(|a| a.agent == agent) {
            Some(i) => i,
            None => {
                state.agents.push(AgentView::new(agent));
                state.agents.len() - 1
            }
        };
        &mut state.agents[i]
    }
}

/// The agent's clock minus the server's: the report's `observed_at` against
/// its arrival, from a report sent as soon as it was made (the only one in
/// the agent's outbox). One that waited out an outage would read as a
/// clock behind by the outage.
fn clock_offset(report: &Report, received: Timestamp) -> Option<jiff::SignedDuration> {
    if report.delivery.is_some_and(|d| d.pending > 1) {
        return None;
    }
    Some(report.observed_at.duration_since(received))
}

/// When a report was taken, on the server's clock. One sent at once was
/// taken as it arrived; one that waited in the agent's outbox was taken at
/// its `observed_at`, corrected by the agent's known clock offset.
fn taken(report: &Report, received: Timestamp, offset: Option<jiff::SignedDuration>) -> Timestamp {
    match (report.delivery, offset) {
        (Some(d), Some(off)) if d.pending > 1 => report
            .observed_at
            .checked_sub(off)
            .map_or(received, |t| t.min(received)),
        _ => received,
    }
}
