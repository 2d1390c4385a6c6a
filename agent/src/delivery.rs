//! Sending the outbox until the server has committed it.
//!
//! After a connect the newest report goes first, so the server's live view is
//! current at once; then the backlog follows oldest first, at a capped rate
//! and with a bounded number awaiting acknowledgement. When acknowledgements
//! stop coming (the broker lost something without dropping the connection),
//! everything unacknowledged is walked again. The server stores a repeat once.

use std::time::Duration;

use ronda_wire::{Events, Kind, Report, MAX_EVENTS};
use tokio::time::Instant;

use crate::outbox::{Outbox, OutboxError, Record};

/// How the backlog is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Backlog reports per second, so a fleet coming back after an outage
    /// does not flood the broker.
    pub resend_per_s: u32,
    /// Backlog reports sent but not yet acknowledged, at most.
    pub window: u64,
    /// With reports unacknowledged this long, send them all again.
    pub ack_timeout: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            resend_per_s: 50,
            window: 200,
            ack_timeout: Duration::from_secs(30),
        }
    }
}

/// Where reports and events go: the MQTT client, or a test's channel.
pub trait ReportSink {
    /// Queue one payload for the topic of `kind` (`Report` or `Event`);
    /// false when it could not be queued now.
    fn send(&mut self, seq: u64, kind: Kind, payload: Vec<u8>) -> bool;
}

pub struct Courier<T> {
    pub outbox: Outbox,
    sink: T,
    pace: Pace,
    connected: bool,
    /// Next backlog seq to send; the backlog ends before `live_from`.
    cursor: u64,
    /// Reports from this seq on were, or will be, sent as they were made.
    live_from: u64,
    acked: u64,
    highest_sent: u64,
    /// Since when an acknowledgement has been awaited.
    waiting_since: Option<Instant>,
    next_backlog_at: Instant,
}

impl<T: ReportSink> Courier<T> {
    pub fn new(outbox: Outbox, sink: T, pace: Pace) -> Self {
        Courier {
            outbox,
            sink,
            pace,
            connected: false,
            cursor: 0,
            live_from: 0,
            acked: 0,
            highest_sent: 0,
            waiting_since: None,
            next_backlog_at: Instant::now(),
        }
    }

    pub fn sink(&mut self) -> &mut T {
        &mut self.sink
    }

    /// Keep a new report; send it at once when connected. The report's seq
    /// is set here, and it is on disk before it is sent.
    pub fn store(&mut self, mut report: Report) -> Result<u64, OutboxError> {
        let observed_ms = report.observed_at.as_millisecond();
        let seq = self.outbox.push(observed_ms, |seq| {
            report.seq = seq;
            serde_json::to_vec(&report).unwrap_or_default()
        })?;
        if self.connected {
            self.send(report)?;
        }
        Ok(seq)
    }

    /// Keep door events, split into payloads of at most [`MAX_EVENTS`], and
    /// note `cursor` (`(device, where its log stands)`) with the last one.
    /// Like a report, each is on disk before it is sent.
    pub fn store_events(
        &mut self,
        template: Events,
        cursor: Option<(&str, &str)>,
    ) -> Result<(), OutboxError> {
        let observed_ms = template.observed_at.as_millisecond();
        let chunks: Vec<_> = template
            .doors
            .chunks(MAX_EVENTS)
            .map(<[_]>::to_vec)
            .collect();
        let last = chunks.len().saturating_sub(1);
        for (i, doors) in chunks.into_iter().enumerate() {
            let mut events = Events {
                doors,
                ..template.clone()
            };
            let at = if i == last { cursor } else { None };
            self.outbox.push_with(
                observed_ms,
                |seq| {
                    events.seq = seq;
                    serde_json::to_vec(&events).unwrap_or_default()
                },
                at,
            )?;
            if self.connected {
                self.send_events(events)?;
            }
        }
        match cursor {
            Some((device, value)) if template.doors.is_empty() => {
                self.outbox.set_cursor(device, value)
            }
            _ => Ok(()),
        }
    }

    pub fn connected(&mut self) -> Result<(), OutboxError> {
        self.connected = true;
        let newest = self.outbox.last_seq();
        self.live_from = newest;
        self.walk_from(self.outbox.first()?.unwrap_or(newest + 1));
        self.waiting_since = None;
        self.next_backlog_at = Instant::now();
        if !self.outbox.is_empty() {
            self.send_one(newest)?;
        }
        Ok(())
    }

    pub fn disconnected(&mut self) {
        self.connected = false;
        self.waiting_since = None;
    }

    /// The server has committed everything up to `through`. It counts only
    /// what it received, so an acknowledgement beyond the highest seq sent
    /// did not come from it: taking it would empty the outbox.
    pub fn acknowledged(&mut self, through: u64) -> Result<(), OutboxError> {
        if through > self.highest_sent {
            tracing::warn!(
                through,
                sent = self.highest_sent,
                "acknowledgement ignored: beyond anything sent"
            );
            return Ok(());
        }
        self.outbox.acknowledge(through)?;
        if through > self.acked {
            self.acked = through;
            self.waiting_since = (self.highest_sent > through).then(Instant::now);
        }
        self.cursor = self.cursor.max(through + 1);
        Ok(())
    }

    /// When `work` next has something to do, if ever without new events.
    pub fn wake_at(&self) -> Option<Instant> {
        let timeout = self.waiting_since.map(|t| t + self.pace.ack_timeout);
        let backlog = (self.connected && self.backlog_open()).then_some(self.next_backlog_at);
        match (timeout, backlog) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Send the next backlog report if its time has come, and start over if
    /// acknowledgements have stopped.
    pub fn work(&mut self, now: Instant) -> Result<(), OutboxError> {
        if !self.connected {
            return Ok(());
        }
        if self
            .waiting_since
            .is_some_and(|t| now >= t + self.pace.ack_timeout)
        {
            tracing::warn!(
                acked = self.acked,
                sent = self.highest_sent,
                "no acknowledgement in time; sending again"
            );
            self.walk_from(self.outbox.first()?.unwrap_or(self.cursor));
            self.live_from = self.outbox.last_seq() + 1;
            self.waiting_since = Some(now);
        }
        if now < self.next_backlog_at || !self.backlog_open() {
            return Ok(());
        }
        let Some(record) = self.outbox.next_from(self.cursor)? else {
            self.cursor = self.live_from;
            return Ok(());
        };
        if record.seq >= self.live_from {
            self.cursor = self.live_from;
            return Ok(());
        }
        if self.send_record(&record)? {
            self.cursor = record.seq + 1;
        }
        let gap = Duration::from_secs(1) / self.pace.resend_per_s.max(1);
        self.next_backlog_at = now + gap;
        Ok(())
    }

    /// Start the backlog at `first`, the oldest report held. Everything
    /// before it is settled, which a restarted agent's count must know, or
    /// its window would look full of reports it no longer has.
    fn walk_from(&mut self, first: u64) {
        self.cursor = first;
        self.acked = self.acked.max(first.saturating_sub(1));
    }

    fn backlog_open(&self) -> bool {
        self.cursor < self.live_from
            && self.cursor.saturating_sub(self.acked + 1) < self.pace.window
    }

    fn send_one(&mut self, seq: u64) -> Result<(), OutboxError> {
        if let Some(record) = self.outbox.next_from(seq)?.filter(|r| r.seq == seq) {
            self.send_record(&record)?;
        }
        Ok(())
    }

    /// A record is a report or door events: a report refuses the events'
    /// `doors` field, so the two cannot be taken for each other.
    fn send_record(&mut self, record: &Record) -> Result<bool, OutboxError> {
        if let Ok(report) = serde_json::from_slice::<Report>(&record.body) {
            return self.send(report);
        }
        match serde_json::from_slice::<Events>(&record.body) {
            Ok(events) => self.send_events(events),
            // Stored by this agent, so only a newer format lands here.
            Err(_) => Ok(self.queue(record.seq, Kind::Report, record.body.clone())),
        }
    }

    /// Stamp the outbox's state into the report and queue it.
    fn send(&mut self, mut report: Report) -> Result<bool, OutboxError> {
        report.delivery = Some(self.outbox.delivery()?);
        let payload = serde_json::to_vec(&report).unwrap_or_default();
        Ok(self.queue(report.seq, Kind::Report, payload))
    }

    fn send_events(&mut self, mut events: Events) -> Result<bool, OutboxError> {
        events.delivery = Some(self.outbox.delivery()?);
        let payload = serde_json::to_vec(&events).unwrap_or_default();
        Ok(self.queue(events.seq, Kind::Event, payload))
    }

    fn queue(&mut self, seq: u64, kind: Kind, payload: Vec<u8>) -> bool {
        let queued = self.sink.send(seq, kind, payload);
        if queued {
            self.highest_sent = self.highest_sent.max(seq);
            self.waiting_since.get_or_insert_with(Instant::now);
        }
        queued
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::outbox::Limits;

    #[derive(Default)]
    struct Sent(Vec<u64>, Vec<(u64, Kind, Vec<u8>)>);

    impl ReportSink for Sent {
        fn send(&mut self, seq: u64, kind: Kind, payload: Vec<u8>) -> bool {
            self.0.push(seq);
            self.1.push((seq, kind, payload));
            true
        }
    }

    fn report() -> Report {
        Report {
            schema: ronda_wire::SCHEMA_VERSION,
            office: ronda_wire::Id::new("dinkes").unwrap(),
            agent: ronda_wire::Id::new("gw").unwrap(),
            seq: 0,
            observed_at: jiff::Timestamp::now(),
            host: None,
            recorders: vec![],
            plugs: vec![],
            services: vec![],
            access: vec![],
            delivery: None,
        }
    }

    /// An acknowledgement through a seq never sent did not come from the
    /// server, which acknowledges only what it received: the outbox stays.
    #[tokio::test]
    async fn an_acknowledgement_beyond_what_was_sent_is_ignored() {
        let outbox = Outbox::memory(Limits::default());
        let mut courier = Courier::new(outbox, Sent::default(), Pace::default());
        courier.connected().unwrap();
        for _ in 0..3 {
            courier.store(report()).unwrap();
        }
        assert_eq!(courier.sink().0, [1, 2, 3]);
        courier.acknowledged(1_000_000).unwrap();
        assert_eq!(courier.outbox.len(), 3, "forgot reports on a forged ack");
        // The server's real acknowledgement still counts.
        courier.acknowledged(2).unwrap();
        assert_eq!(courier.outbox.len(), 1);
    }

    fn events(n: usize) -> Events {
        let one = ronda_wire::DoorEvent {
            device: "gate".into(),
            door_no: Some(1),
            door: None,
            kind: ronda_wire::DoorEventKind::Forced,
            who: None,
            at: "2026-12-24T22:13:05+07:00".parse().unwrap(),
            number: None,
            code: "5/27".into(),
        };
        Events {
            schema: ronda_wire::SCHEMA_VERSION,
            office: ronda_wire::Id::new("dinkes").unwrap(),
            agent: ronda_wire::Id::new("gw").unwrap(),
            seq: 0,
            observed_at: jiff::Timestamp::now(),
            doors: (0..n as u64)
                .map(|i| ronda_wire::DoorEvent {
                    number: Some(i),
                    ..one.clone()
                })
                .collect(),
            delivery: None,
        }
    }

    /// Events go on their own topic, in the report sequence, split to the
    /// payload limit, and are walked again with the backlog after a
    /// reconnect like any report.
    #[tokio::test]
    async fn events_share_the_sequence_and_are_resent_on_their_own_topic() {
        let outbox = Outbox::memory(Limits::default());
        let mut courier = Courier::new(outbox, Sent::default(), Pace::default());
        courier.connected().unwrap();
        courier.store(report()).unwrap();
        courier
            .store_events(events(MAX_EVENTS + 1), Some(("gate", "9")))
            .unwrap();
        let kinds: Vec<_> = courier.sink().1.iter().map(|(s, k, _)| (*s, *k)).collect();
        assert_eq!(
            kinds,
            [(1, Kind::Report), (2, Kind::Event), (3, Kind::Event)]
        );
        let last: Events = serde_json::from_slice(&courier.sink().1[2].2).unwrap();
        assert_eq!((last.seq, last.doors.len()), (3, 1));
        assert!(last.delivery.is_some(), "the outbox state rides along");
        assert_eq!(courier.outbox.cursors().unwrap()["gate"], "9");
        // Connection lost before any acknowledgement: all three go again.
        courier.disconnected();
        courier.sink().1.clear();
        courier.connected().unwrap();
        let start = Instant::now();
        for i in 1..=4 {
            courier.work(start + Duration::from_secs(i)).unwrap();
        }
        let again: Vec<_> = courier.sink().1.iter().map(|(s, k, _)| (*s, *k)).collect();
        assert!(
            again.contains(&(2, Kind::Event)) && again.contains(&(3, Kind::Event)),
            "{again:?}"
        );
        assert!(again.contains(&(1, Kind::Report)), "{again:?}");
    }
}
