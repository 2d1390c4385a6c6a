//! Door access controllers: one adapter per vendor takes events from its
//! devices and hands them to the agent's loop, which keeps them in the
//! outbox before anything is answered or acknowledged.
//!
//! Polled devices (Hikvision, Dahua) each get a task that asks for events
//! after the last one kept. Pushing devices (ZKTeco) share one listener on
//! the office LAN. Either way an adapter calls [`Hub::keep`] and goes on
//! only when the events, and where the device's log stands, are on disk.

pub mod config;
pub mod dahua;
pub mod hikvision;
mod polled;
pub mod zkteco;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ronda_wire::{AccessController, DoorEvent};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use config::{AccessConfig, AccessKind};

/// Batches waiting for the loop, at most. An adapter waits when it is full.
const QUEUE: usize = 16;

/// Events an adapter took from one device, to be kept in the outbox.
pub struct Batch {
    pub device: String,
    pub events: Vec<DoorEvent>,
    /// Where the device's log stands once these are kept (a serial number,
    /// a record number, a stamp), saved in the same transaction.
    pub cursor: Option<String>,
    /// Told whether the batch is on disk.
    pub kept: oneshot::Sender<bool>,
}

/// What adapters share: the way to the outbox and the status board.
#[derive(Clone)]
pub struct Hub {
    tx: mpsc::Sender<Batch>,
    board: Board,
    /// Where each device's log stood when the agent started.
    cursors: Arc<BTreeMap<String, String>>,
}

impl Hub {
    /// Keep `events` from `device` and wait until they are on disk. False
    /// when they are not: the device must be asked, or must send, again.
    pub async fn keep(&self, device: &str, events: Vec<DoorEvent>, cursor: Option<String>) -> bool {
        let (kept, answer) = oneshot::channel();
        let batch = Batch {
            device: device.to_owned(),
            events,
            cursor,
            kept,
        };
        if self.tx.send(batch).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Change what the next report says about `device`.
    pub fn update(&self, device: &str, change: impl FnOnce(&mut AccessController)) {
        self.board.update(device, change);
    }

    /// Where `device`'s log stood when the agent started.
    pub fn cursor(&self, device: &str) -> Option<&str> {
        self.cursors.get(device).map(String::as_str)
    }
}

/// The latest state of every controller, read into each report.
#[derive(Clone, Default)]
pub struct Board(Arc<Mutex<BTreeMap<String, AccessController>>>);

impl Board {
    fn update(&self, device: &str, change: impl FnOnce(&mut AccessController)) {
        if let Ok(mut map) = self.0.lock() {
            if let Some(entry) = map.get_mut(device) {
                change(entry);
            }
        }
    }

    /// Every controller, in configuration order of ids.
    pub fn snapshot(&self) -> Vec<AccessController> {
        self.0
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    fn add(&self, config: &AccessConfig) {
        let doors = config
            .doors
            .iter()
            .map(|d| ronda_wire::Door {
                no: d.no,
                door: Some(d.door.clone()),
                state: None,
            })
            .collect();
        let entry = AccessController {
            id: config.id.clone(),
            kind: config.kind.name().into(),
            error: Some("not heard from yet".into()),
            serial: config.serial.clone(),
            doors,
            ..AccessController::default()
        };
        if let Ok(mut map) = self.0.lock() {
            map.insert(config.id.clone(), entry);
        }
    }
}

/// What the agent's loop reads: batches to keep, and the board.
pub struct Doors {
    pub batches: mpsc::Receiver<Batch>,
    pub board: Board,
}

#[derive(Debug, thiserror::Error)]
pub enum DoorsError {
    #[error("cannot listen for access controllers on {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("cannot set up HTTP for access controllers: {0}")]
    Http(#[from] crate::probe::ProbeError),
}

/// Start every controller's adapter; `None` when none is configured.
pub async fn start(
    access: &[AccessConfig],
    listen: Option<SocketAddr>,
    cursors: BTreeMap<String, String>,
    shutdown: &CancellationToken,
) -> Result<Option<Doors>, DoorsError> {
    if access.is_empty() {
        return Ok(None);
    }
    let (tx, batches) = mpsc::channel(QUEUE);
    let board = Board::default();
    for config in access {
        board.add(config);
    }
    let hub = Hub {
        tx,
        board: board.clone(),
        cursors: Arc::new(cursors),
    };
    let clients = crate::http::Clients::new()?;
    for config in access.iter().filter(|c| !c.kind.pushes()) {
        let (config, hub, stop) = (config.clone(), hub.clone(), shutdown.clone());
        // `None` only for a polled device without a URL, which the config
        // check refuses; the board then says so.
        match config.kind {
            AccessKind::HikvisionAccess => {
                if let Some(p) = hikvision::Poller::new(config, &clients, hub) {
                    tokio::spawn(polled::every(p, stop));
                }
            }
            AccessKind::DahuaAccess => {
                if let Some(p) = dahua::Poller::new(config, &clients, hub) {
                    tokio::spawn(polled::every(p, stop));
                }
            }
            AccessKind::ZktecoPush => {}
        }
    }
    let pushing: Vec<AccessConfig> = access.iter().filter(|c| c.kind.pushes()).cloned().collect();
    if let (Some(addr), false) = (listen, pushing.is_empty()) {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| DoorsError::Listen { addr, error })?;
        tracing::info!(%addr, devices = pushing.len(), "listening for access controllers");
        tokio::spawn(zkteco::serve(listener, pushing, hub, shutdown.clone()));
    }
    Ok(Some(Doors { batches, board }))
}
