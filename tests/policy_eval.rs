//! The Kotim 2018 letter against simulated office scenarios, on a clock the
//! test holds: compliant office, printer left on, road cameras stopped, the
//! agent offline and back, and a server restart in the middle of it all.

use crate::policy_harness::{kotim, mins, Central, Office, AGENT, OFFICE};
use jiff::Timestamp;
use ronda_policy::alert::State;
use ronda_policy::eval::Status;
use ronda_sim::state::Patch;
use ronda_wire::Action;

const ATTESTED_BY_HAND: [&str; 2] = [
    "perekam-tersembunyi-terkunci",
    "sambungan-listrik-diperiksa",
];

async fn setup() -> (Office, Central, Timestamp, tempfile::TempDir) {
    let office = Office::start().await;
    let dir = tempfile::tempdir().unwrap();
    let t0 = Timestamp::now();
    let central = Central::open(dir.path().join("ronda.db"), vec![kotim(t0 - mins(60))]);
    (office, central, t0, dir)
}

fn assert_compliant(central: &Central) {
    for (item, status) in central.statuses() {
        let want = if ATTESTED_BY_HAND.contains(&item.as_str()) {
            Status::Pending
        } else {
            Status::Ok
        };
        assert_eq!(
            status,
            want,
            "{item}: {:?}",
            central.views.get(crate::policy_harness::LETTER, OFFICE)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_well_kept_office_is_compliant_and_raises_nothing() {
    let (office, mut central, t0, _dir) = setup().await;
    let report = office.observe().await;
    central.presence(true, t0).await;
    for m in [0, 20, 40, 60] {
        central.report(&report, t0 + mins(m)).await;
        central.tick(t0 + mins(m)).await;
    }
    assert_compliant(&central);
    assert_eq!(central.alerts(), vec![], "no alert in a compliant office");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_printer_left_on_fires_after_its_grace_and_is_switched_off() {
    let (office, mut central, t0, _dir) = setup().await;
    office.relay("printer-lobi", true);
    let on = office.observe().await;
    central.report(&on, t0).await;
    let pending = vec![(
        "listrik-diputus".to_owned(),
        "printer-lobi".to_owned(),
        State::Pending,
    )];
    assert_eq!(central.alerts(), pending);
    central.report(&on, t0 + mins(29)).await;
    assert_eq!(central.alerts(), pending, "still inside the 30m grace");
    assert!(central.commands.is_empty());

    central.report(&on, t0 + mins(30)).await;
    let firing = vec![(
        "listrik-diputus".to_owned(),
        "printer-lobi".to_owned(),
        State::Firing,
    )];
    assert_eq!(central.alerts(), firing);
    // The letter allows switch-off: exactly one command, to this office's agent.
    assert_eq!(central.commands.len(), 1);
    let cmd = &central.commands[0];
    assert_eq!((cmd.office.as_str(), cmd.agent.as_str()), (OFFICE, AGENT));
    assert_eq!(
        cmd.command.action,
        Action::PlugSet {
            plug: "printer-lobi".into(),
            on: false
        }
    );
    central.report(&on, t0 + mins(35)).await;
    assert_eq!(
        central.commands.len(),
        1,
        "no second command while it stays firing"
    );

    office.relay("printer-lobi", false);
    central.report(&office.observe().await, t0 + mins(36)).await;
    let resolved = vec![(
        "listrik-diputus".to_owned(),
        "printer-lobi".to_owned(),
        State::Resolved,
    )];
    assert_eq!(central.alerts(), resolved);
    assert_compliant(&central);
}

#[tokio::test(flavor = "multi_thread")]
async fn road_cameras_that_stop_recording_fire_cctv_recording() {
    let (office, mut central, t0, _dir) = setup().await;
    // Every front-road camera that can prove recording stopped 11 minutes ago
    // (the RTSP camera has no recording to show, so it never proves a zone).
    for (device, channel) in [("nvr-depan", "1"), ("frigate-pos", "depan")] {
        let patch = Patch {
            channel: Some(channel.into()),
            recording: Some(false),
            ..Patch::default()
        };
        office.patch(device, patch, mins(11));
    }
    let report = office.observe().await;
    central.report(&report, t0).await;
    central.report(&report, t0 + mins(15)).await;
    // The zone, and each stopped camera on its own (a warning by default).
    let alerts = central.alerts();
    let firing = |subject: &str| {
        (
            "cctv-jalan-depan".to_owned(),
            subject.to_owned(),
            State::Firing,
        )
    };
    assert_eq!(
        alerts,
        vec![
            firing("zone:front-road"),
            firing("nvr-depan/1"),
            firing("frigate-pos/depan")
        ]
    );
    let statuses: std::collections::BTreeMap<_, _> = central.statuses().into_iter().collect();
    assert_eq!(statuses["cctv-jalan-depan"], Status::Fail);
    assert_eq!(
        statuses["cctv-dalam-kantor"],
        Status::Ok,
        "the interior cameras still record"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offline_presence_gives_one_alert_and_no_storm_then_everything_is_re_evaluated() {
    let (office, mut central, t0, _dir) = setup().await;
    office.relay("printer-lobi", true);
    let on = office.observe().await;
    central.presence(true, t0).await;
    central.report(&on, t0).await;
    central.report(&on, t0 + mins(30)).await;
    let printer = ("listrik-diputus".to_owned(), "printer-lobi".to_owned());
    assert_eq!(
        central.alerts(),
        vec![(printer.0.clone(), printer.1.clone(), State::Firing)]
    );

    // `offline` arrives (as a killed agent's Last Will would: the engine
    // cannot tell it from a goodbye); hours pass with no data. Stale data would make
    // every camera look stopped; instead there is one alert for the agent.
    central.presence(false, t0 + mins(31)).await;
    for m in [32, 60, 120, 240] {
        central.tick(t0 + mins(m)).await;
    }
    let alerts = central.alerts();
    assert_eq!(
        alerts,
        vec![
            (printer.0.clone(), printer.1.clone(), State::Firing),
            (
                "aplikasi-layanan-dapat-dimonitor".to_owned(),
                AGENT.to_owned(),
                State::Firing
            ),
        ],
        "the printer alert is held, not resolved, and nothing else fires"
    );
    for (item, status) in central.statuses() {
        if item != "aplikasi-layanan-dapat-dimonitor" && !ATTESTED_BY_HAND.contains(&item.as_str())
        {
            assert_eq!(status, Status::NoData, "{item} is not judged on stale data");
        }
    }

    // It comes back with the printer now off: everything is judged afresh.
    office.relay("printer-lobi", false);
    let back = t0 + mins(241);
    central.presence(true, back).await;
    central.report(&office.observe().await, back).await;
    assert!(
        central.alerts().iter().all(|a| a.2 == State::Resolved),
        "{:?}",
        central.alerts()
    );
    assert_compliant(&central);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_agent_without_a_last_will_is_found_by_the_no_data_timer() {
    let (office, mut central, t0, _dir) = setup().await;
    central.presence(true, t0).await;
    central.report(&office.observe().await, t0).await;
    // The letter: 30 s interval, 3 missed reports.
    central.tick(t0 + jiff::SignedDuration::from_secs(90)).await;
    assert_eq!(central.alerts(), vec![]);
    central.tick(t0 + jiff::SignedDuration::from_secs(91)).await;
    assert_eq!(
        central.alerts(),
        vec![(
            "aplikasi-layanan-dapat-dimonitor".to_owned(),
            AGENT.to_owned(),
            State::Firing
        )]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_survive_a_restart_without_duplicates() {
    let (office, mut central, t0, _dir) = setup().await;
    office.relay("printer-lobi", true);
    let on = office.observe().await;
    central.report(&on, t0).await;
    central.report(&on, t0 + mins(30)).await;
    let before = central.alerts();
    assert_eq!(before.len(), 1);
    let transitions = central.transitions();

    let mut central = central.restart().await;
    assert_eq!(
        central.alerts(),
        before,
        "the same alert is there after the restart"
    );
    central.report(&on, t0 + mins(31)).await;
    central.tick(t0 + mins(32)).await;
    assert_eq!(central.alerts(), before, "still one alert, still firing");
    assert_eq!(
        central.transitions(),
        transitions,
        "no transition is repeated"
    );
    assert!(
        central.commands.is_empty(),
        "no second switch-off after the restart"
    );

    office.relay("printer-lobi", false);
    central.report(&office.observe().await, t0 + mins(33)).await;
    assert_eq!(central.alerts()[0].2, State::Resolved);
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_the_window_nothing_alerts_but_the_checklist_is_computed() {
    let office = Office::start().await;
    let dir = tempfile::tempdir().unwrap();
    let t0 = Timestamp::now();
    // The window opens tomorrow: this is the readiness view.
    let mut central = Central::open(dir.path().join("ronda.db"), vec![kotim(t0 + mins(24 * 60))]);
    office.relay("printer-lobi", true);
    let on = office.observe().await;
    central.report(&on, t0).await;
    central.report(&on, t0 + mins(120)).await;
    assert_eq!(central.alerts(), vec![]);
    let view = central
        .views
        .get(crate::policy_harness::LETTER, OFFICE)
        .unwrap();
    assert!(!view.evaluation.enforced);
    let power = view
        .evaluation
        .items
        .iter()
        .find(|i| i.item == "listrik-diputus")
        .unwrap();
    assert_eq!(
        power.status,
        Status::Fail,
        "the readiness view shows what would fail"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_regular_sweep_skips_an_office_a_report_just_evaluated_but_a_tick_does_not() {
    let (office, mut central, t0, _dir) = setup().await;
    let report = office.observe().await;
    central.presence(true, t0).await;
    central.report(&report, t0).await;
    let evaluated = |c: &Central| {
        c.views
            .get(crate::policy_harness::LETTER, OFFICE)
            .unwrap()
            .evaluation
            .at
    };
    let ms = jiff::SignedDuration::from_millis;
    central.engine.sweep(t0 + ms(500));
    assert_eq!(
        evaluated(&central),
        t0,
        "half a second after a report the sweep has nothing new to say"
    );
    central.engine.sweep(t0 + ms(1500));
    assert_eq!(
        evaluated(&central),
        t0 + ms(1500),
        "a second later the sweep evaluates it again"
    );
    central.report(&report, t0 + ms(2000)).await;
    // A grace time running out calls a full tick, which skips nothing.
    central.engine.tick(t0 + ms(2100));
    assert_eq!(evaluated(&central), t0 + ms(2100));
}

/// Issue 17, defect 8: an office PC whose clock is hours off (a dual-boot
/// machine mixing local time and UTC) raises one warning about its clock,
/// and no camera, plug or service alarm.
#[tokio::test(flavor = "multi_thread")]
async fn an_office_pc_clock_hours_off_is_one_warning_and_no_false_alarm() {
    let (office, mut central, t0, _dir) = setup().await;
    let report = office.observe().await;
    central.presence(true, t0).await;
    let behind = jiff::SignedDuration::from_hours(-7);
    for m in [0, 20, 40] {
        central
            .report_from_clock(&report, t0 + mins(m), behind)
            .await;
        central.tick(t0 + mins(m)).await;
    }
    assert_compliant(&central);
    let alerts = central.alerts();
    assert_eq!(
        alerts,
        vec![(
            "aplikasi-layanan-dapat-dimonitor".to_owned(),
            format!("clock:{AGENT}"),
            State::Firing
        )],
        "one warning about the clock, nothing else"
    );
    // Fixed: the warning resolves.
    central.report(&report, t0 + mins(60)).await;
    assert_eq!(central.alerts()[0].2, State::Resolved);
}

/// Issue 17, defect 4: one of the road cameras stopped two hours ago while
/// another still records. The zone holds; the stopped camera is a warning
/// of its own, mailed to IT, and it resolves when the camera records again.
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_camera_in_a_covered_zone_is_a_warning_of_its_own() {
    let (office, mut central, t0, _dir) = setup().await;
    let patch = Patch {
        channel: Some("1".into()),
        recording: Some(false),
        ..Patch::default()
    };
    office.patch("nvr-depan", patch, mins(120));
    let report = office.observe().await;
    central.presence(true, t0).await;
    // The item's 15 minutes of grace apply to its warnings too.
    central.report(&report, t0).await;
    central.report(&report, t0 + mins(16)).await;
    assert_compliant(&central);
    let warning = (
        "cctv-jalan-depan".to_owned(),
        "nvr-depan/1".to_owned(),
        State::Firing,
    );
    assert_eq!(central.alerts(), vec![warning]);
    let conn = crate::common::db::open(&central.db);
    let severity: String = conn
        .query_row(
            "SELECT severity FROM alerts WHERE subject = 'nvr-depan/1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        severity, "warning",
        "the letter's item is critical; the camera is a warning"
    );
    office.patch(
        "nvr-depan",
        Patch {
            channel: Some("1".into()),
            recording: Some(true),
            ..Patch::default()
        },
        mins(0),
    );
    central.report(&office.observe().await, t0 + mins(20)).await;
    assert_eq!(central.alerts()[0].2, State::Resolved);
}
