//! A command needs only the secrets it uses: managing accounts works
//! without the broker, SMTP and token variables, which only `run` needs;
//! `check` warns about them and passes; `run` stops before it starts
//! anything, naming each setting and variable.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Set nowhere: the variables the config names for its three secrets.
const BROKER: &str = "RONDA_TEST_SECRETS_UNSET_BROKER";
const SMTP: &str = "RONDA_TEST_SECRETS_UNSET_SMTP";
const TOKEN: &str = "RONDA_TEST_SECRETS_UNSET_TOKEN";

/// A server on an external broker, sending mail over SMTP, with an API
/// token: every secret kept in a variable that is not set.
fn config(dir: &Path) -> PathBuf {
    let path = dir.join("server.yaml");
    let text = format!(
        "database:\n  path: ronda.db\nbroker:\n  external:\n    url: mqtt://127.0.0.1:1\n    username: ronda-server\n    password_env: {BROKER}\napi:\n  admin_token_env: {TOKEN}\nmail:\n  from: Ronda <ronda@kotim.example.go.id>\n  smtp:\n    host: 127.0.0.1\n    port: 1\n    username: ronda\n    password_env: {SMTP}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn server(args: &[&str], config: &Path, stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ronda-server"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove(BROKER)
        .env_remove(SMTP)
        .env_remove(TOKEN)
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

fn unset(config: &Path, key: &str, var: &str) -> String {
    format!(
        "{}: {key}: environment variable {var} is not set",
        config.display()
    )
}

#[test]
fn user_add_needs_no_broker_smtp_or_token_password() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let out = server(
        &["user", "add", "alice", "--role", "admin"],
        &path,
        "lampu-merah-7\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("added alice (admin)"),
        "{stderr}"
    );
    let out = server(&["user", "list"], &path, "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice"));
}

#[test]
fn check_warns_about_each_unset_secret_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let out = server(&["check"], &path, "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for (key, var) in [
        ("broker.external.password", BROKER),
        ("mail.smtp.password", SMTP),
        ("api.admin_token", TOKEN),
    ] {
        let warning = format!("warning: {}", unset(&path, key, var));
        assert!(stderr.contains(&warning), "{warning}\n{stderr}");
    }
}

#[test]
fn run_stops_before_starting_naming_every_unset_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let out = server(&["run"], &path, "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for (key, var) in [
        ("broker.external.password", BROKER),
        ("mail.smtp.password", SMTP),
        ("api.admin_token", TOKEN),
    ] {
        assert!(stderr.contains(&unset(&path, key, var)), "{stderr}");
    }
    // Nothing started: not even the database was created.
    assert!(!dir.path().join("ronda.db").exists());
}
