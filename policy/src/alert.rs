//! The alert lifecycle: evaluations in, state changes out.
//!
//! An alert is one (letter, item, office, subject). It is `pending` while the
//! item's grace time runs, then `firing`; a person may `acknowledge` it (with
//! a note and an optional expiry), which holds until it recovers; every alert
//! ends `resolved`. [`Book`] holds the open alerts and is pure: the caller
//! passes the time and stores the [`Change`]s it returns. Outside the
//! letter's window only findings marked `anytime` open and keep alerts.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::eval::{Evaluation, Finding, Status};
use crate::model::{Letter, Severity};
use crate::text::{self, Text};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AlertKey {
    // Letter, then office first: one office's alerts under one letter are
    // then one range of the book, which each report's evaluation walks.
    pub letter: String,
    pub office: String,
    pub item: String,
    pub subject: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Firing,
    Acknowledged,
    Resolved,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Firing => "firing",
            State::Acknowledged => "acknowledged",
            State::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        [
            State::Pending,
            State::Firing,
            State::Acknowledged,
            State::Resolved,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ack {
    pub by: String,
    pub note: String,
    pub at: Timestamp,
    pub until: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub id: i64,
    #[serde(flatten)]
    pub key: AlertKey,
    pub severity: Severity,
    pub state: State,
    pub agent: Option<String>,
    pub message: Text,
    pub evidence: serde_json::Value,
    pub started: Timestamp,
    pub fired: Option<Timestamp>,
    pub resolved: Option<Timestamp>,
    pub ack: Option<Ack>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transition {
    pub alert: i64,
    pub from: Option<State>,
    pub to: State,
    pub at: Timestamp,
    pub cause: Text,
    pub actor: Option<String>,
    pub evidence: serde_json::Value,
}

/// One move of one alert: its state after the move, and the move itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub alert: Alert,
    pub transition: Transition,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AckError {
    #[error("no open alert {0}")]
    NotOpen(i64),
    #[error("an acknowledgement needs a note that says what is being done")]
    NoNote,
    #[error("the expiry is already past")]
    ExpiryPast,
}

/// The open alerts, and the next id to give.
#[derive(Debug)]
pub struct Book {
    open: BTreeMap<AlertKey, Alert>,
    next_id: i64,
}

impl Default for Book {
    /// An empty book; the first alert gets id 1.
    fn default() -> Book {
        Book::new(Vec::new(), 0)
    }
}

impl Book {
    /// Resume from stored open alerts; ids continue after `last_id`.
    pub fn new(open: Vec<Alert>, last_id: i64) -> Book {
        Book {
            open: open.into_iter().map(|a| (a.key.clone(), a)).collect(),
            next_id: last_id + 1,
        }
    }

    pub fn open(&self) -> impl Iterator<Item = &Alert> {
        self.open.values()
    }

    /// The open alerts of one office under one letter.
    pub fn open_in<'a>(
        &'a self,
        letter: &'a str,
        office: &'a str,
    ) -> impl Iterator<Item = &'a Alert> {
        let from = AlertKey {
            letter: letter.to_owned(),
            office: office.to_owned(),
            item: String::new(),
            subject: String::new(),
        };
        self.open
            .range(from..)
            .take_while(move |(k, _)| k.letter == letter && k.office == office)
            .map(|(_, a)| a)
    }

    pub fn get(&self, id: i64) -> Option<&Alert> {
        self.open.values().find(|a| a.id == id)
    }

    /// Bring the alerts of one (letter, office) in line with an evaluation.
    pub fn apply(&mut self, letter: &Letter, eval: &Evaluation) -> Vec<Change> {
        let now = eval.at;
        let mut changes = Vec::new();
        // The (item, subject) of this office's open alerts: most findings
        // are fine and have none, and need no key of their own.
        let open: Vec<(String, String)> = self
            .open_in(&eval.letter, &eval.office)
            .map(|a| (a.key.item.clone(), a.key.subject.clone()))
            .collect();
        let is_open =
            |item: &str, subject: &str| open.iter().any(|(i, s)| i == item && s == subject);
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for result in &eval.items {
            let Some(item) = letter.item(&result.item) else {
                continue;
            };
            // Outside the window only the findings judged at any time count.
            for f in result
                .findings
                .iter()
                .filter(|f| eval.enforced || f.anytime)
            {
                seen.push((&result.item, &f.subject));
                if f.status != Status::Fail && !is_open(&result.item, &f.subject) {
                    continue;
                }
                let key = AlertKey {
                    letter: eval.letter.clone(),
                    item: result.item.clone(),
                    office: eval.office.clone(),
                    subject: f.subject.clone(),
                };
                let severity = f.severity_under(item.severity);
                self.finding(key, severity, item.grace, f, now, &mut changes);
            }
        }
        let gone: Vec<AlertKey> = self
            .open_in(&eval.letter, &eval.office)
            .filter(|a| !seen.contains(&(a.key.item.as_str(), a.key.subject.as_str())))
            // Data held back by an offline agent is not the same as recovery.
            .filter(|a| !eval.enforced || a.agent.as_ref().is_none_or(|g| !eval.down.contains(g)))
            .map(|a| a.key.clone())
            .collect();
        let cause = if eval.enforced {
            text!("tidak dilaporkan lagi", "no longer reported")
        } else {
            text!("di luar masa berlaku surat", "outside the letter's window")
        };
        for key in gone {
            self.resolve(
                &key,
                now,
                cause.clone(),
                serde_json::Value::Null,
                &mut changes,
            );
        }
        changes
    }

    fn finding(
        &mut self,
        key: AlertKey,
        severity: Severity,
        grace: Duration,
        f: &Finding,
        now: Timestamp,
        out: &mut Vec<Change>,
    ) {
        match f.status {
            Status::Fail => {}
            // Most findings are fine and have nothing open: skip building
            // the recovery note and copying the evidence for nothing.
            Status::Ok if !self.open.contains_key(&key) => return,
            Status::Ok => {
                return self.resolve(
                    &key,
                    now,
                    text!("pulih: {}", "recovered: {}", &f.message),
                    f.evidence.clone(),
                    out,
                )
            }
            Status::NoData | Status::Pending => return,
        }
        let alert = match self.open.get_mut(&key) {
            Some(a) => a,
            None => {
                let alert = Alert {
                    id: self.next_id,
                    key: key.clone(),
                    severity,
                    state: State::Pending,
                    agent: f.agent.clone(),
                    message: f.message.clone(),
                    evidence: f.evidence.clone(),
                    started: now,
                    fired: None,
                    resolved: None,
                    ack: None,
                };
                self.next_id += 1;
                out.push(change(&alert, None, now, f.message.clone(), None));
                self.open.entry(key).or_insert(alert)
            }
        };
        alert.message.clone_from(&f.message);
        alert.evidence.clone_from(&f.evidence);
        let due = alert.started.checked_add(grace).unwrap_or(Timestamp::MAX) <= now;
        let expired = alert
            .ack
            .as_ref()
            .and_then(|a| a.until)
            .is_some_and(|u| u <= now);
        let cause = match alert.state {
            State::Pending if due => text!(
                "gagal selama {}: {}",
                "failing for {}: {}",
                text::duration(grace),
                &f.message
            ),
            State::Acknowledged if expired => {
                text!("masa penanganan berakhir", "acknowledgement expired")
            }
            _ => return,
        };
        let from = alert.state;
        alert.state = State::Firing;
        alert.fired.get_or_insert(now);
        alert.ack = None;
        out.push(change(alert, Some(from), now, cause, None));
    }

    fn resolve(
        &mut self,
        key: &AlertKey,
        now: Timestamp,
        cause: Text,
        evidence: serde_json::Value,
        out: &mut Vec<Change>,
    ) {
        let Some(mut alert) = self.open.remove(key) else {
            return;
        };
        let from = alert.state;
        alert.state = State::Resolved;
        alert.resolved = Some(now);
        if !evidence.is_null() {
            alert.evidence = evidence;
        }
        out.push(change(&alert, Some(from), now, cause, None));
    }

    /// A person takes an alert on. Stops repeats and escalation until it
    /// recovers or `until` passes; never hides the recovery.
    pub fn acknowledge(
        &mut self,
        id: i64,
        by: &str,
        note: &str,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Change, AckError> {
        if note.trim().is_empty() {
            return Err(AckError::NoNote);
        }
        if until.is_some_and(|u| u <= now) {
            return Err(AckError::ExpiryPast);
        }
        let alert = self
            .open
            .values_mut()
            .find(|a| a.id == id)
            .ok_or(AckError::NotOpen(id))?;
        let from = alert.state;
        alert.state = State::Acknowledged;
        alert.ack = Some(Ack {
            by: by.to_owned(),
            note: note.trim().to_owned(),
            at: now,
            until,
        });
        let note = note.trim();
        Ok(change(
            alert,
            Some(from),
            now,
            text!("ditangani: {note}", "acknowledged: {note}"),
            Some(by.to_owned()),
        ))
    }

    /// End an open alert because the rule behind it is gone (its letter or
    /// item was withdrawn, its office left the registry): resolved, with
    /// `cause` in its history, so that it is closed on the record rather than
    /// left open with nothing to ever close it.
    pub fn withdraw(&mut self, key: &AlertKey, cause: Text, now: Timestamp) -> Option<Change> {
        let mut out = Vec::new();
        self.resolve(key, now, cause, serde_json::Value::Null, &mut out);
        out.pop()
    }

    /// Record something that happened to an open alert without moving it,
    /// such as a remote switch-off and its result.
    pub fn note(&mut self, id: i64, cause: Text, now: Timestamp) -> Option<Change> {
        let alert = self.open.values().find(|a| a.id == id)?;
        Some(change(alert, Some(alert.state), now, cause, None))
    }
}

fn change(
    alert: &Alert,
    from: Option<State>,
    at: Timestamp,
    cause: Text,
    actor: Option<String>,
) -> Change {
    Change {
        transition: Transition {
            alert: alert.id,
            from,
            to: alert.state,
            at,
            cause,
            actor,
            evidence: alert.evidence.clone(),
        },
        alert: alert.clone(),
    }
}

#[cfg(test)]
mod tests;
