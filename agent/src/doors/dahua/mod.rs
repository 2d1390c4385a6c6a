//! Dahua access controllers (ASI face terminals, ASC controllers), polled
//! over the HTTP CGI API with digest auth (`docs/vendors/dahua-access.md`).
//!
//! Every poll: model and serial once (`magicBox.cgi?action=getSystemInfo`),
//! the clock (`global.cgi?action=getCurrentTime`, a wall time read in the
//! configured `utc_offset`), new entry records (`recordFinder.cgi`, see
//! `records`), then each configured door's state (`accessControl.cgi
//! ?action=getDoorStatus`). A refused login pauses the device, as Dahua
//! blocks the source address after repeated failures.
//!
//! Not confirmed, and so said in `detected` rather than assumed away:
//! whether a record's `Door` counts from 0 or from 1 (taken as written),
//! and whether an epoch `CreateTime` is true UTC (taken as UTC).

pub mod parse;
mod records;

use jiff::Timestamp;
use ronda_wire::DoorState;

use super::polled::{self, forget_readings, Read};
use super::{AccessConfig, Hub};
use crate::http::{Clients, Device};
use crate::pause;
use crate::probe::ProbeError;
use parse::Said;
pub use records::{kind, Log, Search, MAX_PAGES, PAGE};

const SYSTEM_INFO: &str = "/cgi-bin/magicBox.cgi?action=getSystemInfo";
const CURRENT_TIME: &str = "/cgi-bin/global.cgi?action=getCurrentTime";

/// One Dahua controller and what is known of it between polls.
pub type Poller = super::polled::Poller<State>;

pub struct State {
    config: AccessConfig,
    device: Device,
    hub: Hub,
    search: Search,
    info: Option<(Option<String>, Option<String>)>,
}

pub struct Reading {
    skew_s: Option<i64>,
    doors: Vec<(u32, Option<DoorState>)>,
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
        .with_lock_reader(crate::recorders::dahua::parse_lock);
        let cursor = hub.cursor(&config.id).and_then(|c| c.parse::<u64>().ok());
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
        if self.info.is_none() {
            let body = optional(self.device.get(SYSTEM_INFO).await)?;
            let info = body.and_then(|b| parse::parse_system_info(&b).ok());
            self.info = Some(info.unwrap_or_default());
        }
        let mut problems = Vec::new();
        let mut detected =
            vec!["record-doors: Door as written (from 0 or 1 not confirmed)".to_owned()];
        let agent_now = Timestamp::now();
        let device_now = match optional(self.device.get(CURRENT_TIME).await)? {
            Some(body) => match self.device_now(&body) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.push(format!("clock: {e}"));
                    None
                }
            },
            None => {
                detected.push("clock: getCurrentTime not served".into());
                None
            }
        };
        let now = device_now.unwrap_or(agent_now);
        problems.extend(
            self.search
                .poll(&self.device, &self.hub, &self.config, now)
                .await?,
        );
        let doors = self.doors(&mut problems, &mut detected).await?;
        if self.search.unmapped > 0 {
            detected.push(format!(
                "unmapped-records: {} skipped",
                self.search.unmapped
            ));
        }
        Ok(Reading {
            skew_s: device_now.map(|t| t.duration_since(agent_now).as_secs()),
            doors,
            problems,
            detected,
        })
    }

    /// The device's wall clock, in the configured offset.
    fn device_now(&self, body: &str) -> Result<Timestamp, ProbeError> {
        let kv = crate::recorders::dahua::parse_kv(body)?;
        let wall = crate::recorders::dahua::parse_current_time(&kv)?;
        let offset = self
            .config
            .offset
            .ok_or_else(|| ProbeError::parse("no utc_offset configured for a wall clock"))?;
        offset
            .to_timestamp(wall)
            .map_err(|e| ProbeError::parse(format!("device time {wall}: {e}")))
    }

    /// Each configured door's state; a device that does not serve it says
    /// nothing, an unknown word is no state (and shown).
    async fn doors(
        &self,
        problems: &mut Vec<String>,
        detected: &mut Vec<String>,
    ) -> Result<Vec<(u32, Option<DoorState>)>, ProbeError> {
        let mut out = Vec::new();
        for door in &self.config.doors {
            let path = format!(
                "/cgi-bin/accessControl.cgi?action=getDoorStatus&channel={}",
                door.no
            );
            let Some(body) = optional(self.device.get(&path).await)? else {
                detected.push("door-state: getDoorStatus not served".into());
                return Ok(Vec::new());
            };
            let state = match parse::parse_door_status(&body) {
                Ok(Said::State(s)) => Some(s),
                Ok(Said::Unknown(word)) => {
                    detected.push(format!("door {} status `{word}` not known", door.no));
                    None
                }
                Err(e) => {
                    problems.push(format!("door {} state: {e}", door.no));
                    None
                }
            };
            out.push((door.no, state));
        }
        Ok(out)
    }

    fn publish(&self, result: Result<Reading, ProbeError>) {
        let (reachable, error) = pause::reported(&result, None);
        let cursor = self.search.log.cursor;
        let info = self.info.clone();
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
            let Ok(r) = result else { return };
            c.clock_skew_s = r.skew_s;
            c.detected = r.detected;
            if !r.problems.is_empty() {
                c.error = Some(r.problems.join("; "));
            }
            for (no, state) in r.doors {
                if let Some(d) = c.doors.iter_mut().find(|d| d.no == no) {
                    d.state = state;
                }
            }
        });
    }
}

/// An answer some firmware refuse (`Error` with 200, or an HTTP error
/// status): none. A refused login or no answer is an error.
fn optional(answer: Result<String, ProbeError>) -> Result<Option<String>, ProbeError> {
    Ok(polled::optional(answer)?.filter(|body| !body.trim_start().starts_with("Error")))
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
mod tests;
