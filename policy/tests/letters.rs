//! The shipped letters, window edges in the three Indonesian zones, and
//! letters with planted mistakes.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use ronda_policy::{from_text, Registry};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn registry() -> Registry {
    Registry::load(&root().join("examples/offices.yaml")).unwrap()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn every_shipped_letter_reads_with_and_without_the_registry() {
    let files: Vec<PathBuf> = std::fs::read_dir(root().join("letters"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    let reg = registry();
    for f in &files {
        ronda_policy::load(f, None).unwrap_or_else(|e| panic!("{e}"));
        ronda_policy::load(f, Some(&reg)).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn the_kotim_window_is_11_to_21_june_2018_in_wib() {
    let kotim =
        ronda_policy::load(&root().join("letters/kotim-idul-fitri-2018.yaml"), None).unwrap();
    assert_eq!(kotim.items.len(), 10);
    // 2018-06-11 00:00 WIB is 2018-06-10 17:00 UTC.
    assert!(!kotim.enforced_at(t("2018-06-10T16:59:59Z")));
    assert!(kotim.enforced_at(t("2018-06-10T17:00:00Z")));
    assert!(kotim.enforced_at(t("2018-06-21T00:29:59Z")));
    assert!(
        !kotim.enforced_at(t("2018-06-21T00:30:00Z")),
        "offices open again 07:30 WIB"
    );
    assert_eq!(kotim.readiness.unwrap().deadline, t("2018-06-10T10:00:00Z"));
}

fn letter_in(zone: &str, start: &str) -> ronda_policy::Letter {
    let text = format!(
        "letter: {{id: l, number: '1', title: t, issuer: i, issued: 2018-06-08}}\ntimezone: {zone}\nwindow:\n  - start: {start}\n    end: 2018-06-12 00:00\noffices: all\nchecklist:\n  - id: a\n    text: {{id: a, en: a}}\n    check: {{kind: attestation}}\n    severity: info\n"
    );
    from_text(Path::new("l.yaml"), text, None).unwrap()
}

#[test]
fn window_edges_in_wib_wita_and_wit() {
    for (zone, utc_start) in [
        ("Asia/Jakarta", "2018-06-10T17:00:00Z"),
        ("Asia/Makassar", "2018-06-10T16:00:00Z"),
        ("Asia/Jayapura", "2018-06-10T15:00:00Z"),
    ] {
        let l = letter_in(zone, "2018-06-11 00:00");
        let start = t(utc_start);
        assert!(
            !l.enforced_at(start - jiff::SignedDuration::from_secs(1)),
            "{zone}"
        );
        assert!(l.enforced_at(start), "{zone}");
        assert_eq!(
            l.next_edge(start - jiff::SignedDuration::from_hours(1)),
            Some(start),
            "{zone}"
        );
    }
}

#[test]
fn a_time_with_its_own_offset_ignores_the_letters_zone() {
    let l = letter_in("Asia/Jakarta", "2018-06-11T00:00+09:00");
    assert!(l.enforced_at(t("2018-06-10T15:00:00Z")));
    assert!(!l.enforced_at(t("2018-06-10T14:59:59Z")));
}

#[test]
fn three_planted_mistakes_are_all_reported_with_line_and_column() {
    let kotim = std::fs::read_to_string(root().join("letters/kotim-idul-fitri-2018.yaml")).unwrap();
    let bad = kotim
        .replacen("end: 2018-06-21 07:30", "end: 2018-06-01 07:30", 1)
        .replacen("zones: [interior]", "zones: [interor]", 1)
        .replacen("    severity: warning\n", "    severty: warning\n", 1);
    let err = from_text(Path::new("bad.yaml"), bad, Some(&registry())).unwrap_err();
    let lines: Vec<String> = err.to_string().lines().map(String::from).collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with(
            "bad.yaml:26:10: window.0.end: the period ends (2018-06-01 07:30 WIB) before it starts"
        ),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("bad.yaml:62:14: checklist.1.check.zones.0: unknown zone `interor`"),
        "{lines:#?}"
    );
    assert!(
        lines[2].starts_with("bad.yaml:75:5: checklist.2: unknown field `severty`"),
        "{lines:#?}"
    );
}

#[test]
fn meaning_mistakes_name_their_place() {
    let text = "letter: {id: l, number: '1', title: t, issuer: i, issued: 2018-06-08}\ntimezone: Asia/Jakrta\nwindow: always\noffices: [dinkes, rsud]\nkeep_on: [server, toaster]\nchecklist:\n  - id: a\n    text: {id: a, en: a}\n    check: {kind: power.off}\n    severity: info\n    remediation: switch-off\n  - id: a\n    text: {id: b, en: b}\n    check:\n      kind: service.up\n      zones: [front-road]\n    severity: urgent\n    remediation: switch-off\n";
    let err = from_text(Path::new("m.yaml"), text.into(), Some(&registry()))
        .unwrap_err()
        .to_string();
    let want = [
        "m.yaml:2:11: timezone: `Asia/Jakrta` is not an IANA time zone",
        "m.yaml:4:10: offices.1: unknown office `rsud`",
        "m.yaml:5:10: keep_on.1: unknown class `toaster`",
        "m.yaml:12:9: checklist.1.id: item id `a` is used twice",
        "m.yaml:16:14: checklist.1.check.zones: `zones` does not apply to service.up",
        "m.yaml:17:15: checklist.1.severity: `urgent` is not a severity",
        "m.yaml:18:18: checklist.1.remediation: `switch-off` only applies to a power.off check",
    ];
    for w in want {
        assert!(
            err.lines().any(|l| l.starts_with(w)),
            "missing {w:?} in:\n{err}"
        );
    }
    assert_eq!(err.lines().count(), want.len(), "{err}");
}
