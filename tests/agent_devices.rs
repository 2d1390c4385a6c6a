//! The agent against the office simulator, without the server: a full probe
//! of `examples/office.yaml`, a hung device, and plug commands through a
//! broker (embedded or Mosquitto) from a test client in the server's place.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use ronda_agent::AgentConfig;
use ronda_sim::state::lock;
use ronda_wire::{Action, Command, CommandResult};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;

async fn sim(base_port: Option<u16>, shutdown: &CancellationToken) -> ronda_sim::Sim {
    let opts = ronda_sim::Options {
        base_port,
        ..Default::default()
    };
    match ronda_sim::start(ronda_sim::layout::default_office(), opts, shutdown.clone()).await {
        Ok(sim) => sim,
        Err(e) => panic!("cannot start the simulator ({e}); is a ronda-sim already running on ports 17800-17883?"),
    }
}

/// The example config is written for the simulator's fixed ports, so this is
/// the one test that uses them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probing_the_example_office_reads_every_kind_of_device() {
    let stop = CancellationToken::new();
    let _sim = sim(Some(17800), &stop).await;
    let config = AgentConfig::load(Path::new("examples/office.yaml")).unwrap();
    // Let the MQTT devices announce themselves and the folder get a segment.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = ronda_agent::probe_once(&config).await.unwrap();
    let json = serde_json::to_string_pretty(&report).unwrap();

    let kinds: BTreeSet<&str> = report.recorders.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["dahua", "folder", "frigate", "hikvision", "onvif", "rtsp"]),
        "{json}"
    );
    for r in &report.recorders {
        assert!(
            r.reachable,
            "recorder {} unreachable: {:?}\n{json}",
            r.id, r.error
        );
        for ch in &r.channels {
            // RTSP proves a stream, not a recording, and says so: the
            // channel is no-data for recording, never "recorded".
            if r.kind == "rtsp" {
                assert_eq!(ch.online, Some(true), "{}/{}", r.id, ch.id);
                let e = ch.error.as_deref().unwrap_or_default();
                assert!(
                    e.contains("no recordings to read"),
                    "{}/{}: {e}",
                    r.id,
                    ch.id
                );
            } else {
                assert!(ch.error.is_none(), "{}/{}: {:?}", r.id, ch.id, ch.error);
            }
            assert!(!ch.zone.is_empty());
        }
    }
    let nvr = report
        .recorders
        .iter()
        .find(|r| r.kind == "hikvision")
        .unwrap();
    assert_eq!(nvr.model.as_deref(), Some("DS-7608NI-K2/8P"), "{json}");
    assert_eq!(nvr.overwrite, Some(true), "{json}");
    assert!(nvr.disks.iter().all(|d| d.healthy), "{json}");
    for r in report.recorders.iter().filter(|r| r.kind != "rtsp") {
        for ch in &r.channels {
            let age = ch.segment_age_s.unwrap_or(u64::MAX);
            assert!(
                age < 120,
                "{}/{} newest segment age {age}s\n{json}",
                r.id,
                ch.id
            );
        }
    }
    let rtsp = report.recorders.iter().find(|r| r.kind == "rtsp").unwrap();
    assert!(
        rtsp.channels.iter().all(|c| c.online == Some(true)),
        "{json}"
    );

    let plug_kinds: BTreeSet<&str> = report.plugs.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(
        plug_kinds,
        BTreeSet::from(["shelly-gen1", "shelly-rpc", "tasmota", "zigbee2mqtt"]),
        "{json}"
    );
    assert_eq!(report.plugs.len(), 8);
    for p in &report.plugs {
        assert!(
            p.reachable,
            "plug {} unreachable: {:?}\n{json}",
            p.id, p.error
        );
        assert!(
            p.relay_on.is_some(),
            "plug {} has no relay state\n{json}",
            p.id
        );
    }
    let server_rack = report.plugs.iter().find(|p| p.id == "rak-server").unwrap();
    assert_eq!(server_rack.relay_on, Some(true));
    assert!(server_rack.power_w.is_some_and(|w| w > 100.0), "{json}");
    let sipd = &report.services[0];
    assert_eq!(
        (sipd.reachable, sipd.status, sipd.body_matched),
        (true, Some(200), Some(true)),
        "{json}"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_recorder_is_reported_and_the_others_are_read() {
    let stop = CancellationToken::new();
    let sim = sim(None, &stop).await;
    lock(&sim.device("nvr-depan").unwrap().state).hang = true;
    let yaml = ronda_sim::agent_config::agent_yaml(
        &sim,
        "dinsos",
        "kantor-utama",
        "mqtt://127.0.0.1:1",
        "30s",
    );
    let yaml = yaml.replace(
        "    kind: hikvision\n",
        "    kind: hikvision\n    timeout: 500ms\n",
    );
    let config = AgentConfig::from_text(Path::new("sim.yaml"), yaml).unwrap();
    let report = ronda_agent::probe_once(&config).await.unwrap();
    let nvr = report
        .recorders
        .iter()
        .find(|r| r.id == "nvr-depan")
        .unwrap();
    assert!(!nvr.reachable);
    assert_eq!(nvr.error.as_deref(), Some("no answer within 500ms"));
    let others: Vec<_> = report
        .recorders
        .iter()
        .filter(|r| r.id != "nvr-depan" && !r.reachable)
        .collect();
    assert!(others.is_empty(), "{others:#?}");
    stop.cancel();
}

/// A client on the central broker playing the server's part.
struct Commander {
    client: AsyncClient,
    results: tokio::sync::mpsc::Receiver<CommandResult>,
}

impl Commander {
    async fn connect(port: u16) -> Commander {
        let mut o = MqttOptions::new("test-commander", "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(5));
        let (client, mut eventloop) = AsyncClient::new(o, 16);
        client
            .subscribe("ronda/v1/+/+/cmd/result", QoS::AtLeastOnce)
            .await
            .unwrap();
        let (tx, results) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            while let Ok(ev) = eventloop.poll().await {
                if let Event::Incoming(Packet::Publish(p)) = ev {
                    let _ = tx.send(serde_json::from_slice(&p.payload).unwrap()).await;
                }
            }
        });
        Commander { client, results }
    }

    /// Send a command and wait for its result. A command sent before the
    /// agent has subscribed is lost (MQTT keeps no message for a topic
    /// nobody listens to yet), so it is sent again, under a new id, until
    /// an answer comes.
    async fn send(&mut self, id: &str, plug: &str, on: bool) -> CommandResult {
        for attempt in 0..10 {
            let this = format!("{id}.{attempt}");
            let cmd = Command::new(
                &this,
                Action::PlugSet {
                    plug: plug.into(),
                    on,
                },
            );
            let topic = "ronda/v1/dinsos/kantor-utama/cmd";
            let body = serde_json::to_vec(&cmd).unwrap();
            self.client
                .publish(topic, QoS::AtLeastOnce, false, body)
                .await
                .unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
            while let Ok(Some(r)) = tokio::time::timeout_at(deadline, self.results.recv()).await {
                if r.id == this {
                    return r;
                }
            }
        }
        panic!("no result for command {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plug_commands_switch_over_http_and_mqtt_and_protected_classes_are_refused() {
    let stop = CancellationToken::new();
    let broker = ronda_broker::start_open(&ronda_broker::EmbeddedBroker {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let sim = sim(None, &stop).await;
    let url = format!("mqtt://{broker}");
    let url = ronda_common::link::BrokerUrl::parse(&url).unwrap();
    crate::common::spawn_sim_agent(&sim, "dinsos", crate::common::broker_config(&url), &stop);
    let mut server = Commander::connect(broker.port()).await;
    let relay = |id: &str, i: usize| lock(&sim.device(id).unwrap().state).relays[i];

    let first = server.send("c-0", "stopkontak-tu-2", true).await;
    assert!(first.ok, "{first:?}");
    assert!(
        relay("stopkontak-tu", 1),
        "relay 2 of the Tasmota plug is on"
    );
    assert!(!relay("stopkontak-tu", 0), "relay 1 is untouched");

    let off = server.send("c-1", "stopkontak-tu-2", false).await;
    assert!(off.ok, "{off:?}");
    assert_eq!(off.plug.unwrap().relay_on, Some(false));
    assert!(!relay("stopkontak-tu", 1));

    let mqtt_on = server.send("c-2", "dispenser-lobi", true).await;
    assert!(mqtt_on.ok, "{mqtt_on:?}");
    assert!(relay("dispenser-lobi", 0));
    let mqtt_off = server.send("c-2b", "dispenser-lobi", false).await;
    assert!(mqtt_off.ok, "{mqtt_off:?}");
    assert_eq!(mqtt_off.plug.unwrap().relay_on, Some(false));
    assert!(
        !relay("dispenser-lobi", 0),
        "switched off over the office broker"
    );
    let z2m_off = server.send("c-2c", "tv-monitor-cctv", false).await;
    assert!(!z2m_off.ok, "a cctv-monitor is protected");
    assert!(relay("tv-monitor-cctv", 0));

    let refused = server.send("c-3", "rak-server", false).await;
    assert!(!refused.ok);
    assert!(
        refused.error.unwrap().contains("protects"),
        "the reason names the protection"
    );
    assert!(relay("rak-server", 0), "the server rack stays on");

    let unknown = server.send("c-4", "kulkas", false).await;
    assert!(unknown.error.unwrap().contains("no plug `kulkas`"));
    stop.cancel();
}

/// Someone holding the agent's password leaves a retained `plug.set` on its
/// command topic of a broker that lets them (Mosquitto's ACL cannot refuse
/// the retain flag per topic). Mosquitto hands it to the real agent, flagged
/// retained, at every subscribe; the server never retains a command, so the
/// agent must not run it. Two live commands answered afterwards show the
/// agent was subscribed, past the retained one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_command_left_on_the_broker_is_not_run() {
    let Some(mosquitto) = crate::common::mosquitto() else {
        return;
    };
    let stop = CancellationToken::new();
    let sim = sim(None, &stop).await;
    let dispenser = || lock(&sim.device("dispenser-lobi").unwrap().state).relays[0];
    assert!(!dispenser(), "the dispenser starts off");
    let port = mosquitto.url.port;
    let (intruder, mut events) =
        AsyncClient::new(MqttOptions::new("intruder", "127.0.0.1", port), 16);
    let planted = Command::new(
        "planted",
        Action::PlugSet {
            plug: "dispenser-lobi".into(),
            on: true,
        },
    );
    let body = serde_json::to_vec(&planted).unwrap();
    let topic = "ronda/v1/dinsos/kantor-utama/cmd";
    intruder
        .publish(topic, QoS::AtLeastOnce, true, body)
        .await
        .unwrap();
    while !matches!(
        events.poll().await.unwrap(),
        Event::Incoming(Packet::PubAck(_))
    ) {}

    let mut server = Commander::connect(port).await;
    crate::common::spawn_sim_agent(
        &sim,
        "dinsos",
        crate::common::broker_config(&mosquitto.url),
        &stop,
    );
    for i in 0..2 {
        let live = server
            .send(&format!("live-{i}"), "stopkontak-tu-2", true)
            .await;
        assert!(live.ok, "{live:?}");
    }
    assert!(
        !dispenser(),
        "the retained command switched the dispenser on"
    );
    stop.cancel();
}
