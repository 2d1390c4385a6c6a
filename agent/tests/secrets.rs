//! A command needs only the secrets it uses: `probe` and `check` work
//! without the broker's password variable, which only `run` needs; `run`
//! stops at once, naming the file, the setting and the variable.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Set nowhere: the broker password variable of these configs.
const UNSET: &str = "RONDA_TEST_SECRETS_UNSET_MQTT_PASSWORD";

/// An agent with no devices whose broker password is kept in `UNSET`.
fn config(dir: &Path) -> PathBuf {
    let path = dir.join("agent.yaml");
    let text = format!(
        "office: dinkes\nagent: kantor-utama\nstate_dir: {}\nbroker:\n  url: mqtt://127.0.0.1:1\n  username: dinkes/kantor-utama\n  password_env: {UNSET}\n",
        dir.join("state").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn agent(command: &str, config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ronda-agent"))
        .args([command, "--config"])
        .arg(config)
        .env_remove(UNSET)
        .output()
        .unwrap()
}

fn unset_message(config: &Path) -> String {
    format!(
        "{}: broker.password: environment variable {UNSET} is not set",
        config.display()
    )
}

#[test]
fn probe_needs_no_broker_password() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let out = agent("probe", &path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["office"], "dinkes", "{report}");
}

#[test]
fn check_warns_about_an_unset_password_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let out = agent("check", &path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("warning: {}", unset_message(&path))),
        "{stderr}"
    );
}

#[test]
fn run_stops_at_start_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let out = agent("run", &path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&unset_message(&path)), "{stderr}");
    // Nothing ran: not even the outbox was created.
    assert!(!dir.path().join("state").exists());
}
