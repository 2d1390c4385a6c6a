//! Hikvision access controllers (DS-K1T terminals, DS-K26xx panels), polled
//! over ISAPI with digest auth (`docs/vendors/hikvision-access.md`).
//!
//! Every poll: the model and serial once (`System/deviceInfo`), the clock
//! (`System/time`), new events (`AccessControl/AcsEvent`, see `search`),
//! then each door's state (`AccessControl/AcsWorkStatus`). A refused login
//! pauses the device as the recorders do: these devices lock the account
//! after a few failures, so nothing is retried until the pause is over.

mod clock;
pub mod codes;
mod log;
pub mod parse;
mod search;

use jiff::Timestamp;
use ronda_wire::{AccessController, DoorState};

use super::polled::{forget_readings, optional, Read};
use super::{AccessConfig, Hub};
use crate::http::{Clients, Device};
use crate::pause;
use crate::probe::ProbeError;
pub use clock::{event_time, Frame, TimeError};
pub use log::{Log, Mode, Place, Taken, Why};
pub use search::{Search, FIRST_LOOKBACK, MAX_PAGES, PAGE, RESUME_LOOKBACK};

const DEVICE_INFO: &str = "/ISAPI/System/deviceInfo";
const SYSTEM_TIME: &str = "/ISAPI/System/time";
const WORK_STATUS: &str = "/ISAPI/AccessControl/AcsWorkStatus?format=json";

/// One Hikvision controller and what is known of it between polls.
pub type Poller = super::polled::Poller<State>;

pub struct State {
    config: AccessConfig,
    device: Device,
    hub: Hub,
    search: Search,
    /// Model and serial, once read.
    info: Option<(Option<String>, Option<String>)>,
}

/// What one poll read besides the events it kept.
pub struct Reading {
    frame: Frame,
    doors: Option<Vec<(u32, Option<DoorState>)>>,
    problems: Vec<String>,
    detected: Vec<String>,
}

impl Poller {
    /// `None` when the config names no URL (the config check prevents it).
    pub fn new(config: AccessConfig, clients: &Clients, hub: Hub) -> Option<Poller> {
        let Some(url) = config.url.clone() else {
            hub.update(&config.id, |c| c.error = Some("no url configured".into()));
            return None;
        };
        let device = Device::new(
            clients.pick(config.insecure_tls),
            &url,
            config.creds.clone(),
            config.timeout,
        )
        .with_lock_reader(crate::recorders::hikvision::read_lock);
        let cursor = hub.cursor(&config.id).and_then(|c| {
            let n = c.parse::<u64>().ok();
            if n.is_none() {
                tracing::warn!(device = %config.id, "saved cursor is not a serial number; starting over");
            }
            n
        });
        Some(Poller::with(State {
            search: Search::new(cursor),
            config,
            device,
            hub,
            info: None,
        }))
    }
}

impl State {
    async fn read(&mut self) -> Result<Reading, ProbeError> {
        let mut detected = Vec::new();
        if self.info.is_none() {
            // Asked once: a firmware without it is not asked every poll.
            let body = optional(self.device.get(DEVICE_INFO).await)?;
            let info = body.and_then(|b| parse::parse_device_info(&b).ok());
            self.info = Some(info.unwrap_or_default());
        }
        let mut problems = Vec::new();
        let frame = match optional(self.device.get(SYSTEM_TIME).await) {
            Ok(Some(body)) => Frame::read(&body, Timestamp::now()).unwrap_or_else(|e| {
                problems.push(format!("clock: {e}"));
                Frame::agent(
                    Timestamp::now(),
                    self.config.offset,
                    "System/time unreadable",
                )
            }),
            Ok(None) => Frame::agent(
                Timestamp::now(),
                self.config.offset,
                "System/time not served",
            ),
            Err(e) => return Err(e),
        };
        let ctx = search::Ctx {
            device: &self.device,
            hub: &self.hub,
            frame: &frame,
            place: Place {
                config: &self.config,
                device_offset: frame.offset,
            },
        };
        problems.extend(self.search.poll(&ctx).await?);
        detected.push(self.search.mode.line(self.search.log.cursor).to_owned());
        detected.push(frame.note.clone());
        let doors = match optional(self.device.get(WORK_STATUS).await)? {
            Some(body) => match parse::parse_work_status(&body) {
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push(format!("door state: {e}"));
                    None
                }
            },
            None => {
                detected.push("door-state: AcsWorkStatus not served".into());
                None
            }
        };
        if self.search.unmapped > 0 {
            detected.push(format!("unmapped-events: {} skipped", self.search.unmapped));
        }
        Ok(Reading {
            frame,
            doors,
            problems,
            detected,
        })
    }

    fn publish(&self, result: Result<Reading, ProbeError>) {
        let (reachable, error) = pause::reported(&result, None);
        let cursor = self.search.log.cursor;
        let info = self.info.clone();
        let line = self.search.mode.line(cursor).to_owned();
        self.hub.update(&self.config.id, |c| {
            c.reachable = reachable;
            c.paused = None;
            c.error = error;
            if reachable {
                c.last_contact = Some(Timestamp::now());
            }
            c.last_event = cursor.or(c.last_event);
            if let Some((model, serial)) = info {
                c.model = model.or(c.model.take());
                c.serial = serial.or(c.serial.take());
            }
            forget_readings(c);
            c.detected = vec![line];
            let Ok(r) = result else { return };
            c.clock_skew_s = r.frame.skew_s;
            c.detected = r.detected;
            if !r.problems.is_empty() {
                c.error = Some(r.problems.join("; "));
            }
            for (no, state) in r.doors.into_iter().flatten() {
                set_state(c, no, state);
            }
        });
    }
}

fn set_state(c: &mut AccessController, no: u32, state: Option<DoorState>) {
    match c.doors.iter_mut().find(|d| d.no == no) {
        Some(d) => d.state = state,
        None => c.doors.push(ronda_wire::Door {
            no,
            door: None,
            state,
        }),
    }
}

impl Read for State {
    type Reading = Reading;

    fn config(&self) -> &AccessConfig {
        &self.config
    }

    fn hub(&self) -> &Hub {
        &self.hub
    }

    async fn read(&mut self) -> Result<Reading, ProbeError> {
        State::read(self).await
    }

    fn publish(&self, result: Result<Reading, ProbeError>) {
        State::publish(self, result)
    }
}

#[cfg(test)]
pub(crate) mod tests;
