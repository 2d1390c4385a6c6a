//! `ronda-server demo`: the whole central side plus three simulated offices,
//! on a fresh machine, with nothing to configure. Each office is a
//! `ronda-sim` office (recorders, plugs, a service, its own MQTT broker)
//! watched by a real agent, so the demo shows real probe code at work.
//! bappeda also has two door controllers (a Hikvision terminal at its side
//! gate, a ZKTeco device at its back gate) under the Cilegon one-gate letter.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ronda_agent::outbox::Outbox;
use ronda_agent::AgentConfig;
use ronda_sim::state::Patch;
use ronda_sim::view::Fault;
use ronda_sim::Options;
use ronda_wire::Id;
use tokio_util::sync::CancellationToken;

use crate::config::{BrokerChoice, EmbeddedBroker};
use crate::{start, Running, ServerConfig, ServerError};

pub const OFFICES: [&str; 3] = ["dinkes", "disdukcapil", "bappeda"];
/// The office with door controllers, which the Cilegon letter covers.
const DOOR_OFFICE: &str = "bappeda";
/// Where the simulated controllers' doors are: the two gates the Cilegon
/// letter closes. (device, door place)
const GATES: [(&str, &str); 2] = [
    ("pintu-depan", "side-gate"),
    ("pintu-belakang", "back-gate"),
];

pub struct DemoOptions {
    pub http: SocketAddr,
    pub mqtt: SocketAddr,
    pub interval: Duration,
    /// Move the Kotim letter's window to start here (`None`: keep 2018).
    pub window_start: Option<jiff::Timestamp>,
    /// Shorten every item's grace time to at most this, so alerts show soon.
    pub max_grace: Duration,
}

/// Alerts of one office within this go in one demo email.
const DEMO_GROUP_WAIT: Duration = Duration::from_secs(10);
/// Every camera's picture is looked at this often in the demo (the
/// agent's default is 20 minutes), so a covered lens shows within a minute.
const DEMO_LOOK_EVERY: &str = "15s";
/// A picture the same for this long is frozen in the demo (letters say hours).
const DEMO_FROZEN: Duration = Duration::from_secs(90);

const KOTIM: &str = include_str!("../../letters/kotim-idul-fitri-2018.yaml");
const BASELINE: &str = include_str!("../../letters/baseline-server.yaml");
const CILEGON: &str = include_str!("../../letters/cilegon-satu-pintu-2020.yaml");
const REGISTRY: &str = include_str!("../../examples/offices.yaml");

/// What goes wrong in each demo office, so the demo has something to show:
/// (office, device, change).
fn faults() -> Vec<(&'static str, &'static str, Patch)> {
    use ronda_sim::access::layout::{GUARD, STAFF};
    use ronda_sim::access::DoorAction;
    let entry = |user: &str| Patch {
        door_event: Some(DoorAction::Entry),
        user: Some(user.into()),
        ..Patch::default()
    };
    vec![
        // The guard on duty comes in through the side gate: allowed. A
        // member of staff comes in through the closed back gate: not.
        (DOOR_OFFICE, "pintu-depan", entry(GUARD)),
        (DOOR_OFFICE, "pintu-belakang", entry(STAFF)),
        // The lobby printer left on over the holiday.
        (
            "bappeda",
            "printer-lobi",
            Patch {
                relay_on: Some(true),
                ..Patch::default()
            },
        ),
    ]
    .into_iter()
    .chain([
        // Someone taped over the lobby camera, and the archive camera's
        // picture froze: both still record, neither sees anything.
        ("dinkes", "nvr-depan", view("2", Fault::Cover)),
        ("bappeda", "nvr-depan", view("3", Fault::Freeze)),
    ])
    .chain(
        // Every camera on the road in front of the office goes dark.
        [
            ("nvr-depan", "1"),
            ("cam-gerbang", "101"),
            ("frigate-pos", "depan"),
        ]
        .map(|(device, channel)| {
            (
                "disdukcapil",
                device,
                Patch {
                    channel: Some(channel.into()),
                    online: Some(false),
                    ..Patch::default()
                },
            )
        }),
    )
    .collect()
}

/// A camera's picture fault.
fn view(channel: &str, fault: Fault) -> Patch {
    Patch {
        channel: Some(channel.into()),
        view: Some(fault),
        ..Patch::default()
    }
}

/// The shipped letters and registry, as the demo runs them.
pub fn letters(
    opts: &DemoOptions,
) -> Result<(Vec<ronda_policy::Letter>, ronda_policy::Registry), ServerError> {
    let bad = |e: ronda_common::conf::ConfigError| ServerError::Demo(e.to_string());
    let mut registry =
        ronda_policy::Registry::from_text(Path::new("examples/offices.yaml"), REGISTRY.into())
            .map_err(bad)?;
    let mut letters = Vec::new();
    for (name, text) in [
        ("letters/kotim-idul-fitri-2018.yaml", KOTIM),
        ("letters/baseline-server.yaml", BASELINE),
        ("letters/cilegon-satu-pintu-2020.yaml", CILEGON),
    ] {
        let mut letter =
            ronda_policy::from_text(Path::new(name), text.into(), Some(&registry)).map_err(bad)?;
        if let Some(start) = opts.window_start {
            // On the minute, as a letter's times are: what the simulated
            // devices log in the first second (to the second) is inside.
            let minute = jiff::TimestampRound::new()
                .smallest(jiff::Unit::Minute)
                .mode(jiff::RoundMode::Floor);
            letter = letter.shifted_to(start.round(minute).unwrap_or(start));
        }
        for item in &mut letter.items {
            item.grace = item.grace.min(opts.max_grace);
            // A frozen picture shows within minutes, not the letter's hours.
            if let ronda_policy::Check::CctvView(rule) = &mut item.check {
                rule.frozen_after = rule.frozen_after.min(DEMO_FROZEN);
            }
        }
        letter.notify.group_wait = letter.notify.group_wait.min(DEMO_GROUP_WAIT);
        // Every alert also goes to the IT group's Telegram chat.
        for list in [&mut letter.notify.critical, &mut letter.notify.warning] {
            list.push(format!("telegram:{DEMO_CHAT_NAME}"));
        }
        letters.push(letter);
    }
    registry.telegram.insert(DEMO_CHAT_NAME.into(), DEMO_CHAT);
    Ok((letters, registry))
}

/// Run the demo until `shutdown`. The database lives in a temporary
/// directory that is removed on exit.
pub async fn run(opts: DemoOptions, shutdown: CancellationToken) -> Result<(), ServerError> {
    let dir = tempfile::Builder::new()
        .prefix("ronda-demo-")
        .tempdir()
        .map_err(ServerError::TempDir)?;
    let mut config = ServerConfig::local(dir.path().join("ronda.db"));
    let (letters, registry) = letters(&opts)?;
    config.letters = std::sync::Arc::new(letters);
    config.registry = Some(std::sync::Arc::new(registry));
    let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    config.admin_token = Some(ronda_common::conf::Secret::new(token.clone()).into());
    config.http_listen = free_or_any(opts.http);
    let bot = ronda_sim::telegram::BotApiStandIn::start(DEMO_TOKEN)
        .await
        .map_err(|e| ServerError::Demo(format!("Bot API stand-in: {e}")))?;
    config.mail = Some(demo_mail(
        &dir.path().join("mail"),
        config.http_listen,
        &bot.api_base(),
    )?);
    config.broker = BrokerChoice::Embedded(EmbeddedBroker {
        listen: free_or_any(opts.mqtt),
        ..EmbeddedBroker::default()
    });
    let db = dir.path().join("ronda.db");
    let server = start(config, shutdown.clone()).await?;
    server.ready().await;
    let accounts = demo_accounts(&db)?;
    let (sims, agents) =
        spawn_offices(&server, &db.as_path().into(), opts.interval, &shutdown).await?;
    let joiner = joiner_password(&db)?;
    print_banner(&server, &db, &sims, &token, &joiner, &bot.api_base());
    println!("Accounts (log in at http://{}/login):", server.http_addr);
    for (name, role, password) in &accounts {
        println!("  {name:<20} {role:<14} {password}");
    }
    shutdown.cancelled().await;
    for a in agents {
        let _ = a.await;
    }
    server.wait().await;
    Ok(())
}

/// A simulated office with its real agent for each of [`OFFICES`], with the
/// planted faults. The browser test uses the same offices.
pub async fn spawn_offices(
    server: &Running,
    db: &crate::store::Location,
    interval: Duration,
    shutdown: &CancellationToken,
) -> Result<(Vec<ronda_sim::Sim>, Vec<tokio::task::JoinHandle<()>>), ServerError> {
    let (mut sims, mut tasks) = (Vec::new(), Vec::new());
    for office in OFFICES {
        let layout = ronda_sim::layout::Layout {
            doors: (office == DOOR_OFFICE)
                .then(|| TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()))
                .transpose()
                .map_err(|e| ServerError::Demo(format!("no port for the door listener: {e}")))?,
        };
        let sim = ronda_sim::start(
            ronda_sim::layout::office(&layout),
            Options::default(),
            shutdown.clone(),
        )
        .await
        .map_err(|e| ServerError::Demo(format!("simulated office {office}: {e}")))?;
        for (device, place) in GATES {
            if let Some(d) = sim.device(device) {
                let mut state = ronda_sim::state::lock(&d.state);
                if let Some(door) = state.access.door_mut(1) {
                    door.place = place.into();
                }
            }
        }
        for (_, device, patch) in faults().into_iter().filter(|f| f.0 == office) {
            if let Some(d) = sim.device(device) {
                let mut state = ronda_sim::state::lock(&d.state);
                if let Err(e) = patch.apply(&mut state, jiff::Timestamp::now()) {
                    tracing::warn!(office, device, error = %e, "demo fault not applied");
                }
            }
        }
        let interval = format!("{}ms", interval.as_millis());
        let broker = server.broker_url.to_string();
        let yaml = ronda_sim::agent_config::agent_yaml_looking(
            &sim,
            office,
            "kantor-utama",
            &broker,
            &interval,
            Some(DEMO_LOOK_EVERY),
        );
        let name = PathBuf::from(format!("<demo {office}>"));
        let mut config =
            AgentConfig::from_text(&name, yaml).map_err(|e| ServerError::Demo(e.to_string()))?;
        crate::store::users::mqtt::provision(db, &mut config.broker, &config.office, &config.agent)
            .map_err(|e| ServerError::Demo(format!("MQTT credentials for {office}: {e}")))?;
        let probes =
            ronda_agent::probes(&config, shutdown).map_err(|e| ServerError::Demo(e.to_string()))?;
        let stop = shutdown.clone();
        let outbox = Outbox::memory(config.outbox);
        tasks.push(tokio::spawn(async move {
            if let Err(e) = ronda_agent::run_with(config, probes, outbox, stop).await {
                tracing::error!(office, error = %e, "demo agent stopped");
            }
        }));
        sims.push(sim);
    }
    Ok((sims, tasks))
}

/// The asked-for address if it is free, otherwise any free port, so that the
/// demo starts even where 8080 or 1883 is taken.
/// One account per role, and a head for each office; passwords are new
/// every run and printed once.
fn demo_accounts(db: &Path) -> Result<Vec<(String, String, String)>, ServerError> {
    let conn = crate::store::open(db)?;
    let now = jiff::Timestamp::now().as_millisecond();
    let mut wanted: Vec<(String, &str, Option<&str>)> = vec![
        ("admin".into(), "admin", None),
        ("it".into(), "it", None),
        ("pimpinan".into(), "viewer", None),
    ];
    wanted.extend(
        OFFICES
            .iter()
            .map(|o| (format!("kepala-{o}"), "head", Some(*o))),
    );
    let mut out = Vec::new();
    for (name, role, office) in wanted {
        let bytes = crate::store::users::random_bytes::<6>();
        let password: String =
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>() + "-ronda";
        crate::store::users::add(&conn, &name, role, office, &password, now)
            .map_err(|e| ServerError::Demo(format!("account {name}: {e}")))?;
        let label = office.map_or(role.to_owned(), |o| format!("{role} {o}"));
        out.push((name, label, password));
    }
    Ok(out)
}

/// The demo's Telegram group: its registry name and chat id.
const DEMO_CHAT_NAME: &str = "it-kotim";
const DEMO_CHAT: i64 = -1_000_000_000_001;
const DEMO_TOKEN: &str = "100001:demo-bot-token";

/// The demo sends no email: each message becomes an `.eml` file. Its
/// Telegram messages go to the Bot API stand-in at `api_base`.
fn demo_mail(
    dir: &Path,
    http: SocketAddr,
    api_base: &str,
) -> Result<crate::mail::MailConfig, ServerError> {
    use crate::mail::config::{Lang, MailConfig, TransportConfig};
    use crate::telegram::config::{TelegramConfig, Updates};
    let from = "Ronda Demo <ronda@demo.invalid>"
        .parse()
        .map_err(|e| ServerError::Demo(format!("demo sender address: {e}")))?;
    Ok(MailConfig {
        transport: TransportConfig::Capture(dir.to_owned()),
        from,
        reply_to: None,
        language: Lang::Id,
        dashboard_url: format!("http://{http}"),
        telegram: Some(TelegramConfig {
            token: ronda_common::conf::Secret::new(DEMO_TOKEN).into(),
            api_base: api_base.to_owned(),
            timeout: Duration::from_secs(10),
            updates: Updates::Poll,
        }),
        webhook: None,
    })
}

fn free_or_any(addr: SocketAddr) -> SocketAddr {
    match TcpListener::bind(addr) {
        Ok(_) => addr,
        Err(e) => {
            // A concrete free port, so the links in the demo's emails work.
            let any = TcpListener::bind(SocketAddr::new(addr.ip(), 0)).and_then(|l| l.local_addr());
            let chosen = any.unwrap_or(SocketAddr::new(addr.ip(), 0));
            eprintln!("note: {addr} is not available ({e}); using {chosen} instead");
            chosen
        }
    }
}

/// The credential of the real agent the banner invites (`examples/agent.yaml`).
fn joiner_password(db: &Path) -> Result<String, ServerError> {
    let conn = crate::store::open(db)?;
    let (Ok(office), Ok(agent)) = (Id::new("dinsos"), Id::new("kantor-utama")) else {
        return Err(ServerError::Demo("bad joiner id".into()));
    };
    let now = jiff::Timestamp::now().as_millisecond();
    crate::store::users::mqtt::add(&conn, &office, &agent, now)
        .map_err(|e| ServerError::Demo(format!("MQTT credential for dinsos: {e}")))
}

/// `bot`: the Bot API stand-in's address.
fn print_banner(
    server: &Running,
    db: &Path,
    sims: &[ronda_sim::Sim],
    token: &str,
    joiner: &str,
    bot: &str,
) {
    let http = server.http_addr;
    println!();
    println!(
        "Ronda demo is running with {} simulated offices: {}",
        OFFICES.len(),
        OFFICES.join(", ")
    );
    println!("  overview     http://{http}/   (log in with an account below)");
    println!("  wall view    http://{http}/wall");
    println!("  report       http://{http}/letters/kotim-idul-fitri-2018/report");
    println!("  alerts       http://{http}/alerts");
    println!(
        "  outbox       http://{http}/outbox  (email captured as .eml in {}, never sent)",
        db.with_file_name("mail").display()
    );
    println!(
        "  telegram     {}/  (a Bot API stand-in: what the bot sent to the group `{DEMO_CHAT_NAME}`)",
        bot
    );
    println!("  admin token  {token}  (POST /api/v1/alerts/ID/ack with Authorization: Bearer …)");
    println!("  API          http://{http}/api/v1/agents");
    println!("  metrics      http://{http}/metrics");
    println!("  MQTT broker  {}", server.broker_url);
    println!("  database     {} (removed on exit)", db.display());
    for (office, sim) in OFFICES.iter().zip(sims) {
        println!(
            "  {office:<12} devices: {} (change them: http://{}/devices)",
            sim.devices.len(),
            sim.control
        );
    }
    println!("  planted      bappeda: lobby printer left on (Ronda switches it off); disdukcapil: road cameras dark");
    println!("               dinkes: lobby camera taped over (covered); bappeda: archive camera frozen (after {}s)", DEMO_FROZEN.as_secs());
    println!("               bappeda: staff user 1023 came in through the closed back gate during the closure; the guard (9001) through the side gate");
    println!("  doors        http://{http}/letters/cilegon-satu-pintu-2020/report  and  http://{http}/offices/bappeda#doors");
    println!();
    println!("A real agent joins as one more office (dinsos), with its MQTT credential:");
    println!("  RONDA_MQTT_PASSWORD={joiner} cargo run -p ronda-agent -- run --config examples/agent.yaml");
    println!("Press Ctrl-C to stop.");
}
