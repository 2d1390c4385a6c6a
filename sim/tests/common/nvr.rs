//! The simulated Hikvision NVR `nvr-depan` with the agent's own recorder
//! for it, shared by the Hikvision test files.

use std::time::Duration;

use jiff::Timestamp;
use ronda_agent::http::{Clients, Creds};
use ronda_agent::recorders::hikvision::Hikvision;
use ronda_agent::recorders::{RecorderConfig, Watched};
use ronda_common::conf::Secret;
use ronda_sim::state::{lock, DeviceState, Patch};

pub const PASSWORD: &str = "Kantor2018";

pub struct Nvr {
    pub one: super::One,
    pub cfg: RecorderConfig,
    /// One recorder for the whole test, as in the agent: what it learns
    /// about the firmware is kept between rounds.
    watched: Watched,
}

impl Nvr {
    pub async fn start(password: &str, timeout: Duration, lookback: Duration) -> Nvr {
        Nvr::start_with(password, timeout, lookback, |_| {}).await
    }

    /// Start `nvr-depan` changed by `f` (a firmware variant, a fault).
    pub async fn start_with(
        password: &str,
        timeout: Duration,
        lookback: Duration,
        f: impl FnOnce(&mut DeviceState),
    ) -> Nvr {
        let mut device = super::device("nvr-depan");
        f(&mut device);
        let one = super::start_devices(vec![device]).await;
        let mut cfg = one.recorder_config("nvr-depan");
        cfg.creds = Some(Creds {
            username: "admin".into(),
            password: Secret::new(password),
        });
        (cfg.timeout, cfg.lookback) = (timeout, lookback);
        let watched = Watched::new(cfg.clone(), &clients());
        Nvr { one, cfg, watched }
    }

    pub fn change(&self, f: impl FnOnce(&mut DeviceState)) {
        f(&mut lock(&self.one.sim.device("nvr-depan").unwrap().state));
    }

    /// The device's own clock now.
    pub fn device_now(&self) -> Timestamp {
        lock(&self.one.sim.device("nvr-depan").unwrap().state).now()
    }

    pub async fn report(&self) -> ronda_wire::Recorder {
        self.watched.probe().await
    }

    pub fn adapter(&self) -> Hikvision {
        Hikvision::new(&self.cfg, &clients())
    }
}

/// The agent's shared HTTP clients, made in one place.
pub fn clients() -> Clients {
    Clients::new().unwrap()
}

/// A whole second: the NVR writes times to the second.
pub fn whole_second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap()
}

/// Stop channel `id` at true time `at` (on the device's own clock).
pub fn stop(s: &mut DeviceState, id: &str, at: Timestamp) {
    Patch {
        channel: Some(id.into()),
        recording: Some(false),
        ..Patch::default()
    }
    .apply(s, at)
    .unwrap();
}
