//! What the listener answers, request by request: which device is calling
//! (only configured serial numbers), then the handshake, the heartbeat, or
//! an upload read and kept before it is acknowledged. No HTTP plumbing here
//! (see `conn.rs`), and no text parsing (see `proto/`).

use std::net::SocketAddr;

use hyper::StatusCode;
use jiff::Timestamp;
use ronda_wire::DoorState;
use tokio::time::{Duration, Instant};

use super::device::{Call, Device};
use super::proto::{self, shown, Query, Stamps, Table, Upload};
use super::throttle::Throttle;
use super::Limits;
use crate::doors::{AccessConfig, Hub};

/// A record counts as real time, and so as a reading of the device's
/// clock, only when the device called in this recently before sending it
/// (it polls every `Delay=10` seconds when online).
const LIVE: Duration = Duration::from_secs(60);

/// What the listener shares between connections.
pub(super) struct Shared {
    devices: Vec<Device>,
    pub hub: Hub,
    pub limits: Limits,
    pub throttle: Throttle,
}

/// An HTTP answer: status and plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reply {
    pub status: StatusCode,
    pub body: String,
}

impl Reply {
    fn ok(body: impl Into<String>) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: body.into(),
        }
    }

    pub fn error(status: StatusCode, why: &str) -> Reply {
        Reply {
            status,
            body: format!("ERROR: {why}\n"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verb {
    Get,
    Post,
    Other,
}

/// What a request from a configured device asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Handshake,
    Upload,
    /// Heartbeat, ping, command results, photos, query answers: `OK`.
    Ok,
    Registry,
    Push,
}

/// A request from a configured device, its body not yet read.
pub(super) struct Admitted {
    device: usize,
    action: Action,
    query: Query,
    call: Call,
}

impl Shared {
    pub fn new(configs: Vec<AccessConfig>, hub: Hub, limits: Limits) -> Shared {
        let mut devices: Vec<Device> = Vec::new();
        for config in configs {
            let Some(serial) = config.serial.clone() else {
                hub.update(&config.id, |c| c.error = Some("no serial number".into()));
                continue;
            };
            if devices
                .iter()
                .any(|d| d.config.serial.as_ref() == Some(&serial))
            {
                tracing::warn!(device = %config.id, serial = %shown(&serial), "another zkteco-push device has this serial number; it is ignored");
                continue;
            }
            let stamps = hub
                .cursor(&config.id)
                .map(Stamps::parse)
                .unwrap_or_default();
            devices.push(Device::new(config, stamps));
        }
        Shared {
            devices,
            hub,
            limits,
            throttle: Throttle::default(),
        }
    }

    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// Which device is calling and what for; an answer at once for a
    /// request that goes no further.
    pub fn admit(
        &self,
        peer: SocketAddr,
        verb: Verb,
        path: &str,
        query: &str,
    ) -> Result<Admitted, Reply> {
        let action = self.action(peer, verb, path)?;
        let query = Query::parse(query);
        let Some(sn) = query.get("SN") else {
            return Err(Reply::error(StatusCode::BAD_REQUEST, "no SN"));
        };
        let Some(device) = self
            .devices
            .iter()
            .position(|d| d.config.serial.as_deref() == Some(sn))
        else {
            let sn = shown(sn);
            if let Some(quiet) = self.throttle.allow(&format!("sn {sn} {}", peer.ip())) {
                tracing::warn!(serial = %sn, %peer, quiet, "refused a device whose serial number is not configured");
            }
            return Err(Reply::error(StatusCode::FORBIDDEN, "unknown device"));
        };
        let d = &self.devices[device];
        let call = d.called(&self.hub, peer.ip());
        if let Some(old) = call.moved_from {
            if let Some(quiet) =
                self.throttle
                    .allow(&format!("moved {} {}", d.config.id, peer.ip()))
            {
                tracing::warn!(device = %d.config.id, from = %old, to = %peer.ip(), quiet, "device called from another address");
            }
        }
        Ok(Admitted {
            device,
            action,
            query,
            call,
        })
    }

    fn action(&self, peer: SocketAddr, verb: Verb, path: &str) -> Result<Action, Reply> {
        use Verb::{Get, Post};
        Ok(match (path, verb) {
            ("/iclock/cdata", Get) => Action::Handshake,
            ("/iclock/cdata", Post) => Action::Upload,
            ("/iclock/getrequest" | "/iclock/ping", Get) => Action::Ok,
            ("/iclock/devicecmd" | "/iclock/querydata" | "/iclock/fdata", Post) => Action::Ok,
            ("/iclock/registry", Post) => Action::Registry,
            ("/iclock/push", Get | Post) => Action::Push,
            (
                "/iclock/cdata" | "/iclock/getrequest" | "/iclock/ping" | "/iclock/devicecmd"
                | "/iclock/querydata" | "/iclock/fdata" | "/iclock/registry",
                _,
            ) => {
                return Err(Reply::error(StatusCode::METHOD_NOT_ALLOWED, "method"));
            }
            _ => {
                let path = shown(path);
                if let Some(quiet) = self.throttle.allow(&format!("path {path}")) {
                    tracing::debug!(%path, %peer, quiet, "no such ZKTeco endpoint");
                }
                return Err(Reply::error(StatusCode::NOT_FOUND, "no such endpoint"));
            }
        })
    }

    /// Answer an admitted request, its body read; `arrival` is when it came.
    pub async fn run(&self, a: Admitted, body: &[u8], arrival: Timestamp) -> Reply {
        let d = &self.devices[a.device];
        let sn = d.config.serial.as_deref().unwrap_or_default();
        match a.action {
            Action::Handshake => {
                let stamps = d.log.lock().await.stamps.clone();
                Reply::ok(proto::options_reply(sn, &stamps, d.config.offset))
            }
            Action::Ok => Reply::ok("OK"),
            Action::Registry => Reply::ok(proto::registry_reply(&d.code)),
            Action::Push => Reply::ok(proto::push_reply(&d.code)),
            Action::Upload => {
                let table = Table::parse(a.query.get("table").unwrap_or_default());
                if table == Table::Other {
                    let name = shown(a.query.get("table").unwrap_or_default());
                    tracing::debug!(device = %d.config.id, table = %name, bytes = body.len(), "upload of a table Ronda does not read; acknowledged");
                    return Reply::ok("OK");
                }
                let stamp = a.query.get("Stamp");
                self.upload(d, table, stamp, body, arrival, a.call.previous)
                    .await
            }
        }
    }

    async fn upload(
        &self,
        d: &Device,
        table: Table,
        stamp: Option<&str>,
        body: &[u8],
        arrival: Timestamp,
        previous: Option<Instant>,
    ) -> Reply {
        let id = &d.config.id;
        let up = match proto::parse_upload(table, body) {
            Ok(up) => up,
            Err(e) => {
                if let Some(quiet) = self.throttle.allow(&format!("lines {id}")) {
                    tracing::warn!(device = %id, error = %e, quiet, "upload refused");
                }
                return Reply::error(StatusCode::PAYLOAD_TOO_LARGE, "too many lines");
            }
        };
        if up.bad > 0 || up.unmapped > 0 {
            tracing::debug!(device = %id, ?table, lines = up.lines, unreadable = up.bad, unmapped = up.unmapped, codes = ?up.unmapped_codes, "upload lines skipped");
        }
        self.show_states(d, &up);
        let live = previous.is_some_and(|p| p.elapsed() <= LIVE);
        if live {
            self.read_clock(d, &up, arrival);
        }
        let events = up.records.iter().filter_map(|r| d.event(r)).collect();
        let mut log = d.log.lock().await;
        let (fresh, keys) = log.fresh(events);
        let stamps = log.stamps_after(table, stamp);
        if !fresh.is_empty() || stamps != log.stamps {
            let count = fresh.len();
            if !self.hub.keep(id, fresh, stamps.cursor()).await {
                tracing::warn!(device = %id, events = count, "events not kept; the device is told to send them again");
                return Reply::error(StatusCode::SERVICE_UNAVAILABLE, "not stored, send again");
            }
            log.remember(keys);
            log.stamps = stamps;
        }
        if table.stamped() {
            Reply::ok(format!("OK:{}", up.lines))
        } else {
            Reply::ok("OK")
        }
    }

    /// Door states the upload reports, on the board: an rtstate line says
    /// every door's state (none where it says nothing readable); rtlog 200
    /// and 201 say one door's.
    fn show_states(&self, d: &Device, up: &Upload) {
        let changes: Vec<(u32, DoorState)> = up
            .records
            .iter()
            .filter_map(|r| Some((r.door_no?, r.state?)))
            .collect();
        let last_state = up.states.last();
        if changes.is_empty() && last_state.is_none() {
            return;
        }
        self.hub.update(&d.config.id, |c| {
            for door in &mut c.doors {
                if let Some(s) = last_state {
                    door.state = s
                        .doors
                        .iter()
                        .find(|(no, _)| *no == door.no)
                        .map(|(_, st)| *st);
                }
                if let Some((_, st)) = changes.iter().rev().find(|(no, _)| *no == door.no) {
                    door.state = Some(*st);
                }
            }
        });
    }

    /// The device's clock against the agent's, from an upload that is real
    /// time: an rtstate line (the device's state now), or a single record
    /// (the device uploads each new record at once, `Realtime=1`), sent
    /// while the device was calling in regularly. A backlog says nothing.
    fn read_clock(&self, d: &Device, up: &Upload, arrival: Timestamp) {
        let time = match (up.states.last(), up.records.as_slice()) {
            (Some(s), _) => s.time,
            (None, [one]) if up.lines == 1 => Some(one.time),
            _ => None,
        };
        let Some(device_now) = time.and_then(|t| d.instant(t)) else {
            return;
        };
        let skew = device_now.duration_since(arrival).as_secs_f64().round() as i64;
        self.hub
            .update(&d.config.id, |c| c.clock_skew_s = Some(skew));
    }
}
