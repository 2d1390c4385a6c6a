//! Tests for `link`: broker URL parsing and checking (credentials kept out
//! of the URL and out of errors), connection options and backoff.

use super::*;

#[test]
fn parses_broker_urls() {
    let u = BrokerUrl::parse("mqtt://127.0.0.1:1884").unwrap();
    assert_eq!((u.host.as_str(), u.port, u.tls), ("127.0.0.1", 1884, false));
    assert_eq!(
        BrokerUrl::parse("mqtts://broker.example").unwrap().port,
        8883
    );
    assert_eq!(BrokerUrl::parse("mqtt://[::1]:1883").unwrap().host, "::1");
    assert!(BrokerUrl::parse("http://x").is_err());
    assert!(BrokerUrl::parse("mqtt://x:notaport").is_err());
    assert!(BrokerUrl::parse("mqtt://").is_err());
}

fn broker(password_line: &str) -> BrokerConfig {
    let text = format!("broker:\n  url: mqtt://127.0.0.1:1\n  username: u\n  {password_line}\n");
    let source = crate::conf::Source::from_text(std::path::Path::new("a.yaml"), text);
    let raw: std::collections::BTreeMap<String, RawBroker> = source.parse().unwrap();
    let mut c = source.checker();
    let b = raw["broker"].check("broker", &mut c).unwrap();
    c.finish().unwrap();
    b
}

#[test]
fn the_password_is_read_when_the_connection_is_set_up() {
    let unset = broker("password_env: RONDA_TEST_LINK_NEVER_SET");
    let err = options("c", &unset, None, 1024).unwrap_err().to_string();
    assert_eq!(
        err,
        "a.yaml: broker.password: environment variable RONDA_TEST_LINK_NEVER_SET is not set"
    );
    let literal = broker("password: hunter2");
    assert!(!format!("{literal:?}").contains("hunter2"), "{literal:?}");
    let o = options("c", &literal, None, 1024).unwrap();
    assert_eq!(o.credentials().map(|l| l.password), Some("hunter2".into()));
}

/// Check a `broker:` section (or any section at `path`) written as YAML.
fn check_at(path: &str, body: &str) -> Result<BrokerConfig, String> {
    let mut text = String::new();
    let mut indent = String::new();
    for key in path.split('.') {
        text += &format!("{indent}{key}:\n");
        indent += "  ";
    }
    for line in body.lines() {
        text += &format!("{indent}{line}\n");
    }
    let source = crate::conf::Source::from_text(std::path::Path::new("a.yaml"), text);
    let raw: serde_json::Value = source.parse().map_err(|e| e.to_string())?;
    let raw = path.split('.').fold(&raw, |v, k| &v[k]);
    let raw: RawBroker = serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
    let mut c = source.checker();
    let b = raw.check(path, &mut c);
    c.finish().map_err(|e| e.to_string())?;
    Ok(b.unwrap())
}

fn check(body: &str) -> Result<BrokerConfig, String> {
    check_at("broker", body)
}

const WITH_PASSWORD: &str = "username: dinkes/kantor-utama\npassword: rahasia-mqtt";

#[test]
fn a_password_over_plain_mqtt_to_another_host_is_refused_naming_broker_url() {
    for url in [
        "mqtt://10.0.0.5:1883",
        "mqtt://10.0.0.5",
        "mqtt://broker.kotim.go.id:1883",
        // Looks like loopback, is a name anyone can register.
        "mqtt://127.0.0.1.evil.example",
        "mqtt://localhost.evil.example:1883",
        "mqtt://[fe80::1]:1883",
        "mqtt://0.0.0.0:1883",
    ] {
        let err = check(&format!("url: {url}\n{WITH_PASSWORD}")).unwrap_err();
        assert!(err.contains("a.yaml:2:8: broker.url: "), "{url}: {err}");
        assert!(err.contains("mqtts://"), "{url}: {err}");
        assert!(err.contains("allow_plaintext: true"), "{url}: {err}");
        assert!(!err.contains("rahasia"), "{url}: {err}");
    }
    // A user name alone is a credential too (the broker may take any
    // password, but the name is the office's identity).
    let err = check("url: mqtt://10.0.0.5:1883\nusername: dinkes/kantor-utama").unwrap_err();
    assert!(err.contains("broker.url: "), "{err}");
    // So is a password read from a file or the environment.
    let err = check("url: mqtt://10.0.0.5:1883\nusername: u\npassword_env: RONDA_TEST_NEVER_SET")
        .unwrap_err();
    assert!(err.contains("broker.url: "), "{err}");
}

#[test]
fn the_caller_s_path_prefix_is_kept() {
    let err = check_at(
        "broker.external",
        &format!("url: mqtt://10.0.0.5:1883\n{WITH_PASSWORD}"),
    )
    .unwrap_err();
    assert!(err.contains(": broker.external.url: "), "{err}");
}

#[test]
fn loopback_tls_and_anonymous_brokers_are_fine() {
    for url in [
        "mqtt://localhost:1883",
        "mqtt://LocalHost",
        "mqtt://127.0.0.1",
        "mqtt://127.0.0.1:1884",
        "mqtt://127.8.9.10:1883",
        "mqtt://[::1]:1883",
        "mqtt://[::1]",
        "mqtts://10.0.0.5:8883",
        "mqtts://broker.kotim.go.id",
    ] {
        let b =
            check(&format!("url: {url}\n{WITH_PASSWORD}")).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(!b.sends_password_in_clear(), "{url}");
    }
    // No credential, nothing to leak.
    let b = check("url: mqtt://10.0.0.5:1883").unwrap();
    assert!(!b.sends_password_in_clear());
}

#[test]
fn allow_plaintext_lets_it_through_and_says_so_at_start() {
    let b = check(&format!(
        "url: mqtt://10.0.0.5:1883\n{WITH_PASSWORD}\nallow_plaintext: true"
    ))
    .unwrap();
    assert!(b.sends_password_in_clear());
    let logs = capture_logs(|| assert!(b.warn_if_in_clear("broker")));
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains("in clear"), "{logs}");
    assert!(logs.contains("setting=\"broker\""), "{logs}");
    assert!(logs.contains("broker=mqtt://10.0.0.5:1883"), "{logs}");
    assert!(!logs.contains("rahasia"), "{logs}");
    // Over TLS, or to this machine, there is nothing to say.
    let tls = check(&format!("url: mqtts://10.0.0.5\n{WITH_PASSWORD}")).unwrap();
    assert!(capture_logs(|| assert!(!tls.warn_if_in_clear("broker"))).is_empty());
    // `false` is the default and refuses.
    let err = check(&format!(
        "url: mqtt://10.0.0.5:1883\n{WITH_PASSWORD}\nallow_plaintext: false"
    ))
    .unwrap_err();
    assert!(err.contains("broker.url: "), "{err}");
}

#[test]
fn credentials_inside_the_broker_url_are_refused_and_not_echoed() {
    for url in [
        "mqtt://dinkes:rahasia@10.0.0.5:1883",
        "mqtt://dinkes:rahasia@127.0.0.1",
        "mqtts://:rahasia@broker.example",
        "mqtt://@10.0.0.5",
    ] {
        let err = check(&format!("url: {url}")).unwrap_err();
        assert!(err.contains("broker.url: "), "{url}: {err}");
        assert!(err.contains("username"), "{url}: {err}");
        assert!(!err.contains("rahasia"), "{url}: {err}");
    }
    let err = BrokerUrl::parse("http://dinkes:rahasia@x").unwrap_err();
    assert!(!err.contains("rahasia"), "{err}");
}

#[test]
fn a_password_with_a_slash_question_mark_or_hash_in_the_broker_url_is_refused_and_not_echoed() {
    // A broker URL has no path, query or fragment: any `@` is user-info, and
    // everything before the last one is hidden, whatever it holds.
    for (url, password) in [
        ("mqtt://u:pa/ss@h:1883", "pa/ss"),
        ("mqtt://u:pa/ss@h", "pa/ss"),
        ("mqtt://u:p?ss@h", "p?ss"),
        ("mqtts://u:p#ss@h:8883", "p#ss"),
    ] {
        let err = BrokerUrl::parse(url).expect_err(url);
        assert!(!err.contains(password), "{url}: {err}");
        assert!(err.contains("holds credentials"), "{url}: {err}");
        assert!(err.contains("username"), "{url}: {err}");
        let err = check(&format!("url: \"{url}\"")).unwrap_err();
        assert!(err.contains("broker.url: "), "{url}: {err}");
        assert!(!err.contains(password), "{url}: {err}");
        assert!(err.contains("password_file"), "{url}: {err}");
    }
}

/// What `f` logs, as the agent's log format prints it.
fn capture_logs(f: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = buf.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn backoff_grows_to_its_cap_and_resets() {
    let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    let waits: Vec<_> = (0..8).map(|_| b.next_delay()).collect();
    assert!(waits[0] >= Duration::from_millis(50) && waits[0] <= Duration::from_millis(100));
    assert!(waits.iter().all(|w| *w <= Duration::from_secs(2)));
    assert!(waits[7] >= Duration::from_secs(1), "{waits:?}");
    b.reset();
    assert!(b.next_delay() <= Duration::from_millis(100));
}
