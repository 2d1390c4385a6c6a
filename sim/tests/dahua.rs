//! The agent's Dahua adapter against the simulated DVR `dvr-gudang`, over
//! real HTTP with digest MD5: the report a user depends on, how it changes
//! when the DVR does, and that every file finder the agent opens on the
//! DVR is closed and destroyed again, whatever happened in between.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use ronda_agent::http::{Clients, Creds, Device};
use ronda_agent::probe::{with_deadline, ProbeError};
use ronda_agent::recorders::dahua::{parse_kv, parse_object, Dahua, Finder};
use ronda_agent::recorders::{Adapter, ChannelConfig, RecorderConfig, Watched};
use ronda_common::conf::Secret;
use ronda_sim::state::{lock, DeviceState, Patch};

const MIB: u64 = 1024 * 1024;
const ID: &str = "dvr-gudang";

struct Dvr {
    one: common::One,
    cfg: RecorderConfig,
}

impl Dvr {
    async fn start(password: &str, timeout: Duration, lookback: Duration, ids: &[&str]) -> Dvr {
        let one = common::start(&[ID]).await;
        let mut cfg = one.recorder_config(ID);
        cfg.creds = Some(Creds {
            username: "admin".into(),
            password: Secret::new(password),
        });
        (cfg.timeout, cfg.lookback) = (timeout, lookback);
        cfg.channels = ids
            .iter()
            .map(|id| ChannelConfig {
                id: (*id).into(),
                name: None,
                zone: "interior".into(),
                url: None,
                path: None,
            })
            .collect();
        Dvr { one, cfg }
    }

    async fn default() -> Dvr {
        Dvr::start("Gudang2018", Duration::from_secs(3), HOUR, &["1", "2"]).await
    }

    fn state(&self) -> std::sync::MutexGuard<'_, DeviceState> {
        lock(&self.one.sim.device(ID).unwrap().state)
    }

    fn open_finders(&self) -> usize {
        self.state().open_finders
    }

    async fn report(&self) -> ronda_wire::Recorder {
        Watched::new(self.cfg.clone(), &Clients::new().unwrap())
            .probe()
            .await
    }

    /// The adapter itself, for the exact error.
    async fn read(&self) -> Result<ronda_agent::recorders::Reading, ProbeError> {
        let dahua = Dahua::new(&self.cfg, &Clients::new().unwrap());
        with_deadline(self.cfg.timeout, dahua.read(Timestamp::now())).await
    }

    fn device(&self) -> Device {
        Device::new(
            Clients::new().unwrap().pick(false),
            &self.cfg.url,
            self.cfg.creds.clone(),
            self.cfg.timeout,
        )
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_dvr_and_sees_it_change() {
    let dvr = Dvr::default().await;
    let r = dvr.report().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.kind, "dahua");
    assert_eq!(r.model.as_deref(), Some("DH-XVR5108HS-4KL-I2"));
    assert_eq!(r.firmware.as_deref(), Some("4.001.0000000.3.R"));
    // The DVR's wall clock is WIB, whatever this machine's zone: the agent
    // learns the zone from the NTP config.
    assert!(r.clock_skew_s.unwrap().abs() <= 2, "{r:?}");
    assert!(r
        .detected
        .contains(&"time-zone: NTP.TimeZone (UTC+07)".to_owned()));
    assert_eq!(r.overwrite, Some(true));
    let disks: Vec<_> = r
        .disks
        .iter()
        .map(|d| (d.id.as_str(), d.status.as_str(), d.healthy))
        .collect();
    assert_eq!(disks, [("/dev/sda", "Success", true)]);
    assert_eq!(r.disks[0].capacity_bytes, Some(953_869 * MIB));
    assert_eq!(r.disks[0].free_bytes, Some(120_000 * MIB));
    for ch in &r.channels {
        assert_eq!((ch.recording, &ch.error), (Some(true), &None), "{ch:?}");
        assert!(ch.segment_age_s.unwrap() < 30, "{ch:?}");
    }
    assert_eq!(dvr.open_finders(), 0, "every finder destroyed");

    // Channel 2 stops recording half an hour ago; the disk fails; the DVR
    // is set to stop recording when full.
    let stopped = Timestamp::from_second(Timestamp::now().as_second()).unwrap()
        - SignedDuration::from_mins(30);
    {
        let mut s = dvr.state();
        let stop = Patch {
            channel: Some("2".into()),
            recording: Some(false),
            ..Patch::default()
        };
        stop.apply(&mut s, stopped).unwrap();
        s.disks[0].status = "Error".into();
        s.overwrite = false;
    }
    let r = dvr.report().await;
    assert!(r.reachable, "{r:?}");
    let two = &r.channels[1];
    assert_eq!(two.recording, Some(false), "{two:?}");
    // Placed by its distance from the DVR's clock, which reads whole seconds.
    let off = two.last_segment_end.unwrap().duration_since(stopped);
    assert!(off.abs() <= SignedDuration::from_secs(1), "{two:?}");
    assert!(
        (1798..1830).contains(&two.segment_age_s.unwrap()),
        "{two:?}"
    );
    assert_eq!(r.channels[0].recording, Some(true), "channel 1 unaffected");
    assert!(r.channels[0].segment_age_s.unwrap() < 30);
    assert_eq!(
        (r.disks[0].status.as_str(), r.disks[0].healthy),
        ("Error", false)
    );
    assert_eq!(r.overwrite, Some(false));

    // Later, channel 2's newest file still ends where it stopped.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = dvr.report().await;
    assert!(
        later.channels[1].segment_age_s > two.segment_age_s,
        "{later:?}"
    );
    assert_eq!(dvr.open_finders(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_stopped_before_the_lookback_has_no_segment() {
    let dvr = Dvr::default().await;
    dvr.state().channels[0].recording = false;
    dvr.state().channels[0].stopped_at = Some(Timestamp::now() - SignedDuration::from_hours(2));
    let r = dvr.report().await;
    let one = &r.channels[0];
    assert_eq!(dvr.open_finders(), 0);
    assert_eq!(
        (one.recording, one.last_segment_end, &one.error),
        (Some(false), None, &None),
        "nothing matched (a bare Error from findFile) is no segment: {one:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_files_is_paged_to_the_newest() {
    // 144 ten-minute files, oldest first, 100 per findNextFile.
    let day = Duration::from_secs(86_400);
    let dvr = Dvr::start("Gudang2018", Duration::from_secs(3), day, &["1"]).await;
    let r = dvr.report().await;
    let one = &r.channels[0];
    assert!(one.segment_age_s.unwrap() < 30, "{one:?}");
    assert_eq!(dvr.open_finders(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_finder_count_sees_a_finder_left_open_or_not_closed() {
    // The check the other tests rely on: a finder created and not closed
    // and destroyed shows in the simulator's state.
    let dvr = Dvr::default().await;
    let finder = Finder::create(&dvr.device()).await.unwrap();
    assert_eq!(dvr.open_finders(), 1);
    finder.release().await;
    assert_eq!(dvr.open_finders(), 0);
    // Destroyed without the close: still counted.
    let device = dvr.device();
    let created = device
        .get("/cgi-bin/mediaFileFind.cgi?action=factory.create")
        .await
        .unwrap();
    let object = parse_object(&parse_kv(&created).unwrap()).unwrap();
    let destroy = format!("/cgi-bin/mediaFileFind.cgi?action=destroy&object={object}");
    assert_eq!(device.get(&destroy).await.unwrap(), "OK\r\n");
    assert_eq!(dvr.open_finders(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_search_still_closes_its_finder() {
    // Channel 9 does not exist: findFile answers Error / Bad Request!.
    let dvr = Dvr::start("Gudang2018", Duration::from_secs(3), HOUR, &["1", "9"]).await;
    let r = dvr.report().await;
    assert!(
        r.reachable,
        "one channel's failure is that channel's: {r:?}"
    );
    assert_eq!(r.channels[0].error, None);
    let err = r.channels[1].error.as_deref().unwrap();
    assert!(err.contains("Bad Request"), "{err}");
    assert_eq!(
        dvr.open_finders(),
        0,
        "the refused finder was destroyed too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finder_dropped_mid_search_is_still_cleaned_up() {
    let dvr = Dvr::default().await;
    let finder = Finder::create(&dvr.device()).await.unwrap();
    assert_eq!(dvr.open_finders(), 1);
    drop(finder);
    let start = Instant::now();
    while dvr.open_finders() > 0 && start.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(dvr.open_finders(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_unauthorized() {
    let dvr = Dvr::start("Gudang2019", Duration::from_secs(3), HOUR, &["1"]).await;
    assert_eq!(dvr.read().await, Err(ProbeError::Unauthorized));
    let r = dvr.report().await;
    assert!(!r.reachable);
    common::assert_wrong_password(&r);
    // The DVR's password changed under a correct agent config.
    let ok = Dvr::default().await;
    ok.state().auth.password = "changed".into();
    assert_eq!(ok.read().await, Err(ProbeError::Unauthorized));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_dvr_times_out_within_the_configured_timeout() {
    let timeout = Duration::from_millis(300);
    let dvr = Dvr::start("Gudang2018", timeout, HOUR, &["1", "2"]).await;
    dvr.state().hang = true;
    let start = Instant::now();
    assert_eq!(dvr.read().await, Err(ProbeError::Timeout(timeout)));
    let took = start.elapsed();
    assert!(
        took >= timeout && took < Duration::from_millis(800),
        "{took:?}"
    );
    let r = dvr.report().await;
    assert_eq!(r.error.as_deref(), Some("no answer within 300ms"));
}

/// Issue 17 point 8: ages are the DVR's own (its newest file against its
/// own clock), so a clock hours or a day off changes nothing. The agent's
/// clock is true here and the DVR's is skewed: the same mismatch as an
/// office PC whose clock is off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ages_come_from_the_dvrs_own_clock_however_far_off_it_is() {
    for skew_h in [7, -24, 2, -7] {
        let dvr = Dvr::start("Gudang2018", Duration::from_secs(3), 3 * HOUR, &["1", "2"]).await;
        {
            let mut s = dvr.state();
            let stop = Patch {
                clock_skew_s: Some(skew_h * 3600),
                channel: Some("2".into()),
                recording: Some(false),
                ..Patch::default()
            };
            stop.apply(&mut s, Timestamp::now() - SignedDuration::from_hours(2))
                .unwrap();
        }
        let r = dvr.report().await;
        let ages: Vec<_> = r.channels.iter().map(|c| c.segment_age_s).collect();
        assert!(ages[0].unwrap() < 30, "skew {skew_h} h: {r:?}");
        assert!(
            (7190..7230).contains(&ages[1].unwrap()),
            "skew {skew_h} h: {r:?}"
        );
        let skew = r.clock_skew_s.unwrap() - skew_h * 3600;
        assert!(skew.abs() <= 2, "the skew is still reported: {r:?}");
        assert_eq!(dvr.open_finders(), 0);
    }
}

/// A zone the DVR does not name (its offset is not in Dahua's table): the
/// ages are still its own, but its skew cannot be told, so none is claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dvr_that_names_no_zone_gives_ages_but_no_skew() {
    let dvr = Dvr::default().await;
    dvr.state().utc_offset_s = 7 * 3600 + 17 * 60;
    let r = dvr.report().await;
    assert_eq!(r.clock_skew_s, None, "{r:?}");
    assert!(r.channels[0].segment_age_s.unwrap() < 30, "{r:?}");
    assert!(r
        .detected
        .contains(&"time-zone: not given; the agent's own assumed".to_owned()));
}

/// Issue 17 point 3: firmware that does not know the `StorageGroup` config
/// refuses it as any unknown name; overwrite is then unknown, not "off".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_overwrite_setting_is_unknown() {
    let dvr = Dvr::default().await;
    dvr.state().overwrite_readable = false;
    let r = dvr.report().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.overwrite, None);
    assert!(
        r.detected
            .contains(&"overwrite: not readable (StorageGroup refused)".to_owned()),
        "{r:?}"
    );
    dvr.state().overwrite_readable = true;
    let r = dvr.report().await;
    assert_eq!(r.overwrite, Some(true));
    assert!(r.detected.contains(&"overwrite: StorageGroup".to_owned()));
}

/// Issue 17 point 7: once the DVR has locked the account, the agent says
/// so (and how long), instead of taking it for a wrong password; a wrong
/// password before the lock stays a wrong password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_account_is_told_from_a_wrong_password() {
    let dvr = Dvr::start("Gudang2019", Duration::from_secs(3), HOUR, &["1"]).await;
    dvr.state().lock_after = 3;
    assert_eq!(dvr.read().await, Err(ProbeError::Unauthorized));
    assert_eq!(dvr.read().await, Err(ProbeError::Unauthorized));
    let third = dvr.read().await;
    assert_eq!(
        third,
        Err(ProbeError::Locked(Some(Duration::from_secs(1800))))
    );
    assert_eq!(dvr.state().failed_logins_total, 3);

    // Locked: even the right password is refused, and the report says so.
    let right = Dvr::start("Gudang2018", Duration::from_secs(3), HOUR, &["1"]).await;
    right.state().locked_until = Some(Timestamp::now() + SignedDuration::from_mins(25));
    assert!(matches!(
        right.read().await,
        Err(ProbeError::Locked(Some(_)))
    ));
    let r = right.report().await;
    assert!(!r.reachable);
    let paused = r.paused.unwrap();
    assert_eq!(paused.reason, ronda_wire::PauseReason::Locked);
    assert!(r.error.unwrap().contains("locked"), "{paused:?}");
}
