//! A whole server on free ports (SQLite file, embedded broker letting
//! anonymous clients in), people logged in over real HTTP, and a test agent
//! on the real broker that reports one camera and answers `view.snapshot`
//! as an agent does (the shapes of `wire/src/command.rs` and
//! `wire/src/report.rs`, Ronda's own documented protocol).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use reqwest::redirect::Policy;
use ronda_wire::{Command, CommandResult, Id, Kind, Snapshot, Topic, ViewStats};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;

use crate::{BrokerChoice, Running, ServerConfig};

pub const PW: &str = "lampu-merah-7";
/// Base64 alphabet only, so it shows as itself in the picture's base64 and
/// in any file that kept it.
pub const MARKER: &str = "PRIVATEFACEMARKER0123456789abcde";
pub const OFFICE: &str = "dinkes";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The picture the test agent sends: a JPEG's first bytes, then the marker.
pub fn jpeg() -> String {
    format!("/9j/{MARKER}")
}

pub struct App {
    pub http: String,
    pub db: PathBuf,
    pub shutdown: CancellationToken,
    pub server: Option<Running>,
    _dir: tempfile::TempDir,
    /// What the test agent was sent, in order.
    pub commands: Arc<Mutex<Vec<Command>>>,
}

impl App {
    pub async fn start() -> App {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ronda.db");
        let mut config = ServerConfig::local(db.clone());
        if let BrokerChoice::Embedded(e) = &mut config.broker {
            e.allow_anonymous = true;
        }
        let secret = ronda_common::conf::Secret::new(ADMIN_TOKEN.to_owned());
        config.admin_token = Some(secret.into());
        let shutdown = CancellationToken::new();
        let server = crate::start(config, shutdown.clone()).await.unwrap();
        server.ready().await;
        let conn = crate::store::open(&db).unwrap();
        for (name, role, office) in [
            ("kepala", "head", Some(OFFICE)),
            ("kepala-b", "head", Some("bappeda")),
            ("it", "it", None),
            ("lihat", "viewer", None),
        ] {
            crate::store::users::add(&conn, name, role, office, PW, 0).unwrap();
        }
        let commands = Arc::default();
        agent(&server, Arc::clone(&commands)).await;
        let app = App {
            http: format!("http://{}", server.http_addr),
            db,
            shutdown,
            server: Some(server),
            _dir: dir,
            commands,
        };
        let reader = crate::store::Reader::open(&app.db).unwrap();
        ronda_testkit::eventually("the camera's report", || async {
            let row = reader.agent(OFFICE.into(), "gw".into()).await.ok()??;
            row.parsed_report().map(drop)
        })
        .await;
        app
    }

    /// Log in as `name`: the session cookie and its CSRF token.
    pub async fn login(&self, name: &str) -> Session {
        let c = client();
        let res = c
            .post(format!("{}/login", self.http))
            .form(&[("name", name), ("password", PW)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{name} logs in");
        let set = res.headers()["set-cookie"].to_str().unwrap();
        let cookie = set.split(';').next().unwrap().to_owned();
        let me: serde_json::Value = c
            .get(format!("{}/api/v1/me", self.http))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let csrf = me["csrf"].as_str().unwrap().to_owned();
        Session {
            http: self.http.clone(),
            cookie,
            csrf,
        }
    }

    /// The audit log's actions and details, oldest first.
    pub fn audit(&self) -> Vec<(String, String)> {
        let conn = crate::store::open(&self.db).unwrap();
        let mut stmt = conn
            .prepare("SELECT action, detail FROM audit ORDER BY id")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    pub fn sent(&self) -> Vec<Command> {
        self.commands.lock().unwrap().clone()
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(s) = self.server.take() {
            s.wait().await;
        }
    }
}

pub struct Session {
    http: String,
    cookie: String,
    pub csrf: String,
}

impl Session {
    /// POST a form to `path` with this session (and its CSRF token unless
    /// the form brings one): status, headers and body.
    pub async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        if !form.iter().any(|(k, _)| *k == "csrf") {
            fields.push(("csrf", &self.csrf));
        }
        let res = client()
            .post(format!("{}{path}", self.http))
            .header("cookie", &self.cookie)
            .form(&fields)
            .send()
            .await
            .unwrap();
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        (status, headers, res.text().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = client()
            .get(format!("{}{path}", self.http))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The one-time token in a snapshot page's pin form.
pub fn token(page: &str) -> String {
    let at = page.find("name=\"token\" value=\"").unwrap() + 20;
    page[at..at + 32].to_owned()
}

fn topic(kind: Kind) -> String {
    Topic::new(Id::new(OFFICE).unwrap(), Id::new("gw").unwrap(), kind).to_string()
}

/// The test agent: reports recorder `nvr` with channel `1`, then answers
/// every `view.snapshot` for it with [`jpeg`], and any other with an error.
async fn agent(server: &Running, commands: Arc<Mutex<Vec<Command>>>) {
    let url = &server.broker_url;
    let mut o = MqttOptions::new("dinkes-gw", url.host.clone(), url.port);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut events) = AsyncClient::new(o, 64);
    client
        .subscribe(topic(Kind::Cmd), QoS::AtLeastOnce)
        .await
        .unwrap();
    let report = serde_json::json!({
        "schema": 1, "office": OFFICE, "agent": "gw", "seq": 1,
        "observed_at": jiff::Timestamp::now(),
        "recorders": [{"id": "nvr", "kind": "hikvision", "reachable": true,
            "channels": [{"id": "1", "name": "Jalan depan", "zone": "front-road"}]}],
    });
    client
        .publish(
            topic(Kind::Report),
            QoS::AtLeastOnce,
            false,
            report.to_string(),
        )
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Ok(e) = events.poll().await {
            let Event::Incoming(Packet::Publish(p)) = e else {
                continue;
            };
            let Ok(cmd) = serde_json::from_slice::<Command>(&p.payload) else {
                continue;
            };
            commands.lock().unwrap().push(cmd.clone());
            let answer = answer(&cmd);
            let body = serde_json::to_vec(&answer).unwrap();
            let c = client.clone();
            tokio::spawn(async move {
                let _ = c
                    .publish(topic(Kind::CmdResult), QoS::AtLeastOnce, false, body)
                    .await;
            });
        }
    });
}

fn answer(cmd: &Command) -> CommandResult {
    match &cmd.action {
        ronda_wire::Action::ViewSnapshot { recorder, channel }
            if recorder == "nvr" && channel == "1" =>
        {
            CommandResult {
                ok: true,
                error: None,
                snapshot: Some(Snapshot {
                    jpeg: jpeg(),
                    stats: stats(),
                }),
                ..CommandResult::refused(&cmd.id, "")
            }
        }
        _ => CommandResult::refused(&cmd.id, "no such camera"),
    }
}

pub fn stats() -> ViewStats {
    ViewStats {
        w: 640,
        h: 360,
        mean: 112,
        contrast: 41,
        entropy: 68,
        dark: 12,
        edges: 87,
        sharp: 310,
        hash: "f0e1d2c3b4a59687".into(),
    }
}
