//! Smart plugs: one adapter per kind behind [`Adapter`], read concurrently
//! with a deadline each; switching with a read-back.

pub mod bus;
pub mod config;
pub mod shelly;
pub mod tasmota;
pub mod zigbee2mqtt;

use std::sync::Arc;

use ronda_wire::{Plug, PowerOn};

use crate::http::Clients;
use crate::probe::{with_deadline, ProbeError};
use crate::recorders::BoxFuture;
pub use bus::Bus;
pub use config::{PlugConfig, PlugKind};

/// What an adapter learnt from its plug in one read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlugReading {
    pub relay_on: Option<bool>,
    pub power_w: Option<f32>,
    pub voltage_v: Option<f32>,
    pub current_a: Option<f32>,
    pub temperature_c: Option<f32>,
    pub faults: Vec<String>,
    pub power_on: Option<PowerOn>,
}

/// One kind of plug.
pub trait Adapter: Send + Sync {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>>;
    /// Switch the relay. The caller reads the plug back afterwards.
    fn set(&self, on: bool) -> BoxFuture<'_, Result<(), ProbeError>>;
}

/// MQTT topics the plugs need from the office broker.
pub fn mqtt_filters(plugs: &[PlugConfig], client_id: &str) -> Vec<String> {
    let mut filters: Vec<String> = plugs
        .iter()
        .flat_map(|p| match p.kind {
            PlugKind::TasmotaMqtt => tasmota::mqtt_filters(p),
            PlugKind::ShellyRpcMqtt => shelly::mqtt_filters(p),
            PlugKind::Zigbee2mqtt => zigbee2mqtt::mqtt_filters(p),
            _ => Vec::new(),
        })
        .collect();
    if plugs.iter().any(|p| p.kind == PlugKind::ShellyRpcMqtt) {
        // Shelly answers RPC frames on `<src>/rpc`.
        filters.push(format!("{client_id}/rpc"));
    }
    filters.sort();
    filters.dedup();
    filters
}

/// A configured plug with its adapter.
pub struct Watched {
    pub config: PlugConfig,
    adapter: Box<dyn Adapter>,
}

impl Watched {
    /// `bus` is the office broker; MQTT kinds without one report that.
    pub fn new(config: PlugConfig, clients: &Clients, bus: Option<Arc<Bus>>) -> Self {
        let adapter: Box<dyn Adapter> = match (config.kind, bus) {
            (PlugKind::Tasmota, _) => Box::new(tasmota::Http::new(&config, clients)),
            (PlugKind::ShellyGen1, _) => Box::new(shelly::Gen1::new(&config, clients)),
            (PlugKind::ShellyRpc, _) => Box::new(shelly::Rpc::new(&config, clients)),
            (PlugKind::TasmotaMqtt, Some(bus)) => Box::new(tasmota::Mqtt::new(&config, bus)),
            (PlugKind::ShellyRpcMqtt, Some(bus)) => Box::new(shelly::RpcMqtt::new(&config, bus)),
            (PlugKind::Zigbee2mqtt, Some(bus)) => Box::new(zigbee2mqtt::Z2m::new(&config, bus)),
            (_, None) => Box::new(NoBus),
        };
        Watched { config, adapter }
    }

    pub async fn probe(&self) -> Plug {
        let result = with_deadline(self.config.timeout, self.adapter.read()).await;
        if let Err(e) = &result {
            tracing::debug!(plug = %self.config.id, error = %e, "plug probe failed");
        }
        describe(&self.config, result)
    }

    /// Switch, then read back. Both within the plug's deadline each.
    pub async fn switch(&self, on: bool) -> Result<Plug, ProbeError> {
        with_deadline(self.config.timeout, self.adapter.set(on)).await?;
        Ok(self.probe().await)
    }
}

pub fn describe(cfg: &PlugConfig, result: Result<PlugReading, ProbeError>) -> Plug {
    let (r, error) = match result {
        Ok(r) => (r, None),
        Err(e) => (PlugReading::default(), Some(e.to_string())),
    };
    Plug {
        id: cfg.id.clone(),
        kind: cfg.kind.name().to_owned(),
        class: cfg.class.clone(),
        reachable: error.is_none(),
        error,
        relay_on: r.relay_on,
        power_w: r.power_w,
        voltage_v: r.voltage_v,
        current_a: r.current_a,
        temperature_c: r.temperature_c,
        faults: r.faults,
        power_on: r.power_on,
    }
}

/// An MQTT plug configured without `local_broker` (the config check refuses
/// this; kept so that a library caller gets a clear error, not a panic).
struct NoBus;

impl Adapter for NoBus {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        Box::pin(async {
            Err(ProbeError::Setup(
                "no local_broker configured for MQTT plugs".into(),
            ))
        })
    }
    fn set(&self, _on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        self.read_err()
    }
}

impl NoBus {
    fn read_err(&self) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async {
            Err(ProbeError::Setup(
                "no local_broker configured for MQTT plugs".into(),
            ))
        })
    }
}
