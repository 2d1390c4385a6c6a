//! The config files the packages install under `/etc/ronda/`
//! (`packaging/*/etc/`): they load as shipped, point where the units say,
//! and name every secret through a credential the unit loads.

use std::collections::BTreeSet;
use std::path::Path;

use ronda_agent::AgentConfig;
use ronda_server::ServerConfig;

use super::{repo_unit, unit_values, PACKAGES};
use crate::common::repo_file;

/// `/var/lib/<StateDirectory>` of `package`'s unit.
fn state_dir(package: &str) -> String {
    let dirs = unit_values(&repo_unit(package), "StateDirectory");
    assert_eq!(dirs.len(), 1, "{package}: StateDirectory={dirs:?}");
    format!("/var/lib/{}", dirs[0])
}

/// The `--config` file `package`'s unit runs with.
fn config_of_unit(package: &str) -> String {
    let exec = unit_values(&repo_unit(package), "ExecStart");
    let config = exec
        .first()
        .and_then(|e| e.split_once(" --config "))
        .map(|(_, c)| c.to_owned());
    config.unwrap_or_else(|| panic!("{package}: ExecStart={exec:?} has no --config"))
}

#[test]
fn the_installed_configs_load_as_shipped_and_agree_with_the_units() {
    let server = ServerConfig::load(&repo_file("packaging/ronda-server/etc/server.yaml")).unwrap();
    assert!(matches!(
        &server.database,
        ronda_server::store::Location::File(p)
            if *p == Path::new(&state_dir("ronda-server")).join("ronda.db")
    ));
    assert!(server.letters.is_empty(), "the package ships no letter");
    let agent = AgentConfig::load(&repo_file("packaging/ronda-agent/etc/agent.yaml")).unwrap();
    assert_eq!(agent.state_dir, Path::new(&state_dir("ronda-agent")));
    let password = format!("{:?}", agent.broker.password);
    assert_eq!(password, "Some(Credential(mqtt-password))");
    for (package, file) in [
        ("ronda-server", "server.yaml"),
        ("ronda-agent", "agent.yaml"),
    ] {
        assert_eq!(config_of_unit(package), format!("/etc/ronda/{file}"));
        // The file is one of the package's assets, installed there.
        let manifest = package.trim_start_matches("ronda-");
        let cargo = std::fs::read_to_string(repo_file(&format!("{manifest}/Cargo.toml"))).unwrap();
        assert!(
            cargo.contains(&format!("\"etc/ronda/{file}\"")),
            "{manifest}/Cargo.toml does not install /etc/ronda/{file}"
        );
    }
}

/// Every `…_file: $CREDENTIALS_DIRECTORY/<name>` in a package's config
/// files, commented out or not, is a credential its unit loads from
/// `/etc/ronda/credentials/<name>` with an empty default; the unit loads no
/// other; and no config holds a secret itself or takes it from the
/// environment.
#[test]
fn every_secret_the_configs_name_is_a_credential_the_unit_loads() {
    for package in PACKAGES {
        let etc = repo_file(&format!("packaging/{package}/etc"));
        let mut named = BTreeSet::new();
        for entry in std::fs::read_dir(&etc).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                // A setting, commented out or not: `key: value`, not prose.
                let setting = line.trim_start_matches([' ', '#']);
                let is_key = setting.starts_with(|c: char| c.is_ascii_lowercase());
                let credential = setting.split_once("_file: $CREDENTIALS_DIRECTORY/");
                if let Some((_, name)) = credential.filter(|_| is_key) {
                    named.insert(name.split_whitespace().next().unwrap().to_owned());
                }
                let live = !line.trim_start().starts_with('#');
                assert!(
                    !(live && (setting.starts_with("password:") || setting.contains("_env:"))),
                    "{}: a secret outside the credentials: {line}",
                    path.display()
                );
            }
        }
        let unit = repo_unit(package);
        let loaded: BTreeSet<String> = unit_values(&unit, "LoadCredential")
            .iter()
            .map(|v| {
                let (name, from) = v.split_once(':').unwrap();
                assert_eq!(from, format!("/etc/ronda/credentials/{name}"), "{package}");
                name.to_owned()
            })
            .collect();
        assert_eq!(
            named, loaded,
            "{package}: named in the configs / loaded by the unit"
        );
        let defaults: BTreeSet<String> = unit_values(&unit, "SetCredential")
            .iter()
            .map(|v| v.strip_suffix(r":\n").unwrap_or(v).to_owned())
            .collect();
        assert_eq!(
            defaults, loaded,
            "{package}: each credential's empty default"
        );
    }
}

/// cargo-deb takes the package version from Cargo; lintian wants the
/// changelog's newest entry to match it.
#[test]
fn the_changelog_names_the_version_cargo_builds() {
    let changelog = std::fs::read_to_string(repo_file("packaging/changelog")).unwrap();
    let first = changelog.lines().next().unwrap();
    let version = format!("ronda ({}-1) ", env!("CARGO_PKG_VERSION"));
    assert!(
        first.starts_with(&version),
        "packaging/changelog starts `{first}`, not `{version}`"
    );
}
