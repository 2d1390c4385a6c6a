//! How each server's engine sees what the other servers received: after a
//! server commits a report, presence, door events or a command's answer,
//! a PostgreSQL NOTIFY in the same transaction (delivered only if it
//! commits); every server LISTENs, reads the others' notes as ingest
//! would, and hands them to its engine.
//!
//! A report travels by reference (the reader fetches the stored body); the
//! others are small and travel whole. A server starts listening before it
//! reads its engine's starting point, so nothing falls between the two.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::engine::worker::Msg;
use crate::store::sql::{params, session, PgConfig, Transaction};
use crate::store::Write;

const CHANNEL: &str = "ronda_engine";
/// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
const MAX_NOTE: usize = 7_900;
/// Between the notes of one NOTIFY (ASCII record separator).
const SEP: char = '\u{1e}';
/// How often the listener looks at whether its term has ended.
const LOOK_EVERY: Duration = Duration::from_millis(200);

/// One relayed message, as the NOTIFY payload carries it, after the
/// origin (the sending server's id) and the time it was received.
#[derive(Debug, PartialEq)]
pub struct Note {
    pub origin: String,
    pub received_ms: i64,
    pub topic: String,
    pub what: What,
}

#[derive(Debug, PartialEq)]
pub enum What {
    /// A stored report: `R <origin> <received_ms> <topic> <seq>`.
    Stored(u64),
    /// Anything else, whole: `I <origin> <received_ms> <topic>\n<payload>`.
    Inline(String),
}

impl Note {
    /// The note for a payload ingest accepted, or `None` when it cannot be
    /// relayed (too long), which is logged.
    pub fn of(
        origin: &str,
        topic: &str,
        payload: &[u8],
        received_ms: i64,
        write: &Option<Write>,
    ) -> Option<String> {
        let what = match write {
            Some(Write::Report { seq, .. }) => What::Stored(*seq),
            _ => What::Inline(String::from_utf8_lossy(payload).into_owned()),
        };
        let note = Note {
            origin: origin.to_owned(),
            received_ms,
            topic: topic.to_owned(),
            what,
        }
        .encode();
        if note.len() > MAX_NOTE {
            tracing::warn!(topic, bytes = note.len(), "too long to relay to the other servers; it is stored, and their engines read it at their next start");
            return None;
        }
        Some(note)
    }

    pub fn encode(&self) -> String {
        let Note {
            origin,
            received_ms,
            topic,
            what,
        } = self;
        match what {
            What::Stored(seq) => format!("R {origin} {received_ms} {topic} {seq}"),
            What::Inline(payload) => format!("I {origin} {received_ms} {topic}\n{payload}"),
        }
    }

    pub fn decode(note: &str) -> Option<Note> {
        let (head, payload) = match note.split_once('\n') {
            Some((h, p)) => (h, Some(p)),
            None => (note, None),
        };
        let mut words = head.split(' ');
        let kind = words.next()?;
        let origin = words.next()?.to_owned();
        let received_ms = words.next()?.parse().ok()?;
        let topic = words.next()?.to_owned();
        let what = match (kind, words.next(), payload) {
            ("R", Some(seq), None) => What::Stored(seq.parse().ok()?),
            ("I", None, Some(p)) => What::Inline(p.to_owned()),
            _ => return None,
        };
        if words.next().is_some() {
            return None;
        }
        Some(Note {
            origin,
            received_ms,
            topic,
            what,
        })
    }
}

/// Queue `notes` in the writer's transaction, as few NOTIFYs as fit: one
/// each would be a round trip per report.
pub fn notify(tx: &Transaction<'_>, notes: &[&str]) -> crate::store::sql::Result<()> {
    let mut notify = tx.prepare_cached("SELECT pg_notify('ronda_engine', ?1)")?;
    for packed in pack(notes) {
        notify.query_row(params![packed], |_| Ok(()))?;
    }
    Ok(())
}

/// Notes joined by [`SEP`] into payloads under PostgreSQL's limit. A note
/// never holds `SEP`: it is a control character, which no payload ingest
/// accepted (JSON, or `online`/`offline`) carries raw.
fn pack(notes: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for note in notes {
        match out.last_mut() {
            Some(last) if last.len() + 1 + note.len() <= MAX_NOTE => {
                last.push(SEP);
                last.push_str(note);
            }
            _ => out.push((*note).to_owned()),
        }
    }
    out
}

/// Listen until `shutdown`, handing every other server's notes to
/// `engine`. `listening` is answered once LISTEN is in force (or the first
/// try failed), so the caller can read its engine's starting point after it.
pub fn spawn(
    config: PgConfig,
    me: Listener,
    listening: oneshot::Sender<()>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("relay-listen".into())
        .spawn(move || {
            let mut listening = Some(listening);
            while !me.shutdown.is_cancelled() {
                if let Err(e) = me.listen(&config, &mut listening) {
                    tracing::error!(error = %e, "relay: cannot listen to the other servers; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
                // A failed first try must not hold up the server's start.
                if let Some(l) = listening.take() {
                    let _ = l.send(());
                }
            }
        })
}

/// What the listening thread needs.
pub struct Listener {
    /// This server's id: its own notes are skipped.
    pub origin: String,
    pub engine: mpsc::Sender<Msg>,
    pub max_payload: usize,
    pub shutdown: CancellationToken,
    /// Requests forwarded by the others are run only while this one leads.
    pub leadership: super::Leadership,
    /// Where answers to forwarded requests are sent from.
    pub store: mpsc::Sender<Write>,
    /// This server's forwarded requests awaiting an answer.
    pub pending: super::ask::Pending,
}

impl Listener {
    fn listen(
        &self,
        config: &PgConfig,
        listening: &mut Option<oneshot::Sender<()>>,
    ) -> Result<(), crate::store::sql::Error> {
        let mut client = session(config, "ronda-server relay")?;
        client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
        if let Some(l) = listening.take() {
            let _ = l.send(());
        }
        while !self.shutdown.is_cancelled() {
            let notes: Vec<String> = {
                let mut notifications = client.notifications();
                let mut iter = notifications.timeout_iter(LOOK_EVERY);
                let mut notes = Vec::new();
                while let Some(n) = iter.next()? {
                    notes.push(n.payload().to_owned());
                    if notes.len() >= 1_000 {
                        break;
                    }
                }
                notes
            };
            for note in notes.iter().flat_map(|n| n.split(SEP)) {
                if let Some((kind, server, id, json)) = super::ask::parse(note) {
                    self.asked(kind, server, id, json);
                    continue;
                }
                let Some(msg) = self.read(&mut client, note) else {
                    continue;
                };
                if self.engine.blocking_send(msg).is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// A request forwarded to the leader (`Q`), or the answer to one of
    /// this server's (`A`).
    fn asked(&self, kind: char, server: &str, id: u64, json: &str) {
        use super::ask::{answer_note, to_msg, Answer, Request};
        match kind {
            'Q' if server != self.origin && self.leadership.leads() => {
                let Ok(request) = serde_json::from_str::<Request>(json) else {
                    tracing::warn!(server, "relay: a forwarded request that does not read");
                    return;
                };
                let (store, to) = (self.store.clone(), server.to_owned());
                let done = Box::new(move |answer: Answer| {
                    if let Some(note) = answer_note(&to, id, &answer) {
                        let _ = store.blocking_send(Write::Relay(note));
                    }
                });
                let _ = self.engine.blocking_send(to_msg(request, done));
            }
            'A' if server == self.origin => {
                let waiting = self.pending.lock().ok().and_then(|mut p| p.remove(&id));
                if let (Some(tx), Ok(answer)) = (waiting, serde_json::from_str::<Answer>(json)) {
                    let _ = tx.send(answer);
                }
            }
            _ => {}
        }
    }

    /// Read another server's note as ingest read the payload it stands for.
    fn read(&self, client: &mut postgres::Client, note: &str) -> Option<Msg> {
        let Some(note) = Note::decode(note) else {
            tracing::warn!(note, "relay: a note that does not parse");
            return None;
        };
        if note.origin == self.origin {
            return None;
        }
        let payload = match note.what {
            What::Inline(p) => p,
            What::Stored(seq) => stored(client, &note.topic, seq)?,
        };
        match crate::ingest::read(
            &note.topic,
            payload.as_bytes(),
            note.received_ms,
            self.max_payload,
        ) {
            Ok(read) => read.msg,
            Err(e) => {
                tracing::warn!(topic = note.topic, error = %e, "relay: a relayed payload does not read");
                None
            }
        }
    }
}

fn stored(client: &mut postgres::Client, topic: &str, seq: u64) -> Option<String> {
    let t = ronda_wire::Topic::parse(topic).ok()?;
    let seq = i64::try_from(seq).ok()?;
    let row = client.query_opt(
        "SELECT body FROM reports WHERE office = $1 AND agent = $2 AND seq = $3",
        &[&t.office.as_str(), &t.agent.as_str(), &seq],
    );
    match row {
        Ok(Some(r)) => r.try_get(0).ok(),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(topic, seq, error = %e, "relay: cannot read the stored report");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_back_as_written() {
        let note = |topic: &str, what| Note {
            origin: "1f2e3d4c".into(),
            received_ms: 1_700_000_000_123,
            topic: topic.into(),
            what,
        };
        for n in [
            note("ronda/v1/kec-a/nuc-1/report", What::Stored(42)),
            note(
                "ronda/v1/kec-a/nuc-1/state",
                What::Inline("offline\nwith a second line".into()),
            ),
        ] {
            assert_eq!(Note::decode(&n.encode()), Some(n));
        }
    }

    #[test]
    fn notes_are_packed_under_the_limit_and_split_back() {
        let long = "x".repeat(3_000);
        let notes: Vec<&str> = vec!["a", "b", &long, &long, &long, "c"];
        let packed = pack(&notes);
        assert!(
            packed.iter().all(|p| p.len() <= MAX_NOTE),
            "{:?}",
            packed.iter().map(String::len).collect::<Vec<_>>()
        );
        assert_eq!(packed.len(), 2);
        let back: Vec<&str> = packed.iter().flat_map(|p| p.split(SEP)).collect();
        assert_eq!(back, notes);
    }

    #[test]
    fn a_broken_note_is_refused_not_guessed() {
        for bad in [
            "",
            "R",
            "R o x t 1",
            "R o 1 t",
            "I o 1 t",
            "X o 1 t\np",
            "R o 1 t 2\np",
            "R o 1 t 2 3",
        ] {
            assert_eq!(Note::decode(bad), None, "{bad:?}");
        }
    }
}
