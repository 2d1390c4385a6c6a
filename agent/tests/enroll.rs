//! `ronda-agent enroll` as an admin runs it on an office PC: the config it
//! writes is one `ronda-agent check` accepts, the password goes to a 0600
//! file and never into the config, a bad broker address writes nothing, and
//! nothing is replaced without `--force`.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const PW: &str = "rahasia-agen-7f3c";

fn agent(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ronda-agent"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn enroll(dir: &Path, broker: &str, extra: &[&str]) -> Output {
    let out = dir.join("agent.yaml");
    let cred = dir.join("credentials/mqtt-password");
    let mut args = vec![
        "enroll",
        "--broker",
        broker,
        "--office",
        "dinkes",
        "--agent",
        "kantor-utama",
        "--password-file",
        "-",
        "--out",
        out.to_str().unwrap(),
        "--credential",
        cred.to_str().unwrap(),
    ];
    args.extend(extra);
    agent(&args, &format!("{PW}\n"))
}

#[test]
fn the_written_config_passes_check_and_keeps_the_password_apart() {
    let dir = tempfile::tempdir().unwrap();
    let out = enroll(dir.path(), "mqtts://mqtt.kotim.go.id:8883", &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("LoadCredential=mqtt-password:"),
        "{}",
        text(&out)
    );
    let config = dir.path().join("agent.yaml");
    let yaml = std::fs::read_to_string(&config).unwrap();
    assert!(!yaml.contains(PW), "{yaml}");
    assert!(
        yaml.contains("password_file: $CREDENTIALS_DIRECTORY/mqtt-password"),
        "{yaml}"
    );
    let cred = dir.path().join("credentials/mqtt-password");
    assert_eq!(std::fs::read_to_string(&cred).unwrap(), PW);
    assert_eq!(
        std::fs::metadata(&cred).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let checked = agent(&["check", "--config", config.to_str().unwrap()], "");
    assert!(checked.status.success(), "{}", text(&checked));

    // Again: refused, nothing replaced.
    let again = enroll(dir.path(), "mqtts://other.kotim.go.id:8883", &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again).contains("exists; give --force"),
        "{}",
        text(&again)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), yaml);
    assert!(
        enroll(dir.path(), "mqtts://other.kotim.go.id:8883", &["--force"])
            .status
            .success()
    );
}

#[test]
fn a_config_naming_the_credential_by_path_runs_without_systemd() {
    let dir = tempfile::tempdir().unwrap();
    let out = enroll(
        dir.path(),
        "mqtts://mqtt.kotim.go.id",
        &["--no-credentials-directory"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let yaml = std::fs::read_to_string(dir.path().join("agent.yaml")).unwrap();
    let cred = dir.path().join("credentials/mqtt-password");
    assert!(
        yaml.contains(&format!("password_file: {}", cred.display())),
        "{yaml}"
    );
}

#[test]
fn a_bad_broker_address_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for broker in [
        "tcp://mqtt.kotim.go.id",
        "mqtts://user:sandi@mqtt.kotim.go.id",
        "mqtt://mqtt.kotim.go.id",
    ] {
        let out = enroll(dir.path(), broker, &[]);
        assert_eq!(out.status.code(), Some(2), "{broker}");
        assert!(!text(&out).contains("sandi"), "{}", text(&out));
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
