//! The `access:` part of the agent config the simulator writes
//! (`crate::agent_config`): one entry per door controller, with the keys of
//! `agent/src/doors/config.rs`, and `access_listen` where a ZKTeco device
//! calls in.

use std::fmt::Write;

use crate::hikvision::numeric;
use crate::state::{lock, DeviceState, SimKind};
use crate::Sim;

/// `access_listen:` and `access:` for the door controllers of `sim`;
/// empty when it has none.
pub fn section(sim: &Sim) -> String {
    let mut entries = String::new();
    let mut listen = None;
    for served in &sim.devices {
        let d = lock(&served.state).clone();
        match d.kind {
            SimKind::HikvisionAccess => {
                let url = served
                    .addr
                    .map(|a| format!("http://{a}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    entries,
                    "  - id: {}\n    kind: hikvision-access\n    url: {url}\n    username: {}\n    password: \"{}\"\n    poll: 1s",
                    d.id, d.auth.username, d.auth.password
                );
                doors(&mut entries, &d);
            }
            SimKind::ZktecoPush => {
                let _ = writeln!(
                    entries,
                    "  - id: {}\n    kind: zkteco-push\n    serial: {}\n    utc_offset: \"{}\"\n    silence: 30s",
                    d.id,
                    d.serial,
                    numeric(d.offset())
                );
                doors(&mut entries, &d);
                listen = listen.or_else(|| listen_addr(&d.access.push.server));
            }
            _ => {}
        }
    }
    if entries.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    if let Some(l) = listen {
        let _ = writeln!(out, "access_listen: {l}");
    }
    let _ = write!(out, "access:\n{entries}");
    out
}

fn doors(out: &mut String, d: &DeviceState) {
    let _ = writeln!(out, "    doors:");
    for door in &d.access.doors {
        let _ = writeln!(out, "      - no: {}\n        door: {}", door.no, door.place);
    }
}

/// `127.0.0.1:8088` from the server address set on a device,
/// `http://127.0.0.1:8088`.
pub fn listen_addr(server: &str) -> Option<String> {
    let rest = server
        .strip_prefix("http://")
        .or_else(|| server.strip_prefix("https://"))
        .unwrap_or(server);
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(host.to_owned())
}
