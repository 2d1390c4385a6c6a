//! Scenario 4, alert latency: from a violation's grace time running out to
//! its delivery on each channel, over 1,000 alerts. 1,000 offices each
//! report a dispenser left on, 100 a second, through MQTT to a real server
//! process; the item's grace is 2 s and the letter groups nothing
//! (`group_wait: 0s`). Each alert goes by email, to a Telegram group and to
//! a webhook. Grace expiry comes from the server's database (the alert's
//! start plus the grace); delivery is the SMTP server's 250 (matched by
//! Message-ID through the outbox), the Bot API stand-in's accepted
//! `sendMessage` (matched by the alert's link, `/alerts/<id>`, in the text;
//! stand-in written from https://core.telegram.org/bots/api) and the webhook
//! receiver's verified 2xx (matched by `X-Ronda-Delivery`, the outbox row's
//! id; receiver written from docs/webhooks.md).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use ronda_server::mail::channels;
use ronda_sim::telegram::BotApiStandIn;
use ronda_testkit::webhook::Receiver;
use tokio_util::sync::CancellationToken;

use super::results::{percentile, Sample};
use super::server::{Broker, Server, Setup, Telegram, Webhook, CHANNEL_NAME};
// The same real SMTP server that the mail tests use.
use super::{BenchError, Ctx};
use crate::fleet::{self, Fleet, Spec};
use ronda_server::store::Location;
use ronda_testkit::Smtp;

pub const SCENARIO: &str = "4. Alert latency";

/// Which resource limits this scenario and what would raise it.
pub const LIMIT: &str = "Limit: none reached at 100 alerts a second. The engine acts on a grace time at the moment it runs out (not at the next one-second tick), and each channel's loop (email, Telegram, webhook, side by side) hands a message on as soon as the alert's change is committed, so each latency is the commit and one exchange on loopback: an SMTP transaction, a `sendMessage` call, a signed POST.";

const GRACE_S: i64 = 2;

/// A bot token shaped as @BotFather gives one: digits, a colon, a key.
const BOT_TOKEN: &str = "7000000001:bench-bot-key_0123456789";

/// The Telegram group the alerts go to (groups have negative ids).
const CHAT_ID: i64 = -1_001_000_000_004;

/// The webhook's signing key: 32 bytes or more, as the server requires.
const WEBHOOK_KEY: &str = "bench-webhook-signing-key-0123456789abcdef";

fn letter() -> String {
    format!(
        "letter: {{id: bench, number: '1', title: Bench, issuer: Bench, issued: 2018-06-08}}\n\
         timezone: Asia/Jakarta\nwindow: always\noffices: all\n\
         keep_on: [server, network, cctv-recorder, cctv-monitor]\n\
         checklist:\n  - id: off\n    text: {{id: Listrik diputus, en: Power cut}}\n    check: {{kind: power.off}}\n    for: {GRACE_S}s\n    severity: critical\n\
         notify:\n  critical: [it, telegram:{CHANNEL_NAME}, webhook:{CHANNEL_NAME}]\n  group_wait: 0s\n"
    )
}

/// The three places alerts are delivered to, all in this process.
struct Sinks {
    smtp: Smtp,
    bot: BotApiStandIn,
    hook: Receiver,
}

impl Sinks {
    async fn start() -> Result<Sinks, BenchError> {
        let fail = |what: &str, e: std::io::Error| BenchError::Scenario(format!("{what}: {e}"));
        Ok(Sinks {
            smtp: Smtp::start(),
            bot: BotApiStandIn::start(BOT_TOKEN)
                .await
                .map_err(|e| fail("Bot API stand-in", e))?,
            hook: Receiver::start(WEBHOOK_KEY.as_bytes())
                .await
                .map_err(|e| fail("webhook receiver", e))?,
        })
    }

    /// Whether every channel has at least `n` deliveries.
    fn all_have(&self, n: usize) -> bool {
        self.smtp.received().len() >= n
            && self.bot.sent().len() >= n
            && self.hook.accepted().len() >= n
    }
}

pub async fn run(ctx: &Ctx, run: usize) -> Result<Vec<Sample>, BenchError> {
    let dir = ctx.run_dir("alert", run)?;
    let offices = if ctx.quick { 200 } else { 1000 };
    let mut spec = Spec {
        broker: ronda_common::link::BrokerUrl {
            host: "127.0.0.1".into(),
            port: 1,
            tls: false,
        },
        offices,
        agents_per_office: 1,
        devices: 10,
        interval: Duration::ZERO,
        reports: Some(1),
        keepalive: Duration::from_secs(30),
        connect_per_s: 100,
        office_prefix: "a".into(),
        faults: fleet::Faults {
            plugs_on: 1.0,
            ..fleet::Faults::default()
        },
        window: None,
        credentials: None,
    };
    let agents = fleet::agents(&spec);
    let ids: Vec<String> = agents.iter().map(|a| a.office.to_string()).collect();
    let sinks = Sinks::start().await?;
    let (api_base, url) = (sinks.bot.api_base(), sinks.hook.url());
    let setup = Setup {
        offices: &ids,
        broker: Broker::Embedded,
        agents: &agents,
        smtp: Some(sinks.smtp.addr),
        letter: Some(letter()),
        telegram: Some(Telegram {
            api_base: &api_base,
            token: BOT_TOKEN,
            chat_id: CHAT_ID,
        }),
        webhook: Some(Webhook {
            url: &url,
            secret: WEBHOOK_KEY,
        }),
    };
    let server = Server::start(ctx, &dir, setup).await?;
    spec.broker = server.agents_url.clone();
    spec.credentials = Some(server.credentials.clone());
    let stop = CancellationToken::new();
    let fleet = Fleet::start(spec, stop.clone());
    let deadline = Instant::now() + Duration::from_secs(offices as u64 / 100 + 60);
    while !sinks.all_have(offices) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.cancel();
    fleet.join().await;
    server.proc.stop().await;
    let mail = by_message_id(
        sinks
            .smtp
            .received()
            .iter()
            .filter_map(|m| Some((m.header("Message-ID")?, m.at?))),
        &expiries(&server.db, channels::EMAIL)?,
    );
    let webhook = by_message_id(
        sinks
            .hook
            .accepted()
            .into_iter()
            .map(|d| (d.id, d.received)),
        &expiries(&server.db, channels::WEBHOOK)?,
    );
    let telegram = by_alert_link(&sinks.bot, &alert_expiries(&server.db)?);
    let mut samples = Vec::new();
    for (ms, delivered, to) in [
        (mail, "alerts mailed", "SMTP 250"),
        (
            telegram,
            "alerts delivered by Telegram",
            "Telegram sendMessage",
        ),
        (webhook, "alerts delivered by webhook", "webhook 2xx"),
    ] {
        samples.extend(latencies(ms, offices, delivered, to));
    }
    Ok(samples)
}

/// The count, p50, p99 and max of one channel's latencies (ms).
fn latencies(mut ms: Vec<f64>, offices: usize, delivered: &str, to: &str) -> Vec<Sample> {
    if ms.len() < offices {
        eprintln!(
            "bench: {delivered}: {} of {offices} matched to their grace expiry",
            ms.len()
        );
    }
    ms.sort_by(f64::total_cmp);
    let mut out = vec![Sample::new(SCENARIO, delivered, "alerts", ms.len() as f64)];
    for (name, q) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
        let metric = format!("grace expiry to {to}, {name}");
        out.push(Sample::new(SCENARIO, metric, "ms", percentile(&ms, q)));
    }
    out
}

/// Milliseconds from grace expiry to arrival, for every delivery whose id
/// (Message-ID or `X-Ronda-Delivery`) is an outbox row about one alert.
fn by_message_id(
    got: impl Iterator<Item = (String, Timestamp)>,
    expiry: &HashMap<String, Timestamp>,
) -> Vec<f64> {
    got.filter_map(|(id, at)| Some(ms_since(*expiry.get(&id)?, at)))
        .collect()
}

/// Milliseconds from grace expiry to `sendMessage`, for every alert linked
/// in a message to the bench's chat; an alert's first message counts.
fn by_alert_link(bot: &BotApiStandIn, expiry: &HashMap<i64, Timestamp>) -> Vec<f64> {
    let mut first: HashMap<i64, Timestamp> = HashMap::new();
    for sent in bot.sent().iter().filter(|s| s.chat_id == CHAT_ID) {
        for id in alert_links(&sent.text) {
            first
                .entry(id)
                .and_modify(|at| *at = (*at).min(sent.at))
                .or_insert(sent.at);
        }
    }
    first
        .into_iter()
        .filter_map(|(id, at)| Some(ms_since(*expiry.get(&id)?, at)))
        .collect()
}

/// The alert ids of the `/alerts/<id>` links in a message.
fn alert_links(text: &str) -> Vec<i64> {
    text.split("/alerts/")
        .skip(1)
        .filter_map(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            rest[..digits].parse().ok()
        })
        .collect()
}

fn ms_since(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64() * 1000.0
}

/// Grace expiry of each alert, by the message id of the `channel` outbox
/// row about it alone (the Message-ID of a mail, the delivery id of a
/// webhook POST).
fn expiries(db: &Location, channel: &str) -> Result<HashMap<String, Timestamp>, BenchError> {
    let fail = |e: String| BenchError::Scenario(format!("{db}: {e}"));
    let conn = db.open_read_only().map_err(|e| fail(e.to_string()))?;
    let rows = conn
        .query_rows(
            "SELECT o.message_id, a.started_ms FROM outbox o JOIN alerts a ON o.alert_ids = '[' || a.id || ']' WHERE o.channel = ?1",
            [channel],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? + GRACE_S * 1000)),
        )
        .map_err(|e| fail(e.to_string()))?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, ms)| Some((id, Timestamp::from_millisecond(ms).ok()?)))
        .collect())
}

/// Grace expiry of every alert, by its id.
fn alert_expiries(db: &Location) -> Result<HashMap<i64, Timestamp>, BenchError> {
    let fail = |e: String| BenchError::Scenario(format!("{db}: {e}"));
    let conn = db.open_read_only().map_err(|e| fail(e.to_string()))?;
    let rows = conn
        .query_rows("SELECT id, started_ms FROM alerts", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? + GRACE_S * 1000))
        })
        .map_err(|e| fail(e.to_string()))?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, ms)| Some((id, Timestamp::from_millisecond(ms).ok()?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_give_alert_ids() {
        let text = "<b>[KRITIS] a1</b>\n• <a href=\"http://127.0.0.1:9/alerts/17\">buka</a>\n\
                    • <a href=\"http://127.0.0.1:9/alerts/203\">buka</a> /alerts/x";
        assert_eq!(alert_links(text), vec![17, 203]);
        assert!(alert_links("no link").is_empty());
    }
}
