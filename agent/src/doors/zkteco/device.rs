//! One configured ZKTeco device as the listener knows it: when and from
//! where it last called, where its uploads stand, and which of its events
//! this run has already kept.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;

use jiff::Timestamp;
use ronda_wire::{DeviceTime, DoorEvent};
use tokio::time::Instant;

use super::proto::{Record, Stamps, Table};
use crate::doors::{AccessConfig, Hub};

/// Event keys remembered per device, so that a device sending its whole
/// log again does not put it on the wire again within one run. Hashes, so
/// this costs 8 bytes a key (plus the set's overhead).
const RECENT: usize = 16_384;

pub(super) struct Device {
    pub config: AccessConfig,
    /// What the access dialect's registry hands out (a session value the
    /// agent does not check).
    pub code: String,
    contact: Mutex<Contact>,
    /// Held while an upload is read and kept, so that two uploads from one
    /// device neither keep the same event twice nor write stale stamps.
    pub log: tokio::sync::Mutex<Log>,
}

#[derive(Default)]
struct Contact {
    last: Option<Instant>,
    peer: Option<IpAddr>,
    silent: bool,
}

/// The device's calls, as the board should show them.
pub(super) struct Call {
    /// When it called before this call.
    pub previous: Option<Instant>,
    /// The address it called from before, when it was another one.
    pub moved_from: Option<IpAddr>,
}

impl Device {
    pub fn new(config: AccessConfig, stamps: Stamps) -> Device {
        Device {
            config,
            code: format!("{:016x}", fastrand::u64(..)),
            contact: Mutex::default(),
            log: tokio::sync::Mutex::new(Log {
                stamps,
                recent: Recent::default(),
            }),
        }
    }

    /// Note a call from `peer`: reachable now.
    pub fn called(&self, hub: &Hub, peer: IpAddr) -> Call {
        let (previous, old_peer) = match self.contact.lock() {
            Ok(mut c) => {
                let before = (c.last, c.peer);
                (c.last, c.peer, c.silent) = (Some(Instant::now()), Some(peer), false);
                before
            }
            Err(_) => (None, None),
        };
        hub.update(&self.config.id, |c| {
            c.reachable = true;
            c.error = None;
            c.last_contact = Some(Timestamp::now());
        });
        Call {
            previous,
            moved_from: old_peer.filter(|p| *p != peer),
        }
    }

    /// Mark the device unreachable once it has been silent too long.
    pub fn check_silence(&self, hub: &Hub, now: Instant) {
        let silence = self.config.silence;
        let gone = match self.contact.lock() {
            Ok(mut c) => match c.last {
                Some(last) if !c.silent && now.duration_since(last) > silence => {
                    c.silent = true;
                    true
                }
                _ => false,
            },
            Err(_) => false,
        };
        if gone {
            hub.update(&self.config.id, |c| {
                c.reachable = false;
                c.error = Some(format!(
                    "has not called the agent for over {}s",
                    silence.as_secs()
                ));
            });
        }
    }

    /// The door event a record is, placed in time with the device's offset.
    pub fn event(&self, r: &Record) -> Option<DoorEvent> {
        let (kind, offset) = (r.kind?, self.config.offset?);
        let instant = offset.to_timestamp(r.time).ok()?;
        Some(DoorEvent {
            device: self.config.id.clone(),
            door_no: r.door_no,
            door: r.door_no.and_then(|n| self.config.place(n)),
            kind,
            who: r.who.clone(),
            at: DeviceTime::new(instant, offset),
            number: None,
            code: r.code.clone(),
        })
    }

    /// A device time as an instant, with the device's offset.
    pub fn instant(&self, time: jiff::civil::DateTime) -> Option<Timestamp> {
        self.config.offset?.to_timestamp(time).ok()
    }
}

/// Where the device's uploads stand, and what this run has kept.
pub(super) struct Log {
    pub stamps: Stamps,
    recent: Recent,
}

impl Log {
    /// The events not kept before in this run, each once.
    pub fn fresh(&self, events: Vec<DoorEvent>) -> (Vec<DoorEvent>, Vec<u64>) {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut keys = Vec::new();
        for e in events {
            let key = self.recent.hash(&e);
            if !self.recent.set.contains(&key) && seen.insert(key) {
                out.push(e);
                keys.push(key);
            }
        }
        (out, keys)
    }

    /// Remember events as kept, forgetting the oldest beyond [`RECENT`].
    pub fn remember(&mut self, keys: Vec<u64>) {
        for key in keys {
            if self.recent.set.insert(key) {
                self.recent.order.push_back(key);
            }
            if self.recent.order.len() > RECENT {
                if let Some(old) = self.recent.order.pop_front() {
                    self.recent.set.remove(&old);
                }
            }
        }
    }

    /// The stamps once an upload of `table` at `stamp` is kept. A stamp
    /// that is not one ([`super::proto::valid_stamp`]) changes nothing.
    pub fn stamps_after(&self, table: Table, stamp: Option<&str>) -> Stamps {
        let mut next = self.stamps.clone();
        let stamp = stamp.filter(|s| super::proto::valid_stamp(s));
        let slot = match table {
            Table::AttLog => &mut next.attlog,
            Table::OperLog => &mut next.operlog,
            _ => return next,
        };
        if let Some(s) = stamp {
            *slot = Some(s.to_owned());
        }
        next
    }
}

/// Hashes of [`DoorEvent::key`], with a hasher keyed at random for this
/// run, so that nobody can craft an event that hides another.
#[derive(Default)]
struct Recent {
    hasher: RandomState,
    order: VecDeque<u64>,
    set: HashSet<u64>,
}

impl Recent {
    fn hash(&self, e: &DoorEvent) -> u64 {
        self.hasher.hash_one(e.key())
    }
}
