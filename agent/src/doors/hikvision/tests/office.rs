//! The agent's side of a door test: a real [`Hub`] whose batches are kept
//! in a real outbox on disk (through the agent's own `Courier`, as its main
//! loop does), the board it reports from, and a way to make the disk refuse
//! a write. Shared by the Hikvision and Dahua adapter tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use ronda_common::conf::Secret;
use ronda_wire::{AccessController, DoorEvent, Events, Id, Kind, SCHEMA_VERSION};
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::delivery::{Courier, Pace, ReportSink};
use crate::doors::config::DoorPlace;
use crate::doors::{AccessConfig, AccessKind, Batch, Board, Hub};
use crate::http::Creds;
use crate::outbox::{Limits, Outbox, Sync};

/// A sink for an agent that is never connected: everything stays on disk.
struct Offline;

impl ReportSink for Offline {
    fn send(&mut self, _seq: u64, _kind: Kind, _payload: Vec<u8>) -> bool {
        false
    }
}

/// A controller's config as the tests use it: user `admin`, door 1 the
/// main door, door 2 the server room.
pub fn config(id: &str, kind: AccessKind, url: &str) -> AccessConfig {
    AccessConfig {
        id: id.into(),
        kind,
        url: Some(url.into()),
        creds: Some(Creds {
            username: "admin".into(),
            password: Secret::new("stand-in-password"),
        }),
        insecure_tls: false,
        timeout: Duration::from_secs(5),
        poll: Duration::from_millis(100),
        serial: None,
        offset: None,
        silence: Duration::from_secs(300),
        doors: vec![
            DoorPlace {
                no: 1,
                door: "main-door".into(),
            },
            DoorPlace {
                no: 2,
                door: "server-room".into(),
            },
        ],
    }
}

pub struct Office {
    pub dir: TempDir,
    courier: Arc<Mutex<Courier<Offline>>>,
    board: Board,
    stop: CancellationToken,
    keeper: JoinHandle<()>,
}

impl Office {
    /// The agent as it runs: `doors::start` spawns the adapters.
    pub async fn start(dir: Option<TempDir>, configs: &[AccessConfig]) -> Office {
        let dir = dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
        let (outbox, _) = Outbox::open(dir.path(), Limits::default(), Sync::Off).unwrap();
        let cursors = outbox.cursors().unwrap();
        let stop = CancellationToken::new();
        let doors = crate::doors::start(configs, None, cursors, &stop)
            .await
            .unwrap()
            .unwrap();
        Office::keep(dir, outbox, doors.batches, doors.board, stop)
    }

    /// No adapter running: the test drives one itself through the hub.
    pub fn manual(dir: Option<TempDir>, configs: &[AccessConfig]) -> (Office, Hub) {
        let dir = dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
        let (outbox, _) = Outbox::open(dir.path(), Limits::default(), Sync::Off).unwrap();
        let cursors: BTreeMap<String, String> = outbox.cursors().unwrap();
        let (tx, batches) = mpsc::channel(16);
        let board = Board::default();
        for c in configs {
            board.add(c);
        }
        let hub = Hub {
            tx,
            board: board.clone(),
            cursors: Arc::new(cursors),
        };
        let office = Office::keep(dir, outbox, batches, board, CancellationToken::new());
        (office, hub)
    }

    /// The agent loop's part: keep each batch, say whether it is on disk.
    fn keep(
        dir: TempDir,
        outbox: Outbox,
        mut batches: mpsc::Receiver<Batch>,
        board: Board,
        stop: CancellationToken,
    ) -> Office {
        let courier = Arc::new(Mutex::new(Courier::new(outbox, Offline, Pace::default())));
        let c = courier.clone();
        let until = stop.clone();
        let keeper = tokio::spawn(async move {
            loop {
                let batch = tokio::select! {
                    _ = until.cancelled() => return,
                    b = batches.recv() => match b { Some(b) => b, None => return },
                };
                let events = Events {
                    schema: SCHEMA_VERSION,
                    office: Id::new("kantor-test").unwrap(),
                    agent: Id::new("pc-1").unwrap(),
                    seq: 0,
                    observed_at: Timestamp::now(),
                    doors: batch.events,
                    delivery: None,
                };
                let cursor = batch.cursor.as_deref().map(|v| (batch.device.as_str(), v));
                let kept = c.lock().unwrap().store_events(events, cursor).is_ok();
                let _ = batch.kept.send(kept);
            }
        });
        Office {
            dir,
            courier,
            board,
            stop,
            keeper,
        }
    }

    /// Every door event on disk, in the order kept.
    pub fn events(&self) -> Vec<DoorEvent> {
        let mut c = self.courier.lock().unwrap();
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(r) = c.outbox.next_from(from).unwrap() {
            let e: Events = serde_json::from_slice(&r.body).unwrap();
            out.extend(e.doors);
            from = r.seq + 1;
        }
        out
    }

    /// Where `device`'s log stands on disk.
    pub fn cursor(&self, device: &str) -> Option<String> {
        let c = self.courier.lock().unwrap();
        c.outbox.cursors().unwrap().get(device).cloned()
    }

    pub fn controller(&self, device: &str) -> AccessController {
        self.board
            .snapshot()
            .into_iter()
            .find(|c| c.id == device)
            .unwrap()
    }

    /// Another process holding the outbox's write lock: every write the
    /// agent tries fails (SQLite busy) until the returned connection ends
    /// its transaction or is dropped.
    pub fn block_writes(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.dir.path().join("outbox.db")).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn
    }

    /// Stop the agent and give back its state directory.
    pub async fn close(self) -> TempDir {
        self.stop.cancel();
        self.keeper.await.unwrap();
        drop(self.courier);
        self.dir
    }
}

/// Numbers of the events, in the order kept.
pub fn numbers(events: &[DoorEvent]) -> Vec<u64> {
    events.iter().filter_map(|e| e.number).collect()
}
