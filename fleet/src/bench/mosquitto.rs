//! A Mosquitto for a scenario, configured as `examples/mosquitto` advises
//! (no anonymous clients, a password per agent, the topic ACL, the client id
//! bound to the username), on a plain loopback listener.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use ronda_common::link::BrokerUrl;
use ronda_testkit::mosquitto::Options;

use super::procs::ensure_packages;
use super::server::path_str;
use super::BenchError;
use crate::fleet::AgentIds;

pub const BINARY: &str = "/usr/sbin/mosquitto";
pub const SERVER_USER: &str = "ronda-server";

pub struct Mosquitto {
    /// The broker process (ronda-testkit's launcher, as the tests use).
    pub broker: ronda_testkit::Mosquitto,
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
        let server_password = format!("srv-{:016x}", fastrand::u64(..));
        let mut credentials = HashMap::with_capacity(agents.len());
        let mut users = vec![(SERVER_USER.to_owned(), server_password.clone())];
        for a in agents {
            let p = format!("{:016x}", fastrand::u64(..));
            users.push((a.username(), p.clone()));
            credentials.insert(a.username(), p);
        }
        let acl = crate::repo_file("examples/mosquitto/ronda.acl");
        // As in the example: settings after the listener line belong to it.
        let options = Options {
            before: format!(
                "per_listener_settings false\nallow_anonymous false\nacl_file {}\n",
                path_str(&acl)
            ),
            after: "use_username_as_clientid true\nmax_connections -1\nlog_dest stderr\nlog_type error\nlog_type warning\n".into(),
            users,
            tls: None,
            log: Some(dir.join("mosquitto.log")),
            ..Options::default()
        };
        let broker = ronda_testkit::Mosquitto::start(Path::new(BINARY), dir, &options)
            .map_err(|e| BenchError::Scenario(format!("mosquitto: {e}")))?;
        Ok(Mosquitto {
            url: BrokerUrl {
                host: "127.0.0.1".into(),
                port: broker.port(),
                tls: false,
            },
            broker,
            server_password,
            credentials: Arc::new(credentials),
        })
    }
}
