//! `ronda-server init` as an admin runs it, asked on the terminal (answers
//! piped in) or with flags only: what it writes passes `ronda-server check`,
//! the admin can be used, nothing is replaced without `--force`, and the
//! password is never taken from the command line.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const PW: &str = "lampu-merah-7";

fn server(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ronda-server"))
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

fn check(dir: &Path) -> Output {
    let config = dir.join("server.yaml");
    server(&["check", "--config", config.to_str().unwrap()], "")
}

fn flags(dir: &Path) -> Vec<String> {
    let d = dir.display();
    [
        "init",
        "--non-interactive",
        "--dir",
        &format!("{d}"),
        "--database",
        &format!("{d}/state/ronda.db"),
        "--url",
        "https://ronda.kotim.go.id",
        "--region",
        "Kabupaten Kotawaringin Timur",
        "--smtp-host",
        "smtp.kotim.go.id",
        "--smtp-username",
        "ronda",
        "--mail-from",
        "Ronda Kotim <ronda@kotim.go.id>",
        "--office",
        "dinkes:Dinas Kesehatan:kepala@dinkes.kotim.go.id",
        "--office",
        "bappeda:Badan Perencanaan:kepala@bappeda.kotim.go.id",
        "--admin",
        "admin",
        "--admin-password-file",
        "-",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn flags_only_write_a_config_that_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let args = flags(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = server(&args, &format!("{PW}\n"));
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("LoadCredential=smtp-password:/etc/ronda/credentials/smtp-password"),
        "{said}"
    );
    let checked = check(dir.path());
    assert!(checked.status.success(), "{}", text(&checked));
    let yaml = std::fs::read_to_string(dir.path().join("server.yaml")).unwrap();
    assert!(
        yaml.contains("password_file: $CREDENTIALS_DIRECTORY/smtp-password"),
        "{yaml}"
    );
    assert!(!yaml.contains(PW) && !said.contains(PW));
    // The admin account exists with that password: `user list` shows it.
    let list = server(
        &[
            "user",
            "list",
            "--config",
            dir.path().join("server.yaml").to_str().unwrap(),
        ],
        "",
    );
    assert!(text(&list).contains("admin"), "{}", text(&list));

    // Run again: refused, nothing replaced; with --force, replaced.
    let before = std::fs::read(dir.path().join("offices.yaml")).unwrap();
    let again = server(&args, &format!("{PW}\n"));
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again).contains("exists; give --force"),
        "{}",
        text(&again)
    );
    assert_eq!(
        std::fs::read(dir.path().join("offices.yaml")).unwrap(),
        before
    );
    let mut forced = args.clone();
    forced.push("--force");
    assert!(server(&forced, &format!("{PW}\n")).status.success());
}

#[test]
fn answers_typed_at_the_prompts_write_a_config_that_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let answers = format!(
        "https://ronda.kotim.go.id\n\n{d}/ronda.db\nKabupaten Kotawaringin Timur\nAsia/Makassar\n\
         \n\
         dinkes:Dinas Kesehatan:kepala@dinkes.kotim.go.id\n\n\
         admin\n{PW}\n"
    );
    let out = server(&["init", "--dir", &d.to_string()], &answers);
    assert!(out.status.success(), "{}", text(&out));
    let checked = check(dir.path());
    assert!(checked.status.success(), "{}", text(&checked));
    let offices = std::fs::read_to_string(dir.path().join("offices.yaml")).unwrap();
    assert!(
        offices.contains("timezone: Asia/Makassar") && offices.contains("id: dinkes"),
        "{offices}"
    );
}

#[test]
fn without_a_password_source_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = flags(dir.path());
    args.truncate(args.len() - 2);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = server(&args, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--admin-password-file"),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("server.yaml").exists());
    // A password cannot be given as an argument at all.
    let mut with = args.clone();
    with.extend(["--admin-password", PW]);
    assert!(!server(&with, "").status.success());
}

#[test]
fn a_bad_smtp_ca_file_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = flags(dir.path());
    args.extend(["--smtp-ca-file".into(), "/nonexistent/ca.pem".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = server(&args, &format!("{PW}\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("mail.smtp.ca_file: cannot read /nonexistent/ca.pem"),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("server.yaml").exists());
}
