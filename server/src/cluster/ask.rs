//! A person's request that needs the leading engine (acknowledge an alert,
//! attest an item, switch a plug, pin a camera's view), made on a server
//! that does not lead: it goes to the leader over the relay (`Q` notes,
//! committed through the writer), the leader's engine acts and commits, and
//! its answer comes back (`A` notes). The asking server then answers the
//! page as its own engine would have.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ronda_policy::alert::AckError;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::engine::worker::{AckRequest, AttestRequest, Msg};
use crate::engine::{AttestError, Outgoing};
use crate::store::{Db, Write};

/// How long a forwarded request waits for the leader before the page is
/// told to try again.
const WAIT: Duration = Duration::from_secs(10);

/// A request as it travels.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub enum Request {
    Ack(AckRequest),
    Attest(AttestRequest),
    Command(Outgoing),
    Pin(crate::engine::pins::PinRequest),
}

/// The leader's answer.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub enum Answer {
    Done,
    AckNotOpen(i64),
    AckNoNote,
    AckExpiryPast,
    Attest(AttestFailure),
    /// Whether the command could be handed to the broker.
    Sent(bool),
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub enum AttestFailure {
    Letter(String),
    Item(String),
    Office(String),
}

/// Answers awaited by this server, by request id.
pub type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Answer>>>>;

/// `Q <from> <id>\n<request>`.
pub fn ask_note(from: &str, id: u64, request: &Request) -> Option<String> {
    let json = serde_json::to_string(request).ok()?;
    Some(format!("Q {from} {id}\n{json}"))
}

/// `A <to> <id>\n<answer>`.
pub fn answer_note(to: &str, id: u64, answer: &Answer) -> Option<String> {
    let json = serde_json::to_string(answer).ok()?;
    Some(format!("A {to} {id}\n{json}"))
}

/// A `Q` or `A` note: (kind, server, id, json).
pub fn parse(note: &str) -> Option<(char, &str, u64, &str)> {
    let (head, json) = note.split_once('\n')?;
    let mut words = head.split(' ');
    let kind = match words.next()? {
        "Q" => 'Q',
        "A" => 'A',
        _ => return None,
    };
    let server = words.next()?;
    let id = words.next()?.parse().ok()?;
    if words.next().is_some() {
        return None;
    }
    Some((kind, server, id, json))
}

/// What the leader does with an answer: send it back.
pub type Done = Box<dyn FnOnce(Answer) + Send>;

/// The leader's side: the message for its engine; `done` gets the
/// engine's reply as an [`Answer`].
pub fn to_msg(request: Request, done: Done) -> Msg {
    match request {
        Request::Ack(ack) => {
            let (reply, got) = oneshot::channel();
            answer_when(got, done, |r: Result<_, AckError>| match r {
                Ok(_) => Answer::Done,
                Err(AckError::NotOpen(id)) => Answer::AckNotOpen(id),
                Err(AckError::NoNote) => Answer::AckNoNote,
                Err(AckError::ExpiryPast) => Answer::AckExpiryPast,
            });
            Msg::Ack { ack, reply }
        }
        Request::Attest(attest) => {
            let (reply, got) = oneshot::channel();
            answer_when(got, done, |r: Result<(), AttestError>| match r {
                Ok(()) => Answer::Done,
                Err(AttestError::Letter(l)) => Answer::Attest(AttestFailure::Letter(l)),
                Err(AttestError::Item(i)) => Answer::Attest(AttestFailure::Item(i)),
                Err(AttestError::Office(o)) => Answer::Attest(AttestFailure::Office(o)),
            });
            Msg::Attest { attest, reply }
        }
        Request::Command(outgoing) => {
            let (reply, got) = oneshot::channel();
            answer_when(got, done, Answer::Sent);
            Msg::Command { outgoing, reply }
        }
        Request::Pin(pin) => {
            let (reply, got) = oneshot::channel();
            answer_when(got, done, |()| Answer::Done);
            Msg::Pin { pin, reply }
        }
    }
}

/// Wait for the engine's reply on a thread of its own (the caller is the
/// relay's listening thread, which must go on), and hand it on.
fn answer_when<T: Send + 'static>(
    got: oneshot::Receiver<T>,
    done: Done,
    map: impl FnOnce(T) -> Answer + Send + 'static,
) {
    std::thread::spawn(move || {
        if let Ok(r) = got.blocking_recv() {
            done(map(r));
        }
    });
}

/// The asking side, held by the engine of a server that does not lead.
#[derive(Clone)]
pub struct Forward {
    pub origin: String,
    pub store: mpsc::Sender<Write>,
    pub pending: Pending,
    /// Where an acknowledged alert is read back from.
    pub db: Db,
}

impl Forward {
    /// Send `msg`'s request to the leader and answer its reply when the
    /// leader's answer comes; drop the reply (the page says "try again")
    /// when none comes in time.
    pub fn forward(&self, msg: Msg) {
        let me = self.clone();
        tokio::spawn(async move { me.ask(msg).await });
    }

    fn forget(&self, id: u64) {
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&id);
        }
    }

    async fn ask(self, msg: Msg) {
        let (request, reply) = match msg {
            Msg::Ack { ack, reply } => {
                let alert = ack.id;
                (Request::Ack(ack), Reply::Ack(alert, reply))
            }
            Msg::Attest { attest, reply } => (Request::Attest(attest), Reply::Attest(reply)),
            Msg::Command { outgoing, reply } => (Request::Command(outgoing), Reply::Command(reply)),
            Msg::Pin { pin, reply } => (Request::Pin(pin), Reply::Pin(reply)),
            _ => return,
        };
        let id = fastrand::u64(..);
        let (tx, rx) = oneshot::channel();
        match self.pending.lock() {
            Ok(mut pending) => pending.insert(id, tx),
            Err(_) => return,
        };
        let Some(note) = ask_note(&self.origin, id, &request) else {
            return;
        };
        if self.store.send(Write::Relay(note)).await.is_err() {
            return;
        }
        let answer = tokio::time::timeout(WAIT, rx).await;
        self.forget(id);
        match answer {
            Ok(Ok(a)) => reply.send(a, &self.db).await,
            _ => tracing::warn!(
                ?request,
                "the leading server did not answer a forwarded request in time"
            ),
        }
    }
}

/// Where the page waits, by kind.
enum Reply {
    Ack(
        i64,
        oneshot::Sender<Result<ronda_policy::alert::Alert, AckError>>,
    ),
    Attest(oneshot::Sender<Result<(), AttestError>>),
    Command(oneshot::Sender<bool>),
    Pin(oneshot::Sender<()>),
}

impl Reply {
    async fn send(self, answer: Answer, db: &Db) {
        match (self, answer) {
            (Reply::Ack(id, r), Answer::Done) => {
                // The leader committed before it answered.
                let alert = db.read(move |c| crate::store::alerts::get(c, id)).await;
                if let Ok(Ok(Some(a))) = alert {
                    let _ = r.send(Ok(a));
                }
            }
            (Reply::Ack(_, r), Answer::AckNotOpen(id)) => drop(r.send(Err(AckError::NotOpen(id)))),
            (Reply::Ack(_, r), Answer::AckNoNote) => drop(r.send(Err(AckError::NoNote))),
            (Reply::Ack(_, r), Answer::AckExpiryPast) => drop(r.send(Err(AckError::ExpiryPast))),
            (Reply::Attest(r), Answer::Done) => drop(r.send(Ok(()))),
            (Reply::Attest(r), Answer::Attest(f)) => drop(r.send(Err(match f {
                AttestFailure::Letter(l) => AttestError::Letter(l),
                AttestFailure::Item(i) => AttestError::Item(i),
                AttestFailure::Office(o) => AttestError::Office(o),
            }))),
            (Reply::Command(r), Answer::Sent(sent)) => drop(r.send(sent)),
            (Reply::Pin(r), Answer::Done) => drop(r.send(())),
            (_, other) => tracing::warn!(
                ?other,
                "an answer of the wrong kind; the request is dropped"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_and_answers_read_back_and_broken_ones_are_refused() {
        let attest = || {
            Request::Attest(AttestRequest {
                letter: "l".into(),
                office: "o".into(),
                item: "i".into(),
                by: "u".into(),
            })
        };
        let q = ask_note("a1", 7, &attest()).unwrap();
        let (kind, from, id, json) = parse(&q).unwrap();
        assert_eq!((kind, from, id), ('Q', "a1", 7));
        let back: Request = serde_json::from_str(json).unwrap();
        assert_eq!(back, attest());
        let a = answer_note("a1", 7, &Answer::AckNotOpen(3)).unwrap();
        assert_eq!(parse(&a).map(|p| (p.0, p.1, p.2)), Some(('A', "a1", 7)));
        for bad in ["", "Q a1 7", "Q a1 x\n{}", "Z a1 7\n{}", "Q a1 7 8\n{}"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
