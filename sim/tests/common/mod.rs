//! Test helpers: one simulated device, and the agent's own config for it.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod doors;
pub mod nvr;
pub mod push;

use std::path::Path;
use std::time::Duration;

use ronda_agent::http::Clients;
use ronda_agent::{plugs, recorders, AgentConfig};
use ronda_sim::state::{lock, DeviceState};
use ronda_sim::{Options, Sim};
use tokio_util::sync::CancellationToken;

pub struct One {
    pub sim: Sim,
    pub stop: CancellationToken,
    pub config: AgentConfig,
}

/// Start the default office's devices named in `ids` alone.
pub async fn start(ids: &[&str]) -> One {
    let office: Vec<DeviceState> = ronda_sim::layout::default_office()
        .into_iter()
        .filter(|d| ids.contains(&d.id.as_str()))
        .collect();
    start_devices(office).await
}

/// The default office's device `id`, to change before it starts.
pub fn device(id: &str) -> DeviceState {
    ronda_sim::layout::default_office()
        .into_iter()
        .find(|d| d.id == id)
        .unwrap()
}

/// Start `devices` alone, with the agent config the simulator writes for them.
pub async fn start_devices(devices: Vec<DeviceState>) -> One {
    let stop = CancellationToken::new();
    let sim = ronda_sim::start(devices, Options::default(), stop.clone())
        .await
        .unwrap();
    let yaml = ronda_sim::agent_config::agent_yaml(&sim, "o", "a", "mqtt://127.0.0.1:1", "30s");
    let config = AgentConfig::from_text(Path::new("sim.yaml"), yaml).unwrap();
    One { sim, stop, config }
}

impl One {
    pub fn state(&self, id: &str) -> std::sync::MutexGuard<'_, DeviceState> {
        lock(&self.sim.device(id).unwrap().state)
    }

    /// The agent's config for recorder `id`: its URL and credentials.
    pub fn recorder_config(&self, id: &str) -> recorders::RecorderConfig {
        self.config
            .devices
            .recorders
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .clone()
    }

    pub fn recorder(&self, id: &str, timeout: Duration) -> recorders::Watched {
        let mut cfg = self
            .config
            .devices
            .recorders
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .clone();
        cfg.timeout = timeout;
        recorders::Watched::new(cfg, &Clients::new().unwrap())
    }

    pub fn plug(&self, id: &str, timeout: Duration) -> plugs::Watched {
        let mut cfg = self
            .config
            .devices
            .plugs
            .iter()
            .find(|p| p.id == id)
            .unwrap()
            .clone();
        cfg.timeout = timeout;
        let bus = cfg.kind.over_mqtt().then(|| {
            let broker = self.config.devices.local_broker.as_ref().unwrap();
            // One client id per bus: a broker drops the older of two
            // connections that share one, and they would take turns.
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let client_id = format!("test-{id}-{n}");
            let filters = plugs::mqtt_filters(std::slice::from_ref(&cfg), &client_id);
            plugs::Bus::start(broker, &client_id, filters, self.stop.clone()).unwrap()
        });
        plugs::Watched::new(cfg, &Clients::new().unwrap(), bus)
    }
}

impl Drop for One {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A recorder the agent could not log in to: said so, and left alone.
pub fn assert_wrong_password(r: &ronda_wire::Recorder) {
    let e = r.error.as_deref().unwrap_or("");
    assert!(e.starts_with("wrong username or password"), "{r:?}");
    let reason = r.paused.as_ref().map(|p| p.reason);
    assert_eq!(
        reason,
        Some(ronda_wire::PauseReason::WrongPassword),
        "{r:?}"
    );
}
