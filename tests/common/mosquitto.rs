//! A real Mosquitto for the tests (ronda-testkit's), plain, over TLS with
//! passwords, or with the settings of `examples/mosquitto/`; a test skips
//! when Mosquitto is not installed, unless `RONDA_REQUIRE_MOSQUITTO=1`.

use ronda_common::link::BrokerUrl;

use super::{repo_file, skip, TestCa};

/// A real Mosquitto on a free port, stopped on drop.
pub struct Mosquitto {
    pub broker: ronda_testkit::Mosquitto,
    pub url: BrokerUrl,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    /// SIGKILL: whatever it held in memory is gone.
    pub fn kill(&mut self) {
        self.broker.kill();
    }

    /// Start again on the same port with the same settings.
    pub fn restart(&mut self) {
        self.broker.restart().unwrap();
    }
}

/// Start Mosquitto, or return None (skip) when it is not installed, unless
/// `RONDA_REQUIRE_MOSQUITTO=1`, where a missing Mosquitto fails the test.
pub fn mosquitto() -> Option<Mosquitto> {
    start_mosquitto(None, "")
}

/// A Mosquitto that speaks only TLS (certificate from `ca`) and only to the
/// given users.
pub fn secure_mosquitto(ca: &TestCa, users: &[(&str, &str)]) -> Option<Mosquitto> {
    start_mosquitto(Some((ca, users)), "")
}

/// How a client logs in as `user` to a [`secure_mosquitto`] whose CA is in
/// `ca_file`.
pub fn login(
    broker: &Mosquitto,
    ca_file: &std::path::Path,
    user: &str,
    password: &str,
) -> ronda_common::link::BrokerConfig {
    ronda_common::link::BrokerConfig {
        username: Some(user.to_owned()),
        password: Some(ronda_common::conf::Secret::new(password).into()),
        ca_file: Some(ca_file.to_owned()),
        ..super::broker_config(&broker.url)
    }
}

/// [`secure_mosquitto`] with the identity settings and ACL shipped in
/// `examples/mosquitto/`, taken from those files as they are. They follow
/// the `listener` line, as in the example: some are per listener.
pub fn ronda_mosquitto(ca: &TestCa, users: &[(&str, &str)]) -> Option<Mosquitto> {
    start_mosquitto(Some((ca, users)), &example_settings())
}

/// The identity settings of `examples/mosquitto/mosquitto.conf` and the
/// `acl_file` line for `examples/mosquitto/ronda.acl`.
pub fn example_settings() -> String {
    let example = std::fs::read_to_string(repo_file("examples/mosquitto/mosquitto.conf")).unwrap();
    let mut settings: String = example
        .lines()
        .filter(|l| {
            [
                "per_listener_settings",
                "allow_anonymous",
                "use_username_as_clientid",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        settings.lines().count(),
        3,
        "examples/mosquitto/mosquitto.conf changed"
    );
    settings.push_str(&format!(
        "acl_file {}\n",
        repo_file("examples/mosquitto/ronda.acl").display()
    ));
    settings
}

/// A Mosquitto with exactly `options`, its files in `dir` (kept until it is
/// dropped); its URL says TLS when `options.tls` is set. None (skip) as
/// [`mosquitto`].
pub fn mosquitto_with(
    dir: tempfile::TempDir,
    options: &ronda_testkit::mosquitto::Options,
) -> Option<Mosquitto> {
    let binary = installed()?;
    let broker = ronda_testkit::Mosquitto::start(&binary, dir.path(), options).unwrap();
    Some(Mosquitto {
        url: BrokerUrl {
            host: "127.0.0.1".into(),
            port: broker.port(),
            tls: options.tls.is_some(),
        },
        broker,
        _dir: dir,
    })
}

/// The Mosquitto binary; None after marking the test skipped, unless
/// `RONDA_REQUIRE_MOSQUITTO=1`, where a missing Mosquitto fails the test.
pub fn installed() -> Option<std::path::PathBuf> {
    let binary = ronda_testkit::mosquitto::installed();
    if binary.is_none() {
        skip::unless_required(
            "RONDA_REQUIRE_MOSQUITTO",
            "mosquitto is not installed (apt-get install mosquitto)",
        );
    }
    binary
}

fn start_mosquitto(
    secure: Option<(&TestCa, &[(&str, &str)])>,
    settings: &str,
) -> Option<Mosquitto> {
    installed()?;
    let dir = tempfile::tempdir().unwrap();
    let mut options = ronda_testkit::mosquitto::Options {
        after: settings.to_owned(),
        ..Default::default()
    };
    match secure {
        None => options.after.push_str("allow_anonymous true\n"),
        Some((ca, users)) => {
            options.after.push_str("allow_anonymous false\n");
            options.users = users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect();
            options.tls = Some(ca.server_files(dir.path()));
        }
    }
    mosquitto_with(dir, &options)
}
