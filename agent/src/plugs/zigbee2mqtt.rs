//! Zigbee2MQTT plugs: `zigbee2mqtt/<name>` state, `…/availability`, `…/set`.

use std::sync::Arc;

use super::{Adapter, Bus, PlugConfig, PlugReading};
use crate::probe::ProbeError;
use crate::recorders::BoxFuture;

pub fn mqtt_filters(cfg: &PlugConfig) -> Vec<String> {
    let t = &cfg.topic;
    vec![t.clone(), format!("{t}/availability")]
}

pub struct Z2m {
    bus: Arc<Bus>,
}

impl Z2m {
    pub fn new(_cfg: &PlugConfig, bus: Arc<Bus>) -> Self {
        Z2m { bus }
    }
}

impl Adapter for Z2m {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        let _ = &self.bus;
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
    fn set(&self, _on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async { Err(ProbeError::Device("adapter not written yet".into())) })
    }
}
