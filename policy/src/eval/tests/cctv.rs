//! `cctv.recording` and `cctv.storage`: zones, channels, disks, and the
//! difference between footage that is missing and footage not read.

use ronda_wire::{Channel, PauseReason, Paused, Recorder, RecorderDisk, Report};

use super::*;

const RECORDING: &str =
    "      kind: cctv.recording\n      zones: [front-road]\n      max_segment_age: 10m";

fn with(rec: Recorder) -> Report {
    Report {
        recorders: vec![rec],
        ..report()
    }
}

/// The zone's finding alone.
fn zone(r: Report) -> Status {
    let f = run(RECORDING, r);
    f.iter()
        .find(|(s, _)| s == "zone:front-road")
        .map(|(_, st)| *st)
        .unwrap_or_else(|| panic!("no zone finding in {f:?}"))
}

#[test]
fn a_zone_records_when_one_camera_in_it_has_fresh_footage() {
    let cases = [
        (
            "fresh segment",
            channel("front-road", true, Some(ago(30))),
            Status::Ok,
        ),
        (
            "stale segment",
            channel("front-road", true, Some(ago(601))),
            Status::Fail,
        ),
        (
            "camera offline",
            channel("front-road", false, Some(ago(30))),
            Status::Fail,
        ),
        (
            "searched, nothing found",
            channel("front-road", true, None),
            Status::Fail,
        ),
    ];
    for (what, ch, want) in cases {
        assert_eq!(zone(with(recorder(vec![ch]))), want, "{what}");
    }
    let elsewhere = with(recorder(vec![channel("interior", true, Some(ago(30)))]));
    assert_eq!(
        run(RECORDING, elsewhere),
        vec![("zone:front-road".into(), Status::Fail)]
    );
}

#[test]
fn a_recorder_that_does_not_answer_fails_its_zones() {
    let down = Recorder {
        reachable: false,
        error: Some("no answer within 5s".into()),
        ..recorder(vec![channel("front-road", true, None)])
    };
    let e = evaluate(&letter(RECORDING), &office(with(down)), now());
    let z = &e.items[0].findings[0];
    assert_eq!(z.status, Status::Fail);
    assert!(z.message.en.contains("does not answer"), "{}", z.message.en);
    // Its channels say nothing on their own: the zone carries it.
    assert_eq!(e.items[0].findings[1].status, Status::NoData);
}

/// Issue 17, defect 5: a recorder that answers but whose search fails is
/// not a recorder that stopped.
#[test]
fn footage_that_could_not_be_read_is_no_data_with_the_reason() {
    let failed = Channel {
        error: Some("recording search failed: HTTP 500".into()),
        ..channel("front-road", true, None)
    };
    let e = evaluate(
        &letter(RECORDING),
        &office(with(recorder(vec![failed]))),
        now(),
    );
    let z = &e.items[0].findings[0];
    assert_eq!(z.status, Status::NoData);
    assert!(
        z.message.en.contains("could not be read"),
        "{}",
        z.message.en
    );
    assert!(z.message.en.contains("HTTP 500"), "{}", z.message.en);
    assert!(
        z.message.id.contains("tidak dapat dibaca"),
        "{}",
        z.message.id
    );
    // One camera unread and one stale: the unread one may be recording.
    let stale = Channel {
        id: "2".into(),
        ..channel("front-road", true, Some(ago(7200)))
    };
    let unread = Channel {
        error: Some("the device keeps no recordings to read".into()),
        ..channel("front-road", true, None)
    };
    assert_eq!(zone(with(recorder(vec![unread, stale]))), Status::NoData);
}

/// Issue 17, defect 4: one of two road cameras stopped two hours ago. The
/// zone is covered, and still the stopped camera is its own finding.
#[test]
fn a_stopped_camera_is_a_warning_while_its_zone_is_covered() {
    let good = channel("front-road", true, Some(ago(20)));
    let stopped = Channel {
        id: "2".into(),
        name: Some("Jalan depan 2".into()),
        ..channel("front-road", true, Some(ago(7200)))
    };
    let e = evaluate(
        &letter(RECORDING),
        &office(with(recorder(vec![good, stopped]))),
        now(),
    );
    let item = &e.items[0];
    assert_eq!(item.status, Status::Ok, "the letter's zone rule holds");
    assert_eq!(item.warnings(), 1);
    let f = item.findings.iter().find(|f| f.subject == "nvr/2").unwrap();
    assert_eq!(
        (f.status, f.advisory),
        (Status::Fail, Some(Severity::Warning))
    );
    assert!(f.message.en.contains("Jalan depan 2"), "{}", f.message.en);
    assert!(f.message.en.contains("2 h"), "{}", f.message.en);
    let ok = item.findings.iter().find(|f| f.subject == "nvr/1").unwrap();
    assert_eq!(ok.status, Status::Ok);
}

#[test]
fn the_letter_sets_the_severity_of_channel_findings() {
    let check = format!("{RECORDING}\n      channel_severity: critical");
    let stopped = channel("front-road", true, Some(ago(7200)));
    let e = evaluate(
        &letter(&check),
        &office(with(recorder(vec![stopped]))),
        now(),
    );
    let f = e.items[0]
        .findings
        .iter()
        .find(|f| f.subject == "nvr/1")
        .unwrap();
    assert_eq!(f.advisory, Some(Severity::Critical));
}

/// An end time with no age means the recorder did not tell its own time:
/// its clock against the server's would be a guess in either direction.
#[test]
fn an_end_without_the_recorders_own_clock_is_no_data() {
    let unclocked = Channel {
        segment_age_s: None,
        ..channel("front-road", true, Some(ago(30)))
    };
    let e = evaluate(
        &letter(RECORDING),
        &office(with(recorder(vec![unclocked]))),
        now(),
    );
    let z = &e.items[0].findings[0];
    assert_eq!(z.status, Status::NoData);
    assert!(
        z.message.en.contains("did not tell its own time"),
        "{}",
        z.message.en
    );
}

/// An RTSP camera proves a stream, not a recording: it neither proves nor
/// blocks its zone, and alone it leaves the zone without a verdict.
#[test]
fn a_camera_that_keeps_no_recordings_neither_proves_nor_blocks_its_zone() {
    let rtsp = || Recorder {
        id: "cam".into(),
        kind: "rtsp".into(),
        ..recorder(vec![Channel {
            no_recordings: true,
            error: Some("an RTSP camera keeps no recordings to read".into()),
            ..channel("front-road", true, None)
        }])
    };
    let stopped = recorder(vec![channel("front-road", true, Some(ago(7200)))]);
    let both = Report {
        recorders: vec![rtsp(), stopped],
        ..report()
    };
    assert_eq!(
        zone(both),
        Status::Fail,
        "the camera that can show footage stopped"
    );
    let e = evaluate(&letter(RECORDING), &office(with(rtsp())), now());
    let z = &e.items[0].findings[0];
    assert_eq!(z.status, Status::NoData);
    assert!(
        z.message.id.contains("tidak menyimpan rekaman"),
        "{}",
        z.message.id
    );
}

/// Ages come from the field: an absurd one is a stale camera, not a panic.
#[test]
fn an_absurd_age_is_stale_not_a_crash() {
    let absurd = Channel {
        segment_age_s: Some(u64::MAX),
        segment_age_other_s: Some(u64::MAX),
        ..channel("front-road", true, None)
    };
    assert_eq!(zone(with(recorder(vec![absurd]))), Status::Fail);
}

/// Issue 17, defect 8: the age is the recorder's own (segment_age_s) plus
/// the time since the report arrived; the agent's `observed_at` is not used.
#[test]
fn a_wrong_agent_clock_changes_no_verdict() {
    for agent_off in [-7 * 3600, -86_400, 2 * 3600] {
        let mut r = with(recorder(vec![Channel {
            segment_age_s: Some(20),
            ..channel("front-road", true, None)
        }]));
        r.observed_at = ago(5) + SignedDuration::from_secs(agent_off);
        assert_eq!(zone(r), Status::Ok, "agent clock off by {agent_off} s");
    }
}

#[test]
fn a_measured_age_grows_with_the_time_since_the_report_arrived() {
    // 590 s old when read, arrived 5 s ago: 595 s, inside 10m; 15 s later, outside.
    let r = with(recorder(vec![Channel {
        segment_age_s: Some(590),
        ..channel("front-road", true, None)
    }]));
    assert_eq!(zone(r.clone()), Status::Ok);
    let later = evaluate(
        &letter(RECORDING),
        &office(r),
        now() + SignedDuration::from_secs(15),
    );
    assert_eq!(later.items[0].status, Status::Fail);
}

/// Issue 17, defect 2: while a Hikvision's search-time convention is not
/// known, the two readings are weighed and never one guessed.
#[test]
fn two_candidate_ages_judge_only_when_they_agree() {
    let candidates = |a: u64, b: u64| {
        with(recorder(vec![Channel {
            segment_age_s: Some(a),
            segment_age_other_s: Some(b),
            ..channel("front-road", true, None)
        }]))
    };
    assert_eq!(zone(candidates(10, 100)), Status::Ok, "both fresh");
    assert_eq!(zone(candidates(7200, 32_400)), Status::Fail, "both stale");
    assert_eq!(
        zone(candidates(10, 25_210)),
        Status::NoData,
        "they disagree"
    );
}

fn disk(status: &str, healthy: bool, free: u64) -> RecorderDisk {
    RecorderDisk {
        id: "1".into(),
        status: status.into(),
        healthy,
        capacity_bytes: Some(1 << 40),
        free_bytes: Some(free),
    }
}

fn storage(d: RecorderDisk, overwrite: Option<bool>, channels: Vec<Channel>) -> Report {
    with(Recorder {
        disks: vec![d],
        overwrite,
        ..recorder(channels)
    })
}

const STORAGE: &str = "      kind: cctv.storage";

#[test]
fn disks_are_judged_by_health_then_fullness() {
    let st = |d, o| one(STORAGE, storage(d, o, vec![]));
    assert_eq!(st(disk("ok", true, 1 << 30), None), Status::Ok);
    assert_eq!(st(disk("error", false, 1 << 30), None), Status::Fail);
    assert_eq!(
        st(disk("full", false, 0), Some(true)),
        Status::Ok,
        "full + overwrite"
    );
    assert_eq!(
        st(disk("ok", true, 0), Some(false)),
        Status::Fail,
        "full, no overwrite"
    );
    let down = with(Recorder {
        reachable: false,
        ..recorder(vec![])
    });
    assert_eq!(run(STORAGE, down), vec![("nvr".into(), Status::Fail)]);
}

/// Issue 17, defect 1: a failed disk that reads 0 free is not "full".
#[test]
fn a_failed_disk_fails_whatever_its_free_space_says() {
    for overwrite in [Some(true), None, Some(false)] {
        let r = storage(disk("error", false, 0), overwrite, vec![]);
        assert_eq!(one(STORAGE, r), Status::Fail, "overwrite {overwrite:?}");
    }
}

/// Issue 17, defect 3: overwrite unread, a full disk is judged by the
/// footage: fresh segments prove the recorder overwrites.
#[test]
fn a_full_disk_with_unread_overwrite_is_judged_by_fresh_footage() {
    let fresh = channel("front-road", true, Some(ago(30)));
    let stale = channel("front-road", true, Some(ago(7200)));
    let full = || disk("ok", true, 0);
    assert_eq!(one(STORAGE, storage(full(), None, vec![fresh])), Status::Ok);
    assert_eq!(
        one(STORAGE, storage(full(), None, vec![stale])),
        Status::NoData
    );
    assert_eq!(one(STORAGE, storage(full(), None, vec![])), Status::NoData);
}

fn paused() -> Paused {
    Paused {
        reason: PauseReason::WrongPassword,
        until: now() + SignedDuration::from_mins(15),
        failures: 1,
    }
}

/// Issue 17, defect 7: a recorder the agent leaves alone after a wrong
/// password is no-data everywhere, and one finding asks IT to fix it.
#[test]
fn a_paused_recorder_is_no_data_and_one_login_finding() {
    let rec = Recorder {
        reachable: false,
        error: Some("wrong username or password; not asked again until …".into()),
        paused: Some(paused()),
        disks: vec![],
        ..recorder(vec![channel("front-road", true, None)])
    };
    let r = with(rec);
    assert_eq!(zone(r.clone()), Status::NoData);
    assert_eq!(one(STORAGE, r.clone()), Status::NoData);
    let online = "      kind: agent.online\n      interval: 30s\n      missed: 3";
    let e = evaluate(&letter(online), &office(r), now());
    let item = &e.items[0];
    assert_eq!(item.status, Status::Ok, "the agent itself reports");
    let login: Vec<_> = item
        .findings
        .iter()
        .filter(|f| f.subject == "login:nvr")
        .collect();
    assert_eq!(login.len(), 1);
    assert_eq!(
        (login[0].status, login[0].advisory),
        (Status::Fail, Some(Severity::Warning))
    );
    assert!(login[0].message.en.contains("wrong username or password"));
    assert!(
        login[0].message.en.contains("10:15 WIB"),
        "{}",
        login[0].message.en
    );
    assert!(login[0].message.id.contains("kata sandi salah"));
}

#[test]
fn a_full_disk_message_comes_in_both_languages() {
    let e = evaluate(
        &letter(STORAGE),
        &office(storage(disk("ok", true, 0), Some(true), vec![])),
        now(),
    );
    let m = &e.items[0].findings[0].message;
    assert!(m.en.contains("overwrites the oldest footage"), "{}", m.en);
    assert!(m.id.contains("menimpa rekaman terlama"), "{}", m.id);
}

/// A recorder that answered with something that could not be read (an HTTP
/// error, a broken body) is no-data: it did not say its cameras stopped.
#[test]
fn a_recorder_whose_answer_could_not_be_read_is_no_data() {
    let garbled = Recorder {
        reachable: true,
        error: Some("unexpected answer: no <model> in DeviceInfo".into()),
        ..recorder(vec![channel("front-road", true, None)])
    };
    let e = evaluate(&letter(RECORDING), &office(with(garbled.clone())), now());
    let z = &e.items[0].findings[0];
    assert_eq!(z.status, Status::NoData);
    assert!(
        z.message
            .en
            .contains("answered, but its answer could not be read"),
        "{}",
        z.message.en
    );
    assert_eq!(one(STORAGE, with(garbled)), Status::NoData);
}

/// A disk whose state the recorder does not give is no-data, not a failure.
#[test]
fn a_disk_without_a_state_is_no_data() {
    for status in ["unknown", ""] {
        let r = storage(disk(status, false, 1 << 30), Some(true), vec![]);
        assert_eq!(one(STORAGE, r), Status::NoData, "status {status:?}");
    }
}
