//! `cctv.view`: each problem fires after two of three looks, one odd look
//! fires nothing, `moved` and `blurred` need a pinned view of the same
//! light, and a look that is too old or missing is no-data.

use ronda_wire::{View, ViewEvent, ViewSample, ViewStats};

use super::*;

const VIEW: &str = "      kind: cctv.view\n      zones: [front-road]";

/// A road by day, as the agent's numbers describe it.
fn road() -> ViewStats {
    ViewStats {
        w: 1920,
        h: 1080,
        mean: 118,
        contrast: 46,
        entropy: 71,
        dark: 40,
        edges: 95,
        sharp: 420,
        hash: "f0f0e1c3870f1e3c".into(),
    }
}

fn covered() -> ViewStats {
    ViewStats {
        mean: 140,
        contrast: 3,
        entropy: 18,
        dark: 0,
        edges: 1,
        sharp: 2,
        hash: "0000000000000000".into(),
        ..road()
    }
}

fn dark() -> ViewStats {
    ViewStats {
        mean: 6,
        contrast: 4,
        dark: 998,
        edges: 2,
        sharp: 5,
        ..road()
    }
}

fn look(minutes_ago: i64, stats: ViewStats) -> ViewSample {
    ViewSample {
        at: ago(minutes_ago * 60 + 5),
        events: vec![],
        stats: Some(stats),
        error: None,
        unchanged_s: Some(0),
        clock_advanced: Some(true),
    }
}

/// Looks newest first, 20 minutes apart.
fn looks(stats: Vec<ViewStats>) -> Vec<ViewSample> {
    stats
        .into_iter()
        .enumerate()
        .map(|(i, s)| look(i as i64 * 20, s))
        .collect()
}

fn with_view(samples: Vec<ViewSample>) -> OfficeState {
    let mut ch = channel("front-road", true, Some(ago(30)));
    ch.view = Some(View { samples });
    office(Report {
        recorders: vec![recorder(vec![ch])],
        ..report()
    })
}

fn pin(state: &mut OfficeState, light: Light, stats: ViewStats) {
    let key = ("gw".to_owned(), "nvr".to_owned(), "1".to_owned());
    state.view_pins.entry(key).or_default().push(ViewPin {
        light,
        stats,
        by: "kepala".into(),
        at: ago(86_400),
    });
}

fn judge(state: &OfficeState) -> Finding {
    let e = evaluate(&letter(VIEW), state, now());
    assert_eq!(e.items[0].findings.len(), 1, "{:?}", e.items[0].findings);
    e.items[0].findings[0].clone()
}

/// The status and the first firing problem.
fn verdict(state: &OfficeState) -> (Status, Option<String>) {
    let f = judge(state);
    let first = f.evidence["finding"].as_str().map(str::to_owned);
    (f.status, first)
}

#[test]
fn a_problem_fires_in_two_of_three_looks_and_not_in_one() {
    let fire = |s: ViewStats, name: &str| {
        for (what, samples, want) in [
            ("one odd look", vec![s.clone(), road(), road()], None),
            ("an old odd look", vec![road(), road(), s.clone()], None),
            (
                "two of three",
                vec![s.clone(), road(), s.clone()],
                Some(name),
            ),
            ("two in a row", vec![s.clone(), s.clone()], Some(name)),
        ] {
            let (status, first) = verdict(&with_view(looks(samples)));
            let want_status = if want.is_some() {
                Status::Fail
            } else {
                Status::Ok
            };
            assert_eq!(status, want_status, "{name}: {what}");
            assert_eq!(first.as_deref(), want, "{name}: {what}");
        }
    };
    fire(covered(), "covered");
    fire(dark(), "dark");
}

#[test]
fn the_view_clears_when_two_good_looks_return() {
    let still = with_view(looks(vec![road(), covered(), covered()]));
    assert_eq!(
        verdict(&still).0,
        Status::Fail,
        "one good look is not enough"
    );
    let back = with_view(looks(vec![road(), road(), covered()]));
    assert_eq!(verdict(&back), (Status::Ok, None));
    assert!(
        judge(&back).message.en.contains("1 odd look"),
        "{}",
        judge(&back).message.en
    );
}

#[test]
fn device_events_count_as_looks_and_failed_snapshots_fire_too() {
    let event = |e: ViewEvent| ViewSample {
        events: vec![e],
        ..look(0, road())
    };
    for (e, name) in [
        (ViewEvent::VideoLoss, "no_signal"),
        (ViewEvent::Tamper, "covered"),
        (ViewEvent::TooDark, "dark"),
        (ViewEvent::Defocus, "blurred"),
        (ViewEvent::SceneChange, "moved"),
    ] {
        let s = with_view(vec![event(e), event(e), look(40, road())]);
        assert_eq!(verdict(&s), (Status::Fail, Some(name.into())), "{e:?}");
    }
    let failed = ViewSample {
        stats: None,
        error: Some("HTTP 503: busy".into()),
        ..look(0, road())
    };
    let s = with_view(vec![failed.clone(), failed, look(40, road())]);
    assert_eq!(verdict(&s), (Status::Fail, Some("snapshot_failed".into())));
    assert!(judge(&s).message.en.contains("no snapshot could be taken"));
}

#[test]
fn moved_and_blurred_are_judged_only_against_a_pin_of_the_same_light() {
    let turned = ViewStats {
        hash: "0f0f1e3c78f0e1c3".into(),
        ..road()
    };
    let soft = ViewStats {
        sharp: 60,
        ..road()
    };
    let unpinned = with_view(looks(vec![turned.clone(), turned.clone(), turned.clone()]));
    let f = judge(&unpinned);
    assert_eq!(f.status, Status::Ok);
    assert!(f.message.en.contains("not judged"), "{}", f.message.en);

    let mut s = with_view(looks(vec![turned.clone(), turned.clone(), road()]));
    pin(&mut s, Light::Day, road());
    assert_eq!(verdict(&s), (Status::Fail, Some("moved".into())));
    let mut s = with_view(looks(vec![soft.clone(), soft.clone(), road()]));
    pin(&mut s, Light::Day, road());
    assert_eq!(verdict(&s), (Status::Fail, Some("blurred".into())));
    let mut s = with_view(looks(vec![road(), road(), road()]));
    pin(&mut s, Light::Day, road());
    let f = judge(&s);
    assert_eq!(f.status, Status::Ok);
    assert!(
        f.message.en.contains("day view kepala confirmed"),
        "{}",
        f.message.en
    );

    // At night the day view does not judge: a night look is far darker.
    let night = ViewStats {
        mean: 40,
        hash: "ffff000000000000".into(),
        ..road()
    };
    let mut s = with_view(looks(vec![night.clone(), night.clone(), night.clone()]));
    pin(&mut s, Light::Day, road());
    let f = judge(&s);
    assert_eq!(f.status, Status::Ok, "{}", f.message.en);
    assert!(f.message.en.contains("for this light"), "{}", f.message.en);
    pin(&mut s, Light::Night, night.clone());
    assert_eq!(verdict(&s), (Status::Ok, None));
}

#[test]
fn a_strong_blur_is_blurred_though_its_hash_drifts_and_a_screen_is_no_signal() {
    // Numbers of the simulator's defocused road and its recorder's "no
    // video" screen (`ronda-fleet view-run --faults`).
    let soft = ViewStats {
        sharp: 30,
        edges: 123,
        hash: "0f0f1e3c78f0e1c3".into(),
        ..road()
    };
    let mut s = with_view(looks(vec![soft.clone(), soft]));
    pin(&mut s, Light::Day, road());
    assert_eq!(verdict(&s), (Status::Fail, Some("blurred".into())));
    let screen = ViewStats {
        mean: 43,
        contrast: 15,
        entropy: 3,
        dark: 0,
        edges: 53,
        sharp: 1784,
        ..road()
    };
    let s = with_view(looks(vec![screen.clone(), screen]));
    assert_eq!(
        verdict(&s),
        (Status::Fail, Some("no_signal".into())),
        "without a pin too"
    );
}

#[test]
fn a_hash_that_cannot_be_compared_is_not_moved() {
    // A report from outside: no evidence of where the camera looks.
    let junk = ViewStats {
        hash: "not-a-hash".into(),
        ..road()
    };
    let mut s = with_view(looks(vec![junk.clone(), junk]));
    pin(&mut s, Light::Day, road());
    assert_eq!(verdict(&s), (Status::Ok, None));
}

#[test]
fn frozen_needs_hours_of_the_same_bytes() {
    let frozen = |s: u64| ViewSample {
        unchanged_s: Some(s),
        ..look(0, road())
    };
    let s = with_view(vec![frozen(3_600), look(20, road())]);
    assert_eq!(verdict(&s), (Status::Ok, None), "an hour is not yet frozen");
    let s = with_view(vec![frozen(7_200), look(20, road())]);
    assert_eq!(verdict(&s), (Status::Fail, Some("frozen".into())));
    assert!(
        judge(&s).message.en.contains("frozen for 2 h"),
        "{}",
        judge(&s).message.en
    );
}

#[test]
fn no_look_or_an_old_one_is_no_data_never_ok() {
    assert_eq!(verdict(&with_view(vec![])).0, Status::NoData);
    let old = with_view(vec![look(61, road())]);
    let f = judge(&old);
    assert_eq!(f.status, Status::NoData);
    assert!(f.message.en.contains("newest look is"), "{}", f.message.en);
    let mut ch = channel("front-road", true, Some(ago(30)));
    ch.view = None;
    let s = office(Report {
        recorders: vec![recorder(vec![ch])],
        ..report()
    });
    let f = judge(&s);
    assert_eq!(f.status, Status::NoData);
    assert!(f.message.en.contains("does not look"), "{}", f.message.en);
    // It informs without deciding: with no camera looked at, the item
    // still has nothing to judge.
    assert!(f.advisory.is_some());
    assert_eq!(
        evaluate(&letter(VIEW), &s, now()).items[0].status,
        Status::NoData
    );
}

#[test]
fn a_camera_the_agent_cannot_look_at_does_not_hold_back_the_others() {
    let mut seen = channel("front-road", true, Some(ago(30)));
    seen.view = Some(View {
        samples: looks(vec![road(), road()]),
    });
    let mut rtsp = channel("front-road", true, Some(ago(30)));
    rtsp.id = "101".into();
    let s = office(Report {
        recorders: vec![recorder(vec![seen, rtsp])],
        ..report()
    });
    let e = evaluate(&letter(VIEW), &s, now());
    assert_eq!(e.items[0].status, Status::Ok, "{:?}", e.items[0].findings);
}

#[test]
fn a_recorder_that_does_not_answer_is_no_data_here() {
    // Its own failure pages through cctv.recording; its pictures are
    // simply not known.
    let mut s = with_view(looks(vec![covered(), covered()]));
    let a = &mut s.agents[0];
    let mut r = (**a.report.as_ref().unwrap()).clone();
    r.recorders[0].reachable = false;
    a.report = Some(Arc::new(r));
    assert_eq!(verdict(&s).0, Status::NoData);
}

#[test]
fn the_letter_names_a_bad_threshold_with_its_place() {
    let bad = "letter: {id: l, number: '1', title: t, issuer: i, issued: 2018-06-08}\ntimezone: Asia/Jakarta\nwindow:\n  - start: 2018-06-11 00:00\n    end: 2018-06-21 07:30\noffices: all\nchecklist:\n  - id: x\n    text: {id: x, en: x}\n    check:\n      kind: cctv.view\n      zones: [front-road, roof]\n      moved_bits: 64\n      blurred_ratio: 1.5\n      frozen_after: 5m\n      max_segment_age: 10m\n    severity: warning\n";
    let e = crate::from_text(Path::new("t.yaml"), bad.into(), None)
        .unwrap_err()
        .to_string();
    for want in [
        "checklist.0.check.zones.1",
        "checklist.0.check.moved_bits",
        "checklist.0.check.blurred_ratio",
        "checklist.0.check.frozen_after",
        "`max_segment_age` does not apply to cctv.view",
    ] {
        assert!(e.contains(want), "{want} missing from:\n{e}");
    }
}
