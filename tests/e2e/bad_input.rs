//! Bad input: every kind of bad payload, on every topic the server reads, is
//! refused and counted by reason; the server keeps serving, and good reports
//! sent in between all land.

use crate::common::{anonymous, eventually, spawn_with};
use rumqttc::{AsyncClient, MqttOptions, QoS};

const GOOD_REPORTS: u64 = 100;
const GARBAGE: usize = 10_000;

/// Where the flood goes, round robin, and the reason each one is counted
/// under: every topic kind the server subscribes to, and a topic whose
/// office id is malformed.
const FLOOD: [(&str, &str); 4] = [
    ("ronda/v1/dinkes/gw/report", "not_json"),
    ("ronda/v1/dinkes/gw/state", "bad_state"),
    ("ronda/v1/dinkes/gw/cmd/result", "invalid"),
    ("ronda/v1/Dinkes_1/gw/report", "bad_topic"),
];

fn report(seq: u64) -> Vec<u8> {
    serde_json::to_vec(&crate::common::bare_report("dinkes", "gw", seq)).unwrap()
}

/// A raw MQTT client that may publish anything, anywhere (the server lets
/// anonymous clients in, unconfined, for this test).
fn raw_client(app: &crate::common::TestApp) -> AsyncClient {
    let mut o = MqttOptions::new("hostile", app.broker.host.clone(), app.broker.port);
    o.set_max_packet_size(2 << 20, 2 << 20);
    o.set_inflight(100);
    let (client, mut eventloop) = AsyncClient::new(o, 1000);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_payloads_are_counted_by_reason_and_good_ones_all_stored() {
    let app = spawn_with(anonymous).await;
    let c = raw_client(&app);
    let topic = "ronda/v1/dinkes/gw/report";
    let qos = QoS::AtLeastOnce;

    c.publish(topic, qos, false, "this is not json")
        .await
        .unwrap();
    let v2 = String::from_utf8(report(1))
        .unwrap()
        .replace("\"schema\":1", "\"schema\":2");
    c.publish(topic, qos, false, v2).await.unwrap();
    c.publish("ronda/v1/dinsos/gw/report", qos, false, report(1))
        .await
        .unwrap();
    c.publish(topic, qos, false, vec![b' '; 300 * 1024])
        .await
        .unwrap();
    c.publish(topic, qos, false, "{\"schema\":1}")
        .await
        .unwrap();
    c.publish("ronda/v1/dinkes/gw/state", qos, false, "sleeping")
        .await
        .unwrap();
    c.publish("ronda/v1/dinkes/GW/state", qos, false, "online")
        .await
        .unwrap();

    // A flood of garbage with good reports in between, each good one twice.
    let per_good = GARBAGE / GOOD_REPORTS as usize;
    for i in 0..GARBAGE {
        let (to, _) = FLOOD[i % FLOOD.len()];
        c.publish(to, qos, false, format!("garbage {i} \u{0}"))
            .await
            .unwrap();
        if i % per_good == 0 {
            let seq = (i / per_good) as u64 + 1;
            c.publish(topic, qos, false, report(seq)).await.unwrap();
            c.publish(topic, qos, false, report(seq)).await.unwrap();
        }
    }

    let reason = |r: &str| format!("ronda_reports_rejected_total{{reason=\"{r}\"}}");
    // Each reason: its share of the flood, plus the one sent above.
    let share = (GARBAGE / FLOOD.len()) as f64;
    for (_, r) in FLOOD {
        eventually(&format!("every {r} message counted"), || async {
            (app.metric(&reason(r)).await == share + 1.0).then_some(())
        })
        .await;
    }
    eventually("every good report stored", || async {
        (app.metric("ronda_reports_stored_total").await == GOOD_REPORTS as f64).then_some(())
    })
    .await;
    assert_eq!(app.metric(&reason("schema_version")).await, 1.0);
    assert_eq!(app.metric(&reason("identity_mismatch")).await, 1.0);
    assert_eq!(app.metric(&reason("too_large")).await, 1.0);
    assert_eq!(
        app.metric("ronda_reports_accepted_total").await,
        2.0 * GOOD_REPORTS as f64
    );
    eventually("duplicates counted", || async {
        (app.metric("ronda_reports_duplicate_total").await == GOOD_REPORTS as f64).then_some(())
    })
    .await;

    // Still serving, with the newest report as the latest.
    let (status, v) = app.get_json("/api/v1/agents/dinkes/gw").await;
    assert_eq!(status, 200);
    assert_eq!(v["last_seq"], GOOD_REPORTS);
    assert_eq!(app.get_json("/healthz").await.0, 200);

    // And on disk: each good report exactly once.
    let db = crate::common::db::open(&app.db);
    let (rows, distinct): (u64, u64) = db
        .query_row("SELECT count(*), count(DISTINCT seq) FROM reports WHERE office = 'dinkes' AND agent = 'gw'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((rows, distinct), (GOOD_REPORTS, GOOD_REPORTS));
    let other: u64 = db
        .query_row(
            "SELECT count(*) FROM agents WHERE office = 'dinsos'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        other, 0,
        "a payload on another office's topic must leave no trace"
    );
    app.stop().await;
}
