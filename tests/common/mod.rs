//! Test helpers: a whole server on free ports with its own database, agents
//! that can be stopped cleanly or killed, a real Mosquitto, and polling.

pub mod db;
pub mod mosquitto;
pub mod skip;
pub mod smtp;
pub mod web;
pub mod webdriver;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ronda_agent::AgentConfig;
use ronda_common::link::{BrokerConfig, BrokerUrl, DEFAULT_KEEPALIVE};
use ronda_server::store::Location;
use ronda_server::{BrokerChoice, Running, ServerConfig};
use ronda_wire::Id;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub use db::sql;
pub use mosquitto::{mosquitto, ronda_mosquitto, secure_mosquitto};
pub use ronda_testkit::{eventually, free_port, TestCa};

pub struct TestApp {
    pub server: Option<Running>,
    pub http: String,
    pub broker: BrokerUrl,
    /// The server's database: a SQLite file in `dir`, or PostgreSQL under
    /// `RONDA_TEST_DB=postgres` (see [`db`]).
    pub db: Location,
    pub dir: tempfile::TempDir,
    pub shutdown: CancellationToken,
    pub client: reqwest::Client,
    /// Agents connect to the embedded broker's gate, which needs credentials.
    embedded: bool,
    /// Declared last: a PostgreSQL database is dropped after the server.
    _db: db::TestDb,
}

/// A server with the embedded broker, on free ports, with its own database.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// A server whose config `tweak` may change (e.g. to use an external broker),
/// on the database `RONDA_TEST_DB` asks for.
pub async fn spawn_with(tweak: impl FnOnce(&mut ServerConfig)) -> TestApp {
    spawn_on(db::TestDb::from_env, tweak).await
}

/// A server on a SQLite file whatever `RONDA_TEST_DB` says, for the tests
/// about the file itself.
pub async fn spawn_sqlite(tweak: impl FnOnce(&mut ServerConfig)) -> TestApp {
    spawn_on(db::TestDb::sqlite, tweak).await
}

async fn spawn_on(
    db: impl FnOnce(&std::path::Path) -> db::TestDb,
    tweak: impl FnOnce(&mut ServerConfig),
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let test_db = db(dir.path());
    let mut config = ServerConfig::local(PathBuf::new());
    config.database = test_db.location.clone();
    config.admin_token = Some(ronda_common::conf::Secret::new(ADMIN_TOKEN.to_owned()).into());
    tweak(&mut config);
    let db = config.database.clone();
    let embedded = matches!(config.broker, BrokerChoice::Embedded(_));
    let shutdown = CancellationToken::new();
    let server = ronda_server::start(config, shutdown.clone()).await.unwrap();
    server.ready().await;
    TestApp {
        http: format!("http://{}", server.http_addr),
        broker: server.broker_url.clone(),
        server: Some(server),
        db,
        dir,
        shutdown,
        client: admin_client(),
        embedded,
        _db: test_db,
    }
}

/// The admin token every test server accepts; `TestApp::client` sends it.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

fn admin_client() -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    let v = format!("Bearer {ADMIN_TOKEN}").parse().unwrap();
    h.insert(reqwest::header::AUTHORIZATION, v);
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

/// A server speaking HTTPS on `http.listen` with the test CA's certificate
/// (the files live in the returned folder); `tweak` may change more.
pub async fn spawn_https(
    ca: &TestCa,
    tweak: impl FnOnce(&mut ServerConfig),
) -> (TestApp, tempfile::TempDir) {
    let files = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = ca.server_files(files.path());
    let app = spawn_with(|c| {
        c.http_tls = Some(ronda_server::http::https::TlsFiles {
            cert_file,
            key_file,
        });
        tweak(c);
    })
    .await;
    (app, files)
}

/// Let clients in without credentials, unconfined (tests that play a
/// hostile client on every topic).
pub fn anonymous(c: &mut ServerConfig) {
    if let BrokerChoice::Embedded(e) = &mut c.broker {
        e.allow_anonymous = true;
    }
}

pub fn external(url: &BrokerUrl) -> impl FnOnce(&mut ServerConfig) + '_ {
    move |c| c.broker = BrokerChoice::External(broker_config(url))
}

pub fn broker_config(url: &BrokerUrl) -> BrokerConfig {
    BrokerConfig {
        url: url.clone(),
        username: None,
        password: None,
        ca_file: None,
        keepalive: DEFAULT_KEEPALIVE,
    }
}

impl TestApp {
    /// Where the web side listens (HTTP or HTTPS).
    pub fn http_addr(&self) -> SocketAddr {
        self.server.as_ref().unwrap().http_addr
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.http))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// The body of a page, fetched as the admin.
    pub async fn get_text(&self, path: &str) -> String {
        let resp = self.client.get(format!("{}{path}", self.http)).send();
        resp.await.unwrap().text().await.unwrap()
    }

    pub async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.http);
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Value of one sample in `/metrics`, e.g. `ronda_reports_rejected_total{reason="not_json"}`.
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no sample {sample} in\n{text}"))
    }

    /// Wait until the API shows the agent online (or offline).
    pub async fn wait_online(&self, office: &str, agent: &str, online: bool) {
        let path = format!("/api/v1/agents/{office}/{agent}");
        eventually(&format!("{office}/{agent} online={online}"), || async {
            (self.get_json(&path).await.1["online"] == online).then_some(())
        })
        .await;
    }

    /// Wait until the agent's latest report has at least `seq`; its API row.
    pub async fn wait_report(&self, office: &str, agent: &str, seq: u64) -> serde_json::Value {
        let path = format!("/api/v1/agents/{office}/{agent}");
        eventually(&format!("report {seq} of {office}/{agent}"), || async {
            let (_, v) = self.get_json(&path).await;
            (v["report"]["seq"].as_u64() >= Some(seq)).then_some(v)
        })
        .await
    }

    /// An agent of this server, with its own new MQTT credential.
    pub fn agent_config(&self, office: &str, agent: &str) -> AgentConfig {
        let (office, agent) = (Id::new(office).unwrap(), Id::new(agent).unwrap());
        AgentConfig {
            state_dir: self.dir.path().join(format!("agent-{office}-{agent}")),
            broker: self.credentials(&office, &agent),
            office,
            agent,
            interval: Duration::from_millis(500),
            startup_jitter: Duration::ZERO,
            devices: Default::default(),
            access: Vec::new(),
            access_listen: None,
            outbox: Default::default(),
            pace: Default::default(),
        }
    }

    /// Broker settings with a new credential for `office/agent`.
    pub fn credentials(&self, office: &Id, agent: &Id) -> BrokerConfig {
        let mut broker = broker_config(&self.broker);
        if self.embedded {
            ronda_server::store::users::mqtt::provision(&self.db, &mut broker, office, agent)
                .unwrap();
        }
        broker
    }

    /// Broker settings with a new credential for `office/agent`, by name.
    pub fn credentials_for(&self, office: &str, agent: &str) -> BrokerConfig {
        self.credentials(&Id::new(office).unwrap(), &Id::new(agent).unwrap())
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.wait().await;
        }
    }
}

/// A real agent (real probes, real sequence file) on its own runtime thread.
pub struct AgentHandle {
    stop: CancellationToken,
    kill: Option<oneshot::Sender<Halt>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// `None` kills; a receiver freezes the agent until its sender drops.
type Halt = Option<std::sync::mpsc::Receiver<()>>;

pub fn spawn_agent(config: AgentConfig) -> AgentHandle {
    let stop = CancellationToken::new();
    let (kill, killed) = oneshot::channel::<Halt>();
    let token = stop.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::select! {
                r = ronda_agent::run(config, token) => r.unwrap(),
                signal = killed => if let Ok(Some(thaw)) = signal {
                    // Hang the agent's only thread: no packets, not even
                    // pings, while its connection stays open.
                    let _ = thaw.recv();
                },
            }
        });
        // Dropping the runtime drops every task and socket without an MQTT
        // DISCONNECT: from the broker's side, exactly a crashed process.
    });
    AgentHandle {
        stop,
        kill: Some(kill),
        thread: Some(thread),
    }
}

impl AgentHandle {
    /// SIGTERM-like: the agent says `offline` and disconnects.
    pub fn stop(mut self) {
        self.stop.cancel();
        self.thread.take().unwrap().join().unwrap();
    }

    /// SIGKILL-like: the connection just drops.
    pub fn kill(mut self) {
        let _ = self.kill.take().unwrap().send(None);
        self.thread.take().unwrap().join().unwrap();
    }

    /// SIGSTOP-like: the agent hangs with its connection open. Dropping the
    /// returned guard lets it go and drops its connection.
    pub fn freeze(mut self) -> Frozen {
        let (thaw, frozen) = std::sync::mpsc::channel();
        let _ = self.kill.take().unwrap().send(Some(frozen));
        Frozen { _thaw: thaw }
    }
}

/// Dropping it (the sender) releases a frozen agent.
pub struct Frozen {
    _thaw: std::sync::mpsc::Sender<()>,
}

/// The agent name of every simulated office's real agent.
pub const SIM_AGENT: &str = "kantor-utama";

/// The real agent, on this runtime, watching a simulated office and
/// reporting every second to `broker` (e.g. [`TestApp::credentials_for`],
/// or [`broker_config`] of an open broker), until `stop`.
pub fn spawn_sim_agent(
    sim: &ronda_sim::Sim,
    office: &str,
    broker: BrokerConfig,
    stop: &CancellationToken,
) {
    let url = broker.url.to_string();
    let yaml = ronda_sim::agent_config::agent_yaml(sim, office, SIM_AGENT, &url, "1s");
    let mut config = AgentConfig::from_text(std::path::Path::new("<test>"), yaml).unwrap();
    config.broker = broker;
    let probes = ronda_agent::probes(&config, stop).unwrap();
    let outbox = ronda_agent::outbox::Outbox::memory(config.outbox);
    tokio::spawn(ronda_agent::run_with(config, probes, outbox, stop.clone()));
}

/// A report with no devices: the smallest valid payload.
pub fn bare_report(office: &str, agent: &str, seq: u64) -> ronda_wire::Report {
    ronda_wire::Report {
        schema: ronda_wire::SCHEMA_VERSION,
        office: Id::new(office).unwrap(),
        agent: Id::new(agent).unwrap(),
        seq,
        observed_at: jiff::Timestamp::now(),
        host: None,
        recorders: vec![],
        plugs: vec![],
        services: vec![],
        access: vec![],
        delivery: None,
    }
}

/// The id of the shipped Kotim letter (`letters/kotim-idul-fitri-2018.yaml`).
pub const LETTER: &str = "kotim-idul-fitri-2018";

/// A file of the repository, e.g. `letters/kotim-idul-fitri-2018.yaml`.
pub fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The shipped Kotim letter with its window moved to start at `start`.
pub fn kotim(start: jiff::Timestamp) -> ronda_policy::Letter {
    ronda_policy::load(&repo_file("letters/kotim-idul-fitri-2018.yaml"), None)
        .unwrap()
        .shifted_to(start)
}

/// The Kotim letter in force since an hour ago with no grace times and no
/// mail grouping, so alerts fire (and mail goes) on the first report.
pub fn kotim_now() -> ronda_policy::Letter {
    let mut letter = kotim(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1));
    letter
        .items
        .iter_mut()
        .for_each(|i| i.grace = Duration::ZERO);
    letter.notify.group_wait = Duration::ZERO;
    letter
}

/// Mail kept in a capture folder (no SMTP server), links to
/// `dashboard_url`, and a Telegram bot on the Bot API at `api_base`.
pub fn telegram_mail(
    api_base: String,
    token: &str,
    updates: ronda_server::telegram::config::Updates,
) -> ronda_server::mail::MailConfig {
    use ronda_server::mail::config::{Lang, MailConfig, TransportConfig};
    MailConfig {
        transport: TransportConfig::Capture(tempfile::tempdir().unwrap().keep()),
        from: "Ronda <ronda@kotim.example.go.id>".parse().unwrap(),
        reply_to: None,
        language: Lang::Id,
        dashboard_url: "https://ronda.example.go.id".into(),
        telegram: Some(ronda_server::telegram::config::TelegramConfig {
            token: ronda_common::conf::Secret::new(token).into(),
            api_base,
            timeout: Duration::from_secs(5),
            updates,
        }),
        webhook: None,
    }
}

/// The shipped office registry (`examples/offices.yaml`).
pub fn registry() -> ronda_policy::Registry {
    ronda_policy::Registry::load(&repo_file("examples/offices.yaml")).unwrap()
}

/// A simulated office (the default layout) on 127.0.0.1 until `stop`.
pub async fn sim_office(stop: &CancellationToken) -> ronda_sim::Sim {
    ronda_sim::start(
        ronda_sim::layout::default_office(),
        ronda_sim::Options::default(),
        stop.clone(),
    )
    .await
    .unwrap()
}

/// A simulated office (the default layout) whose SIPD service answers 503,
/// so that its alert fires as soon as a letter with no grace is in force.
pub async fn sim_office_sipd_down(stop: &CancellationToken) -> ronda_sim::Sim {
    let sim = sim_office(stop).await;
    let down = ronda_sim::state::Patch {
        status: Some(503),
        ..ronda_sim::state::Patch::default()
    };
    down.apply(
        &mut ronda_sim::state::lock(&sim.device("sipd").unwrap().state),
        jiff::Timestamp::now(),
    )
    .unwrap();
    sim
}

/// What an agent's outbox says once the agent has stopped: the highest seq
/// it ever handed out (kept in `meta` even when every record is gone) and
/// the records it still holds.
pub fn outbox_state(state_dir: &std::path::Path) -> (u64, u64) {
    let db = rusqlite::Connection::open(state_dir.join("outbox.db")).unwrap();
    db.query_row(
        "SELECT max(coalesce((SELECT value FROM meta WHERE key = 'last_seq'), 0),
                    coalesce((SELECT max(seq) FROM records), 0)),
                (SELECT count(*) FROM records)",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
    .unwrap()
}
