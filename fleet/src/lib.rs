//! Ronda's fleet simulator and benchmark suite.
//!
//! [`fleet::Fleet`] runs thousands of simulated agents over real MQTT;
//! [`bench`] runs the scenarios of the benchmark suite with it against real
//! `ronda-server`, Mosquitto, node_exporter and zabbix_agentd processes.

pub mod bench;
pub mod fleet;
pub mod report;
pub mod view_run;

use std::path::PathBuf;

/// A file of this repository (letters, the Mosquitto example ACL).
pub fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}
