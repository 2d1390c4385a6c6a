//! Write the `agent.yaml` that points a real agent at a running simulator.

use std::fmt::Write;

use crate::state::{lock, DeviceState, SimKind};
use crate::Sim;

/// An agent config for `office`/`agent` that probes every simulated device
/// and reports to `broker_url` (the central broker).
pub fn agent_yaml(
    sim: &Sim,
    office: &str,
    agent: &str,
    broker_url: &str,
    interval: &str,
) -> String {
    agent_yaml_looking(sim, office, agent, broker_url, interval, None)
}

/// [`agent_yaml`], with every camera's picture looked at every `view_every`
/// (`None`: the agent's default) where the recorder gives snapshots.
pub fn agent_yaml_looking(
    sim: &Sim,
    office: &str,
    agent: &str,
    broker_url: &str,
    interval: &str,
    view_every: Option<&str>,
) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Written by ronda-sim: an agent for the simulated office."
    );
    let _ = writeln!(y, "office: {office}\nagent: {agent}\ninterval: {interval}");
    let _ = writeln!(y, "broker:\n  url: {broker_url}");
    let _ = writeln!(y, "local_broker:\n  url: mqtt://{}", sim.mqtt);
    let _ = writeln!(
        y,
        "protected_classes: [server, network, cctv-recorder, cctv-monitor]"
    );
    let (mut recorders, mut plugs, mut services) = (String::new(), String::new(), String::new());
    for served in &sim.devices {
        let d = lock(&served.state).clone();
        let base = served
            .addr
            .map(|a| format!("http://{a}"))
            .unwrap_or_default();
        match d.kind {
            SimKind::Hikvision
            | SimKind::Dahua
            | SimKind::Frigate
            | SimKind::Onvif
            | SimKind::Rtsp
            | SimKind::Folder => recorder(&mut recorders, sim, &d, &base, served.addr, view_every),
            // Written by `access::config::section` below.
            SimKind::HikvisionAccess | SimKind::ZktecoPush => {}
            SimKind::Service => {
                let _ = writeln!(
                    services,
                    "  - id: {}\n    url: {base}/\n    expect_body: Masuk",
                    d.id
                );
            }
            _ => plug(&mut plugs, &d, &base),
        }
    }
    let _ = write!(
        y,
        "recorders:\n{recorders}plugs:\n{plugs}services:\n{services}"
    );
    y.push_str(&crate::access::config::section(sim));
    y
}

fn kind_name(kind: SimKind) -> &'static str {
    match kind {
        SimKind::Hikvision => "hikvision",
        SimKind::Dahua => "dahua",
        SimKind::Onvif => "onvif",
        SimKind::Rtsp => "rtsp",
        SimKind::Frigate => "frigate",
        SimKind::Folder => "folder",
        SimKind::Tasmota => "tasmota",
        SimKind::TasmotaMqtt => "tasmota-mqtt",
        SimKind::ShellyGen1 => "shelly-gen1",
        SimKind::ShellyRpc => "shelly-rpc",
        SimKind::ShellyRpcMqtt => "shelly-rpc-mqtt",
        SimKind::Zigbee2mqtt => "zigbee2mqtt",
        SimKind::Service => "service",
        SimKind::HikvisionAccess => "hikvision-access",
        SimKind::ZktecoPush => "zkteco-push",
    }
}

fn creds(out: &mut String, d: &DeviceState) {
    if !d.auth.username.is_empty() {
        let _ = writeln!(
            out,
            "    username: {}\n    password: \"{}\"",
            d.auth.username, d.auth.password
        );
    }
}

fn recorder(
    out: &mut String,
    sim: &Sim,
    d: &DeviceState,
    base: &str,
    addr: Option<std::net::SocketAddr>,
    view_every: Option<&str>,
) {
    let _ = writeln!(out, "  - id: {}\n    kind: {}", d.id, kind_name(d.kind));
    if let (Some(every), false) = (
        view_every,
        matches!(d.kind, SimKind::Rtsp | SimKind::Folder),
    ) {
        let _ = writeln!(out, "    view: {{every: {every}}}");
    }
    match d.kind {
        SimKind::Onvif => {
            let _ = writeln!(out, "    url: {base}/onvif/device_service");
        }
        SimKind::Rtsp | SimKind::Folder => {}
        _ => {
            let _ = writeln!(out, "    url: {base}");
        }
    }
    creds(out, d);
    let _ = writeln!(out, "    channels:");
    for ch in &d.channels {
        let _ = writeln!(
            out,
            "      - id: \"{}\"\n        name: {}\n        zone: {}",
            ch.id, ch.name, ch.zone
        );
        match (d.kind, addr) {
            (SimKind::Rtsp, Some(a)) => {
                let _ = writeln!(out, "        url: rtsp://{a}/Streaming/Channels/{}", ch.id);
            }
            (SimKind::Folder, _) => {
                let path = sim.folder_root.join(&d.id).join(&ch.id);
                let _ = writeln!(out, "        path: {}", path.display());
            }
            _ => {}
        }
    }
}

fn plug(out: &mut String, d: &DeviceState, base: &str) {
    let multi = d.relays.len() > 1;
    for (i, class) in d.classes.iter().enumerate() {
        let id = if multi {
            format!("{}-{}", d.id, i + 1)
        } else {
            d.id.clone()
        };
        let _ = writeln!(
            out,
            "  - id: {id}\n    kind: {}\n    class: {class}",
            kind_name(d.kind)
        );
        if d.topic.is_empty() || matches!(d.kind, SimKind::Tasmota) {
            let _ = writeln!(out, "    url: {base}");
        } else {
            let _ = writeln!(out, "    topic: {}", d.topic);
        }
        if multi {
            // Tasmota numbers relays from 1; Shelly switches from 0.
            let n = if matches!(d.kind, SimKind::Tasmota | SimKind::TasmotaMqtt) {
                i + 1
            } else {
                i
            };
            let _ = writeln!(out, "    relay: {n}");
        }
        creds(out, d);
    }
}
