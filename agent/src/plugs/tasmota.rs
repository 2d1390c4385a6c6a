//! Tasmota: over HTTP (`/cm?cmnd=…`) and over MQTT (`tele/`, `stat/`, `cmnd/`).

use std::sync::Arc;

use super::{Adapter, Bus, PlugConfig, PlugReading};
use crate::http::{Clients, Device};
use crate::probe::ProbeError;
use crate::recorders::BoxFuture;

pub fn mqtt_filters(cfg: &PlugConfig) -> Vec<String> {
    let t = &cfg.topic;
    vec![format!("tele/{t}/+"), format!("stat/{t}/+")]
}

pub struct Http {
    device: Device,
}

impl Http {
    pub fn new(cfg: &PlugConfig, clients: &Clients) -> Self {
        Http {
            device: Device::new(clients.pick(cfg.insecure_tls), &cfg.url, None, cfg.timeout),
        }
    }
}

impl Adapter for Http {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        let _ = &self.device;
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
    fn set(&self, _on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
}

pub struct Mqtt {
    bus: Arc<Bus>,
}

impl Mqtt {
    pub fn new(_cfg: &PlugConfig, bus: Arc<Bus>) -> Self {
        Mqtt { bus }
    }
}

impl Adapter for Mqtt {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        let _ = &self.bus;
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
    fn set(&self, _on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
}
