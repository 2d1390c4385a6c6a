//! Proptest fuzz targets for the policy loader: letters and the office
//! registry as YAML text, and the times and durations inside them. A file
//! that does not load must say where each problem is. See `fuzz/README.md`.
#![allow(clippy::unwrap_used)]

use ronda_testkit::fuzz as support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use ronda_common::conf::{parse_duration, ConfigError};
use ronda_policy::{from_text, parse_time, Registry};
use support::{check, mutated, mutated_any, soup};

const YAML_BRACKETS: &[(&str, &str)] = &[("[", "]"), ("{a: ", "}"), ("- ", ""), ("[{a: ", "}]")];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn letters() -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("letters"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no letters in letters/");
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

const REGISTRY_FILE: &str = include_str!("../../examples/offices.yaml");

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Registry::from_text(Path::new("offices.yaml"), REGISTRY_FILE.into()).unwrap())
}

/// The last line an error may name: YAML ends a line at `\r\n`, `\n` and
/// `\r`, and also at NEL, LS and PS (YAML 1.1, which libyaml reads); the end
/// of a file without a final line break is placed at the start of the line
/// after, as if the break were there.
fn last_line(text: &str) -> usize {
    let mut n = 1;
    let mut ended = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        ended = true;
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                n += 1;
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => n += 1,
            _ => ended = false,
        }
    }
    if ended {
        n
    } else {
        n + 1
    }
}

/// A refused file names a place inside it for every problem, and says what
/// is wrong there.
fn located(file: &str, text: &str, err: &ConfigError) -> Result<(), TestCaseError> {
    prop_assert!(!err.problems.is_empty(), "an error without problems");
    let last = last_line(text);
    for p in &err.problems {
        prop_assert!(
            (1..=last).contains(&p.line) && p.column >= 1,
            "{}:{}: outside the file of {} lines: {}",
            p.line,
            p.column,
            last,
            p.message
        );
        prop_assert!(!p.message.trim().is_empty(), "an empty message");
    }
    let shown = err.to_string();
    for p in &err.problems {
        let head = format!("{file}:{}:{}: ", p.line, p.column);
        prop_assert!(shown.contains(&head), "`{}` not in `{}`", head, shown);
    }
    Ok(())
}

fn letter_answer_is_sound(text: &str) -> Result<(), TestCaseError> {
    for reg in [None, Some(registry())] {
        match from_text(Path::new("l.yaml"), text.to_owned(), reg) {
            Ok(letter) => prop_assert!(!letter.items.is_empty(), "a letter with no items"),
            Err(e) => located("l.yaml", text, &e)?,
        }
    }
    Ok(())
}

#[test]
fn fuzz_policy_letter_any_text() {
    check(
        prop_oneof![any::<String>(), soup(r"a-z0-9:\-\[\]{}#&*!|>'\. \n", 400),],
        |t| letter_answer_is_sound(&t),
    );
}

#[test]
fn fuzz_policy_letter_mutated() {
    check(mutated_any(letters(), YAML_BRACKETS), |t| {
        letter_answer_is_sound(&t)
    });
}

/// One value of a shipped letter replaced: the loader must name the place
/// of the value it refuses (by line, or by its key path when the shape read).
#[test]
fn fuzz_policy_letter_one_value_replaced() {
    let samples = letters();
    let values: Vec<(usize, usize)> = samples
        .iter()
        .enumerate()
        .flat_map(|(s, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, l)| {
                    let body = l.trim_start().trim_start_matches("- ");
                    !body.starts_with('#') && body.split_once(": ").is_some()
                })
                .map(move |(n, _)| (s, n))
        })
        .collect();
    check(
        (proptest::sample::select(values), support::value()),
        |((s, n), v)| {
            let text: String = samples[s]
                .lines()
                .enumerate()
                .map(|(i, l)| match l.split_once(": ") {
                    Some((key, _)) if i == n => format!("{key}: {v}\n"),
                    _ => format!("{l}\n"),
                })
                .collect();
            letter_answer_is_sound(&text)
        },
    );
}

fn registry_answer_is_sound(text: &str) -> Result<(), TestCaseError> {
    match Registry::from_text(Path::new("offices.yaml"), text.to_owned()) {
        Ok(r) => {
            for (id, o) in &r.offices {
                prop_assert_eq!(id, &o.id);
            }
        }
        Err(e) => located("offices.yaml", text, &e)?,
    }
    Ok(())
}

#[test]
fn fuzz_policy_registry_any_text() {
    check(
        prop_oneof![any::<String>(), soup(r"a-z0-9:\-\[\]{}#@/&*'\. \n", 400),],
        |t| registry_answer_is_sound(&t),
    );
}

#[test]
fn fuzz_policy_registry_mutated() {
    check(mutated(REGISTRY_FILE, YAML_BRACKETS), |t| {
        registry_answer_is_sound(&t)
    });
}

fn zone() -> impl Strategy<Value = TimeZone> {
    prop_oneof![
        Just("Asia/Jakarta"),
        Just("Asia/Makassar"),
        Just("Asia/Jayapura"),
        Just("UTC"),
        Just("America/New_York"),
        Just("Australia/Lord_Howe"),
    ]
    .prop_map(|z| TimeZone::get(z).unwrap())
}

#[test]
fn fuzz_policy_time_any_text() {
    check(
        (
            prop_oneof![any::<String>(), soup("0-9:TZ+ -", 40), support::value()],
            zone(),
        ),
        |(text, tz)| {
            let _ = parse_time(&text, &tz);
            let _ = parse_duration(&text);
            Ok(())
        },
    );
}

/// A time written as a letter writes it, `2018-06-11 08:00` in the letter's
/// zone, reads as that wall-clock time in the zone (the later instant of
/// an ambiguous one, as jiff's default does).
#[test]
fn fuzz_policy_time_round_trips() {
    check(
        (1i16..=9999, 1i8..=12, 1i8..=31, 0i8..24, 0i8..60, zone()),
        |(y, mo, d, h, mi, tz)| {
            let Ok(dt) = DateTime::new(y, mo, d, h, mi, 0, 0) else {
                return Ok(());
            };
            let Ok(want) = dt.to_zoned(tz.clone()) else {
                return Ok(());
            };
            let text = dt.strftime("%Y-%m-%d %H:%M").to_string();
            prop_assert_eq!(parse_time(&text, &tz), Ok(want.timestamp()));
            Ok(())
        },
    );
}

#[test]
fn fuzz_policy_duration_round_trips() {
    check(
        (0u64..=u64::from(u32::MAX), 0u64..100_000, 0u64..100_000),
        |(s, m, h)| {
            prop_assert_eq!(parse_duration(&format!("{s}s")), Ok(Duration::from_secs(s)));
            prop_assert_eq!(
                parse_duration(&format!("{h}h {m}m")),
                Ok(Duration::from_secs(h * 3600 + m * 60))
            );
            Ok(())
        },
    );
}

/// The Cilegon letter's gate item, judged at `now`, on the office its
/// roster is for.
fn gates() -> &'static ronda_policy::Letter {
    static L: OnceLock<ronda_policy::Letter> = OnceLock::new();
    L.get_or_init(|| {
        ronda_policy::load(&root().join("letters/cilegon-satu-pintu-2020.yaml"), None).unwrap()
    })
}

/// One door event as an agent on the office LAN could send it: any kind,
/// door, user id, device time, offset and event number, received at any
/// time around `now`.
fn door_event(now: i64) -> impl Strategy<Value = ronda_policy::eval::DoorSeen> {
    use ronda_wire::{DeviceTime, DoorEvent, DoorEventKind};
    let when = prop_oneof![
        (now - 3 * 86_400..now + 3600),
        Just(jiff::Timestamp::MIN.as_second()),
        Just(jiff::Timestamp::MAX.as_second()),
    ];
    (
        proptest::sample::select(DoorEventKind::ALL.to_vec()),
        proptest::option::of(0u32..4),
        proptest::option::of(prop_oneof![Just("9001".to_owned()), "[0-9A-Za-z._-]{1,32}"]),
        when,
        -93_599i32..=93_599,
        proptest::option::of(any::<u64>()),
        (now - 3 * 86_400..now + 3600),
        proptest::option::of(prop_oneof![Just("back-gate"), Just("main-gate")]),
    )
        .prop_map(|(kind, door_no, who, at, off, number, received, door)| {
            let ts = |s| jiff::Timestamp::from_second(s).unwrap();
            ronda_policy::eval::DoorSeen {
                agent: "gw".into(),
                event: DoorEvent {
                    device: "acs".into(),
                    door_no,
                    door: door.map(Into::into),
                    kind,
                    who,
                    at: DeviceTime::new(ts(at), jiff::tz::Offset::from_seconds(off).unwrap()),
                    number,
                    code: "5/75".into(),
                },
                received: ts(received),
            }
        })
}

/// Door events are outside input: whatever they say, the evaluation
/// answers, gives one finding per subject, fails only what happened at
/// most `hold` before `now`, and does not depend on the order they are
/// stored in.
#[test]
fn fuzz_policy_access_events() {
    use ronda_policy::eval::{evaluate, AgentView, OfficeState, Status};
    // 10:00 WIB on 20 March 2020, inside the Cilegon window.
    let now: jiff::Timestamp = "2020-03-20T03:00:00Z".parse().unwrap();
    let strategy = (
        proptest::collection::vec(door_event(now.as_second()), 0..40),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<i64>()),
        any::<bool>(),
    );
    check(strategy, |(events, skew, contact, reachable)| {
        let mut report: ronda_wire::Report =
            serde_json::from_str(include_str!("../../wire/examples/report.json")).unwrap();
        report.access = vec![ronda_wire::AccessController {
            id: "acs".into(),
            kind: "hikvision-access".into(),
            reachable,
            clock_skew_s: skew,
            last_contact: contact
                .and_then(|c| jiff::Timestamp::from_second(c % 300_000_000_000).ok()),
            doors: vec![ronda_wire::Door {
                no: 1,
                door: Some("back-gate".into()),
                state: None,
            }],
            ..Default::default()
        }];
        let mut agent = AgentView::new("gw");
        agent.online = true;
        agent.last_seen = Some(now);
        agent.report = Some(std::sync::Arc::new(report));
        let mut state = OfficeState {
            office: "bappeda".into(),
            agents: vec![agent],
            door_events: events,
            ..OfficeState::default()
        };
        let judge = |s: &OfficeState| {
            let e = evaluate(gates(), s, now);
            let item = e.items.into_iter().next().unwrap();
            let mut v: Vec<(String, Status, serde_json::Value)> = item
                .findings
                .into_iter()
                .map(|f| (f.subject, f.status, f.evidence["count"].clone()))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let first = judge(&state);
        let mut subjects: Vec<&str> = first.iter().map(|f| f.0.as_str()).collect();
        subjects.dedup();
        prop_assert_eq!(subjects.len(), first.len(), "a subject twice: {:?}", first);
        let e = evaluate(gates(), &state, now);
        for f in &e.items[0].findings {
            if let Some(t) = f.evidence["time"].as_str() {
                let t: jiff::Timestamp = t.parse().unwrap();
                let recent = now.duration_since(t) < jiff::SignedDuration::from_hours(1);
                prop_assert_eq!(f.status == Status::Fail, recent, "{:?}", f);
            }
        }
        state.door_events.reverse();
        prop_assert_eq!(judge(&state), first);
        Ok(())
    });
}
