//! Shelly: Gen1 over HTTP, Gen2/Gen3 RPC over HTTP and over MQTT.

use std::sync::Arc;

use super::{Adapter, Bus, PlugConfig, PlugReading};
use crate::http::{Clients, Device};
use crate::probe::ProbeError;
use crate::recorders::BoxFuture;

pub fn mqtt_filters(cfg: &PlugConfig) -> Vec<String> {
    let t = &cfg.topic;
    vec![
        format!("{t}/online"),
        format!("{t}/status/+"),
        format!("{t}/events/rpc"),
    ]
}

pub struct Gen1 {
    device: Device,
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
        }
    }
}

impl Adapter for Gen1 {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        let _ = &self.device;
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
    fn set(&self, _on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
}

pub struct Rpc {
    device: Device,
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
        }
    }
}

impl Adapter for Rpc {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        let _ = &self.device;
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
    fn set(&self, _on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
}

pub struct RpcMqtt {
    bus: Arc<Bus>,
}

impl RpcMqtt {
    pub fn new(_cfg: &PlugConfig, bus: Arc<Bus>) -> Self {
        RpcMqtt { bus }
    }
}

impl Adapter for RpcMqtt {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        let _ = &self.bus;
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
    fn set(&self, _on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
}
