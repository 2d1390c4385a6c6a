//! A listener serving two configured devices on 127.0.0.1, its hub kept by
//! a real outbox the way the agent's loop keeps it, and a raw HTTP client.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::tz::Offset;
use ronda_wire::{AccessController, DoorEvent, DoorState, Events, Id, Kind, SCHEMA_VERSION};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::super::{serve_with, Limits};
use crate::delivery::{Courier, Pace, ReportSink};
use crate::doors::config::{AccessConfig, AccessKind, DoorPlace, DEFAULT_SILENCE};
use crate::doors::{Batch, Board, Hub};
use crate::outbox::{self, Outbox};

pub const SN: &str = "CKJX201960001";

/// Never connected: events stay in the outbox, where the tests read them.
struct Offline;

impl ReportSink for Offline {
    fn send(&mut self, _seq: u64, _kind: Kind, _payload: Vec<u8>) -> bool {
        false
    }
}

pub struct Rig {
    pub addr: SocketAddr,
    board: Board,
    courier: Arc<Mutex<Courier<Offline>>>,
    refuse: Arc<AtomicUsize>,
    stop: CancellationToken,
    dir: Arc<TempDir>,
    silence: Duration,
    limits: Limits,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn configs(silence: Duration) -> Vec<AccessConfig> {
    let device = |id: &str, serial: &str, offset: i32, doors: Vec<DoorPlace>| AccessConfig {
        id: id.into(),
        kind: AccessKind::ZktecoPush,
        url: None,
        creds: None,
        insecure_tls: false,
        timeout: Duration::from_secs(5),
        poll: Duration::from_secs(5),
        serial: Some(serial.into()),
        offset: Some(Offset::from_seconds(offset).unwrap()),
        silence,
        doors,
    };
    let place = |no: u32, door: &str| DoorPlace {
        no,
        door: door.into(),
    };
    vec![
        device(
            "door-main",
            SN,
            7 * 3600,
            vec![place(1, "main-door"), place(2, "server-room")],
        ),
        device("door-other", "OTHER0002", 5 * 3600 + 1800, vec![]),
    ]
}

impl Rig {
    pub async fn start() -> Rig {
        Self::build(
            Arc::new(TempDir::new().unwrap()),
            DEFAULT_SILENCE,
            Limits::default(),
        )
        .await
    }

    pub async fn start_with_silence(silence: Duration) -> Rig {
        Self::build(
            Arc::new(TempDir::new().unwrap()),
            silence,
            Limits::default(),
        )
        .await
    }

    pub async fn start_with_limits(limits: Limits) -> Rig {
        Self::build(Arc::new(TempDir::new().unwrap()), DEFAULT_SILENCE, limits).await
    }

    /// A new agent run on the same outbox, this one stopped.
    pub async fn restart(&self) -> Rig {
        self.stop.cancel();
        Self::build(self.dir.clone(), self.silence, self.limits).await
    }

    async fn build(dir: Arc<TempDir>, silence: Duration, limits: Limits) -> Rig {
        let (outbox, _) =
            Outbox::open(dir.path(), outbox::Limits::default(), outbox::Sync::Full).unwrap();
        let cursors = outbox.cursors().unwrap();
        let configs = configs(silence);
        let (tx, rx) = mpsc::channel(super::super::super::QUEUE);
        let board = Board::default();
        for c in &configs {
            board.add(c);
        }
        let hub = Hub {
            tx,
            board: board.clone(),
            cursors: Arc::new(cursors),
        };
        let courier = Arc::new(Mutex::new(Courier::new(outbox, Offline, Pace::default())));
        let refuse = Arc::new(AtomicUsize::new(0));
        tokio::spawn(keep_loop(rx, courier.clone(), refuse.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(serve_with(listener, configs, hub, stop.clone(), limits));
        Rig {
            addr,
            board,
            courier,
            refuse,
            stop,
            dir,
            silence,
            limits,
        }
    }

    /// The next `n` batches are not kept, as when the disk refuses a write.
    pub fn refuse_next(&self, n: usize) {
        self.refuse.store(n, Ordering::SeqCst);
    }

    pub fn events(&self) -> Vec<DoorEvent> {
        let mut c = self.courier.lock().unwrap();
        let mut out = Vec::new();
        let mut from = 1;
        while let Some(r) = c.outbox.next_from(from).unwrap() {
            from = r.seq + 1;
            let events: Events = serde_json::from_slice(&r.body).unwrap();
            out.extend(events.doors);
        }
        out
    }

    /// Every stored record, as text.
    pub fn outbox_text(&self) -> String {
        let mut c = self.courier.lock().unwrap();
        let mut out = String::new();
        let mut from = 1;
        while let Some(r) = c.outbox.next_from(from).unwrap() {
            from = r.seq + 1;
            out.push_str(&String::from_utf8_lossy(&r.body));
        }
        out
    }

    pub fn outbox_len(&self) -> u64 {
        self.courier.lock().unwrap().outbox.len()
    }

    pub fn cursor(&self, device: &str) -> Option<String> {
        let c = self.courier.lock().unwrap();
        c.outbox.cursors().unwrap().get(device).cloned()
    }

    pub fn controller(&self, id: &str) -> AccessController {
        let all = self.board.snapshot();
        all.into_iter().find(|c| c.id == id).unwrap()
    }

    pub fn door_state(&self, id: &str, no: u32) -> Option<DoorState> {
        let c = self.controller(id);
        c.doors.iter().find(|d| d.no == no).and_then(|d| d.state)
    }

    /// Send `raw` on a new connection and read until the listener closes
    /// it: status (0 when there was no answer), headers, body.
    pub async fn raw(&self, raw: &[u8]) -> (u16, String, String) {
        let mut s = TcpStream::connect(self.addr).await.unwrap();
        // The listener may answer and close before reading everything.
        let _ = s.write_all(raw).await;
        read_answer(&mut s).await
    }

    pub async fn get(&self, target: &str) -> (u16, String, String) {
        let req = format!(
            "GET {target} HTTP/1.1\r\nHost: agent\r\nUser-Agent: iClock Proxy/1.09\r\n\r\n"
        );
        self.raw(req.as_bytes()).await
    }

    pub async fn post(&self, target: &str, body: &[u8]) -> (u16, String, String) {
        let mut req = format!(
            "POST {target} HTTP/1.1\r\nHost: agent\r\nUser-Agent: iClock Proxy/1.09\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        self.raw(&req).await
    }

    /// `POST /iclock/cdata?SN=<SN>&table=<table>` (the rest of the query
    /// may follow the table's name).
    pub async fn post_table(&self, table: &str, body: &str) -> (u16, String, String) {
        self.post(
            &format!("/iclock/cdata?SN={SN}&table={table}"),
            body.as_bytes(),
        )
        .await
    }
}

/// Read an answer until the connection closes (or is reset).
pub async fn read_answer(s: &mut TcpStream) -> (u16, String, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Ok(n) = s.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// What the agent's loop does with a batch (`keep_batch` in `lib.rs`):
/// into the outbox with its cursor, then say whether it is on disk.
async fn keep_loop(
    mut rx: mpsc::Receiver<Batch>,
    courier: Arc<Mutex<Courier<Offline>>>,
    refuse: Arc<AtomicUsize>,
) {
    while let Some(batch) = rx.recv().await {
        let refused = refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if refused {
            let _ = batch.kept.send(false);
            continue;
        }
        let events = Events {
            schema: SCHEMA_VERSION,
            office: Id::new("dinkes").unwrap(),
            agent: Id::new("gw").unwrap(),
            seq: 0,
            observed_at: jiff::Timestamp::now(),
            doors: batch.events,
            delivery: None,
        };
        let cursor = batch.cursor.as_deref().map(|c| (batch.device.as_str(), c));
        let kept = courier.lock().unwrap().store_events(events, cursor).is_ok();
        let _ = batch.kept.send(kept);
    }
}
