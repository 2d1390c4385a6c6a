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
    pause: crate::pause::Pause,
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
        Watched {
            config,
            adapter,
            pause: crate::pause::Pause::default(),
        }
    }

    /// Read the plug; one paused after a refused login is not asked.
    pub async fn probe(&self) -> Plug {
        let read = with_deadline(
            crate::probe::backstop(self.config.timeout),
            self.adapter.read(),
        );
        match self.pause.ask(&self.config.id, read).await {
            Ok(result) => describe(&self.config, result, None),
            Err(p) => describe(&self.config, Err(ProbeError::Unauthorized), Some(p)),
        }
    }

    /// Switch, then read back. Both within the plug's deadline each. A
    /// paused plug is not switched: that would be one more failed login.
    pub async fn switch(&self, on: bool) -> Result<Plug, ProbeError> {
        let set = with_deadline(
            crate::probe::backstop(self.config.timeout),
            self.adapter.set(on),
        );
        match self.pause.ask(&self.config.id, set).await {
            Ok(set) => set?,
            Err(p) => return Err(ProbeError::Device(crate::pause::describe(&p))),
        }
        Ok(self.probe().await)
    }
}

/// A plug as read, or not asked (`paused`) after a refused login.
pub fn describe(
    cfg: &PlugConfig,
    result: Result<PlugReading, ProbeError>,
    paused: Option<ronda_wire::Paused>,
) -> Plug {
    let (reachable, error) = crate::pause::reported(&result, paused.as_ref());
    let r = result.unwrap_or_default();
    Plug {
        id: cfg.id.clone(),
        kind: cfg.kind.name().to_owned(),
        class: cfg.class.clone(),
        reachable,
        error,
        relay_on: r.relay_on,
        power_w: r.power_w,
        voltage_v: r.voltage_v,
        current_a: r.current_a,
        temperature_c: r.temperature_c,
        faults: r.faults,
        power_on: r.power_on,
        paused,
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
