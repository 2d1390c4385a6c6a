//! The two .deb files, built by `packaging/build` from the binaries this
//! test run already has (cargo-deb `--no-build` with this run's profile: the
//! release build with LTO is for deployment, not for every test run), then
//! read with dpkg-deb and checked with lintian (installed: `install.rs`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use super::{tool, verify_unit, PACKAGES};
use crate::common::repo_file;
use crate::faults::binary;

/// The config files each package installs: every file under
/// `packaging/<package>/etc/`, at the same place under `/etc/ronda/`.
fn conffiles(package: &str) -> BTreeSet<String> {
    let etc = repo_file(&format!("packaging/{package}/etc"));
    let mut found = BTreeSet::new();
    let mut dirs = vec![etc.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let rel = path.strip_prefix(&etc).unwrap().display().to_string();
                found.insert(format!("/etc/ronda/{rel}"));
            }
        }
    }
    found
}

/// Both packages, built once for all the tests here.
pub fn debs() -> Option<&'static [PathBuf; 2]> {
    let cargo_deb = tool("cargo-deb", "CARGO_DEB", "cargo install cargo-deb --locked")?;
    tool("dpkg-deb", "DPKG", "apt-get install dpkg")?;
    static DEBS: OnceLock<[PathBuf; 2]> = OnceLock::new();
    Some(DEBS.get_or_init(|| build(&cargo_deb)))
}

/// `packaging/build` into `target/<profile>/deploy-test/`.
fn build(cargo_deb: &Path) -> [PathBuf; 2] {
    // The binaries must be there already (`cargo test --workspace` builds
    // them); this names the command when they are not.
    let profile_dir = binary("ronda-server").parent().unwrap().to_owned();
    binary("ronda-agent");
    let target = profile_dir.parent().unwrap();
    let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev",
        other => other,
    };
    let out = profile_dir.join("deploy-test");
    let _ = std::fs::remove_dir_all(&out);
    // cargo-deb where packaging/build looks for it, so it never installs it.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs =
        std::iter::once(cargo_deb.parent().unwrap().to_owned()).chain(std::env::split_paths(&path));
    let started = Instant::now();
    let run = Command::new(repo_file("packaging/build"))
        .arg(&out)
        .args(["--no-build", "--profile", profile, "--fast"])
        .env("CARGO_TARGET_DIR", target)
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "packaging/build: {}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    eprintln!("packaging/build took {:?}", started.elapsed());
    // `<package>_<version>-1_<architecture>.deb`
    let version = format!("_{}-1_", env!("CARGO_PKG_VERSION"));
    PACKAGES.map(|p| {
        let prefix = format!("{p}{version}");
        std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|f| {
                let name = f.file_name().unwrap().to_str().unwrap();
                name.starts_with(&prefix) && name.ends_with(".deb")
            })
            .unwrap_or_else(|| panic!("no {prefix}….deb in {}", out.display()))
    })
}

pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn the_packages_hold_the_binaries_units_and_conffiles() {
    let Some(debs) = debs() else { return };
    let mut files_of = Vec::new();
    for (package, deb) in PACKAGES.iter().zip(debs) {
        let listing = run("dpkg-deb", &["-c", text(deb)]);
        // `-rwxr-xr-x 0/0 26782880 2026-12-07 00:00 ./usr/bin/ronda-agent`
        let files: BTreeSet<String> = listing
            .lines()
            .filter(|l| !l.starts_with('d'))
            .filter_map(|l| l.split_whitespace().last())
            .map(|f| f.trim_start_matches('.').to_owned())
            .collect();
        let conffiles = conffiles(package);
        let wanted = [
            format!("/usr/bin/{package}"),
            format!("/usr/lib/systemd/system/{package}.service"),
            format!("/usr/lib/sysusers.d/{package}.conf"),
            format!("/usr/share/doc/{package}/copyright"),
            format!("/usr/share/doc/{package}/README.md"),
        ];
        for file in wanted.iter().chain(&conffiles) {
            assert!(files.contains(file), "{package}: no {file} in\n{listing}");
        }
        let bin = format!("./usr/bin/{package}");
        let bin_line = listing.lines().find(|l| l.ends_with(&bin)).unwrap();
        assert!(
            bin_line.starts_with("-rwxr-xr-x root/root ")
                || bin_line.starts_with("-rwxr-xr-x 0/0 "),
            "{bin_line}"
        );
        // A letter in /etc/ronda/letters would be enforced on real offices.
        let letters = files
            .iter()
            .filter(|f| f.starts_with("/etc/ronda/letters/"));
        assert!(letters.clone().all(|f| !f.ends_with(".yaml")), "{package}");
        let control = run("dpkg-deb", &["-I", text(deb), "conffiles"]);
        let listed: BTreeSet<String> = control.lines().map(str::to_owned).collect();
        assert_eq!(listed, conffiles, "{package}: conffiles");
        let depends = run("dpkg-deb", &["-f", text(deb), "Depends"]);
        assert!(depends.contains("systemd"), "{package}: Depends: {depends}");
        files_of.push(files);
    }
    // Both install on one machine: no file belongs to both.
    let shared: Vec<_> = files_of[0].intersection(&files_of[1]).collect();
    assert!(shared.is_empty(), "in both packages: {shared:?}");
}

/// The only start a maintainer script may do is `try-restart`, in the
/// postinst of an upgrade (`$2`, the old version, is set): it restarts a
/// service that was running. Enabling happens only for a unit the admin
/// had enabled before (`was-enabled`).
#[test]
fn the_maintainer_scripts_neither_enable_nor_start_the_services() {
    let Some(debs) = debs() else { return };
    for (package, deb) in PACKAGES.iter().zip(debs) {
        let dir = tempfile::tempdir().unwrap();
        run("dpkg-deb", &["-e", text(deb), text(dir.path())]);
        for script in ["preinst", "postinst", "prerm", "postrm"] {
            let Ok(body) = std::fs::read_to_string(dir.path().join(script)) else {
                continue;
            };
            let lines = commands(&body);
            for (i, line) in lines.iter().enumerate() {
                let before = &lines[..i];
                let words: Vec<&str> = line.split_whitespace().collect();
                let at = |w: &str| words.iter().position(|x| *x == w);
                let why = if let Some(k) = at("deb-systemd-invoke") {
                    match words.get(k + 1) {
                        Some(&"stop") => None,
                        Some(&"try-restart")
                            if before
                                .iter()
                                .rev()
                                .take(3)
                                .any(|l| l.contains(r#"-n "$2""#)) =>
                        {
                            None
                        }
                        _ => Some("starts the service"),
                    }
                } else if let Some(k) = at("systemctl") {
                    let daemon_reload = words[k + 1..].contains(&"daemon-reload");
                    (!daemon_reload).then_some("calls systemctl")
                } else if at("deb-systemd-helper").is_some() && at("enable").is_some() {
                    let was = before.last().is_some_and(|l| l.contains("was-enabled"));
                    (!was).then_some("enables the service")
                } else {
                    None
                };
                assert!(
                    why.is_none(),
                    "{package} {script} {}: {line}",
                    why.unwrap_or("")
                );
            }
        }
    }
}

/// The lines of a shell script that run something: no blank lines, no
/// comments, no here-document text (the postinst prints what to do next,
/// `systemctl enable` among it).
fn commands(script: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut heredoc_end: Option<String> = None;
    for line in script.lines().map(str::trim) {
        if let Some(end) = &heredoc_end {
            if line == end {
                heredoc_end = None;
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((_, word)) = line.split_once("<<") {
            let word = word
                .trim_start_matches('-')
                .trim()
                .trim_matches(['\'', '"']);
            heredoc_end = Some(word.to_owned());
        }
        lines.push(line);
    }
    lines
}

#[test]
fn the_units_in_the_packages_pass_systemd_analyze_verify() {
    let Some(debs) = debs() else { return };
    let install = "apt-get install systemd";
    let Some(analyze) = tool("systemd-analyze", "SYSTEMD_ANALYZE", install) else {
        return;
    };
    for (package, deb) in PACKAGES.iter().zip(debs) {
        let root = tempfile::tempdir().unwrap();
        run("dpkg-deb", &["-x", text(deb), text(root.path())]);
        let unit = root
            .path()
            .join(format!("usr/lib/systemd/system/{package}.service"));
        let unit = std::fs::read_to_string(unit).unwrap();
        verify_unit(
            &analyze,
            package,
            &unit,
            &root.path().join(format!("usr/bin/{package}")),
        );
    }
}

/// lintian, Debian's package checker: nothing but the missing manual pages.
#[test]
fn lintian_finds_nothing_but_the_missing_manual_pages() {
    let Some(debs) = debs() else { return };
    let Some(lintian) = tool("lintian", "LINTIAN", "apt-get install lintian") else {
        return;
    };
    let out = Command::new(lintian)
        .args(debs.iter().map(|d| text(d)))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let found: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
        .filter(|l| !l.contains(" no-manual-page "))
        .collect();
    assert!(
        found.is_empty(),
        "lintian:\n{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
