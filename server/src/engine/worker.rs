//! The engine on the live server: one task that owns the [`Engine`], takes
//! messages from ingest and the API, ticks once a second, stores every alert
//! change through the store writer and publishes commands.

use std::time::Duration;

use jiff::Timestamp;
use ronda_policy::alert::{AckError, Alert};
use ronda_wire::{CommandResult, Id, Kind, Report, Topic};
use rumqttc::{AsyncClient, QoS};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{AttestError, Effects, Engine};
use crate::store::Write;

/// How often silences, grace times and window edges are looked at.
pub const TICK: Duration = Duration::from_secs(1);

pub enum Msg {
    Report {
        report: Box<Report>,
        received: Timestamp,
    },
    /// Door events from one agent, in the order they came.
    Events {
        office: String,
        agent: String,
        events: Vec<ronda_wire::DoorEvent>,
        received: Timestamp,
    },
    Presence {
        office: String,
        agent: String,
        online: bool,
    },
    /// An agent's answer, with the office and agent of the topic it came
    /// on: the only agent whose answer to a command counts is the one it
    /// was sent to.
    CommandResult {
        office: String,
        agent: String,
        result: CommandResult,
        /// The size of the live snapshot taken out of it (see
        /// `crate::snapshots::strip`), for the command's record.
        picture_bytes: Option<usize>,
    },
    /// A command a user asked for (plug control); `reply` says whether it
    /// could be handed to the broker.
    Command {
        outgoing: super::Outgoing,
        reply: oneshot::Sender<bool>,
    },
    Ack {
        ack: AckRequest,
        reply: oneshot::Sender<Result<Alert, AckError>>,
    },
    Attest {
        attest: AttestRequest,
        reply: oneshot::Sender<Result<(), AttestError>>,
    },
    /// A camera view pinned or unpinned, already in the store: the engine
    /// judges against it from now on. `reply` once the changes it caused
    /// are committed.
    Pin {
        pin: super::pins::PinRequest,
        reply: oneshot::Sender<()>,
    },
    /// Put a new set of letters and registry in force (a reload). `reply`
    /// gets how many open alerts were closed because their rule is gone,
    /// once their changes are committed and the set is in force for the
    /// pages and the mailer too.
    Reload {
        set: std::sync::Arc<crate::letters::PolicySet>,
        reply: oneshot::Sender<usize>,
    },
}

/// A person acknowledges an alert. Serializable: a server that does not
/// lead forwards it to the one that does (`crate::cluster::ask`).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct AckRequest {
    pub id: i64,
    pub by: String,
    pub note: String,
    pub until: Option<Timestamp>,
}

/// A person attests a checklist item; forwarded as [`AckRequest`] is.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct AttestRequest {
    pub letter: String,
    pub office: String,
    pub item: String,
    pub by: String,
}

pub struct Worker {
    pub engine: Engine,
    pub store: mpsc::Sender<Write>,
    /// Where commands go; `None` in tests that only look at the store.
    pub client: Option<AsyncClient>,
    /// Whether alert changes should leave email intents.
    pub mail: bool,
    /// Alert changes applied so far: the next due time only moves with them.
    changes: u64,
    /// Where a reloaded set is put in force for the pages and the mailer.
    pub(super) live: Option<crate::letters::Live>,
    /// Acting only while this server leads (a shared database).
    pub(super) lead: Option<super::lead::Lead>,
}

impl Worker {
    pub fn new(
        engine: Engine,
        store: mpsc::Sender<Write>,
        client: Option<AsyncClient>,
        mail: bool,
    ) -> Worker {
        Worker {
            engine,
            store,
            client,
            mail,
            changes: 0,
            live: None,
            lead: None,
        }
    }

    /// Publish each set [`Msg::Reload`] brings to `live`, in the same step
    /// that puts it in force in the engine.
    pub fn with_live(mut self, live: crate::letters::Live) -> Worker {
        self.live = Some(live);
        self
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<Msg>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut due = super::due::Due::default();
        loop {
            let now = Timestamp::now();
            // A grace time that runs out between ticks is acted on at once,
            // not up to a tick later: alert latency is a budget.
            let wake = match due.next(self.changes, now, |after| self.engine.next_due(after)) {
                super::due::Next::Tick => {
                    self.tick(now).await;
                    due.evaluated(now);
                    continue;
                }
                super::due::Next::Wait(at) => at.map(until),
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    let fx = self.engine.sweep(Timestamp::now());
                    self.apply(fx).await;
                }
                _ = sleep_until(wake), if wake.is_some() => {
                    let now = Timestamp::now();
                    self.tick(now).await;
                    due.evaluated(now);
                }
                _ = Self::lead_changed(&mut self.lead) => self.lead_moved(Timestamp::now()).await,
                msg = rx.recv() => match msg {
                    Some(m) => self.step(m, Timestamp::now()).await,
                    None => break,
                },
            }
        }
        tracing::info!("policy engine stopped");
    }

    /// Handle one message as of `now`.
    pub async fn step(&mut self, msg: Msg, now: Timestamp) {
        // A person's request needs the leader's engine: it goes there.
        if !self.acting()
            && matches!(
                msg,
                Msg::Command { .. } | Msg::Ack { .. } | Msg::Attest { .. } | Msg::Pin { .. }
            )
        {
            if let Some(lead) = &self.lead {
                lead.forward.forward(msg);
            }
            return;
        }
        let fx = match msg {
            Msg::Report { report, received } => self.engine.report(*report, received, now),
            Msg::Events {
                office,
                agent,
                events,
                received,
            } => self
                .engine
                .door_events(&office, &agent, events, received, now),
            Msg::Presence {
                office,
                agent,
                online,
            } => self.engine.presence(&office, &agent, online, now),
            Msg::CommandResult {
                office,
                agent,
                result,
                picture_bytes,
            } => {
                let answer = crate::store::commands::Answer {
                    id: result.id.clone(),
                    ok: result.ok,
                    answer: answer_text(&result, picture_bytes),
                    at_ms: now.as_millisecond(),
                    office: office.clone(),
                    agent: agent.clone(),
                };
                if self.acting() {
                    let _ = self.store.send(Write::CommandAnswer(answer)).await;
                }
                self.engine.command_result(&office, &agent, &result, now)
            }
            Msg::Command { outgoing, reply } => {
                let _ = reply.send(self.publish(outgoing, now).await);
                return;
            }
            Msg::Ack { ack, reply } => {
                let result = self
                    .engine
                    .acknowledge(ack.id, &ack.by, &ack.note, ack.until, now);
                let fx = Effects {
                    changes: result.iter().cloned().collect(),
                    commands: Vec::new(),
                };
                self.apply(fx).await;
                self.committed().await;
                let _ = reply.send(result.map(|c| c.alert));
                return;
            }
            Msg::Attest { attest, reply } => match self.engine.attest(
                &attest.letter,
                &attest.office,
                &attest.item,
                &attest.by,
                now,
            ) {
                Ok((attestation, fx)) => {
                    let AttestRequest {
                        letter,
                        office,
                        item,
                        ..
                    } = attest;
                    let _ = self
                        .store
                        .send(Write::Attest {
                            letter,
                            office,
                            item,
                            attestation,
                        })
                        .await;
                    self.apply(fx).await;
                    self.committed().await;
                    let _ = reply.send(Ok(()));
                    return;
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                    return;
                }
            },
            Msg::Pin { pin, reply } => {
                let fx = self.engine.pin(pin, now);
                self.apply(fx).await;
                self.committed().await;
                let _ = reply.send(());
                return;
            }
            Msg::Reload { set, reply } => {
                let (fx, withdrawn) =
                    self.engine
                        .replace(set.letters.clone(), set.registry.clone(), now);
                self.apply(fx).await;
                // The closing changes are on disk before anyone is told,
                // and before the pages show the new set.
                self.committed().await;
                if let Some(live) = &self.live {
                    live.publish(set);
                }
                let _ = reply.send(withdrawn);
                return;
            }
        };
        self.apply(fx).await;
    }

    /// Wait until the store has committed everything sent so far: a person
    /// who acknowledged or signed must see it on the next page they load.
    async fn committed(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.store.send(Write::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    pub async fn tick(&mut self, now: Timestamp) {
        let fx = self.engine.tick(now);
        self.apply(fx).await;
    }

    /// How long the letter's alerts wait to be grouped into one email.
    /// How long an alert's mail waits for others of its office; none for
    /// the ones a letter wants told at once (a forced door).
    fn group_wait(&self, key: &ronda_policy::alert::AlertKey) -> std::time::Duration {
        let wait = |l: &ronda_policy::Letter| l.group_wait_for(&key.item, &key.subject);
        if let Some(l) = self.engine.letter(&key.letter) {
            return wait(l);
        }
        // A letter a reload is withdrawing: its set is still the one
        // published (or keeps it as retired), and its people are told as
        // it said.
        let published = self.live.as_ref().map(|live| live.current());
        published
            .as_ref()
            .and_then(|set| {
                let find = |l: &&ronda_policy::Letter| l.id == key.letter;
                set.letters
                    .iter()
                    .find(find)
                    .or_else(|| set.retired.iter().find(find))
            })
            .map_or(ronda_policy::notify::DEFAULT_GROUP_WAIT, wait)
    }

    pub(super) async fn apply(&mut self, fx: Effects) {
        self.changes += fx.changes.len() as u64;
        if !self.acting() {
            return;
        }
        for c in fx.changes {
            tracing::info!(alert = c.alert.id, letter = %c.alert.key.letter, item = %c.alert.key.item, office = %c.alert.key.office, subject = %c.alert.key.subject, to = c.transition.to.as_str(), cause = %c.transition.cause.en, "alert");
            let intent = self
                .mail
                .then(|| crate::mail::intent(&c, self.group_wait(&c.alert.key)))
                .flatten();
            if self
                .store
                .send(Write::Alert(Box::new(c), intent))
                .await
                .is_err()
            {
                tracing::error!("store writer has stopped; alert change not stored");
            }
        }
        for o in fx.commands {
            self.publish(o, Timestamp::now()).await;
        }
    }

    /// Send a command and record it; false when it could not be sent.
    async fn publish(&self, o: super::Outgoing, now: Timestamp) -> bool {
        let Some(client) = &self.client else {
            return false;
        };
        let (Ok(office), Ok(agent)) = (Id::new(o.office.as_str()), Id::new(o.agent.as_str()))
        else {
            return false;
        };
        let topic = Topic::new(office, agent, Kind::Cmd).to_string();
        let payload = match serde_json::to_vec(&o.command) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode command");
                return false;
            }
        };
        // try_: the MQTT event loop is driven by ingest, which may be waiting
        // on this task; a full request queue must not deadlock the two.
        if let Err(e) = client.try_publish(&topic, QoS::AtLeastOnce, false, payload) {
            tracing::error!(%topic, error = %e, "cannot send command");
            return false;
        }
        tracing::info!(%topic, command = %o.command.id, by = %o.by, "command sent");
        let (action, plug, on) = match &o.command.action {
            ronda_wire::Action::PlugSet { plug, on } => ("plug.set", Some(plug.clone()), Some(*on)),
            ronda_wire::Action::ViewSnapshot { .. } => ("view.snapshot", None, None),
        };
        let sent = crate::store::commands::Sent {
            id: o.command.id.clone(),
            office: o.office,
            agent: o.agent,
            action,
            plug,
            on,
            by: o.by,
            at_ms: now.as_millisecond(),
        };
        let _ = self.store.send(Write::Command(sent)).await;
        true
    }
}

/// The agent's answer in a line for the office page. A snapshot's picture
/// is never kept: only that one was taken, and its size.
fn answer_text(r: &CommandResult, picture_bytes: Option<usize>) -> String {
    let relay = r.plug.as_ref().and_then(|p| p.relay_on);
    if r.ok && r.snapshot.is_some() {
        return match picture_bytes {
            Some(b) => format!("snapshot taken, {} KB (shown, not kept)", b.div_ceil(1024)),
            None => "snapshot taken (shown, not kept)".into(),
        };
    }
    match (r.ok, &r.error, relay) {
        (true, _, Some(on)) => format!("done: the plug reads {}", if on { "ON" } else { "OFF" }),
        (true, _, None) => "done; the relay state could not be read back".into(),
        (false, Some(e), _) => format!("refused or failed: {e}"),
        (false, None, _) => "failed (no reason given)".into(),
    }
}

/// The monotonic instant of a wall-clock time (now, if it is past).
fn until(t: Timestamp) -> tokio::time::Instant {
    let ahead = t.duration_since(Timestamp::now());
    tokio::time::Instant::now() + Duration::try_from(ahead).unwrap_or(Duration::ZERO)
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
