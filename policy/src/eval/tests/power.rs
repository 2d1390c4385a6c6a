//! power.off, power.on and power.safe.

use ronda_wire::{Plug, PowerOn};

use super::*;

pub(super) fn plug(id: &str, class: &str, on: Option<bool>) -> Plug {
    Plug {
        id: id.into(),
        kind: "tasmota".into(),
        class: class.into(),
        reachable: on.is_some(),
        relay_on: on,
        ..Plug::default()
    }
}

pub(super) fn plugs(p: Vec<Plug>) -> Report {
    Report {
        plugs: p,
        ..report()
    }
}

#[test]
fn power_off() {
    let check = "      kind: power.off";
    let got = run(
        check,
        plugs(vec![
            plug("printer", "printer", Some(true)),
            plug("pc", "pc", Some(false)),
            plug("rack", "server", Some(true)),
            plug("ac", "air-conditioner", None),
        ]),
    );
    assert_eq!(
        got,
        vec![
            ("printer".into(), Status::Fail),
            ("pc".into(), Status::Ok),
            ("ac".into(), Status::NoData)
        ],
        "the server rack is an exception; an unanswering plug is not judged"
    );
    let comes_back = Plug {
        power_on: Some(PowerOn::On),
        ..plug("pc", "pc", Some(false))
    };
    let stays_off = Plug {
        power_on: Some(PowerOn::Previous),
        ..plug("tv", "tv", Some(false))
    };
    assert_eq!(
        run(check, plugs(vec![comes_back, stays_off])),
        vec![
            ("pc".into(), Status::Ok),
            ("pc:power-on".into(), Status::Fail),
            ("tv".into(), Status::Ok)
        ]
    );
}

#[test]
fn power_on() {
    let check = "      kind: power.on";
    let got = run(
        check,
        plugs(vec![
            plug("rack", "server", Some(true)),
            plug("sw", "network", Some(false)),
            plug("tv", "cctv-monitor", None),
            plug("pc", "pc", Some(false)),
        ]),
    );
    assert_eq!(
        got,
        vec![
            ("rack".into(), Status::Ok),
            ("sw".into(), Status::Fail),
            ("tv".into(), Status::Fail)
        ]
    );
}

#[test]
fn power_safe() {
    let check = "      kind: power.safe\n      max_power_w: 1000\n      max_current_a: 5\n      max_temperature_c: 60";
    let base = plug("rack", "server", Some(true));
    let cases = [
        (
            "within limits",
            Plug {
                power_w: Some(200.0),
                current_a: Some(1.0),
                temperature_c: Some(40.0),
                ..base.clone()
            },
            Status::Ok,
        ),
        (
            "watts",
            Plug {
                power_w: Some(1200.0),
                ..base.clone()
            },
            Status::Fail,
        ),
        (
            "amps",
            Plug {
                current_a: Some(5.5),
                ..base.clone()
            },
            Status::Fail,
        ),
        (
            "heat",
            Plug {
                temperature_c: Some(61.0),
                ..base.clone()
            },
            Status::Fail,
        ),
        (
            "fault",
            Plug {
                faults: vec!["overpower".into()],
                ..base.clone()
            },
            Status::Fail,
        ),
    ];
    for (what, p, want) in cases {
        assert_eq!(one(check, plugs(vec![p])), want, "{what}");
    }
}

/// Missing evidence is no-data, never ok and never fail: a plug that
/// answered without its relay state, or measures nothing the letter limits.
#[test]
fn a_plug_that_answered_without_the_reading_is_no_data() {
    let silent_relay = Plug {
        reachable: true,
        error: Some("unexpected answer: no POWER in Status 0".into()),
        ..plug("rack", "server", None)
    };
    assert_eq!(
        one("      kind: power.on", plugs(vec![silent_relay.clone()])),
        Status::NoData
    );
    assert_eq!(
        one(
            "      kind: power.off\n",
            plugs(vec![Plug {
                class: "pc".into(),
                ..silent_relay.clone()
            }])
        ),
        Status::NoData
    );
    let safe = "      kind: power.safe\n      max_power_w: 1000\n      max_temperature_c: 60";
    let unmetered = plug("rack", "server", Some(true));
    assert_eq!(
        one(safe, plugs(vec![unmetered])),
        Status::NoData,
        "a plug without a meter"
    );
    assert_eq!(
        one(safe, plugs(vec![silent_relay])),
        Status::NoData,
        "an unreadable answer"
    );
    // A plug that does not answer at all still fails power.on: the
    // equipment that must stay on is no longer watched.
    assert_eq!(
        one(
            "      kind: power.on",
            plugs(vec![plug("rack", "server", None)])
        ),
        Status::Fail
    );
}
