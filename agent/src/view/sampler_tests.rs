//! The sampler over viewers that hand out JPEGs from memory: samples and
//! their memory, the report merge, one snapshot at a time, refusals.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;

use ronda_wire::ViewEvent;

use super::*;
use crate::view::testing::{jpeg, recorder, MemoryViewer};

fn views(viewer: &Arc<MemoryViewer>) -> Views {
    Views::new(vec![
        (recorder("nvr", true), Some(Box::new(Arc::clone(viewer)))),
        (recorder("off", false), Some(Box::new(Arc::clone(viewer)))),
        (recorder("rtsp", true), None),
    ])
}

fn viewer(body: Vec<u8>) -> Arc<MemoryViewer> {
    let v = MemoryViewer {
        events: Some(vec![]),
        ..MemoryViewer::default()
    };
    *v.body.lock().unwrap() = body;
    Arc::new(v)
}

fn report(views: &Views) -> Vec<Recorder> {
    let mut r = vec![recorders::describe(
        &recorder("nvr", true),
        Err(ProbeError::Unauthorized),
        Timestamp::now(),
        None,
    )];
    views.merge(&mut r);
    r
}

#[tokio::test]
async fn samples_carry_numbers_and_repeat_times_newest_first() {
    let mut body = jpeg(640, 360, 0, 80);
    let v = viewer(body.clone());
    // A Dahua-style tail: not part of the picture, nor of its hash.
    body.extend_from_slice(b"\r\n--tail");
    *v.body.lock().unwrap() = body;
    *v.clock.lock().unwrap() = Some("2026-12-24T01:00:00Z".parse().unwrap());
    let views = views(&v);
    views.sample(0, 0).await;
    *v.clock.lock().unwrap() = Some("2026-12-24T01:20:00Z".parse().unwrap());
    views.sample(0, 0).await;
    *v.body.lock().unwrap() = jpeg(640, 360, 40, 80);
    views.sample(0, 0).await;
    views.sample(0, 0).await;

    let r = report(&views);
    let samples = &r[0].channels[0].view.as_ref().unwrap().samples;
    assert_eq!(samples.len(), 3);
    let unchanged: Vec<_> = samples.iter().map(|s| s.unchanged_s).collect();
    assert_eq!(unchanged, [Some(0), Some(0), Some(1200)]);
    assert_eq!(samples[2].clock_advanced, Some(true));
    assert_eq!(samples[0].clock_advanced, Some(false));
    let stats = samples[0].stats.as_ref().unwrap();
    assert_eq!((stats.w, stats.h), (640, 360));
    assert!(stats.edges > 0 && stats.sharp > 0);
    assert!(samples[0].at >= samples[2].at);
    // The other channel was not looked at yet: a view with no sample (the
    // server tells "not yet" from "never", a recorder with no viewer).
    assert_eq!(r[0].channels[1].view, Some(ronda_wire::View::default()));
}

#[tokio::test]
async fn a_bad_snapshot_is_a_sample_with_the_reason_and_failed_events_are_absent() {
    let v = Arc::new(MemoryViewer::default());
    *v.body.lock().unwrap() = b"<html>Error 500</html>".to_vec();
    let views = views(&v);
    views.sample(0, 1).await;
    let r = report(&views);
    let s = &r[0].channels[1].view.as_ref().unwrap().samples[0];
    assert_eq!(s.error.as_deref(), Some("snapshot: not a JPEG"));
    assert_eq!(
        (s.stats.as_ref(), s.unchanged_s, s.clock_advanced),
        (None, None, None)
    );
    assert!(s.events.is_empty());
}

#[tokio::test]
async fn device_events_go_into_the_sample() {
    let v = Arc::new(MemoryViewer {
        events: Some(vec![ViewEvent::Tamper]),
        ..MemoryViewer::default()
    });
    *v.body.lock().unwrap() = jpeg(64, 64, 0, 80);
    let views = views(&v);
    views.sample(0, 0).await;
    let s = &report(&views)[0].channels[0].view.clone().unwrap().samples[0];
    assert_eq!(s.events, vec![ViewEvent::Tamper]);
    assert!(s.stats.is_some());
}

#[tokio::test]
async fn one_snapshot_at_a_time_in_the_whole_agent() {
    let v = viewer(jpeg(320, 240, 0, 80));
    let views = Arc::new(views(&v));
    let mut tasks = Vec::new();
    for i in 0..6 {
        let views = Arc::clone(&views);
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                views.sample(0, i % 2).await;
            } else {
                views.take("nvr", "2").await.map(drop).unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(v.asked.load(Ordering::SeqCst), 6);
    assert_eq!(v.most_in_flight.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn take_names_what_it_cannot_find() {
    let v = viewer(jpeg(64, 64, 0, 80));
    let views = views(&v);
    let err = |r: Result<Look, TakeError>| r.err().unwrap().to_string();
    assert_eq!(
        err(views.take("dvr", "1").await),
        "this agent has no recorder `dvr`"
    );
    assert_eq!(
        err(views.take("nvr", "9").await),
        "recorder `nvr` has no channel `9`"
    );
    for id in ["off", "rtsp"] {
        assert!(
            err(views.take(id, "1").await).contains("gives no snapshots"),
            "{id}"
        );
    }
    assert_eq!(v.asked.load(Ordering::SeqCst), 0);
    let look = views.take("nvr", "1").await.unwrap();
    assert_eq!(look.jpeg, jpeg(64, 64, 0, 80));
}

#[tokio::test(start_paused = true)]
async fn a_hung_camera_gives_a_timeout_and_frees_the_turn() {
    let v = Arc::new(MemoryViewer {
        hang: true,
        ..MemoryViewer::default()
    });
    let views = views(&v);
    views.sample(0, 0).await;
    let s = &report(&views)[0].channels[0].view.clone().unwrap().samples[0];
    assert_eq!(s.error.as_deref(), Some("no answer within 1100ms"));
    // The turn is free again: the next one asks the camera.
    views.sample(0, 1).await;
    assert_eq!(v.asked.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_sampler_samples_every_channel_and_stops_with_the_agent() {
    let v = viewer(jpeg(64, 64, 0, 80));
    let views = Arc::new(views(&v));
    assert!(!views.is_empty());
    let stop = CancellationToken::new();
    let task = tokio::spawn(Arc::clone(&views).run(stop.clone()));
    // `every: 1s`: the first samples come within a second, the next ones
    // within 1.5 s more. A bounded poll, not a timed assertion.
    let both = || {
        let r = report(&views);
        r[0].channels
            .iter()
            .all(|c| c.view.as_ref().is_some_and(|v| v.samples.len() >= 2))
    };
    for _ in 0..200 {
        if both() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(both(), "not two samples of each channel in 10 s");
    stop.cancel();
    task.await.unwrap();
    // Never the recorder whose view is off.
    assert_eq!(v.most_in_flight.load(Ordering::SeqCst), 1);
}

#[test]
fn waits_are_drawn_between_three_quarters_and_one_and_a_half_periods() {
    let every = Duration::from_secs(1200);
    for _ in 0..1000 {
        let w = jitter(every);
        assert!(
            w >= Duration::from_secs(900) && w <= Duration::from_secs(1800),
            "{w:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_login_pauses_the_sampler_and_the_live_snapshot() {
    // A recorder locks its account after a handful of refused logins: the
    // sampler asks once, then leaves it alone like the recorder's probe.
    let v = Arc::new(MemoryViewer {
        refuse_login: true,
        ..MemoryViewer::default()
    });
    let views = views(&v);
    for c in [0, 1, 0, 1] {
        views.sample(0, c).await;
    }
    assert_eq!(
        v.asked.load(Ordering::SeqCst),
        1,
        "asked again while paused"
    );
    assert_eq!(
        report(&views)[0].channels[0].view,
        Some(ronda_wire::View::default()),
        "no sample while paused"
    );
    let refused = views.take("nvr", "1").await.err().unwrap();
    assert!(matches!(refused, TakeError::Paused(..)), "{refused}");
    assert_eq!(v.asked.load(Ordering::SeqCst), 1);
}
