//! Test helpers: a whole server on free ports with its own database, agents
//! that can be stopped cleanly or killed, a real Mosquitto, and polling.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod smtp;
pub mod web;
pub mod webdriver;

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ronda_agent::AgentConfig;
use ronda_common::link::{BrokerConfig, BrokerUrl, DEFAULT_KEEPALIVE};
use ronda_server::{BrokerChoice, Running, ServerConfig};
use ronda_wire::Id;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub server: Option<Running>,
    pub http: String,
    pub broker: BrokerUrl,
    pub db: PathBuf,
    pub dir: tempfile::TempDir,
    pub shutdown: CancellationToken,
    pub client: reqwest::Client,
    /// Agents connect to the embedded broker's gate, which needs credentials.
    embedded: bool,
}

/// A server with the embedded broker, on free ports, with its own database.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// A server whose config `tweak` may change (e.g. to use an external broker).
pub async fn spawn_with(tweak: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ronda.db");
    let mut config = ServerConfig::local(db.clone());
    config.admin_token = Some(ronda_common::conf::Secret::new(ADMIN_TOKEN.to_owned()).into());
    tweak(&mut config);
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

    /// The real agent watching a simulated office, reporting every second
    /// to this server.
    pub fn spawn_sim_agent(&self, sim: &ronda_sim::Sim, office: &str, stop: &CancellationToken) {
        let credentials =
            self.credentials(&Id::new(office).unwrap(), &Id::new("kantor-utama").unwrap());
        spawn_sim_agent_with(sim, office, credentials, stop);
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
        Frozen(thaw)
    }
}

/// Dropping it (the sender) releases a frozen agent.
pub struct Frozen(std::sync::mpsc::Sender<()>);

/// Poll `check` until it yields a value; fail after 20 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A real Mosquitto on a free port, stopped on drop.
pub struct Mosquitto {
    child: Child,
    binary: PathBuf,
    conf: PathBuf,
    pub url: BrokerUrl,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    /// SIGKILL: whatever it held in memory is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start again on the same port with the same settings.
    pub fn restart(&mut self) {
        self.child = run_mosquitto(&self.binary, &self.conf, self.url.port);
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start Mosquitto, or return None (skip) when it is not installed, unless
/// `RONDA_REQUIRE_MOSQUITTO=1`, where a missing Mosquitto fails the test.
pub fn mosquitto() -> Option<Mosquitto> {
    start_mosquitto(None, "")
}

/// A Mosquitto that speaks only TLS (certificate from `ca`) and only to the
/// given users.
pub fn secure_mosquitto(ca: &TestCa, users: &[(&str, &str)]) -> Option<Mosquitto> {
    start_mosquitto(Some((ca, users)), "")
}

/// [`secure_mosquitto`] with the identity settings and ACL shipped in
/// `examples/mosquitto/`, taken from those files as they are. They follow
/// the `listener` line, as in the example: some are per listener.
pub fn ronda_mosquitto(ca: &TestCa, users: &[(&str, &str)]) -> Option<Mosquitto> {
    let example = std::fs::read_to_string(repo_file("examples/mosquitto/mosquitto.conf")).unwrap();
    let mut settings: String = example
        .lines()
        .filter(|l| {
            [
                "per_listener_settings",
                "allow_anonymous",
                "use_username_as_clientid",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        settings.lines().count(),
        3,
        "examples/mosquitto/mosquitto.conf changed"
    );
    settings.push_str(&format!(
        "acl_file {}\n",
        repo_file("examples/mosquitto/ronda.acl").display()
    ));
    start_mosquitto(Some((ca, users)), &settings)
}

fn start_mosquitto(
    secure: Option<(&TestCa, &[(&str, &str)])>,
    settings: &str,
) -> Option<Mosquitto> {
    let binary = [
        "/usr/sbin/mosquitto",
        "/usr/local/sbin/mosquitto",
        "/usr/bin/mosquitto",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    let Some(binary) = binary else {
        assert!(
            std::env::var("RONDA_REQUIRE_MOSQUITTO").as_deref() != Ok("1"),
            "RONDA_REQUIRE_MOSQUITTO=1 but mosquitto is not installed (apt-get install mosquitto)"
        );
        eprintln!("SKIPPED: mosquitto is not installed");
        return None;
    };
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    // `user root`: as root, Mosquitto would otherwise switch to a user that
    // cannot read the files in our private temporary folder.
    let mut conf = format!(
        "listener {port} 127.0.0.1\n{settings}user root\npersistence false\nmax_queued_messages 100000\n"
    );
    match secure {
        None => conf.push_str("allow_anonymous true\n"),
        Some((ca, users)) => {
            let (cert, key) = ca.server_files(dir.path());
            let passwd = dir.path().join("passwd");
            std::fs::write(&passwd, "").unwrap();
            for (user, password) in users {
                let ok = Command::new("mosquitto_passwd")
                    .args(["-b", passwd.to_str().unwrap(), user, password])
                    .status()
                    .unwrap();
                assert!(ok.success(), "mosquitto_passwd failed");
            }
            conf.push_str(&format!(
                "allow_anonymous false\npassword_file {}\ncertfile {}\nkeyfile {}\n",
                passwd.display(),
                cert.display(),
                key.display()
            ));
        }
    }
    let conf_path = dir.path().join("mosquitto.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = run_mosquitto(&binary, &conf_path, port);
    Some(Mosquitto {
        child,
        binary,
        conf: conf_path,
        url: BrokerUrl {
            host: "127.0.0.1".into(),
            port,
            tls: secure.is_some(),
        },
        _dir: dir,
    })
}

fn run_mosquitto(binary: &std::path::Path, conf: &std::path::Path, port: u16) -> Child {
    let child = Command::new(binary)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "mosquitto did not start listening on {addr}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

/// A throwaway certificate authority and a server certificate for 127.0.0.1.
pub struct TestCa {
    pub ca_pem: String,
    server_pem: String,
    server_key: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        TestCa {
            ca_pem: ca.pem(),
            server_pem: server.pem(),
            server_key: key.serialize_pem(),
        }
    }

    /// Write the CA certificate where a client can read it.
    pub fn write_ca(&self, dir: &std::path::Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }

    pub fn server_files(&self, dir: &std::path::Path) -> (PathBuf, PathBuf) {
        let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
        std::fs::write(&cert, &self.server_pem).unwrap();
        std::fs::write(&key, &self.server_key).unwrap();
        (cert, key)
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real agent, on this runtime, watching a simulated office and
/// reporting every second to `broker`, until `stop`.
pub fn spawn_sim_agent(sim: &ronda_sim::Sim, office: &str, broker: &str, stop: &CancellationToken) {
    let url = BrokerUrl::parse(broker).unwrap();
    spawn_sim_agent_with(sim, office, broker_config(&url), stop);
}

fn spawn_sim_agent_with(
    sim: &ronda_sim::Sim,
    office: &str,
    broker: BrokerConfig,
    stop: &CancellationToken,
) {
    let url = broker.url.to_string();
    let yaml = ronda_sim::agent_config::agent_yaml(sim, office, "kantor-utama", &url, "1s");
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
        delivery: None,
    }
}

/// A file of the repository, e.g. `policies/kotim-idul-fitri-2018.yaml`.
pub fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The shipped Kotim letter with its window moved to start at `start`.
pub fn kotim(start: jiff::Timestamp) -> ronda_policy::Letter {
    ronda_policy::load(&repo_file("policies/kotim-idul-fitri-2018.yaml"), None)
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
