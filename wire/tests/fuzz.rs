//! Proptest fuzz targets for everything the wire crate reads from the
//! network: the payload decoders (report, state, command, acknowledgement)
//! and the topic parser with its ids. See `fuzz/README.md`.
#![allow(clippy::unwrap_used)]

use ronda_testkit::fuzz as support;

use jiff::Timestamp;
use proptest::prelude::*;
use ronda_wire::{
    decode_events, decode_report, decode_state, Ack, Action, Channel, Command, CommandResult,
    Delivery, Disk, DoorEvent, DoorEventKind, Events, Host, Id, Kind, Memory, PauseReason, Paused,
    Plug, PowerOn, Presence, Recorder, RecorderDisk, RejectReason, Report, Service, Temperature,
    Topic, MAX_EVENTS, SCHEMA_VERSION,
};
use support::{check, mutated, soup};

const EXAMPLE: &str = include_str!("../examples/report.json");
const EVENTS: &str = include_str!("../examples/events.json");
const JSON_BRACKETS: &[(&str, &str)] = &[("[", "]"), ("{\"a\":", "}")];

fn example_topic() -> Topic {
    Topic::new(
        Id::new("dinkes").unwrap(),
        Id::new("kantor-utama").unwrap(),
        Kind::Report,
    )
}

/// Bytes as they come off the broker: mostly any bytes, sometimes JSON-ish.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        soup(r#"{}\[\]":,0-9a-z_ .eE+-"#, 300).prop_map(String::into_bytes),
    ]
}

/// Whatever `decode_report` said about `payload`, it must be a clean answer,
/// and one that can be re-encoded: the agent re-sends what it decoded.
fn report_answer_is_sound(topic: &Topic, payload: &[u8]) -> Result<(), TestCaseError> {
    match decode_report(topic, payload, 1 << 20) {
        Ok(r) => {
            prop_assert_eq!(&r.office, &topic.office);
            prop_assert_eq!(&r.agent, &topic.agent);
            let again = serde_json::to_vec(&r).unwrap();
            prop_assert_eq!(decode_report(topic, &again, usize::MAX), Ok(r));
        }
        Err(e) => {
            prop_assert!(RejectReason::LABELS.contains(&e.label()));
            // A JSON or schema error names where in the payload it is.
            if let RejectReason::NotJson(m) | RejectReason::Invalid(m) = &e {
                prop_assert!(
                    m.contains(" line ") && m.contains(" column "),
                    "no position in `{}`",
                    m
                );
            }
        }
    }
    Ok(())
}

#[test]
fn fuzz_payload_report_any_bytes() {
    let topic = example_topic();
    check(payload(), |p| report_answer_is_sound(&topic, &p));
}

#[test]
fn fuzz_payload_report_mutated_example() {
    let topic = example_topic();
    check(mutated(EXAMPLE, JSON_BRACKETS), |p| {
        report_answer_is_sound(&topic, p.as_bytes())
    });
}

#[test]
fn fuzz_payload_report_over_the_limit_is_too_large() {
    check(
        (
            proptest::collection::vec(any::<u8>(), 1..256),
            any::<prop::sample::Index>(),
        ),
        |(p, i)| {
            let limit = i.index(p.len());
            prop_assert_eq!(
                decode_report(&example_topic(), &p, limit),
                Err(RejectReason::TooLarge {
                    size: p.len(),
                    limit
                })
            );
            Ok(())
        },
    );
}

fn id() -> impl Strategy<Value = Id> {
    "[a-z0-9-]{1,63}".prop_map(|s| Id::new(s).unwrap())
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (
        Timestamp::MIN.as_second()..=Timestamp::MAX.as_second(),
        0..1_000_000_000i32,
    )
        .prop_filter_map("outside jiff's range", |(s, ns)| Timestamp::new(s, ns).ok())
}

/// Any finite f32: the agent never sends NaN or infinity (`host.rs` drops
/// them), and JSON has no words for them.
fn f32_finite() -> impl Strategy<Value = f32> {
    use proptest::num::f32::*;
    POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO
}

fn f64_finite() -> impl Strategy<Value = f64> {
    use proptest::num::f64::*;
    POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO
}

fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

fn opt<S: Strategy>(s: S) -> impl Strategy<Value = Option<S::Value>> {
    proptest::option::of(s)
}

fn host() -> impl Strategy<Value = Host> {
    let memory = any::<[u64; 4]>().prop_map(|m| Memory {
        total_bytes: m[0],
        available_bytes: m[1],
        swap_total_bytes: m[2],
        swap_used_bytes: m[3],
    });
    let disk = (text(), text(), any::<u64>(), any::<u64>()).prop_map(|(mount, fs, t, a)| Disk {
        mount,
        fs,
        total_bytes: t,
        available_bytes: a,
    });
    let temperature =
        (text(), f32_finite(), opt(f32_finite())).prop_map(|(label, c, crit)| Temperature {
            label,
            celsius: c,
            critical_celsius: crit,
        });
    (
        (text(), text(), text(), any::<u64>(), timestamp()),
        ([f64_finite(), f64_finite(), f64_finite()], f32_finite()),
        (any::<usize>(), memory),
        proptest::collection::vec(disk, 0..3),
        proptest::collection::vec(temperature, 0..3),
    )
        .prop_map(
            |(
                (hostname, os, kernel, uptime_s, boot_time),
                (load, cpu_percent),
                (cpu_count, memory),
                disks,
                temperatures,
            )| Host {
                hostname,
                os,
                kernel,
                uptime_s,
                boot_time,
                load,
                cpu_percent,
                cpu_count,
                memory,
                disks,
                temperatures,
            },
        )
}

fn recorder() -> impl Strategy<Value = Recorder> {
    let disk = (
        text(),
        text(),
        any::<bool>(),
        opt(any::<u64>()),
        opt(any::<u64>()),
    )
        .prop_map(
            |(id, status, healthy, capacity_bytes, free_bytes)| RecorderDisk {
                id,
                status,
                healthy,
                capacity_bytes,
                free_bytes,
            },
        );
    let channel = (
        (text(), opt(text()), text(), opt(any::<bool>())),
        (
            opt(any::<bool>()),
            opt(timestamp()),
            opt(any::<u64>()),
            opt(any::<u64>()),
            opt(text()),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (id, name, zone, online),
                (
                    recording,
                    last_segment_end,
                    segment_age_s,
                    segment_age_other_s,
                    error,
                    no_recordings,
                ),
            )| Channel {
                id,
                name,
                zone,
                online,
                recording,
                last_segment_end,
                segment_age_s,
                segment_age_other_s,
                error,
                no_recordings,
                view: None,
            },
        );
    (
        (text(), text(), any::<bool>(), opt(text()), opt(text())),
        (opt(text()), opt(any::<i64>()), opt(any::<bool>())),
        proptest::collection::vec(disk, 0..3),
        proptest::collection::vec(channel, 0..3),
        (proptest::collection::vec(text(), 0..2), opt(paused())),
    )
        .prop_map(
            |(
                (id, kind, reachable, error, model),
                (firmware, clock_skew_s, overwrite),
                disks,
                channels,
                (detected, paused),
            )| Recorder {
                id,
                kind,
                reachable,
                error,
                model,
                firmware,
                clock_skew_s,
                overwrite,
                disks,
                channels,
                detected,
                paused,
            },
        )
}

fn paused() -> impl Strategy<Value = Paused> {
    (
        prop_oneof![Just(PauseReason::WrongPassword), Just(PauseReason::Locked)],
        timestamp(),
        any::<u32>(),
    )
        .prop_map(|(reason, until, failures)| Paused {
            reason,
            until,
            failures,
        })
}

fn plug() -> impl Strategy<Value = Plug> {
    let power_on = prop_oneof![
        Just(PowerOn::Off),
        Just(PowerOn::On),
        Just(PowerOn::Previous),
        Just(PowerOn::Toggle),
        Just(PowerOn::FollowInput),
    ];
    (
        (
            text(),
            text(),
            text(),
            any::<bool>(),
            opt(text()),
            opt(any::<bool>()),
        ),
        [
            opt(f32_finite()),
            opt(f32_finite()),
            opt(f32_finite()),
            opt(f32_finite()),
        ],
        (
            proptest::collection::vec(text(), 0..3),
            opt(power_on),
            opt(paused()),
        ),
    )
        .prop_map(
            |(
                (id, kind, class, reachable, error, relay_on),
                [p, v, a, t],
                (faults, power_on, paused),
            )| {
                Plug {
                    id,
                    kind,
                    class,
                    reachable,
                    error,
                    relay_on,
                    power_w: p,
                    voltage_v: v,
                    current_a: a,
                    temperature_c: t,
                    faults,
                    power_on,
                    paused,
                }
            },
        )
}

fn service() -> impl Strategy<Value = Service> {
    (
        (
            text(),
            text(),
            any::<bool>(),
            opt(text()),
            opt(any::<u16>()),
        ),
        (
            opt(any::<bool>()),
            opt(any::<u32>()),
            opt(any::<bool>()),
            opt(any::<i32>()),
        ),
    )
        .prop_map(
            |(
                (id, url, reachable, error, status),
                (status_ok, latency_ms, body_matched, tls_days_left),
            )| Service {
                id,
                url,
                reachable,
                error,
                status,
                status_ok,
                latency_ms,
                body_matched,
                tls_days_left,
            },
        )
}

fn report() -> impl Strategy<Value = Report> {
    let delivery = any::<[u64; 4]>().prop_map(|d| Delivery {
        floor: d[0],
        pending: d[1],
        dropped: d[2],
        newest: d[3],
    });
    (
        (id(), id(), any::<u64>(), timestamp(), opt(host())),
        proptest::collection::vec(recorder(), 0..3),
        proptest::collection::vec(plug(), 0..3),
        proptest::collection::vec(service(), 0..3),
        opt(delivery),
    )
        .prop_map(
            |((office, agent, seq, observed_at, host), recorders, plugs, services, delivery)| {
                Report {
                    schema: SCHEMA_VERSION,
                    office,
                    agent,
                    seq,
                    observed_at,
                    host,
                    recorders,
                    plugs,
                    services,
                    access: vec![],
                    delivery,
                }
            },
        )
}

/// What an agent encodes, the server decodes to the same value.
#[test]
fn fuzz_payload_report_round_trips() {
    check(report(), |r| {
        let topic = Topic::new(r.office.clone(), r.agent.clone(), Kind::Report);
        let bytes = serde_json::to_vec(&r).unwrap();
        prop_assert_eq!(decode_report(&topic, &bytes, usize::MAX), Ok(r));
        Ok(())
    });
}

#[test]
fn fuzz_payload_state_only_two_words() {
    check(
        prop_oneof![
            payload(),
            Just(b"online".to_vec()),
            Just(b"offline".to_vec())
        ],
        |p| {
            let expected = match p.as_slice() {
                b"online" => Ok(Presence::Online),
                b"offline" => Ok(Presence::Offline),
                _ => Err(RejectReason::BadState),
            };
            prop_assert_eq!(decode_state(&p), expected);
            Ok(())
        },
    );
}

const COMMAND: &str =
    r#"{"schema":1,"id":"c-17","action":"plug.set","params":{"plug":"dispenser","on":false}}"#;
const RESULT: &str = r#"{"schema":1,"id":"c-17","ok":true,"plug":{"id":"dispenser","kind":"tasmota","class":"dispenser","reachable":true,"relay_on":false,"power_w":0.0,"faults":["overtemp"],"power_on":"previous"}}"#;

#[test]
fn fuzz_payload_command_any_bytes_and_mutated() {
    check(
        prop_oneof![
            payload().prop_map(|p| String::from_utf8_lossy(&p).into_owned()),
            mutated(COMMAND, JSON_BRACKETS)
        ],
        |p| {
            if let Ok(c) = Command::decode(p.as_bytes()) {
                prop_assert_eq!(c.schema, SCHEMA_VERSION);
                let again = serde_json::to_vec(&c).unwrap();
                prop_assert_eq!(Command::decode(&again), Ok(c));
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_payload_command_round_trips() {
    check((text(), text(), any::<bool>()), |(id, plug, on)| {
        let c = Command::new(id, Action::PlugSet { plug, on });
        prop_assert_eq!(Command::decode(&serde_json::to_vec(&c).unwrap()), Ok(c));
        Ok(())
    });
}

/// The server reads `cmd/result` with serde directly.
#[test]
fn fuzz_payload_command_result_mutated() {
    check(mutated(RESULT, JSON_BRACKETS), |p| {
        if let Ok(r) = serde_json::from_str::<CommandResult>(&p) {
            let again = serde_json::to_string(&r).unwrap();
            prop_assert_eq!(serde_json::from_str::<CommandResult>(&again).ok(), Some(r));
        }
        Ok(())
    });
}

#[test]
fn fuzz_payload_ack_any_and_mutated() {
    check(
        prop_oneof![
            payload().prop_map(|p| String::from_utf8_lossy(&p).into_owned()),
            mutated(r#"{"through":42}"#, JSON_BRACKETS),
        ],
        |p| {
            if let Ok(a) = Ack::decode(p.as_bytes()) {
                prop_assert_eq!(Ack::decode(&a.encode()).ok(), Some(a));
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_payload_ack_round_trips() {
    check(any::<u64>(), |through| {
        let a = Ack { through };
        prop_assert_eq!(Ack::decode(&a.encode()).ok(), Some(a));
        Ok(())
    });
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Report),
        Just(Kind::Event),
        Just(Kind::State),
        Just(Kind::Cmd),
        Just(Kind::CmdResult),
        Just(Kind::Ack),
    ]
}

/// Whatever `Topic::parse` accepts it writes back exactly: a topic has one
/// spelling, so the server's filters and the agent's publishes agree.
fn topic_answer_is_sound(text: &str) -> Result<(), TestCaseError> {
    if let Ok(t) = Topic::parse(text) {
        prop_assert_eq!(t.to_string(), text);
    }
    Ok(())
}

#[test]
fn fuzz_topic_any_text() {
    check(
        prop_oneof![
            any::<String>(),
            soup("a-zA-Z0-9/+#_ -", 80).prop_map(|s| format!("ronda/v1/{s}")),
        ],
        |s| topic_answer_is_sound(&s),
    );
}

#[test]
fn fuzz_topic_mutated() {
    let valid = (id(), id(), kind()).prop_map(|(o, a, k)| Topic::new(o, a, k).to_string());
    check(valid.prop_flat_map(|t| mutated(t, &[("/", "/")])), |s| {
        topic_answer_is_sound(&s)
    });
}

#[test]
fn fuzz_topic_round_trips() {
    check((id(), id(), kind()), |(o, a, k)| {
        let t = Topic::new(o, a, k);
        prop_assert_eq!(Topic::parse(&t.to_string()), Ok(t));
        Ok(())
    });
}

/// `Id::new` accepts exactly 1 to 63 bytes of `[a-z0-9-]`, and an id reads
/// back from its JSON.
#[test]
fn fuzz_topic_id() {
    check(
        prop_oneof![
            any::<String>(),
            "[a-z0-9-]{0,70}",
            soup("a-zA-Z0-9_ /-", 70)
        ],
        |s| {
            let valid = (1..=63).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            match Id::new(s.as_str()) {
                Ok(id) => {
                    prop_assert!(valid, "accepted {:?}", s);
                    prop_assert_eq!(id.as_str(), s.as_str());
                    let json = serde_json::to_string(&id).unwrap();
                    prop_assert_eq!(serde_json::from_str::<Id>(&json).ok(), Some(id));
                }
                Err(_) => prop_assert!(!valid, "refused {:?}", s),
            }
            Ok(())
        },
    );
}

fn events_topic() -> Topic {
    Topic::new(
        Id::new("dinkes").unwrap(),
        Id::new("kantor-utama").unwrap(),
        Kind::Event,
    )
}

/// Whatever `decode_events` said, it is a clean answer; what it accepts has
/// the topic's ids, no more events than allowed, only id-like user ids, and
/// re-encodes to itself.
fn events_answer_is_sound(payload: &[u8]) -> Result<(), TestCaseError> {
    let topic = events_topic();
    match decode_events(&topic, payload, 1 << 20) {
        Ok(e) => {
            prop_assert_eq!(&e.office, &topic.office);
            prop_assert!(e.doors.len() <= MAX_EVENTS);
            for d in &e.doors {
                prop_assert!(d.who.as_deref().is_none_or(ronda_wire::is_user_id));
            }
            let again = serde_json::to_vec(&e).unwrap();
            prop_assert_eq!(decode_events(&topic, &again, usize::MAX), Ok(e));
        }
        Err(e) => prop_assert!(RejectReason::LABELS.contains(&e.label())),
    }
    Ok(())
}

#[test]
fn fuzz_payload_events_any_bytes_and_mutated_example() {
    check(payload(), |p| events_answer_is_sound(&p));
    check(mutated(EVENTS, JSON_BRACKETS), |p| {
        events_answer_is_sound(p.as_bytes())
    });
}

fn door_event() -> impl Strategy<Value = DoorEvent> {
    (
        "[a-z0-9-]{1,20}",
        opt(any::<u32>()),
        opt(prop::sample::select(ronda_wire::vocab::DOORS).prop_map(str::to_owned)),
        prop::sample::select(DoorEventKind::ALL.to_vec()),
        opt("[A-Za-z0-9_.-]{1,32}"),
        (timestamp(), -50_400..=50_400i32),
        opt(any::<u64>()),
        "[0-9a-z /]{1,12}",
    )
        .prop_map(
            |(device, door_no, door, kind, who, (t, off), number, code)| {
                // Whole minutes: RFC 3339 offsets carry no seconds.
                let offset = jiff::tz::Offset::from_seconds(off / 60 * 60).unwrap();
                let at = ronda_wire::DeviceTime::new(t, offset);
                DoorEvent {
                    device,
                    door_no,
                    door,
                    kind,
                    who,
                    at,
                    number,
                    code,
                }
            },
        )
}

/// What an agent encodes, the server decodes to the same value.
#[test]
fn fuzz_payload_events_round_trip() {
    let events = (
        id(),
        id(),
        any::<u64>(),
        timestamp(),
        proptest::collection::vec(door_event(), 0..5),
    )
        .prop_map(|(office, agent, seq, observed_at, doors)| Events {
            schema: SCHEMA_VERSION,
            office,
            agent,
            seq,
            observed_at,
            doors,
            delivery: None,
        });
    check(events, |e| {
        let topic = Topic::new(e.office.clone(), e.agent.clone(), Kind::Event);
        let bytes = serde_json::to_vec(&e).unwrap();
        prop_assert_eq!(decode_events(&topic, &bytes, usize::MAX), Ok(e));
        Ok(())
    });
}
