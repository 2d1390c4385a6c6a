//! Door controllers started alone, the control API over real HTTP, and a
//! digest client for the Hikvision terminal.

use std::time::Duration;

use ronda_agent::http::{Creds, Device};
use ronda_common::conf::Secret;
use ronda_sim::state::{lock, DeviceState};
use ronda_sim::{Options, Sim};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub struct Doors {
    pub sim: Sim,
    pub stop: CancellationToken,
    http: reqwest::Client,
}

/// Start `devices` alone on free ports.
pub async fn start(devices: Vec<DeviceState>) -> Doors {
    let stop = CancellationToken::new();
    let sim = ronda_sim::start(devices, Options::default(), stop.clone())
        .await
        .unwrap();
    Doors {
        sim,
        stop,
        http: reqwest::Client::new(),
    }
}

impl Doors {
    /// `POST /devices/{id}` on the control API: the status and the answer.
    pub async fn control(&self, id: &str, patch: Value) -> (u16, String) {
        let url = format!("http://{}/devices/{id}", self.sim.control);
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(patch.to_string())
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// A change the control API must take.
    pub async fn change(&self, id: &str, patch: Value) {
        let (status, body) = self.control(id, patch.clone()).await;
        assert_eq!(status, 200, "{patch}: {body}");
    }

    pub fn state(&self, id: &str) -> DeviceState {
        lock(&self.sim.device(id).unwrap().state).clone()
    }

    /// A digest client for the Hikvision terminal `id` with `password`.
    pub fn terminal(&self, id: &str, password: &str) -> Device {
        let served = self.sim.device(id).unwrap();
        let user = lock(&served.state).auth.username.clone();
        Device::new(
            reqwest::Client::new(),
            &format!("http://{}", served.addr.unwrap()),
            Some(Creds {
                username: user,
                password: Secret::new(password),
            }),
            Duration::from_secs(10),
        )
    }
}

impl Drop for Doors {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The body of an `AcsEventCond` search with `extra` fields set.
pub fn cond(position: u64, max: u64, extra: Value) -> String {
    let mut c = serde_json::json!({
        "searchID": "test-1",
        "searchResultPosition": position,
        "maxResults": max,
        "major": 0,
        "minor": 0,
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    serde_json::json!({ "AcsEventCond": c }).to_string()
}
