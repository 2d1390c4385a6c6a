//! A Mosquitto for a scenario, configured as `examples/mosquitto` advises
//! (no anonymous clients, a password per agent, the topic ACL, the client id
//! bound to the username), on a plain loopback listener.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ronda_common::link::BrokerUrl;

use super::procs::{ensure_packages, Proc};
use super::server::{free_port, path_str};
use super::BenchError;
use crate::fleet::AgentIds;

pub const BINARY: &str = "/usr/sbin/mosquitto";
pub const SERVER_USER: &str = "ronda-server";

pub struct Mosquitto {
    pub proc: Proc,
    pub url: BrokerUrl,
    /// The server's password (user `ronda-server`).
    pub server_password: String,
    /// Agents' passwords by username.
    pub credentials: Arc<HashMap<String, String>>,
}

impl Mosquitto {
    pub async fn start(dir: &Path, agents: &[AgentIds]) -> Result<Mosquitto, BenchError> {
        if !ensure_packages(&[("mosquitto", BINARY)]) {
            return Err(BenchError::Scenario(
                "mosquitto is not installed and apt-get could not install it".into(),
            ));
        }
        let port = free_port()?;
        let server_password = format!("srv-{:016x}", fastrand::u64(..));
        let mut credentials = HashMap::with_capacity(agents.len());
        let mut passwd = format!("{SERVER_USER}:{server_password}\n");
        for a in agents {
            let p = format!("{:016x}", fastrand::u64(..));
            passwd += &format!("{}:{p}\n", a.username());
            credentials.insert(a.username(), p);
        }
        let passwd_path = dir.join("passwd");
        std::fs::write(&passwd_path, passwd).map_err(|e| BenchError::io(&passwd_path, e))?;
        hash_passwords(&passwd_path)?;
        let acl = crate::repo_file("examples/mosquitto/ronda.acl");
        // As in the example: settings after the listener line belong to it.
        // The queue limit is raised for the server's client (DESIGN, traps).
        let conf = format!(
            "per_listener_settings false\nallow_anonymous false\npassword_file {}\nacl_file {}\nlistener {port} 127.0.0.1\nuse_username_as_clientid true\nuser root\npersistence false\nmax_queued_messages 100000\nmax_connections -1\nlog_dest stderr\nlog_type error\nlog_type warning\n",
            path_str(&passwd_path),
            path_str(&acl)
        );
        let conf_path = dir.join("mosquitto.conf");
        std::fs::write(&conf_path, conf).map_err(|e| BenchError::io(&conf_path, e))?;
        let proc = Proc::spawn(
            "mosquitto",
            Path::new(BINARY),
            &["-c", &path_str(&conf_path)],
            &dir.join("mosquitto.log"),
        )?;
        wait_listening(port, &dir.join("mosquitto.log")).await?;
        Ok(Mosquitto {
            proc,
            url: BrokerUrl {
                host: "127.0.0.1".into(),
                port,
                tls: false,
            },
            server_password,
            credentials: Arc::new(credentials),
        })
    }
}

/// `mosquitto_passwd -U` hashes a whole file of `user:password` lines at once.
fn hash_passwords(path: &PathBuf) -> Result<(), BenchError> {
    let status = std::process::Command::new("mosquitto_passwd")
        .arg("-U")
        .arg(path)
        .status()
        .map_err(|e| BenchError::io(Path::new("mosquitto_passwd"), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(BenchError::Scenario(format!(
            "mosquitto_passwd -U {} failed",
            path.display()
        )))
    }
}

async fn wait_listening(port: u16, log: &Path) -> Result<(), BenchError> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(BenchError::Scenario(format!(
        "mosquitto did not listen on {port}; see {}",
        log.display()
    )))
}
