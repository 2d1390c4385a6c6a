//! Simulated ZKTeco PUSH device: the HTTP client of the protocol, calling
//! the server configured on it (the agent's listener), as
//! docs/vendors/zkteco-push.md describes:
//!
//! 1. the handshake `GET /iclock/cdata?SN=…&options=all…` (§1), whose
//!    options it keeps: `Delay`, `ErrorDelay`, `Realtime`, `TransInterval`,
//!    `TransFlag`, the stamps (`0` sends that table again, §2.5), and
//!    `TimeZone` and `Date`, which it records but does not apply to its
//!    clock (when a device applies them is not confirmed, §5), so that a
//!    clock fault stays until it is cleared;
//! 2. new events at once with `Realtime=1`, otherwise every
//!    `TransInterval` minutes: `table=rtlog` (access firmware) or
//!    `table=ATTLOG`/`OPERLOG` (attendance firmware), in local time on its
//!    own clock and zone;
//! 3. anything not answered `OK` (an error status, another body, no answer)
//!    is sent again after `ErrorDelay`; after no answer at all it shakes
//!    hands again first;
//! 4. `GET /iclock/getrequest?SN=…` every `Delay` seconds as its heartbeat,
//!    answering queued commands on `/iclock/devicecmd`: `CHECK` and `LOG`
//!    are done, everything else (door openings, log clearing, shell) is
//!    answered "not supported" (−1002) and never done.
//!
//! The security dialect's registration (`/iclock/registry`, `/iclock/push`,
//! §3) is not simulated: the doc did not read [SEC] and does not say
//! whether a server may skip it. While the device is set to `hang` it
//! calls nobody; it shakes hands again when it comes back.

pub mod proto;

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::access::Dialect;
use crate::state::{lock, DeviceState, Shared};
use proto::{accepted, Command};

/// Shortest time the device waits for an answer; longer when its
/// protocol second is longer (20 of them).
const MIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Queued commands kept for the control API's view.
const KEEP_COMMANDS: usize = 100;

/// What went wrong with one request.
enum Failure {
    /// No answer at all: shake hands again after the error delay.
    Link,
    /// An answer other than `OK`: send again after the error delay.
    Refused,
}

struct Reply {
    status: u16,
    body: String,
    date: Option<String>,
}

/// The device's settings for one turn, read from its state.
struct View {
    sn: String,
    server: String,
    dialect: Dialect,
    second_ms: u64,
    delay_s: u64,
    error_delay_s: u64,
    silent: bool,
    realtime: bool,
    trans_interval_min: u64,
    tables: Vec<&'static str>,
}

impl View {
    fn read(d: &DeviceState) -> View {
        let p = &d.access.push;
        let opt = |k: &str| p.options.get(k).map(String::as_str);
        let tables = match p.dialect {
            Dialect::Access => vec!["rtlog"],
            Dialect::Attendance => {
                let (att, op) = proto::trans_tables(opt("TransFlag"));
                [("ATTLOG", att), ("OPERLOG", op)]
                    .into_iter()
                    .filter_map(|(t, on)| on.then_some(t))
                    .collect()
            }
        };
        View {
            sn: d.serial.clone(),
            server: p.server.clone(),
            dialect: p.dialect,
            second_ms: p.second_ms.max(1),
            delay_s: p.delay_s,
            error_delay_s: p.error_delay_s,
            silent: d.hang,
            realtime: opt("Realtime").is_none_or(|r| r.trim() != "0"),
            trans_interval_min: opt("TransInterval")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
            tables,
        }
    }

    fn secs(&self, s: u64) -> Duration {
        Duration::from_millis(s.saturating_mul(self.second_ms))
    }
}

/// Run the device until `stop`.
pub async fn run(dev: Shared, stop: CancellationToken) {
    let client = match reqwest::Client::builder()
        .user_agent(proto::USER_AGENT)
        .pool_max_idle_per_host(1)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            let id = lock(&dev).id.clone();
            tracing::error!(device = %id, error = %e, "simulated ZKTeco device cannot build its HTTP client");
            return;
        }
    };
    let now = Instant::now();
    let mut d = Device {
        dev,
        client,
        stop,
        linked: false,
        next_poll: now,
        last_upload: now,
        upload_now: false,
    };
    d.run().await;
}

struct Device {
    dev: Shared,
    client: reqwest::Client,
    stop: CancellationToken,
    linked: bool,
    next_poll: Instant,
    last_upload: Instant,
    /// A `LOG` command asked for an upload now.
    upload_now: bool,
}

impl Device {
    async fn run(&mut self) {
        while !self.stop.is_cancelled() {
            let (v, wake) = {
                let mut d = lock(&self.dev);
                d.access.push.turns += 1;
                (View::read(&d), d.access.wake.clone())
            };
            if v.silent || v.server.is_empty() {
                self.linked = false;
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = self.stop.cancelled() => {}
                }
                continue;
            }
            if let Err(f) = self.step(&v).await {
                if matches!(f, Failure::Link) {
                    self.linked = false;
                }
                self.pause(v.secs(v.error_delay_s)).await;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(self.next_poll) => {}
                _ = wake.notified() => {}
                _ = self.stop.cancelled() => {}
            }
        }
    }

    /// Shake hands if needed, upload what is due, poll if due.
    async fn step(&mut self, v: &View) -> Result<(), Failure> {
        if !self.linked {
            self.handshake(v).await?;
            self.linked = true;
            self.next_poll = Instant::now();
            // Options changed: read them again before going on.
            return Ok(());
        }
        self.upload(v).await?;
        if Instant::now() >= self.next_poll {
            self.poll(v).await?;
            self.next_poll = Instant::now() + v.secs(v.delay_s);
        }
        Ok(())
    }

    async fn pause(&self, d: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.stop.cancelled() => {}
        }
    }

    async fn send(&self, v: &View, path: &str, body: Option<String>) -> Result<Reply, Failure> {
        {
            // A device set silent mid-turn sends nothing more.
            let mut d = lock(&self.dev);
            if d.hang {
                return Err(Failure::Link);
            }
            d.access.push.requests += 1;
        }
        let url = format!("{}{path}", v.server);
        let timeout = v.secs(20).max(MIN_TIMEOUT);
        let req = match body {
            Some(b) => self
                .client
                .post(&url)
                .header("content-type", "text/plain")
                .body(b),
            None => self.client.get(&url),
        };
        let resp = req.timeout(timeout).send().await.map_err(|e| {
            tracing::debug!(url, error = %e.without_url(), "simulated ZKTeco device: no answer");
            Failure::Link
        })?;
        let status = resp.status().as_u16();
        let date = resp
            .headers()
            .get("date")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        let body = read_capped(resp).await;
        Ok(Reply { status, body, date })
    }

    fn refused(&self) -> Failure {
        lock(&self.dev).access.push.refused += 1;
        Failure::Refused
    }

    async fn handshake(&mut self, v: &View) -> Result<(), Failure> {
        let r = self
            .send(v, &proto::handshake_path(&v.sn, v.dialect), None)
            .await?;
        let options = match proto::parse_options(&r.body, &v.sn) {
            Ok(o) if (200..300).contains(&r.status) => o,
            _ => return Err(self.refused()),
        };
        let mut d = lock(&self.dev);
        let p = &mut d.access.push;
        if let Some(s) = options.get("Delay").and_then(|s| proto::seconds(s)) {
            p.delay_s = s;
        }
        if let Some(s) = options.get("ErrorDelay").and_then(|s| proto::seconds(s)) {
            p.error_delay_s = s;
        }
        for table in ["ATTLOG", "OPERLOG"] {
            if options.get(&format!("{table}Stamp")).map(|s| s.trim()) == Some("0") {
                p.acked.insert(table.to_owned(), 0);
            }
        }
        p.options = options;
        p.server_date = r.date;
        p.handshakes += 1;
        Ok(())
    }

    /// Upload every table's records after its last `OK`, in batches.
    async fn upload(&mut self, v: &View) -> Result<(), Failure> {
        let interval = v.secs(v.trans_interval_min.saturating_mul(60));
        let due = v.realtime
            || self.upload_now
            || (v.trans_interval_min > 0 && self.last_upload.elapsed() >= interval);
        if !due {
            return Ok(());
        }
        {
            let mut d = lock(&self.dev);
            let p = &mut d.access.push;
            if std::mem::take(&mut p.resend_all) {
                p.acked.clear();
            }
        }
        for table in &v.tables {
            loop {
                let next = pending(&lock(&self.dev), table);
                let Some((lines, last)) = next else { break };
                let path = proto::upload_path(&v.sn, table, last);
                let r = self.send(v, &path, Some(lines)).await?;
                if !accepted(r.status, &r.body) {
                    return Err(self.refused());
                }
                lock(&self.dev)
                    .access
                    .push
                    .acked
                    .insert((*table).to_owned(), last);
            }
        }
        self.upload_now = false;
        self.last_upload = Instant::now();
        Ok(())
    }

    async fn poll(&mut self, v: &View) -> Result<(), Failure> {
        let r = self
            .send(v, &format!("/iclock/getrequest?SN={}", v.sn), None)
            .await?;
        if !(200..300).contains(&r.status) {
            return Err(self.refused());
        }
        let commands = proto::commands(&r.body);
        if commands.is_empty() {
            return Ok(());
        }
        let results: Vec<String> = commands.iter().map(|c| self.command(c)).collect();
        let path = format!("/iclock/devicecmd?SN={}", v.sn);
        // The result is told once; a lost one is not the device's concern.
        let _ = self.send(v, &path, Some(results.join("\n"))).await;
        Ok(())
    }

    /// Do a queued command (or not) and give its result line.
    fn command(&mut self, c: &Command) -> String {
        {
            let mut d = lock(&self.dev);
            let kept = &mut d.access.push.commands;
            kept.push(format!("C:{}:{}", c.id, c.text));
            let over = kept.len().saturating_sub(KEEP_COMMANDS);
            kept.drain(..over);
        }
        let code = match c.name() {
            "CHECK" => {
                self.linked = false;
                0
            }
            "LOG" => {
                self.upload_now = true;
                0
            }
            _ => -1002,
        };
        format!("ID={}&Return={code}&CMD={}", c.id, c.name())
    }
}

/// The next batch of `table`: lines after its last `OK`, and the serial
/// of the batch's last record.
fn pending(d: &DeviceState, table: &str) -> Option<(String, u64)> {
    let a = &d.access;
    let after = a.push.acked.get(table).copied().unwrap_or(0);
    let batch: Vec<(u64, String)> = a
        .log
        .iter()
        .filter(|e| e.serial > after)
        .filter_map(|e| proto::line(table, e, a, d.offset()).map(|l| (e.serial, l)))
        .take(proto::MAX_BATCH)
        .collect();
    let last = batch.last()?.0;
    let body: String = batch.into_iter().map(|(_, l)| l + "\n").collect();
    Some((body, last))
}

/// The answer's body, at most `MAX_ANSWER` bytes of it.
async fn read_capped(mut resp: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = proto::MAX_ANSWER - buf.len();
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() >= proto::MAX_ANSWER {
            break;
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}
