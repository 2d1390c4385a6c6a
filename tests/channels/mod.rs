//! Telegram and webhooks beside email, through the one outbox, on a clock
//! the test holds: a Bot API stand-in (`ronda_sim::telegram`, real HTTP)
//! that can answer 429, 502, 403 or hang, and a webhook receiver
//! (`ronda_testkit::webhook`) that checks every signature as
//! docs/webhooks.md tells a receiver to.

mod telegram;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use crate::common::db::{self, TestDb};
use crate::common::registry;
use crate::common::smtp::Smtp;
use crate::policy_harness::{kotim, mins, Central, Office};
use jiff::Timestamp;
use ronda_common::conf::Secret;
use ronda_server::mail::config::Lang;
use ronda_server::mail::{Context, Mailer};
use ronda_server::store::Location;
use ronda_server::telegram::config::{TelegramConfig, Updates};
use ronda_server::webhook::config::WebhookConfig;

pub const TOKEN: &str = "123456:AAE-test-token-of-the-bot";
pub const KEY: &str = "a webhook key of thirty-two bytes or more";
/// The IT group of dinkes, in the registry as `telegram:it-grup`.
pub const CHAT: i64 = -1_001_234_567_890;
const TIMEOUT: Duration = Duration::from_secs(1);

/// A simulated office under the Kotim letter whose warnings also go to a
/// Telegram group and a webhook, with a mailer on the test's clock.
pub struct World {
    pub office: Office,
    pub central: Central,
    pub t0: Timestamp,
    pub db: Location,
    pub smtp: Smtp,
    cx: Context,
    _dir: tempfile::TempDir,
    _db: TestDb,
}

impl World {
    pub async fn start(telegram: Option<&str>, webhook: Option<&str>) -> World {
        let mut registry = registry();
        registry.contacts.remove("leadership");
        registry.telegram.insert("it-grup".into(), CHAT);
        if let Some(url) = webhook {
            registry.webhooks.insert("wa".into(), url.into());
        }
        let registry = Arc::new(registry);
        let t0 = Timestamp::now();
        let mut letter = kotim(t0 - mins(60));
        if telegram.is_some() {
            letter.notify.warning.push("telegram:it-grup".into());
        }
        if webhook.is_some() {
            letter.notify.warning.push("webhook:wa".into());
        }
        let office = Office::start().await;
        let dir = tempfile::tempdir().unwrap();
        let test_db = TestDb::from_env(dir.path());
        let db = test_db.location.clone();
        let central = Central::with_registry(&db, vec![letter.clone()], registry.clone());
        let smtp = Smtp::start();
        let mut config = crate::common::smtp::mail_config(smtp.addr, Lang::Id, TIMEOUT);
        config.telegram = telegram.map(|api_base| TelegramConfig {
            token: Secret::new(TOKEN).into(),
            api_base: api_base.into(),
            timeout: TIMEOUT,
            updates: Updates::Poll,
        });
        config.webhook = webhook.map(|_| WebhookConfig {
            key: Secret::new(KEY).into(),
            timeout: TIMEOUT,
        });
        let cx = Context {
            letters: Arc::new(vec![letter]),
            registry: Some(registry),
            retired: Default::default(),
            config,
        };
        World {
            office,
            central,
            t0,
            db,
            smtp,
            cx,
            _dir: dir,
            _db: test_db,
        }
    }

    pub fn mailer(&self) -> Mailer {
        Mailer::open(&self.db, self.context()).unwrap()
    }

    pub fn context(&self) -> Context {
        self.cx.clone()
    }

    /// The printer is left on until its `power.off` warning fires (30 min).
    pub async fn printer_fires(&mut self) {
        self.office.relay("printer-lobi", true);
        let on = self.office.observe().await;
        self.central.report(&on, self.t0).await;
        self.central.report(&on, self.t0 + mins(30)).await;
    }

    /// `(channel, kind, state, attempts, last_error)` of every outbox row.
    pub fn outbox(&self) -> Vec<Row> {
        let conn = db::open(&self.db);
        let mut stmt = conn
            .prepare("SELECT channel, kind, state, attempts, last_error, next_attempt_ms FROM outbox ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| {
            Ok(Row {
                channel: r.get(0)?,
                kind: r.get(1)?,
                state: r.get(2)?,
                attempts: r.get(3)?,
                error: r.get(4)?,
                next_ms: r.get(5)?,
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// The outbox row of `channel` (there is one in these tests).
    pub fn row(&self, channel: &str) -> Row {
        let rows: Vec<Row> = self
            .outbox()
            .into_iter()
            .filter(|r| r.channel == channel)
            .collect();
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows.into_iter().next().unwrap()
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub channel: String,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub next_ms: i64,
}

pub fn at(t: Timestamp, m: i64) -> Timestamp {
    t + mins(m)
}
