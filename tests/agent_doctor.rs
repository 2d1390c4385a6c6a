//! `ronda-agent doctor` against a simulated office: what each device gave,
//! what it did not and why, the firmware behaviour found, and what a letter
//! says, with a failing exit status when a device cannot be read.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use ronda_sim::state::{lock, Patch};
use tokio_util::sync::CancellationToken;

async fn office() -> (ronda_sim::Sim, ronda_agent::AgentConfig, CancellationToken) {
    let stop = CancellationToken::new();
    let sim = crate::common::sim_office(&stop).await;
    let yaml = ronda_sim::agent_config::agent_yaml(
        &sim,
        "dinkes",
        "kantor-utama",
        "mqtt://127.0.0.1:1",
        "30s",
    );
    let config = ronda_agent::AgentConfig::from_text(Path::new("<doctor>"), yaml).unwrap();
    (sim, config, stop)
}

fn patch(sim: &ronda_sim::Sim, device: &str, p: Patch, ago: SignedDuration) {
    let d = sim.device(device).unwrap();
    p.apply(&mut lock(&d.state), Timestamp::now() - ago)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_doctor_shows_what_each_device_gives_and_what_the_letter_says() {
    let (sim, config, _stop) = office().await;
    patch(
        &sim,
        "nvr-depan",
        Patch {
            password: Some("diganti".into()),
            ..Patch::default()
        },
        SignedDuration::ZERO,
    );
    let stopped = Patch {
        channel: Some("1".into()),
        recording: Some(false),
        ..Patch::default()
    };
    patch(&sim, "dvr-gudang", stopped, SignedDuration::from_hours(2));
    let visit = ronda_agent::doctor::visit(&config, None).await.unwrap();
    assert_eq!(
        visit.unreadable(),
        1,
        "the recorder with the wrong password"
    );
    let table = ronda_agent::doctor::render(&visit, "en");
    for want in [
        "nvr-depan (hikvision)  · NOT READ: wrong username or password; not asked again until",
        "dvr-gudang (dahua) DH-XVR5108HS-4KL-I2",
        "detected: time-zone: NTP.TimeZone (UTC+07)",
        // Dahua is searched an hour back by default: nothing there.
        "channel 1 Gudang [perimeter]: recording switched OFF, NO footage in the recorder's search window",
        "channel 101 Gerbang utama [front-road]: camera connected, NOT READ: an RTSP camera keeps no recordings",
        "stopkontak-tu-1 (tasmota, printer) · read ok · relay OFF",
        "✗ FAIL    camera dvr-gudang/1 (Gudang) has no footage within the recorder's search window (warning only)",
        "✗ FAIL    recorder nvr-depan: wrong username or password; not tried again until",
        "1 device(s) could not be read",
    ] {
        assert!(table.contains(want), "missing {want:?} in\n{table}");
    }
    assert!(
        !table.contains("disk nvr-depan"),
        "a recorder not read shows no disk:\n{table}"
    );
    let id = ronda_agent::doctor::render(&visit, "id");
    assert!(
        id.contains("tidak punya rekaman dalam jangka pencarian perekam"),
        "{id}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_doctor_judges_by_the_offices_own_letter_when_given_one() {
    let (_sim, config, _stop) = office().await;
    let letter = crate::common::repo_file("letters/kotim-idul-fitri-2018.yaml");
    let visit = ronda_agent::doctor::visit(&config, Some(&letter))
        .await
        .unwrap();
    assert_eq!(visit.unreadable(), 0);
    let items: Vec<&str> = visit
        .evaluation
        .items
        .iter()
        .map(|i| i.item.as_str())
        .collect();
    assert!(
        items.contains(&"cctv-jalan-depan") && items.contains(&"listrik-diputus"),
        "{items:?}"
    );
    let table = ronda_agent::doctor::render(&visit, "en");
    assert!(table.contains("✓ ok      cctv-jalan-depan"), "{table}");
    assert!(table.contains("Every device could be read."), "{table}");
    // A letter that does not parse is an error with its place, not a guess.
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "letter: {id: x}\nwindow: soon\n").unwrap();
    let err = ronda_agent::doctor::visit(&config, Some(bad.path()))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains(":2:"), "{err}");
}
