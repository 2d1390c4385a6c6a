//! Tests of `server.yaml` loading: defaults, typos, retention, mail and secrets.

mod loading {
    use super::super::*;

    use super::tests_support::load;

    #[test]
    fn defaults_to_the_embedded_broker() {
        let c = load("database:\n  path: ronda.db\n").unwrap();
        assert!(matches!(c.broker, BrokerChoice::Embedded(ref e) if e.listen.port() == 1883));
        assert!(
            matches!(&c.database, Location::File(p) if p.ends_with("ronda.db") && p.is_absolute())
        );
        assert_eq!(c.http_listen.port(), 8080);
    }

    #[test]
    fn external_broker_is_checked_like_the_agents() {
        let err =
            load("database:\n  path: r.db\nbroker:\n  external:\n    url: tcp://x\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("server.yaml:5:10: broker.external.url:"),
            "{err}"
        );
    }

    #[test]
    fn a_database_is_a_file_or_a_postgres_url_without_a_password() {
        let c = load("database:\n  url: postgres://ronda@db.example/ronda\n  password_env: PGPW\n")
            .unwrap();
        assert!(
            matches!(&c.database, Location::Postgres(p) if p.url == "postgres://ronda@db.example/ronda" && p.password.is_some())
        );
        for (yaml, says) in [
            (
                "database:\n  url: postgres://ronda:rahasia@db/ronda\n",
                "holds a password",
            ),
            (
                "database:\n  url: mysql://db/ronda\n",
                "expected postgres://",
            ),
            (
                "database:\n  url: postgres://ronda@db\n",
                "names no database",
            ),
            (
                "database:\n  path: r.db\n  url: postgres://ronda@db/ronda\n",
                "not both",
            ),
            (
                "database:\n  path: r.db\n  password_env: X\n",
                "belong to a PostgreSQL",
            ),
            ("database: {}\n", "give `path`"),
        ] {
            let err = load(yaml).unwrap_err().to_string();
            assert!(
                err.contains("database") && err.contains(says),
                "{yaml}: {err}"
            );
            assert!(
                !err.contains("rahasia"),
                "the password is not repeated: {err}"
            );
        }
    }

    #[test]
    fn typo_and_wrong_type_are_located() {
        let err = load("database:\n  path: r.db\nhttp:\n  listn: 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.yaml:4:3: http: unknown field `listn`, expected one of `listen`"),
            "{err}"
        );
        let err = load("database:\n  path: r.db\nhttp:\n  listen: yes\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.yaml:4:11: http.listen: invalid"),
            "{err}"
        );
    }
}

mod retention {
    use super::tests_support::load;
    use std::time::Duration;

    const DAY: u64 = 86_400;

    #[test]
    fn evidence_is_kept_two_years_unless_told_otherwise() {
        let c = load("database:\n  path: r.db\n").unwrap();
        assert_eq!(c.retention.reports, Duration::from_secs(30 * DAY));
        assert_eq!(c.retention.alerts, Duration::from_secs(730 * DAY));
        assert_eq!(c.retention.door_events, Duration::from_secs(730 * DAY));
        let c = load("database:\n  path: r.db\n  alert_retention: 1095d\n  door_event_retention: 365d\n  report_retention: 7d\n").unwrap();
        assert_eq!(c.retention.alerts, Duration::from_secs(1095 * DAY));
        assert_eq!(c.retention.door_events, Duration::from_secs(365 * DAY));
        assert_eq!(c.retention.reports, Duration::from_secs(7 * DAY));
    }

    #[test]
    fn a_negative_tiny_or_yearly_retention_is_refused_with_its_key() {
        let err = load("database:\n  path: r.db\n  alert_retention: -30d\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.yaml:3:20: database.alert_retention: `-30d` is negative"),
            "{err}"
        );
        // Hours where days were meant would delete the evidence of the last
        // holiday within the hour; a number without its unit is no duration.
        let err = load("database:\n  path: r.db\n  door_event_retention: 12h\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.yaml:3:25: database.door_event_retention: expected 90d to 36500d, like `730d`"),
            "{err}"
        );
        let err = load("database:\n  path: r.db\n  door_event_retention: 30\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.yaml:3:25: database.door_event_retention: `30` is not a duration"),
            "{err}"
        );
        // Years are not a fixed length: the message asks for days.
        let err = load("database:\n  path: r.db\n  alert_retention: 2y\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`2y` is not a duration like 30s, 5m, 2h or 30d"),
            "{err}"
        );
        let err = load("database:\n  path: r.db\n  alert_retention: 40000d\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("database.alert_retention: expected 90d to 36500d"),
            "{err}"
        );
    }
}

#[test]
fn the_example_config_loads_as_written() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/server.yaml");
    let c = super::ServerConfig::load(&path).unwrap();
    assert_eq!(
        c.retention.alerts,
        std::time::Duration::from_secs(730 * 86_400)
    );
}

mod mail_tests {
    use super::tests_support::load;

    #[test]
    fn mail_settings_are_checked_and_the_password_never_shows() {
        std::env::set_var("RONDA_TEST_SMTP_PW", "hunter2-smtp");
        let mut c = load("database:\n  path: r.db\nmail:\n  from: Ronda <ronda@kotim.go.id>\n  smtp:\n    host: smtp.kotim.go.id\n    username: ronda\n    password_env: RONDA_TEST_SMTP_PW\n").unwrap();
        // Read, as `run` does at start-up: the value is kept, never shown.
        c.read_secrets().unwrap();
        assert!(!format!("{c:?}").contains("hunter2"), "{c:?}");
        let m = c.mail.unwrap();
        assert!(!format!("{m:?}").contains("hunter2"), "{m:?}");
        let crate::mail::config::TransportConfig::Smtp(s) = &m.transport else {
            panic!()
        };
        assert_eq!((s.port, s.tls), (587, crate::mail::config::Tls::StartTls));
        let err = load("database:\n  path: r.db\nmail:\n  from: not an address\n  language: jv\n  smtp:\n    host: x\n    tls: ssl\n").unwrap_err().to_string();
        assert!(
            err.contains(":4:9: mail.from: `not an address` is not an address"),
            "{err}"
        );
        assert!(
            err.contains(":5:13: mail.language: `jv` is not a language"),
            "{err}"
        );
        assert!(
            err.contains(":8:10: mail.smtp.tls: `ssl` is not a TLS mode"),
            "{err}"
        );
    }
}

mod smtp_ca_tests {
    use super::tests_support::load;

    #[test]
    fn a_bad_smtp_ca_file_is_named_with_its_key_and_what_is_wrong() {
        let base = "database:\n  path: r.db\nmail:\n  from: Ronda <ronda@kotim.go.id>\n  smtp:\n    host: smtp.kotim.go.id\n";
        let err = load(&format!("{base}    ca_file: /nonexistent/ronda-ca.pem\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":7:14: mail.smtp.ca_file: cannot read /nonexistent/ronda-ca.pem"),
            "{err}"
        );
        let err = load(&format!("{base}    tls: none\n    ca_file: ca.pem\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mail.smtp.ca_file: has no use with tls: none"),
            "{err}"
        );
    }
}

mod secret_tests {
    use super::tests_support::load;

    #[test]
    fn secrets_are_read_at_run_not_at_load() {
        let text = "database:\n  path: r.db\napi:\n  admin_token_env: RONDA_TEST_TOKEN_NEVER_SET\n";
        let mut c = load(text).unwrap();
        let unread = c.unreadable_secrets();
        assert_eq!(unread.len(), 1);
        assert!(
            unread[0].to_string().ends_with(
                "server.yaml: api.admin_token: environment variable RONDA_TEST_TOKEN_NEVER_SET is not set"
            ),
            "{}",
            unread[0]
        );
        assert_eq!(c.read_secrets().unwrap_err(), unread);
    }

    #[test]
    fn a_short_admin_token_is_refused_when_it_is_read() {
        let err = load("database:\n  path: r.db\napi:\n  admin_token: short\n").unwrap_err();
        assert!(
            err.to_string().contains("api.admin_token: use at least 16"),
            "{err}"
        );
        std::env::set_var("RONDA_TEST_SHORT_TOKEN", "short");
        let text = "database:\n  path: r.db\napi:\n  admin_token_env: RONDA_TEST_SHORT_TOKEN\n";
        let mut c = load(text).unwrap();
        let err = c.read_secrets().unwrap_err();
        assert!(err[0]
            .to_string()
            .ends_with("api.admin_token: use at least 16 characters"));
    }
}

/// Shared by the config tests here and in `https_tests.rs`.
pub(crate) mod tests_support {
    pub(crate) fn load(
        text: &str,
    ) -> Result<super::super::ServerConfig, ronda_common::conf::ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.yaml");
        std::fs::write(&path, text).unwrap();
        super::super::ServerConfig::load(&path)
    }
}
