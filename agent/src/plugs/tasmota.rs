//! Tasmota: over HTTP (`/cm?cmnd=…`) and over MQTT (`tele/`, `stat/`, `cmnd/`
//! with the default FullTopic `%prefix%/%topic%/`).
//!
//! Relay state is read from the `POWER`/`POWERn` keys (Status 0's `StatusSTS`,
//! or the STATE and RESULT messages); `Status.Power` changed type in 14.0, so
//! it is only a fallback. ENERGY values are arrays on multi-channel meters.

use std::sync::Arc;

use ronda_wire::PowerOn;
use serde_json::Value;

use super::{Adapter, Bus, PlugConfig, PlugReading};
use crate::http::{Clients, Device};
use crate::probe::ProbeError;
use crate::recorders::BoxFuture;

pub fn mqtt_filters(cfg: &PlugConfig) -> Vec<String> {
    let t = &cfg.topic;
    vec![format!("tele/{t}/+"), format!("stat/{t}/+")]
}

/// The `POWER` key for a relay: `POWERn` when a relay is named, else `POWER`
/// (single-relay devices) with `POWER1` as the fallback.
fn power_keys(relay: Option<u32>) -> Vec<String> {
    match relay {
        Some(n) if n > 1 => vec![format!("POWER{n}")],
        Some(_) => vec!["POWER1".into(), "POWER".into()],
        None => vec!["POWER".into(), "POWER1".into()],
    }
}

fn on_off(v: &Value) -> Option<bool> {
    match v.as_str()?.to_ascii_uppercase().as_str() {
        "ON" | "1" => Some(true),
        "OFF" | "0" => Some(false),
        _ => None,
    }
}

/// Parse JSON and recognise Tasmota's refusals.
pub fn parse_json(body: &str) -> Result<Value, ProbeError> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| ProbeError::Parse(format!("bad JSON: {e}")))?;
    if v.get("WARNING")
        .and_then(Value::as_str)
        .is_some_and(|w| w.starts_with("Need user"))
    {
        return Err(ProbeError::Unauthorized);
    }
    if v.get("Command").and_then(Value::as_str) == Some("Unknown") {
        return Err(ProbeError::Device(
            "Tasmota does not know the command".into(),
        ));
    }
    Ok(v)
}

/// Relay state from an object holding `POWER`/`POWERn` keys.
pub fn relay_in(obj: &Value, relay: Option<u32>) -> Option<bool> {
    power_keys(relay)
        .iter()
        .find_map(|k| obj.get(k).and_then(on_off))
}

/// `Status.Power`: an integer bitmask before 14.0, a string of 0/1 (rightmost
/// is relay 1) since.
fn relay_from_bits(v: &Value, relay: Option<u32>) -> Option<bool> {
    let bit = relay.unwrap_or(1).max(1) - 1;
    match v {
        // A relay past 64 has no bit in the mask: no opinion. A plain `>>`
        // panicked there in debug builds and read another relay's bit in
        // release (found by `fuzz_tasmota_mutated_fixtures`).
        Value::Number(n) => Some(n.as_u64()?.checked_shr(bit)? & 1 == 1),
        Value::String(s) => s.chars().rev().nth(bit as usize).map(|c| c == '1'),
        _ => None,
    }
}

/// Copy W, V and A from an ENERGY object, picking the relay's entry of arrays.
pub fn energy_into(r: &mut PlugReading, energy: &Value, relay: Option<u32>) {
    let idx = relay.unwrap_or(1).max(1) as usize - 1;
    let pick = |key: &str| match energy.get(key)? {
        Value::Array(a) => a.get(idx)?.as_f64(),
        v => v.as_f64(),
    };
    r.power_w = pick("Power").map(|v| v as f32);
    r.voltage_v = pick("Voltage").map(|v| v as f32);
    r.current_a = pick("Current").map(|v| v as f32);
}

pub fn power_on(state: i64) -> Option<PowerOn> {
    match state {
        0 => Some(PowerOn::Off),
        1 | 4 | 5 => Some(PowerOn::On),
        2 => Some(PowerOn::Toggle),
        3 => Some(PowerOn::Previous),
        _ => None,
    }
}

/// A whole `Status 0` answer.
pub fn parse_status0(body: &str, relay: Option<u32>) -> Result<PlugReading, ProbeError> {
    let v = parse_json(body)?;
    let status = v
        .get("Status")
        .ok_or_else(|| ProbeError::Parse("no Status in the answer".into()))?;
    let mut r = PlugReading {
        relay_on: v
            .get("StatusSTS")
            .and_then(|s| relay_in(s, relay))
            .or_else(|| relay_from_bits(status.get("Power")?, relay)),
        power_on: status
            .get("PowerOnState")
            .and_then(Value::as_i64)
            .and_then(power_on),
        ..PlugReading::default()
    };
    if let Some(energy) = v.pointer("/StatusSNS/ENERGY") {
        energy_into(&mut r, energy, relay);
    }
    Ok(r)
}

/// Tasmota over HTTP. Credentials, when set, go as `user`/`password` query
/// parameters as Tasmota wants them; reqwest errors are stripped of URLs.
pub struct Http {
    device: Device,
    relay: Option<u32>,
    auth: String,
}

impl Http {
    pub fn new(cfg: &PlugConfig, clients: &Clients) -> Self {
        let auth = cfg.creds.as_ref().map_or_else(String::new, |c| {
            format!(
                "&user={}&password={}",
                encode(&c.username),
                encode(c.password.expose())
            )
        });
        Http {
            device: Device::new(clients.pick(cfg.insecure_tls), &cfg.url, None, cfg.timeout),
            relay: cfg.relay,
            auth,
        }
    }

    async fn command(&self, cmnd: &str) -> Result<String, ProbeError> {
        let answer = self
            .device
            .send(
                reqwest::Method::GET,
                &format!("/cm?cmnd={}{}", encode(cmnd), self.auth),
                None,
            )
            .await?;
        // Current firmware answers a missing password with 401 and a WARNING body.
        parse_json(&answer.body)?;
        if !answer.status.is_success() {
            return Err(ProbeError::Status {
                status: answer.status.as_u16(),
                detail: crate::http::snippet(&answer.body),
            });
        }
        Ok(answer.body)
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn power_command(relay: Option<u32>, on: bool) -> String {
    let n = relay.map(|n| n.to_string()).unwrap_or_default();
    format!("Power{n} {}", if on { "On" } else { "Off" })
}

impl Adapter for Http {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        Box::pin(async move { parse_status0(&self.command("Status 0").await?, self.relay) })
    }

    fn set(&self, on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async move {
            let body = self.command(&power_command(self.relay, on)).await?;
            match relay_in(&parse_json(&body)?, self.relay) {
                Some(now) if now == on => Ok(()),
                _ => Err(ProbeError::Device(format!(
                    "Tasmota answered `{}`",
                    crate::http::snippet(&body)
                ))),
            }
        })
    }
}

/// Tasmota over the office broker.
pub struct Mqtt {
    bus: Arc<Bus>,
    topic: String,
    relay: Option<u32>,
    timeout: std::time::Duration,
}

impl Mqtt {
    pub fn new(cfg: &PlugConfig, bus: Arc<Bus>) -> Self {
        Mqtt {
            bus,
            topic: cfg.topic.clone(),
            relay: cfg.relay,
            timeout: cfg.timeout,
        }
    }

    /// Send a command and wait for the `stat/` answer that has one of `keys`
    /// (any answer when `keys` is empty): telemetry may arrive in between.
    async fn ask(
        &self,
        cmnd: &str,
        payload: &str,
        answer: &str,
        keys: &[String],
    ) -> Result<Value, ProbeError> {
        let (to, from) = (
            format!("cmnd/{}/{cmnd}", self.topic),
            format!("stat/{}/{answer}", self.topic),
        );
        self.bus
            .request(&to, payload, &from, self.timeout, |text| {
                let v = parse_json(text)?;
                Ok((keys.is_empty() || keys.iter().any(|k| v.get(k).is_some())).then_some(v))
            })
            .await
    }

    fn offline(&self) -> bool {
        self.bus
            .latest(&format!("tele/{}/LWT", self.topic))
            .is_some_and(|m| m.payload.eq_ignore_ascii_case(b"Offline"))
    }
}

impl Adapter for Mqtt {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        Box::pin(async move {
            if self.offline() {
                return Err(ProbeError::Device("device says Offline (LWT)".into()));
            }
            let state = self
                .ask("STATE", "", "RESULT", &power_keys(self.relay))
                .await?;
            let mut r = PlugReading {
                relay_on: relay_in(&state, self.relay),
                ..PlugReading::default()
            };
            let pos = self
                .ask("PowerOnState", "", "RESULT", &["PowerOnState".into()])
                .await?;
            r.power_on = pos
                .get("PowerOnState")
                .and_then(Value::as_i64)
                .and_then(power_on);
            let energy = match self.bus.latest(&format!("tele/{}/SENSOR", self.topic)) {
                Some(m) => parse_json(&String::from_utf8_lossy(&m.payload))?,
                None => self.ask("STATUS", "8", "STATUS8", &[]).await?,
            };
            if let Some(e) = energy
                .get("ENERGY")
                .or_else(|| energy.pointer("/StatusSNS/ENERGY"))
            {
                energy_into(&mut r, e, self.relay);
            }
            Ok(r)
        })
    }

    fn set(&self, on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async move {
            let n = self.relay.map(|n| n.to_string()).unwrap_or_default();
            let cmnd = format!("POWER{n}");
            let answer = self
                .ask(
                    &cmnd,
                    if on { "ON" } else { "OFF" },
                    "RESULT",
                    &power_keys(self.relay),
                )
                .await?;
            match relay_in(&answer, self.relay) {
                Some(now) if now == on => Ok(()),
                _ => Err(ProbeError::Device(
                    "Tasmota did not confirm the switch".into(),
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests;
