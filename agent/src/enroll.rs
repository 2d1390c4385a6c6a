//! `ronda-agent enroll`: the agent config for one office PC, written from
//! the broker's address, the office and agent ids and the agent's MQTT
//! credential, checked by the agent's own loader before anything is
//! written, and optionally tried against the broker.
//!
//! The password never goes into `agent.yaml`: it goes to a credential file
//! (0600) that systemd hands the service (`LoadCredential=`), and the
//! config names it as `password_file: $CREDENTIALS_DIRECTORY/<name>`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ronda_common::conf::Secret;
use ronda_common::link::{self, BrokerUrl};
use rumqttc::{ConnectReturnCode, Event, Packet};

use crate::AgentConfig;

/// What the admin gave.
pub struct Enrollment {
    pub broker: String,
    pub office: String,
    pub agent: String,
    /// Where the password is kept: the config names it.
    pub credential: PathBuf,
    /// Name it through `$CREDENTIALS_DIRECTORY` (the systemd unit loads it)
    /// rather than by its path.
    pub via_credentials_directory: bool,
    pub ca_file: Option<PathBuf>,
    pub allow_plaintext: bool,
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    #[error("--broker: {0}")]
    Broker(String),
    #[error("the config would not load:\n{0}")]
    Config(#[from] ronda_common::conf::ConfigError),
    #[error("{0} exists; give --force to replace it")]
    Exists(PathBuf),
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the broker refused the password of {username} ({code:?}); check the credential from `ronda-server mqtt-user add`")]
    Refused {
        username: String,
        code: ConnectReturnCode,
    },
    #[error("the broker refused the connection ({0:?})")]
    NotAccepted(ConnectReturnCode),
    #[error("cannot reach the broker: {0}")]
    Unreachable(String),
    #[error("no answer from the broker within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Link(#[from] link::LinkError),
}

/// The systemd credential name the config names by default.
pub const CREDENTIAL_NAME: &str = "mqtt-password";

impl Enrollment {
    /// The MQTT username: `office/agent`, as the embedded broker's gate wants.
    pub fn username(&self) -> String {
        format!("{}/{}", self.office, self.agent)
    }

    /// What `password_file` says in the config.
    pub fn password_file(&self) -> String {
        match (self.via_credentials_directory, self.credential.file_name()) {
            (true, Some(name)) => format!("$CREDENTIALS_DIRECTORY/{}", name.to_string_lossy()),
            _ => self.credential.display().to_string(),
        }
    }

    /// The commented config text.
    pub fn render(&self) -> String {
        let mut t = format!(
            "# Ronda agent for office {office}, written by `ronda-agent enroll`.\n\
             # Check it with:  ronda-agent check --config THIS-FILE\n\
             # Every key is explained in the README and in examples/agent.yaml and\n\
             # examples/office.yaml (devices) of the Ronda source.\n\n\
             # Ids: lowercase letters, digits and '-'; they form the MQTT topic.\n\
             office: {office}\n\
             agent: {agent}\n\n\
             # Time between full reports (30s by default).\n\
             interval: 30s\n",
            office = self.office,
            agent = self.agent,
        );
        match &self.state_dir {
            Some(d) => t.push_str(&format!(
                "# Where the outbox of unacknowledged reports lives.\nstate_dir: {}\n",
                yaml_str(&d.display().to_string())
            )),
            None => t.push_str(
                "# Where the outbox of unacknowledged reports lives (default below).\n\
                 # state_dir: /var/lib/ronda-agent\n",
            ),
        }
        t.push_str(&format!(
            "\nbroker:\n  url: {}\n  # The embedded broker wants `office/agent` and the password from\n  \
             # `ronda-server mqtt-user add {} {}`.\n  username: {}\n  \
             # Read by `run` at start-up, never logged.\n  password_file: {}\n",
            yaml_str(&self.broker),
            self.office,
            self.agent,
            yaml_str(&self.username()),
            yaml_str(&self.password_file()),
        ));
        match &self.ca_file {
            Some(ca) => t.push_str(&format!(
                "  # The CA that signed the broker's certificate.\n  ca_file: {}\n",
                yaml_str(&ca.display().to_string())
            )),
            None => t.push_str(
                "  # The CA that signed the broker's certificate (mqtts://), if private:\n  \
                 # ca_file: /etc/ronda/ca.pem\n",
            ),
        }
        if self.allow_plaintext {
            t.push_str(
                "  # The password travels in clear over mqtt://: a closed network only.\n  \
                 allow_plaintext: true\n",
            );
        }
        t.push_str(
            "\n# Devices: recorders, plugs, services, access (door controllers).\n\
             # Add them here; examples/office.yaml shows every kind.\n\
             # recorders: []\n# plugs: []\n# services: []\n",
        );
        t
    }

    /// The config text, checked by the agent's own loader as if it were
    /// already at `out`. A bad broker URL is named by its flag.
    pub fn checked(&self, out: &Path) -> Result<(String, AgentConfig), EnrollError> {
        BrokerUrl::parse(&self.broker).map_err(EnrollError::Broker)?;
        let text = self.render();
        let config = AgentConfig::from_text(out, text.clone())?;
        Ok((text, config))
    }
}

/// A YAML scalar for `s`: plain when that reads back the same, else quoted.
fn yaml_str(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:$@+".contains(c))
        && !s.starts_with(['-', ':', '@']);
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Write `text` to `path` with `mode`, refusing to replace a file unless
/// `force`; its folder is made if missing.
pub fn write_file(path: &Path, text: &[u8], mode: u32, force: bool) -> Result<(), EnrollError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |error| EnrollError::Write {
        path: path.to_owned(),
        error,
    };
    if path.exists() && !force {
        return Err(EnrollError::Exists(path.to_owned()));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(err)?;
    // An existing file keeps its mode through `open`: set it.
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(err)?;
    f.write_all(text).map_err(err)?;
    f.sync_all().map_err(err)
}

/// Connect to the broker with `config`'s settings and `password`, and wait
/// for its answer.
pub async fn try_broker(config: &AgentConfig, password: &Secret) -> Result<(), EnrollError> {
    const WAIT: Duration = Duration::from_secs(15);
    let mut broker = config.broker.clone();
    broker.password = Some(password.clone().into());
    let client_id = format!("ronda-{}-{}", config.office, config.agent);
    let options = link::options(&client_id, &broker, None, 64 * 1024)?;
    let (client, mut events) = link::connect(options, 4);
    let answer = tokio::time::timeout(WAIT, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Ok(ack.code),
                Ok(_) => {}
                Err(rumqttc::ConnectionError::ConnectionRefused(code)) => return Ok(code),
                Err(e) => return Err(EnrollError::Unreachable(e.to_string())),
            }
        }
    })
    .await
    .map_err(|_| EnrollError::Timeout(WAIT))??;
    let _ = client.try_disconnect();
    match answer {
        ConnectReturnCode::Success => Ok(()),
        code @ (ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized) => {
            Err(EnrollError::Refused {
                username: broker.username.unwrap_or_default(),
                code,
            })
        }
        code => Err(EnrollError::NotAccepted(code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enrollment(broker: &str) -> Enrollment {
        Enrollment {
            broker: broker.into(),
            office: "dinkes".into(),
            agent: "kantor-utama".into(),
            credential: "/etc/ronda/credentials/mqtt-password".into(),
            via_credentials_directory: true,
            ca_file: None,
            allow_plaintext: false,
            state_dir: None,
        }
    }

    #[test]
    fn the_written_config_loads_with_the_agents_loader() {
        let e = enrollment("mqtts://mqtt.kotim.go.id:8883");
        let (text, config) = e.checked(Path::new("/etc/ronda/agent.yaml")).unwrap();
        assert_eq!(
            config.broker.username.as_deref(),
            Some("dinkes/kantor-utama")
        );
        assert!(
            text.contains("password_file: $CREDENTIALS_DIRECTORY/mqtt-password"),
            "{text}"
        );
        assert!(
            text.lines().filter(|l| l.starts_with('#')).count() > 3,
            "commented"
        );
    }

    #[test]
    fn a_bad_broker_url_is_named_by_its_flag() {
        let e = enrollment("tcp://mqtt.kotim.go.id");
        let err = e.checked(Path::new("agent.yaml")).unwrap_err().to_string();
        assert!(
            err.starts_with("--broker: ") && err.contains("mqtt://"),
            "{err}"
        );
        // A password over plain MQTT to another machine: the loader's rule.
        let e = enrollment("mqtt://mqtt.kotim.go.id");
        let err = e.checked(Path::new("agent.yaml")).unwrap_err().to_string();
        assert!(err.contains("allow_plaintext"), "{err}");
    }

    #[test]
    fn bad_ids_are_refused_and_odd_paths_are_quoted() {
        let mut e = enrollment("mqtts://mqtt.kotim.go.id");
        e.office = "Dinas Kesehatan".into();
        assert!(e.checked(Path::new("agent.yaml")).is_err());
        let mut e = enrollment("mqtts://mqtt.kotim.go.id");
        e.state_dir = Some("/var/lib/ronda agent #1".into());
        let (_, config) = e.checked(Path::new("agent.yaml")).unwrap();
        assert_eq!(config.state_dir, Path::new("/var/lib/ronda agent #1"));
    }
}
