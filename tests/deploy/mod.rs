//! Deployment on Debian (`packaging/`): the config files the packages
//! install, the systemd units, and the two packages built, installed into a
//! throwaway root and checked.

mod conffiles;
mod install;
mod packages;
mod units;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{repo_file, skip};

/// The two packages; each has a unit and a folder of the same name under
/// `packaging/`.
pub const PACKAGES: [&str; 2] = ["ronda-server", "ronda-agent"];

/// `name` on `PATH` (or in `~/.cargo/bin`, where `cargo install` puts
/// cargo-deb), else `None` after marking the test skipped, unless
/// `RONDA_REQUIRE_<var>=1`, where a missing tool fails the test.
pub fn tool(name: &str, var: &str, install: &str) -> Option<PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|c| c.join("bin"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(cargo_bin)
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        skip::unless_required(
            &format!("RONDA_REQUIRE_{var}"),
            &format!("{name} is not installed ({install})"),
        );
    }
    found
}

/// The unit file of `package` as kept in the repository.
pub fn repo_unit(package: &str) -> String {
    std::fs::read_to_string(repo_file(&format!("packaging/{package}/{package}.service"))).unwrap()
}

/// Every value of `key` in a unit file's text, in order (comments skipped).
pub fn unit_values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with(['#', ';']))
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

/// Run `systemd-analyze verify` on the unit `text` of `package`, its
/// `ExecStart=` pointed at `binary`: verify checks that the program exists,
/// and the package's binary is not at `/usr/bin` on the machine running the
/// test. Nothing else in the unit is changed. systemd-analyze exits 0 on
/// many problems (an unknown key, a bad value) and only prints them, so any
/// line that names the unit fails the test too.
pub fn verify_unit(analyze: &Path, package: &str, text: &str, binary: &Path) {
    let installed = format!("ExecStart=/usr/bin/{package} ");
    assert!(
        text.contains(&installed),
        "{package}: no `{installed}` in\n{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join(format!("{package}.service"));
    let moved = format!("ExecStart={} ", binary.display());
    std::fs::write(&unit, text.replace(&installed, &moved)).unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let about_it: Vec<&str> = stderr.lines().filter(|l| l.contains("ronda")).collect();
    assert!(
        out.status.success() && about_it.is_empty(),
        "systemd-analyze verify {package}.service: {}\n{stderr}",
        out.status
    );
}
