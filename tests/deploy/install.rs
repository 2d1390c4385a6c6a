//! The packages installed with dpkg into throwaway roots, without root
//! rights or a container: the postinst's work, the installed programs
//! checking the shipped configs, the agent refusing to run without its
//! credential, and a purge that keeps the evidence.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::packages::{debs, run, text};
use super::tool;

/// A throwaway root with an empty dpkg database.
fn dpkg_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let db = root.path().join("var/lib/dpkg");
    std::fs::create_dir_all(db.join("info")).unwrap();
    std::fs::create_dir_all(db.join("updates")).unwrap();
    std::fs::write(db.join("status"), "").unwrap();
    std::fs::write(db.join("available"), "").unwrap();
    root
}

/// dpkg on `root` without chroot or root rights: the maintainer scripts run
/// on this machine with `DPKG_ROOT` set, as when a system is bootstrapped
/// (systemd-sysusers and deb-systemd-helper honour it). The root lacks
/// libc6 and systemd, hence `--force-depends`. On a machine running systemd,
/// a postinst run as root also calls `systemctl daemon-reload` here, which
/// changes nothing.
fn dpkg(root: &Path, args: &[&str]) -> String {
    let log = root.join("dpkg.log");
    let mut all = vec![
        format!("--root={}", root.display()),
        format!("--log={}", log.display()),
        "--force-not-root".into(),
        "--force-script-chrootless".into(),
        "--force-depends".into(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    run("dpkg", &all)
}

/// Wait for a program that should stop at once, without hanging the test
/// if it keeps running instead.
fn exits(mut command: Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("still running after 20 s: {command:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn check(root: &Path, package: &str, file: &str) -> Output {
    let mut c = Command::new(root.join(format!("usr/bin/{package}")));
    c.args(["check", "--config"])
        .arg(root.join(format!("etc/ronda/{file}")));
    c.env_remove("CREDENTIALS_DIRECTORY");
    exits(c)
}

#[test]
fn the_server_package_installs_into_a_throwaway_root_and_its_config_checks() {
    let Some(debs) = debs() else { return };
    let Some(_) = tool("dpkg", "DPKG", "apt-get install dpkg") else {
        return;
    };
    let root = dpkg_root();
    let r = root.path();
    let said = dpkg(r, &["-i", text(&debs[0])]);
    assert!(
        said.contains("ronda-server is installed but not running"),
        "{said}"
    );
    installed_as_a_service(r, "ronda-server", "ronda");
    let out = check(r, "ronda-server", "server.yaml");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("server.yaml: ok"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.is_empty(),
        "the shipped server.yaml names no secret yet: {stderr}"
    );

    // Purge deletes the shipped config files, never the database (evidence)
    // nor the credentials.
    let db = r.join("var/lib/ronda-server/ronda.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::write(&db, "signatures").unwrap();
    std::fs::write(r.join("etc/ronda/credentials/smtp-password"), "x").unwrap();
    dpkg(r, &["--purge", "ronda-server"]);
    assert!(!r.join("etc/ronda/server.yaml").exists());
    assert!(db.is_file() && r.join("etc/ronda/credentials/smtp-password").is_file());
}

#[test]
fn the_agent_package_installs_and_refuses_to_run_without_its_credential() {
    let Some(debs) = debs() else { return };
    let Some(_) = tool("dpkg", "DPKG", "apt-get install dpkg") else {
        return;
    };
    let root = dpkg_root();
    let r = root.path();
    let said = dpkg(r, &["-i", text(&debs[1])]);
    assert!(
        said.contains("ronda-agent is installed but not running"),
        "{said}"
    );
    installed_as_a_service(r, "ronda-agent", "ronda-agent");
    // `check` in a shell cannot read the credential: a warning that says why.
    let out = check(r, "ronda-agent", "agent.yaml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("broker.password") && stderr.contains("$CREDENTIALS_DIRECTORY is not set"),
        "{stderr}"
    );
    // `run` outside systemd stops at once, naming the key and the unit
    // setting; so it does with the unit's default (a lone newline), which
    // is what the service gets while the credential file is missing.
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("mqtt-password"), "\n").unwrap();
    for (dir, says) in [
        (None, "LoadCredential="),
        (
            Some(creds.path()),
            "is empty: write the secret into /etc/ronda/credentials/mqtt-password",
        ),
    ] {
        let mut c = Command::new(r.join("usr/bin/ronda-agent"));
        c.args(["run", "--config"])
            .arg(r.join("etc/ronda/agent.yaml"));
        match dir {
            Some(d) => c.env("CREDENTIALS_DIRECTORY", d),
            None => c.env_remove("CREDENTIALS_DIRECTORY"),
        };
        let out = exits(c);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("agent.yaml: broker.password: ") && stderr.contains(says),
            "{stderr}"
        );
    }
}

/// What every package leaves after `dpkg -i`: its user, made by the
/// postinst through sysusers.d; the credentials folder, root only; and its
/// unit installed but enabled nowhere.
fn installed_as_a_service(root: &Path, package: &str, user: &str) {
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(
        passwd.lines().any(|l| l.starts_with(&format!("{user}:"))),
        "{passwd}"
    );
    let creds = std::fs::metadata(root.join("etc/ronda/credentials")).unwrap();
    assert!(creds.is_dir());
    assert_eq!(creds.permissions().mode() & 0o777, 0o700);
    assert!(root
        .join(format!("usr/lib/systemd/system/{package}.service"))
        .is_file());
    let status = dpkg(root, &["-s", package]);
    assert!(status.contains("Status: install ok installed"), "{status}");
    let mut dirs = vec![root.join("etc/systemd")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            assert!(
                !path.display().to_string().contains("ronda"),
                "enabled: {}",
                path.display()
            );
            dirs.push(path);
        }
    }
}
