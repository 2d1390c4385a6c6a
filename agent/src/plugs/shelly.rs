//! Shelly plugs: Gen1 over HTTP (`/status`, `/settings`, `/relay/N`), and
//! Gen2/Gen3 RPC (`Switch.GetStatus`, `Switch.GetConfig`, `Switch.Set`) over
//! HTTP (digest SHA-256 when a password is set) or over MQTT RPC frames.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ronda_wire::PowerOn;
use serde_json::{json, Value};

use super::{Adapter, Bus, PlugConfig, PlugReading};
use crate::http::{Clients, Device};
use crate::probe::ProbeError;
use crate::recorders::BoxFuture;

pub fn mqtt_filters(cfg: &PlugConfig) -> Vec<String> {
    vec![format!("{}/online", cfg.topic)]
}

fn json(body: &str) -> Result<Value, ProbeError> {
    serde_json::from_str(body).map_err(|e| ProbeError::Parse(format!("bad JSON: {e}")))
}

fn num(v: &Value, pointer: &str) -> Option<f32> {
    v.pointer(pointer).and_then(Value::as_f64).map(|x| x as f32)
}

/// Gen1 `/status` for relay `i`.
pub fn parse_gen1_status(body: &str, i: usize) -> Result<PlugReading, ProbeError> {
    let v = json(body)?;
    let relay = v
        .pointer(&format!("/relays/{i}"))
        .ok_or_else(|| ProbeError::Parse(format!("no relay {i} in /status")))?;
    let mut faults = Vec::new();
    if relay.get("overpower").and_then(Value::as_bool) == Some(true) {
        faults.push("overpower".to_owned());
    }
    if v.get("overtemperature").and_then(Value::as_bool) == Some(true) {
        faults.push("overtemp".to_owned());
    }
    Ok(PlugReading {
        relay_on: relay.get("ison").and_then(Value::as_bool),
        power_w: num(&v, &format!("/meters/{i}/power")),
        temperature_c: num(&v, "/tmp/tC").or_else(|| num(&v, "/temperature")),
        faults,
        ..PlugReading::default()
    })
}

/// Gen1 `/settings`: the relay's `default_state`.
pub fn parse_gen1_settings(body: &str, i: usize) -> Result<Option<PowerOn>, ProbeError> {
    let v = json(body)?;
    Ok(
        match v
            .pointer(&format!("/relays/{i}/default_state"))
            .and_then(Value::as_str)
        {
            Some("off") => Some(PowerOn::Off),
            Some("on") => Some(PowerOn::On),
            Some("last") => Some(PowerOn::Previous),
            Some("switch") => Some(PowerOn::FollowInput),
            _ => None,
        },
    )
}

/// Gen2 `Switch.GetStatus` result. `errors` is absent when all is well.
pub fn parse_switch_status(v: &Value) -> PlugReading {
    let faults = v
        .get("errors")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default();
    PlugReading {
        relay_on: v.get("output").and_then(Value::as_bool),
        power_w: num(v, "/apower"),
        voltage_v: num(v, "/voltage"),
        current_a: num(v, "/current"),
        temperature_c: num(v, "/temperature/tC"),
        faults,
        power_on: None,
    }
}

/// Gen2 `Switch.GetConfig` result: `initial_state`.
pub fn parse_initial_state(v: &Value) -> Option<PowerOn> {
    match v.get("initial_state")?.as_str()? {
        "off" => Some(PowerOn::Off),
        "on" => Some(PowerOn::On),
        "restore_last" => Some(PowerOn::Previous),
        "match_input" => Some(PowerOn::FollowInput),
        _ => None,
    }
}

/// An RPC error (`{"code":…,"message":…}`, bare over HTTP or under `error`
/// in a frame) as a device error.
fn rpc_error(v: &Value) -> Option<ProbeError> {
    let e = v.get("error").unwrap_or(v);
    let message = e.get("message")?.as_str()?;
    let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
    Some(ProbeError::Device(format!(
        "Shelly RPC error {code}: {message}"
    )))
}

pub struct Gen1 {
    device: Device,
    relay: usize,
}

impl Gen1 {
    pub fn new(cfg: &PlugConfig, clients: &Clients) -> Self {
        Gen1 {
            device: Device::new(
                clients.pick(cfg.insecure_tls),
                &cfg.url,
                cfg.creds.clone(),
                cfg.timeout,
            ),
            relay: cfg.relay.unwrap_or(0) as usize,
        }
    }
}

impl Adapter for Gen1 {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        Box::pin(async move {
            let mut r = parse_gen1_status(&self.device.get("/status").await?, self.relay)?;
            r.power_on = parse_gen1_settings(&self.device.get("/settings").await?, self.relay)?;
            Ok(r)
        })
    }

    fn set(&self, on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async move {
            let turn = if on { "on" } else { "off" };
            let v = json(
                &self
                    .device
                    .get(&format!("/relay/{}?turn={turn}", self.relay))
                    .await?,
            )?;
            match v.get("ison").and_then(Value::as_bool) {
                Some(now) if now == on => Ok(()),
                _ => Err(ProbeError::Device(
                    "the relay did not switch (overpower protection?)".into(),
                )),
            }
        })
    }
}

pub struct Rpc {
    device: Device,
    id: u32,
}

impl Rpc {
    pub fn new(cfg: &PlugConfig, clients: &Clients) -> Self {
        Rpc {
            device: Device::new(
                clients.pick(cfg.insecure_tls),
                &cfg.url,
                cfg.creds.clone(),
                cfg.timeout,
            ),
            id: cfg.relay.unwrap_or(0),
        }
    }

    async fn call(&self, method: &str, args: &str) -> Result<Value, ProbeError> {
        let answer = self
            .device
            .send(
                reqwest::Method::GET,
                &format!("/rpc/{method}?id={}{args}", self.id),
                None,
            )
            .await?;
        let v = json(&answer.body);
        if !answer.status.is_success() {
            return Err(v
                .ok()
                .as_ref()
                .and_then(rpc_error)
                .unwrap_or(ProbeError::Status {
                    status: answer.status.as_u16(),
                    detail: crate::http::snippet(&answer.body),
                }));
        }
        v
    }
}

impl Adapter for Rpc {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        Box::pin(async move {
            let mut r = parse_switch_status(&self.call("Switch.GetStatus", "").await?);
            r.power_on = parse_initial_state(&self.call("Switch.GetConfig", "").await?);
            Ok(r)
        })
    }

    fn set(&self, on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async move {
            self.call("Switch.Set", &format!("&on={on}"))
                .await
                .map(|_| ())
        })
    }
}

/// Gen2 RPC over MQTT: frames to `<prefix>/rpc`, answers on `<src>/rpc`.
pub struct RpcMqtt {
    bus: Arc<Bus>,
    prefix: String,
    id: u32,
    timeout: std::time::Duration,
    next: AtomicU64,
}

impl RpcMqtt {
    pub fn new(cfg: &PlugConfig, bus: Arc<Bus>) -> Self {
        RpcMqtt {
            bus,
            prefix: cfg.topic.clone(),
            id: cfg.relay.unwrap_or(0),
            timeout: cfg.timeout,
            next: AtomicU64::new(fastrand::u64(1..1 << 40)),
        }
    }

    async fn call(&self, method: &str, mut params: Value) -> Result<Value, ProbeError> {
        params["id"] = json!(self.id);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let src = self.bus.client_id().to_owned();
        let frame = json!({ "id": id, "src": src, "method": method, "params": params });
        let (to, reply) = (format!("{}/rpc", self.prefix), format!("{src}/rpc"));
        self.bus
            .request(&to, frame.to_string(), &reply, self.timeout, |text| {
                let v = json(text)?;
                // Answers to other calls share the reply topic.
                if v.get("id").and_then(Value::as_u64) != Some(id) {
                    return Ok(None);
                }
                if let Some(e) = v.get("error").and_then(|_| rpc_error(&v)) {
                    return Err(e);
                }
                v.get("result")
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| ProbeError::Parse("RPC answer has no result".into()))
            })
            .await
    }
}

impl Adapter for RpcMqtt {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        Box::pin(async move {
            let online = self.bus.latest(&format!("{}/online", self.prefix));
            if online.is_some_and(|m| m.payload == b"false") {
                return Err(ProbeError::Device("device is offline".into()));
            }
            let mut r = parse_switch_status(&self.call("Switch.GetStatus", json!({})).await?);
            r.power_on = parse_initial_state(&self.call("Switch.GetConfig", json!({})).await?);
            Ok(r)
        })
    }

    fn set(&self, on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async move {
            self.call("Switch.Set", json!({ "on": on }))
                .await
                .map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests;
