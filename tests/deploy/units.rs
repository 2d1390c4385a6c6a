//! The systemd units as kept in `packaging/`: they verify, and systemd rates
//! them confined; the agent keeps all of `/proc`.

use std::process::Command;

use super::{repo_unit, tool, unit_values, verify_unit, PACKAGES};
use crate::faults::binary;

const INSTALL_SYSTEMD: &str = "apt-get install systemd";

#[test]
fn both_units_pass_systemd_analyze_verify() {
    let Some(analyze) = tool("systemd-analyze", "SYSTEMD_ANALYZE", INSTALL_SYSTEMD) else {
        return;
    };
    for package in PACKAGES {
        verify_unit(&analyze, package, &repo_unit(package), &binary(package));
    }
}

/// `systemd-analyze security` scores what a unit may still do, from 0 (all
/// confined) to 10; "OK" ends below 2. A setting dropped or loosened raises
/// the score.
#[test]
fn systemd_rates_both_units_confined() {
    let Some(analyze) = tool("systemd-analyze", "SYSTEMD_ANALYZE", INSTALL_SYSTEMD) else {
        return;
    };
    for package in PACKAGES {
        let dir = tempfile::tempdir().unwrap();
        let unit = dir.path().join(format!("{package}.service"));
        std::fs::write(&unit, repo_unit(package)).unwrap();
        let out = Command::new(&analyze)
            .args(["security", "--offline=true", "--no-pager"])
            .arg(&unit)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let score: f64 = text
            .lines()
            .find_map(|l| l.split_once("Overall exposure level for "))
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{package}: no score in\n{text}"));
        assert!(score < 2.0, "{package}.service is rated {score}:\n{text}");
    }
}

#[test]
fn the_agent_keeps_all_of_proc_and_the_server_reloads_on_sighup() {
    // The host probe reads the machine's memory, load and uptime in /proc.
    let agent = repo_unit("ronda-agent");
    for key in ["ProtectProc", "ProcSubset"] {
        assert!(
            unit_values(&agent, key).is_empty(),
            "the agent's unit sets {key}="
        );
    }
    // sysinfo (system, disk, component) reads /proc and /sys and opens no
    // netlink socket; the network feature, which would, is not built.
    assert_eq!(
        unit_values(&agent, "RestrictAddressFamilies"),
        ["AF_UNIX AF_INET AF_INET6"]
    );
    let server = repo_unit("ronda-server");
    assert_eq!(
        unit_values(&server, "ExecReload"),
        ["/bin/kill -HUP $MAINPID"]
    );
    for package in PACKAGES {
        let unit = repo_unit(package);
        for (key, value) in [
            ("ProtectSystem", "strict"),
            ("NoNewPrivileges", "yes"),
            ("PrivateTmp", "yes"),
            ("ConfigurationDirectory", "ronda"),
            ("StateDirectory", package),
        ] {
            assert_eq!(unit_values(&unit, key), [value], "{package}: {key}");
        }
        let user = unit_values(&unit, "User");
        assert!(
            user.len() == 1 && user[0] != "root",
            "{package}: User={user:?}"
        );
    }
}
