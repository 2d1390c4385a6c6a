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
    assert_eq!(files.len(), 4, "{files:?}");
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
    assert_eq!(kotim.items.len(), 11);
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
        lines[2].starts_with("bad.yaml:78:5: checklist.2: unknown field `severty`"),
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

#[test]
fn the_cilegon_letter_closes_every_gate_but_the_front_one_to_all_but_the_pamdal() {
    use ronda_policy::model::{AccessClosed, Check};
    let reg = registry();
    let l = ronda_policy::load(
        &root().join("letters/cilegon-satu-pintu-2020.yaml"),
        Some(&reg),
    )
    .unwrap();
    assert!(l.covers("bappeda") && !l.covers("dinkes"));
    // 2020-03-19 00:00 WIB.
    assert!(!l.enforced_at(t("2020-03-18T16:59:59Z")));
    assert!(l.enforced_at(t("2020-03-18T17:00:00Z")));
    let Check::AccessClosed(AccessClosed {
        doors,
        allow,
        roster,
        ..
    }) = &l.item("satu-pintu-masuk").unwrap().check
    else {
        panic!("not access.closed");
    };
    assert_eq!(
        doors.as_deref(),
        Some(&["back-gate".to_owned(), "side-gate".to_owned()][..])
    );
    assert!(allow.is_empty() && *roster);
    let ids: Vec<&str> = l
        .notify
        .piket
        .iter()
        .flat_map(|s| s.ids.iter().map(String::as_str))
        .collect();
    assert_eq!(ids, ["9001", "9002", "9003", "9004"]);
}

#[test]
fn access_closed_mistakes_name_their_place() {
    let text = "letter: {id: l, number: '1', title: t, issuer: i, issued: 2018-06-08}
timezone: Asia/Jakarta
window: always
offices: all
checklist:
  - id: a
    text: {id: a, en: a}
    check:
      kind: access.closed
      doors: [back-gate, pagar]
      allow: [roster, Budi Santoso]
      hold: 30h
      passage: 10m
      severities: {forced: urgent}
    for: 31h
    severity: critical
  - id: b
    text: {id: b, en: b}
    check: {kind: power.off, doors: all}
    severity: info
notify:
  piket:
    dinkes:
      - {from: 2018-06-11, to: 2018-06-12, name: n, email: p@x.go.id, ids: ['<9>']}
";
    let err = from_text(Path::new("d.yaml"), text.into(), None)
        .unwrap_err()
        .to_string();
    let want = [
        "d.yaml:10:14: checklist.0.check.doors.1: unknown door `pagar`",
        "d.yaml:11:14: checklist.0.check.allow.1: `Budi Santoso` is not a device user id",
        "d.yaml:12:13: checklist.0.check.hold: must be more than 0s and at most 24h",
        "d.yaml:13:16: checklist.0.check.passage: must be at most 5m",
        "d.yaml:14:19: checklist.0.check.severities.forced: `urgent` is not a severity",
        "d.yaml:15:10: checklist.0.for: must be shorter than the check's `hold`",
        "d.yaml:19:12: checklist.1.check.doors: `doors` does not apply to power.off",
        "d.yaml:24:7: notify.piket.dinkes.0.ids.0: `<9>` is not a device user id",
    ];
    for w in want {
        assert!(
            err.lines().any(|l| l.starts_with(w)),
            "missing {w:?} in:\n{err}"
        );
    }
    assert_eq!(err.lines().count(), want.len(), "{err}");
    // `roster` with no shift giving anyone's ids would alert on every guard.
    let no_ids = text
        .replace(", ids: ['<9>']", "")
        .replace(", pagar", "")
        .replace("Budi Santoso", "'9001'")
        .replace("hold: 30h", "hold: 1h")
        .replace("passage: 10m", "passage: 10s")
        .replace("urgent", "warning")
        .replace("for: 31h", "for: 0s")
        .replace(", doors: all", "");
    let err = from_text(Path::new("d.yaml"), no_ids, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("d.yaml:11:14: checklist.0.check.allow: `roster` names nobody"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
