//! The Kotim letter against a simulated office, on a clock the test holds.
//!
//! A real `ronda-sim` office is probed by the real agent code once per
//! scenario step; the report is then replayed at the test's chosen time
//! (every timestamp in it moved by the same amount, as if observed then).
//! The real engine evaluates it and every alert change goes through the real
//! store writer into a real database (a SQLite file, or PostgreSQL for
//! the mail tests under `RONDA_TEST_DB=postgres`). Nothing sleeps.

use std::path::Path;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ronda_agent::AgentConfig;
use ronda_policy::alert::State;
use ronda_policy::{Letter, Registry};
use ronda_server::engine::{Effects, Engine, Views};
use ronda_server::metrics::Metrics;
use ronda_server::store::{self, Location, Write};
use ronda_sim::state::Patch;
use ronda_wire::Report;
use tokio_util::sync::CancellationToken;

pub const OFFICE: &str = "dinkes";
pub const AGENT: &str = "kantor-utama";
pub use crate::common::{kotim, LETTER};

pub struct Office {
    pub sim: ronda_sim::Sim,
    agent: AgentConfig,
    _stop: tokio_util::sync::DropGuard,
}

impl Office {
    pub async fn start() -> Office {
        let stop = CancellationToken::new();
        let sim = ronda_sim::start(
            ronda_sim::layout::default_office(),
            ronda_sim::Options::default(),
            stop.clone(),
        )
        .await
        .unwrap();
        // The central broker is not used: reports go straight to the engine.
        let yaml =
            ronda_sim::agent_config::agent_yaml(&sim, OFFICE, AGENT, "mqtt://127.0.0.1:1", "30s");
        let agent = AgentConfig::from_text(Path::new("<test>"), yaml).unwrap();
        Office {
            sim,
            agent,
            _stop: stop.drop_guard(),
        }
    }

    /// Change a device, as if it happened `ago` before the probe.
    pub fn patch(&self, device: &str, patch: Patch, ago: SignedDuration) {
        let d = self
            .sim
            .device(device)
            .unwrap_or_else(|| panic!("no device {device}"));
        let mut state = ronda_sim::state::lock(&d.state);
        patch.apply(&mut state, Timestamp::now() - ago).unwrap();
    }

    /// Switch a plug's first relay, as a person in the office would.
    pub fn relay(&self, device: &str, on: bool) {
        let patch = Patch {
            relay_on: Some(on),
            ..Patch::default()
        };
        self.patch(device, patch, SignedDuration::ZERO);
    }

    /// One round of the agent's real probes.
    pub async fn observe(&self) -> Report {
        ronda_agent::probe_once(&self.agent).await.unwrap()
    }
}

/// The report as if observed at `at`, with sequence number `seq`.
pub fn replay(report: &Report, at: Timestamp, seq: u64) -> Report {
    let by = at.duration_since(report.observed_at);
    let mv = |t: &mut Timestamp| *t = t.saturating_add(by).unwrap();
    let mut r = report.clone();
    r.seq = seq;
    mv(&mut r.observed_at);
    if let Some(h) = &mut r.host {
        mv(&mut h.boot_time);
    }
    for rec in &mut r.recorders {
        for ch in &mut rec.channels {
            ch.last_segment_end.iter_mut().for_each(mv);
            let looks = ch.view.iter_mut().flat_map(|v| &mut v.samples);
            looks.for_each(|s| mv(&mut s.at));
        }
    }
    r
}

/// The engine with its real store, driven one step at a time.
pub struct Central {
    pub engine: Engine,
    pub views: Views,
    writer: Option<store::WriterHandle>,
    pub db: Location,
    letters: Arc<Vec<Letter>>,
    registry: Option<Arc<Registry>>,
    pub commands: Vec<ronda_server::engine::Outgoing>,
    seq: u64,
}

impl Central {
    pub fn open(db: impl Into<Location>, letters: Vec<Letter>) -> Central {
        Self::resume(db.into(), Arc::new(letters), None)
    }

    /// With the office registry, as the mail tests need for recipients.
    pub fn with_registry(
        db: impl Into<Location>,
        letters: Vec<Letter>,
        registry: Arc<Registry>,
    ) -> Central {
        Self::resume(db.into(), Arc::new(letters), Some(registry))
    }

    fn resume(db: Location, letters: Arc<Vec<Letter>>, registry: Option<Arc<Registry>>) -> Central {
        let conn = db.open().unwrap();
        let views = Views::default();
        let engine = Engine::new(
            letters.clone(),
            registry.clone(),
            store::seed(&db).unwrap(),
            views.clone(),
        );
        let writer = store::spawn_writer(conn, Metrics::new(), 1024, None).unwrap();
        Central {
            engine,
            views,
            writer: Some(writer),
            db,
            letters,
            registry,
            commands: Vec::new(),
            seq: 0,
        }
    }

    /// Stop and start again from the database, as after a server restart.
    pub async fn restart(mut self) -> Central {
        let seq = self.seq;
        self.close().await;
        let mut again = Self::resume(self.db.clone(), self.letters.clone(), self.registry.clone());
        again.seq = seq;
        again
    }

    async fn close(&mut self) {
        if let Some(w) = self.writer.take() {
            drop(w.tx);
            tokio::task::spawn_blocking(move || w.thread.join().unwrap())
                .await
                .unwrap();
        }
    }

    async fn persist(&mut self, fx: Effects) -> Effects {
        let tx = &self.writer.as_ref().unwrap().tx;
        for c in &fx.changes {
            let intent = ronda_server::mail::intent(
                c,
                self.engine
                    .letter(&c.alert.key.letter)
                    .map_or(ronda_policy::notify::DEFAULT_GROUP_WAIT, |l| {
                        l.notify.group_wait
                    }),
            );
            tx.send(Write::Alert(Box::new(c.clone()), intent))
                .await
                .unwrap();
        }
        let (done, flushed) = tokio::sync::oneshot::channel();
        tx.send(Write::Flush(done)).await.unwrap();
        flushed.await.unwrap();
        self.commands.extend(fx.commands.iter().cloned());
        fx
    }

    /// The agent comes online and sends `report` as observed at `at`.
    pub async fn report(&mut self, report: &Report, at: Timestamp) -> Effects {
        self.seq += 1;
        let fx = self.engine.report(replay(report, at, self.seq), at, at);
        self.persist(fx).await
    }

    /// As [`Central::report`], from an agent whose clock is `off` from the
    /// server's: what it stamps itself (the observation, its boot time) is
    /// off by that much; what the devices say is not.
    pub async fn report_from_clock(
        &mut self,
        report: &Report,
        at: Timestamp,
        off: SignedDuration,
    ) -> Effects {
        self.seq += 1;
        let mut r = replay(report, at, self.seq);
        r.observed_at += off;
        if let Some(h) = &mut r.host {
            h.boot_time += off;
        }
        let fx = self.engine.report(r, at, at);
        self.persist(fx).await
    }

    pub async fn presence(&mut self, online: bool, at: Timestamp) -> Effects {
        let fx = self.engine.presence(OFFICE, AGENT, online, at);
        self.persist(fx).await
    }

    pub async fn acknowledge(&mut self, id: i64, note: &str, at: Timestamp) {
        let c = self.engine.acknowledge(id, "budi", note, None, at).unwrap();
        self.persist(Effects {
            changes: vec![c],
            commands: Vec::new(),
        })
        .await;
    }

    pub async fn tick(&mut self, at: Timestamp) -> Effects {
        let fx = self.engine.tick(at);
        self.persist(fx).await
    }

    /// `(item, subject, state)` of every stored alert, oldest first.
    pub fn alerts(&self) -> Vec<(String, String, State)> {
        let conn = self.db.open_read_only().unwrap();
        let f = store::alerts::AlertFilter::default();
        let mut v: Vec<_> = store::alerts::list(&conn, &f, 1000)
            .unwrap()
            .into_iter()
            .map(|a| (a.key.item, a.key.subject, a.state))
            .collect();
        v.reverse();
        v
    }

    pub fn transitions(&self) -> i64 {
        crate::common::sql(&self.db, "SELECT count(*) FROM alert_transitions")
    }

    /// Item id → status of the office's latest evaluation of the letter.
    pub fn statuses(&self) -> Vec<(String, ronda_policy::eval::Status)> {
        let view = self.views.get(LETTER, OFFICE).unwrap();
        view.evaluation
            .items
            .iter()
            .map(|i| (i.item.clone(), i.status))
            .collect()
    }
}

impl Drop for Central {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            drop(w.tx);
            let _ = w.thread.join();
        }
    }
}

pub fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}
