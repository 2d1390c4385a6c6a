//! `agent.yaml`: what the agent is, where it reports, and how often.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ronda_wire::Id;
use serde::Deserialize;

use crate::delivery::Pace;
use crate::devices::{Devices, RawDevices};
use crate::doors::config::{check_listen, AccessConfig, RawAccess};
use crate::outbox::Limits;
use crate::plugs::config::RawPlug;
use crate::recorders::config::RawRecorder;
use crate::services::RawService;
use ronda_common::conf::{duration_in, Checker, ConfigError, Dur, LazySecret, Source};
use ronda_common::link::{BrokerConfig, RawBroker};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    office: String,
    agent: String,
    #[serde(default)]
    interval: Option<Dur>,
    #[serde(default)]
    startup_jitter: Option<Dur>,
    #[serde(default)]
    state_dir: Option<PathBuf>,
    broker: RawBroker,
    /// Devices probed at the same time, per section.
    #[serde(default)]
    probe_concurrency: Option<usize>,
    #[serde(default)]
    protected_classes: Option<Vec<String>>,
    #[serde(default)]
    local_broker: Option<RawBroker>,
    #[serde(default)]
    recorders: Vec<RawRecorder>,
    #[serde(default)]
    plugs: Vec<RawPlug>,
    #[serde(default)]
    services: Vec<RawService>,
    /// Door access controllers.
    #[serde(default)]
    access: Vec<RawAccess>,
    /// Where the agent listens for controllers that push (ZKTeco).
    #[serde(default)]
    access_listen: Option<String>,
    #[serde(default)]
    outbox: RawOutbox,
}

/// `outbox:`: how much the agent keeps while the server is out of reach.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbox {
    #[serde(default)]
    max_kib: Option<u64>,
    #[serde(default)]
    max_age: Option<Dur>,
    #[serde(default)]
    resend_per_s: Option<u32>,
    #[serde(default)]
    ack_timeout: Option<Dur>,
}

/// A checked agent configuration, ready to run.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub office: Id,
    pub agent: Id,
    /// Time between full reports.
    pub interval: Duration,
    /// The first report waits a random time up to this, so that a fleet
    /// restarted together does not publish in the same instant.
    pub startup_jitter: Duration,
    /// Where the agent keeps its outbox (`outbox.db`) between runs.
    pub state_dir: PathBuf,
    pub outbox: Limits,
    pub pace: Pace,
    pub broker: BrokerConfig,
    pub devices: Devices,
    pub access: Vec<AccessConfig>,
    /// Where controllers that push reach the agent.
    pub access_listen: Option<std::net::SocketAddr>,
}

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_STARTUP_JITTER: Duration = Duration::from_secs(2);
pub const DEFAULT_STATE_DIR: &str = "/var/lib/ronda-agent";

impl AgentConfig {
    /// Read and check a config file, reporting every problem found.
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        Self::from_source(Source::read(path)?)
    }

    /// Check a config held in memory, such as one the simulator wrote.
    pub fn from_text(name: &Path, text: String) -> Result<AgentConfig, ConfigError> {
        Self::from_source(Source::from_text(name, text))
    }

    /// Every secret in the file not read at load: the broker passwords.
    /// `run` reads them at start-up; `check` warns about those it cannot read.
    pub fn secrets(&mut self) -> impl Iterator<Item = &mut LazySecret> {
        let local = self.devices.local_broker.as_mut();
        let local = local.into_iter().flat_map(|b| b.password.iter_mut());
        self.broker.password.iter_mut().chain(local)
    }

    /// The secrets a round of probes uses: the office broker's password
    /// (MQTT plugs). The report broker's is not among them.
    pub fn local_secrets(&mut self) -> impl Iterator<Item = &mut LazySecret> {
        let local = self.devices.local_broker.as_mut();
        local.into_iter().flat_map(|b| b.password.iter_mut())
    }

    /// The brokers that get a password over plain MQTT to another machine
    /// (let through by `allow_plaintext: true`), with the setting naming each.
    pub fn brokers_in_clear(&self) -> impl Iterator<Item = (&'static str, &BrokerConfig)> {
        let local = self.devices.local_broker.as_ref();
        std::iter::once(("broker", &self.broker))
            .chain(local.map(|b| ("local_broker", b)))
            .filter(|(_, b)| b.sends_password_in_clear())
    }

    fn from_source(source: Source) -> Result<AgentConfig, ConfigError> {
        let raw: RawConfig = source.parse()?;
        let mut c = source.checker();
        let config = raw.check(&mut c);
        c.finish()?;
        // `finish` succeeded, so every part was present.
        config.ok_or_else(|| source.error(Vec::new()))
    }
}

impl RawConfig {
    fn check(self, c: &mut Checker<'_>) -> Option<AgentConfig> {
        let office = Id::new(self.office)
            .map_err(|e| c.fail("office", e.to_string()))
            .ok();
        let agent = Id::new(self.agent)
            .map_err(|e| c.fail("agent", e.to_string()))
            .ok();
        let interval = duration_in(c, "interval", self.interval, DEFAULT_INTERVAL, 1..=86_400);
        let jitter = duration_in(
            c,
            "startup_jitter",
            self.startup_jitter,
            DEFAULT_STARTUP_JITTER,
            0..=3_600,
        );
        let broker = self.broker.check("broker", c);
        let outbox = self.outbox.check(c);
        let devices = RawDevices {
            recorders: self.recorders,
            plugs: self.plugs,
            services: self.services,
            local_broker: self.local_broker,
            protected_classes: self.protected_classes,
            concurrency: self.probe_concurrency,
        }
        .check(c);
        let access = crate::devices::section(c, "access", self.access, RawAccess::id, |r, c, p| {
            r.check(c, p)
        });
        let access_listen = access
            .as_deref()
            .and_then(|a| check_listen(c, self.access_listen.as_deref(), a));
        Some(AgentConfig {
            office: office?,
            agent: agent?,
            interval: interval?,
            startup_jitter: jitter?,
            state_dir: self.state_dir.unwrap_or_else(|| DEFAULT_STATE_DIR.into()),
            outbox: outbox?.0,
            pace: outbox?.1,
            broker: broker?,
            devices: devices?,
            access: access?,
            access_listen: access_listen?,
        })
    }
}

impl RawOutbox {
    fn check(&self, c: &mut Checker<'_>) -> Option<(Limits, Pace)> {
        let (limits, pace) = (Limits::default(), Pace::default());
        let max_kib = self.max_kib.unwrap_or(limits.max_bytes >> 10);
        if !(64..=64 << 20).contains(&max_kib) {
            c.fail(
                "outbox.max_kib",
                "expected 64 to 67108864 (64 KiB to 64 GiB)",
            );
        }
        let rate = self.resend_per_s.unwrap_or(pace.resend_per_s);
        if !(1..=10_000).contains(&rate) {
            c.fail(
                "outbox.resend_per_s",
                "expected 1 to 10000 reports a second",
            );
        }
        let max_age = duration_in(
            c,
            "outbox.max_age",
            self.max_age,
            limits.max_age,
            60..=366 * 86_400,
        );
        let ack_timeout = duration_in(
            c,
            "outbox.ack_timeout",
            self.ack_timeout,
            pace.ack_timeout,
            1..=3_600,
        );
        Some((
            Limits {
                max_bytes: max_kib << 10,
                max_age: max_age?,
            },
            Pace {
                resend_per_s: rate,
                ack_timeout: ack_timeout?,
                ..pace
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<AgentConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.yaml");
        std::fs::write(&path, text).unwrap();
        AgentConfig::load(&path)
    }

    const GOOD: &str =
        "office: dinkes\nagent: kantor-utama\nbroker:\n  url: mqtt://127.0.0.1:1883\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let c = load(GOOD).unwrap();
        assert_eq!(c.interval, DEFAULT_INTERVAL);
        assert_eq!(c.broker.url.port, 1883);
        assert_eq!(c.state_dir, Path::new(DEFAULT_STATE_DIR));
    }

    #[test]
    fn misspelled_key_names_line_column_and_the_expected_keys() {
        let err = load(&format!("{GOOD}intervall: 10s\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("agent.yaml:5:1: unknown field `intervall`, expected one of"),
            "{err}"
        );
        assert!(err.contains("`interval`"), "{err}");
    }

    #[test]
    fn wrong_type_names_line_and_column() {
        let err = load("office: dinkes\nagent: [1, 2]\nbroker:\n  url: x\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("agent.yaml:2:8: agent: invalid type: sequence, expected a string"),
            "{err}"
        );
    }

    #[test]
    fn every_meaning_error_is_reported_at_once() {
        let text =
            "office: Dinkes\nagent: ok\ninterval: 0s\nbroker:\n  url: http://x\n  password: p\n";
        let err = load(text).unwrap_err();
        let lines: Vec<String> = err.to_string().lines().map(str::to_owned).collect();
        assert_eq!(err.problems.len(), 4, "{lines:#?}");
        assert!(
            lines[0].contains("agent.yaml:1:9: office: id `Dinkes` may only contain"),
            "{lines:#?}"
        );
        assert!(
            lines[1].contains(":3:11: interval: expected a duration"),
            "{lines:#?}"
        );
        // In file order: the password's problem (line 4) before the URL's (line 5).
        assert!(
            lines[2].contains(":4:8: broker.username: a password needs a username"),
            "{lines:#?}"
        );
        assert!(
            lines[3].contains(":5:8: broker.url: `http://x` must start with mqtt://"),
            "{lines:#?}"
        );
    }

    #[test]
    fn the_broker_password_is_read_only_by_those_who_need_it_and_never_shown() {
        let var = "RONDA_TEST_CONFIG_MQTT_PASSWORD";
        let text = format!("{GOOD}  username: dinkes/kantor-utama\n  password_env: {var}\n");
        std::env::remove_var(var);
        // Loading (for probe, check, doctor) does not need the variable.
        let mut c = load(&text).unwrap();
        assert_eq!(c.local_secrets().count(), 0);
        let err = ronda_common::conf::read_all(c.secrets()).unwrap_err();
        assert!(err[0].to_string().ends_with(&format!(
            "agent.yaml: broker.password: environment variable {var} is not set"
        )));
        std::env::set_var(var, "hunter2-agent");
        ronda_common::conf::read_all(c.secrets()).unwrap();
        std::env::remove_var(var);
        assert!(!format!("{c:?}").contains("hunter2"), "{c:?}");
        let literal = load(&format!("{GOOD}  username: u\n  password: hunter2-file\n")).unwrap();
        assert!(!format!("{literal:?}").contains("hunter2"), "{literal:?}");
    }

    #[test]
    fn a_password_in_clear_to_another_host_is_refused_for_both_brokers() {
        let remote = "office: dinkes\nagent: kantor-utama\nbroker:\n  url: mqtt://10.0.0.5:1883\n  username: dinkes/kantor-utama\n  password: rahasia\nlocal_broker:\n  url: mqtt://192.168.1.2\n  username: ronda\n  password_file: /etc/ronda/plug-broker\n";
        let err = load(remote).unwrap_err().to_string();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert!(lines[0].contains("agent.yaml:4:8: broker.url: "), "{err}");
        assert!(
            lines[1].contains("agent.yaml:8:8: local_broker.url: "),
            "{err}"
        );
        assert!(!err.contains("rahasia"), "{err}");
        // Said on purpose, for a closed network: loaded, and named at start.
        let allowed = remote
            .replace(
                "password: rahasia\n",
                "password: rahasia\n  allow_plaintext: true\n",
            )
            .replace("plug-broker\n", "plug-broker\n  allow_plaintext: true\n");
        let c = load(&allowed).unwrap();
        let named: Vec<&str> = c.brokers_in_clear().map(|(path, _)| path).collect();
        assert_eq!(named, ["broker", "local_broker"]);
        assert_eq!(load(GOOD).unwrap().brokers_in_clear().count(), 0);
    }

    #[test]
    fn bad_duration_text_is_located() {
        let err = load(&format!("{GOOD}interval: soon\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("agent.yaml:5:11: interval:"), "{err}");
    }
}
