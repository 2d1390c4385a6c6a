//! A real `ronda-server` process for a scenario: its config, registry and
//! letter written into the run folder, agents' credentials in its database,
//! and its `/metrics` read over HTTP.
//!
//! The `telegram:` and `webhook:` sections and registry entries follow the
//! README's "Telegram and webhooks" and docs/webhooks.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ronda_common::link::BrokerUrl;
use ronda_server::store::Location;

use super::procs::Proc;
use super::{BenchError, Ctx};
use crate::fleet::AgentIds;

/// The broker the server uses.
pub enum Broker {
    /// Its own embedded broker (behind the gate).
    Embedded,
    /// A Mosquitto at this URL; the server logs in as `ronda-server`.
    External { url: BrokerUrl, password: String },
}

pub struct Setup<'a> {
    pub offices: &'a [String],
    pub broker: Broker,
    /// Agents to give credentials for the embedded broker.
    pub agents: &'a [AgentIds],
    /// Where alerts are mailed, if anywhere.
    pub smtp: Option<SocketAddr>,
    /// A letter to hold the offices to instead of the Kotim letter.
    pub letter: Option<String>,
    /// A Bot API that alerts also go to, as `telegram:bench`.
    pub telegram: Option<Telegram<'a>>,
    /// A receiver that alerts are also posted to, as `webhook:bench`.
    pub webhook: Option<Webhook<'a>>,
}

/// The registry name of the bench's Telegram chat and of its webhook, for
/// a letter's `notify` (`telegram:bench`, `webhook:bench`).
pub const CHANNEL_NAME: &str = "bench";

/// A Telegram bot: where its Bot API is, its token, and the chat registered
/// as [`CHANNEL_NAME`]. Updates are off: the bench only sends.
pub struct Telegram<'a> {
    pub api_base: &'a str,
    pub token: &'a str,
    pub chat_id: i64,
}

/// A webhook registered as [`CHANNEL_NAME`], and the key that signs it
/// (32 bytes or more).
pub struct Webhook<'a> {
    pub url: &'a str,
    pub secret: &'a str,
}

pub struct Server {
    pub proc: Proc,
    pub http: SocketAddr,
    /// Where agents connect (the embedded broker, or the external one).
    pub agents_url: BrokerUrl,
    /// Its database: a SQLite file in the run folder, or PostgreSQL.
    pub db: Location,
    pub token: String,
    /// Passwords of the agents' credentials, by username.
    pub credentials: Arc<HashMap<String, String>>,
    client: reqwest::Client,
}

const TOKEN: &str = "bench-admin-token-0123456789";

impl Server {
    /// A server on a SQLite file in `dir`.
    pub async fn start(ctx: &Ctx, dir: &Path, setup: Setup<'_>) -> Result<Server, BenchError> {
        let db = dir.join("ronda.db");
        let yaml = format!("database:\n  path: {}\n", db.display());
        Server::start_on(ctx, dir, setup, Location::File(db), &yaml).await
    }

    /// A server on `db`, which `db_yaml` (the config's `database:` section) names.
    pub async fn start_on(
        ctx: &Ctx,
        dir: &Path,
        setup: Setup<'_>,
        db: Location,
        db_yaml: &str,
    ) -> Result<Server, BenchError> {
        let http = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let (broker_yaml, agents_url) = match &setup.broker {
            Broker::Embedded => {
                let port = free_port()?;
                let yaml = format!("broker:\n  embedded:\n    listen: 127.0.0.1:{port}\n    max_connections: 12000\n    allow_anonymous: false\n");
                (
                    yaml,
                    BrokerUrl {
                        host: "127.0.0.1".into(),
                        port,
                        tls: false,
                    },
                )
            }
            Broker::External { url, password } => {
                let yaml = format!("broker:\n  external:\n    url: mqtt://{}:{}\n    username: ronda-server\n    password: {password}\n", url.host, url.port);
                (yaml, url.clone())
            }
        };
        write_letters(dir, setup.letter.as_deref())?;
        write_registry(dir, &setup)?;
        let mail = setup.smtp.map_or(String::new(), |a| {
            format!("mail:\n  from: ronda@bench.example.go.id\n  dashboard_url: http://{http}\n  smtp:\n    host: {}\n    port: {}\n    tls: none\n", a.ip(), a.port())
        });
        let channels = channels_yaml(&setup);
        let config = format!(
            "http:\n  listen: {http}\n{broker_yaml}{db_yaml}policies: letters\noffices: offices.yaml\napi:\n  admin_token: {TOKEN}\n{mail}{channels}"
        );
        let config_path = dir.join("server.yaml");
        std::fs::write(&config_path, config).map_err(|e| BenchError::io(&config_path, e))?;
        let credentials = match setup.broker {
            Broker::Embedded => Arc::new(provision(&db, setup.agents)?),
            Broker::External { .. } => Arc::new(HashMap::new()),
        };
        let proc = spawn_bin(
            ctx,
            "ronda-server",
            &["run", "--config", &path_str(&config_path)],
            &dir.join("server.log"),
        )?;
        let server = Server {
            proc,
            http,
            agents_url,
            db,
            token: TOKEN.to_owned(),
            credentials,
            client: reqwest::Client::new(),
        };
        server.wait_healthy(dir).await?;
        Ok(server)
    }

    async fn wait_healthy(&self, dir: &Path) -> Result<(), BenchError> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let ok = self
                .client
                .get(format!("http://{}/healthz", self.http))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(BenchError::Scenario(format!(
            "ronda-server did not become healthy in 30 s; see {}",
            dir.join("server.log").display()
        )))
    }

    /// One counter or gauge from `/metrics` (summed over its labels).
    pub async fn metric(&self, name: &str) -> Result<f64, BenchError> {
        let text = self
            .client
            .get(format!("http://{}/metrics", self.http))
            .send()
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum())
    }

    /// GET a page or API path with the admin token, whole body read;
    /// returns the status, the time taken and the body's size.
    pub async fn get_sized(&self, path: &str) -> Result<(u16, Duration, usize), BenchError> {
        let started = Instant::now();
        let response = self
            .client
            .get(format!("http://{}{path}", self.http))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status().as_u16();
        let size = response.bytes().await?.len();
        Ok((status, started.elapsed(), size))
    }

    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, BenchError> {
        Ok(self
            .client
            .get(format!("http://{}{path}", self.http))
            .bearer_auth(&self.token)
            .send()
            .await?
            .json()
            .await?)
    }
}

/// Start a Ronda release binary, its output in `log`.
pub fn spawn_bin(ctx: &Ctx, name: &str, args: &[&str], log: &Path) -> Result<Proc, BenchError> {
    Proc::spawn(name, &ctx.binary(name)?, args, log)
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

pub fn free_port() -> Result<u16, BenchError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| BenchError::io(Path::new("127.0.0.1:0"), e))?;
    let port = l
        .local_addr()
        .map_err(|e| BenchError::io(Path::new("127.0.0.1:0"), e))?
        .port();
    Ok(port)
}

/// The Kotim letter, its window moved to cover today so that every report
/// is evaluated against every item (outside the window nothing would be).
fn write_letters(dir: &Path, letter: Option<&str>) -> Result<(), BenchError> {
    let source = crate::repo_file("letters/kotim-idul-fitri-2018.yaml");
    let text = match letter {
        Some(t) => t.to_owned(),
        None => std::fs::read_to_string(&source).map_err(|e| BenchError::io(&source, e))?,
    };
    let today = jiff::Zoned::now().date();
    let (start, end) = (
        today.yesterday().unwrap_or(today),
        today.tomorrow().unwrap_or(today),
    );
    let text = text
        .replace("start: 2018-06-11 00:00", &format!("start: {start} 00:00"))
        .replace("end: 2018-06-21 07:30", &format!("end: {end} 23:00"))
        .replace(
            "deadline: 2018-06-10 17:00",
            &format!("deadline: {start} 00:00"),
        );
    let letters = dir.join("letters");
    std::fs::create_dir_all(&letters).map_err(|e| BenchError::io(&letters, e))?;
    let path = letters.join("kotim.yaml");
    std::fs::write(&path, text).map_err(|e| BenchError::io(&path, e))
}

/// server.yaml's `telegram:` and `webhook:` sections, when set up. The
/// secrets are inline: the file lives only in the run folder.
fn channels_yaml(setup: &Setup<'_>) -> String {
    let mut yaml = String::new();
    if let Some(t) = &setup.telegram {
        yaml += &format!(
            "telegram:\n  token: '{}'\n  api_base: '{}'\n  updates: 'off'\n",
            t.token, t.api_base
        );
    }
    if let Some(w) = &setup.webhook {
        yaml += &format!("webhook:\n  secret: '{}'\n", w.secret);
    }
    yaml
}

fn write_registry(dir: &Path, setup: &Setup<'_>) -> Result<(), BenchError> {
    // The letter names the `diskominfo` contact list and a roster for `dinkes`.
    let mut text = String::from("region:\n  name: Bench\n  timezone: Asia/Jakarta\ncontacts:\n  diskominfo: [command-center@diskominfo.example.go.id]\n");
    if let Some(t) = &setup.telegram {
        text += &format!("telegram:\n  {CHANNEL_NAME}: {}\n", t.chat_id);
    }
    if let Some(w) = &setup.webhook {
        text += &format!("webhooks:\n  {CHANNEL_NAME}: '{}'\n", w.url);
    }
    text += "offices:\n";
    for o in setup.offices.iter().map(String::as_str).chain(["dinkes"]) {
        text += &format!("  - id: {o}\n    name: Kantor {o}\n    head: {{name: Kepala {o}, email: kepala@{o}.example.go.id}}\n    it:\n      - {{name: IT {o}, email: it@{o}.example.go.id}}\n");
    }
    let path = dir.join("offices.yaml");
    std::fs::write(&path, text).map_err(|e| BenchError::io(&path, e))
}

/// Credentials for every agent, in one transaction of the server's database.
fn provision(db: &Location, agents: &[AgentIds]) -> Result<HashMap<String, String>, BenchError> {
    let fail = |e: String| BenchError::Scenario(format!("credentials in {db}: {e}"));
    let conn = db.open().map_err(|e| fail(e.to_string()))?;
    let tx = conn
        .unchecked_transaction()
        .map_err(|e| fail(e.to_string()))?;
    let now = jiff::Timestamp::now().as_millisecond();
    let mut out = HashMap::with_capacity(agents.len());
    for a in agents {
        let password = ronda_server::store::users::mqtt::add(&tx, &a.office, &a.agent, now)
            .map_err(|e| fail(e.to_string()))?;
        out.insert(a.username(), password);
    }
    tx.commit().map_err(|e| fail(e.to_string()))?;
    Ok(out)
}
