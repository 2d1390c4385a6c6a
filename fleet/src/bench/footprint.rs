//! Scenario 1, agent footprint: the real `ronda-agent` probing ten devices
//! of a simulated office every 30 s, beside Prometheus `node_exporter` and
//! `zabbix_agentd` on their default settings, all in the same run. Resident
//! memory after 60 s, CPU over the next 120 s, the cost of one probe round
//! (one scrape, one get), and the stripped binaries.
//!
//! The agent reports through the simulator's own (open, embedded) MQTT
//! broker. A subscriber in this process plays the server's part: it counts
//! the reports and acknowledges each one, as the server does, so that the
//! agent's outbox is emptied and nothing is sent twice. A run in which the
//! agent reported nothing fails: an agent doing nothing costs nothing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::procs::{cpu_seconds, ensure_packages, rss_bytes, stripped_size, Proc};
use super::results::{median, Sample};
use super::server::{free_port, path_str};
use super::{BenchError, Ctx};

pub const SCENARIO: &str = "1. Agent footprint";

/// Which resource limits this scenario and what would raise it.
pub const LIMIT: &str = "";

pub const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";
pub const ZABBIX_AGENTD: &str = "/usr/sbin/zabbix_agentd";

/// Devices the agent probes: the "ten devices every 30 s".
const DEVICES: usize = 10;
/// Device kinds to keep, one of each, in this order: recorders and plugs of
/// every vendor before anything else.
const KINDS: [&str; 13] = [
    "hikvision",
    "dahua",
    "onvif",
    "rtsp",
    "frigate",
    "tasmota",
    "shelly-gen1",
    "shelly-rpc",
    "tasmota-mqtt",
    "zigbee2mqtt",
    "shelly-rpc-mqtt",
    "folder",
    "service",
];
/// Scrapes whose cost is averaged.
const REQUESTS: u32 = 20;
/// Gets whose cost is averaged: one costs well under a clock tick (10 ms),
/// so twenty would mostly read as zero.
const GETS: u32 = 200;
/// `ronda-agent probe` runs whose CPU is averaged.
const PROBES: u32 = 5;
/// Typical passive checks of a Zabbix template, asked in turn.
const ZABBIX_KEYS: [&str; 4] = [
    "system.cpu.load[all,avg1]",
    "vfs.fs.size[/,free]",
    "proc.num[]",
    "net.if.in[lo]",
];

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn sample(metric: &str, unit: &'static str, value: f64) -> Sample {
    Sample::new(SCENARIO, metric, unit, value)
}

fn fail(text: impl Into<String>) -> BenchError {
    BenchError::Scenario(text.into())
}

pub async fn run(ctx: &Ctx, run: usize) -> Result<Vec<Sample>, BenchError> {
    let dir = ctx.run_dir("footprint", run)?;
    // Quick runs only try the scenario out: a 30 s interval would leave the
    // 20 s window without a single round, so they probe every 5 s.
    let (settle, window, interval) = if ctx.quick {
        (Duration::from_secs(10), Duration::from_secs(20), "5s")
    } else {
        (Duration::from_secs(60), Duration::from_secs(120), "30s")
    };
    let agent_bin = ctx.binary("ronda-agent")?;

    let sim_yaml = dir.join("sim-agent.yaml");
    let sim = Proc::spawn(
        "ronda-sim",
        &ctx.binary("ronda-sim")?,
        &["--any-port", "--write-config", &path_str(&sim_yaml)],
        &dir.join("sim.log"),
    )?;
    let result = measure(&dir, &agent_bin, &sim_yaml, settle, window, interval).await;
    sim.stop().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    dir: &Path,
    agent_bin: &Path,
    sim_yaml: &Path,
    settle: Duration,
    window: Duration,
    interval: &str,
) -> Result<Vec<Sample>, BenchError> {
    let written = wait_for_config(sim_yaml, &dir.join("sim.log")).await?;
    let office_broker = local_broker(&written)?;
    let (yaml, kept) = trim_config(&written, &office_broker, &dir.join("state"), interval)?;
    let config = dir.join("agent.yaml");
    std::fs::write(&config, &yaml).map_err(|e| BenchError::io(&config, e))?;
    check_config(&config, &yaml)?;
    eprintln!("bench: footprint: the agent probes {}", kept.join(", "));

    let listener = Listener::start(office_broker).await?;
    let node_exporter = start_node_exporter(dir).await;
    let zabbix = start_zabbix(dir).await;
    let config_arg = path_str(&config);
    let mut agent = Proc::spawn(
        "ronda-agent",
        agent_bin,
        &["run", "--config", &config_arg],
        &dir.join("agent.log"),
    )?;
    let started = Instant::now();

    tokio::time::sleep_until((started + settle).into()).await;
    alive(&mut agent, &dir.join("agent.log"))?;
    let agent_rss = agent.rss_bytes()?;
    let ne_rss = node_exporter.as_ref().map(|p| p.rss_bytes()).transpose()?;
    let zb_rss = zabbix.as_ref().map(|z| tree_rss(z.pid()?)).transpose()?;

    let from = Instant::now();
    let agent_cpu0 = agent.cpu_seconds()?;
    let ne_cpu0 = node_exporter
        .as_ref()
        .map(|p| p.cpu_seconds())
        .transpose()?;
    let zb_cpu0 = zabbix.as_ref().map(|z| tree_cpu(z.pid()?)).transpose()?;
    tokio::time::sleep(window).await;
    alive(&mut agent, &dir.join("agent.log"))?;
    let agent_cpu = agent.cpu_seconds()? - agent_cpu0;
    let ne_cpu = match (&node_exporter, ne_cpu0) {
        (Some(p), Some(c0)) => Some(p.cpu_seconds()? - c0),
        _ => None,
    };
    let zb_cpu = match (&zabbix, zb_cpu0) {
        (Some(z), Some(c0)) => Some(tree_cpu(z.pid()?)? - c0),
        _ => None,
    };
    let to = Instant::now();
    let reports = listener.count_between(from, to);
    // The probe command below uses the running agent's client id on the
    // office broker; the running agent goes first so neither disturbs the other.
    agent.stop().await;
    listener.stop();
    if reports == 0 {
        return Err(fail(format!(
            "ronda-agent published no report in the {} s window; see {}",
            window.as_secs(),
            dir.join("agent.log").display()
        )));
    }

    let window_s = window.as_secs_f64();
    let mut out = vec![sample("ronda-agent RSS after 60 s", "MB", mb(agent_rss))];
    if let Some(r) = ne_rss {
        out.push(sample("node_exporter RSS after 60 s", "MB", mb(r)));
    }
    if let Some(r) = zb_rss {
        out.push(sample("zabbix_agentd RSS after 60 s", "MB", mb(r)));
    }
    if let Some(r) = ne_rss {
        out.push(sample(
            "ronda-agent RSS / node_exporter RSS",
            "ratio",
            agent_rss as f64 / r as f64,
        ));
    }
    out.push(sample("ronda-agent CPU over 120 s", "s", agent_cpu));
    if let Some(c) = ne_cpu {
        out.push(sample("node_exporter CPU over 120 s", "s", c));
    }
    if let Some(c) = zb_cpu {
        out.push(sample("zabbix_agentd CPU over 120 s", "s", c));
    }
    out.push(sample(
        "ronda-agent CPU, % of one core",
        "%",
        agent_cpu / window_s * 100.0,
    ));
    out.push(sample(
        "ronda-agent reports in the window",
        "reports",
        reports as f64,
    ));
    // The steady-state cost of a round in the running agent: everything it
    // spent in the window (keepalives included) over the rounds it made.
    out.push(sample(
        "ronda-agent CPU per round while running",
        "ms",
        agent_cpu / reports as f64 * 1e3,
    ));

    let (round_ms, round_cpu_ms) = probe_round(agent_bin, &config, dir).await?;
    out.push(sample("ronda-agent one probe round", "ms", round_ms));
    out.push(sample(
        "ronda-agent one probe round CPU",
        "ms",
        round_cpu_ms,
    ));
    if let Some(ne) = &node_exporter {
        let (wall, cpu) = scrapes(ne).await?;
        out.push(sample("node_exporter one scrape", "ms", wall));
        out.push(sample("node_exporter one scrape CPU", "ms", cpu));
    }
    if let Some(z) = &zabbix {
        let (wall, cpu) = gets(z).await?;
        out.push(sample("zabbix_agentd one get", "ms", wall));
        out.push(sample("zabbix_agentd one get CPU", "ms", cpu));
    }

    out.push(sample(
        "ronda-agent stripped binary",
        "MB",
        mb(stripped_size(agent_bin, dir)?),
    ));
    if node_exporter.is_some() {
        let size = stripped_size(Path::new(NODE_EXPORTER), dir)?;
        out.push(sample("node_exporter stripped binary", "MB", mb(size)));
    }
    if zabbix.is_some() {
        let size = stripped_size(Path::new(ZABBIX_AGENTD), dir)?;
        out.push(sample("zabbix_agentd stripped binary", "MB", mb(size)));
    }
    if let Some(p) = node_exporter {
        p.proc.stop().await;
    }
    if let Some(z) = zabbix {
        z.proc.stop().await;
    }
    Ok(out)
}

fn alive(proc: &mut Proc, log: &Path) -> Result<(), BenchError> {
    match proc.child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(status)) => Err(fail(format!(
            "{} exited early ({status}); see {}",
            proc.name,
            log.display()
        ))),
        Err(e) => Err(BenchError::io(log, e)),
    }
}

// ---------------------------------------------------------------------------
// The agent's config: the simulator's, cut down to ten devices.

/// The simulator writes its config once it runs and then says so.
async fn wait_for_config(path: &Path, log: &Path) -> Result<String, BenchError> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let said = std::fs::read_to_string(log).unwrap_or_default();
        if said.contains("agent config") {
            return std::fs::read_to_string(path).map_err(|e| BenchError::io(path, e));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(fail(format!(
        "ronda-sim wrote no agent config within 30 s; see {}",
        log.display()
    )))
}

/// The simulator's own broker, from `local_broker:` in the written config.
fn local_broker(yaml: &str) -> Result<SocketAddr, BenchError> {
    let mut lines = yaml.lines().skip_while(|l| l.trim_end() != "local_broker:");
    lines
        .nth(1)
        .and_then(|l| l.trim().strip_prefix("url: mqtt://"))
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| fail("the simulator's config names no local_broker url"))
}

/// One device of the written config: its section, id, kind and lines.
struct Item {
    id: String,
    kind: String,
    text: String,
}

/// Keep one device of each kind in [`KINDS`] order until there are ten;
/// report to the simulator's broker every `interval`, with the outbox in
/// `state_dir`. Returns the config and the devices kept.
fn trim_config(
    yaml: &str,
    broker: &SocketAddr,
    state_dir: &Path,
    interval: &str,
) -> Result<(String, Vec<String>), BenchError> {
    let mut head = String::new();
    let mut items: Vec<(String, Item)> = Vec::new();
    let mut section: Option<String> = None;
    let mut skipping = false;
    for line in yaml.lines() {
        if !line.starts_with(' ') {
            let key = line.split(':').next().unwrap_or_default().to_owned();
            skipping = matches!(key.as_str(), "interval" | "state_dir" | "broker");
            section = matches!(key.as_str(), "recorders" | "plugs" | "services").then_some(key);
            if section.is_none() && !skipping {
                head += line;
                head.push('\n');
            }
            continue;
        }
        match &section {
            None if skipping => {}
            None => {
                head += line;
                head.push('\n');
            }
            Some(s) => {
                if let Some(id) = line.strip_prefix("  - id: ") {
                    let kind = if s == "services" { "service" } else { "" };
                    items.push((
                        s.clone(),
                        Item {
                            id: id.trim().to_owned(),
                            kind: kind.to_owned(),
                            text: String::new(),
                        },
                    ));
                }
                let Some((_, item)) = items.last_mut() else {
                    continue;
                };
                if let Some(kind) = line.strip_prefix("    kind: ") {
                    kind.trim().clone_into(&mut item.kind);
                }
                item.text += line;
                item.text.push('\n');
            }
        }
    }
    let mut chosen: Vec<usize> = Vec::new();
    for kind in KINDS {
        if chosen.len() == DEVICES {
            break;
        }
        if let Some(i) = items.iter().position(|(_, it)| it.kind == kind) {
            chosen.push(i);
        }
    }
    // A layout with fewer kinds: more recorders and plugs of the same kinds.
    for (i, (s, _)) in items.iter().enumerate() {
        if chosen.len() == DEVICES {
            break;
        }
        if s != "services" && !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    if chosen.len() < DEVICES {
        return Err(fail(format!(
            "the simulated office has {} devices; the scenario needs {DEVICES}",
            items.len()
        )));
    }
    chosen.sort_unstable();
    let mut out = format!(
        "{head}interval: {interval}\nstate_dir: {}\nbroker:\n  url: mqtt://{broker}\n",
        state_dir.display()
    );
    for s in ["recorders", "plugs", "services"] {
        let of: Vec<&Item> = chosen
            .iter()
            .map(|i| &items[*i])
            .filter(|(sec, _)| sec == s)
            .map(|(_, it)| it)
            .collect();
        if !of.is_empty() {
            out += &format!("{s}:\n");
            for it in of {
                out += &it.text;
            }
        }
    }
    let kept = chosen
        .iter()
        .map(|i| format!("{} ({})", items[*i].1.id, items[*i].1.kind))
        .collect();
    Ok((out, kept))
}

/// The agent's own checks, and exactly ten devices.
fn check_config(path: &Path, yaml: &str) -> Result<(), BenchError> {
    let c = ronda_agent::AgentConfig::from_text(path, yaml.to_owned())
        .map_err(|e| fail(format!("the trimmed agent config is refused: {e}")))?;
    let d = &c.devices;
    let n = d.recorders.len() + d.plugs.len() + d.services.len();
    if n != DEVICES {
        return Err(fail(format!(
            "the trimmed agent config has {n} devices, not {DEVICES}"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The server's part: count reports and acknowledge them.

struct Listener {
    seen: Arc<Mutex<Vec<Instant>>>,
    task: JoinHandle<()>,
}

impl Listener {
    async fn start(broker: SocketAddr) -> Result<Listener, BenchError> {
        let id = format!("bench-footprint-{:08x}", fastrand::u32(..));
        let mut o = MqttOptions::new(id, broker.ip().to_string(), broker.port());
        o.set_keep_alive(Duration::from_secs(30));
        o.set_max_packet_size(2 << 20, 2 << 20);
        let (client, mut eventloop) = AsyncClient::new(o, 64);
        client
            .subscribe("ronda/v1/+/+/report", QoS::AtLeastOnce)
            .await
            .map_err(|e| fail(format!("cannot subscribe to reports: {e}")))?;
        let subscribed = async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(fail(format!("report subscriber: {e}"))),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .map_err(|_| fail(format!("no SUBACK from the broker at {broker} in 10 s")))??;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            let mut through: HashMap<String, u64> = HashMap::new();
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if let Ok(mut s) = record.lock() {
                            s.push(Instant::now());
                        }
                        let seq = serde_json::from_slice::<serde_json::Value>(&p.payload)
                            .ok()
                            .and_then(|v| v.get("seq")?.as_u64());
                        let (Some(seq), Some(base)) = (seq, p.topic.strip_suffix("/report")) else {
                            continue;
                        };
                        let top = through.entry(base.to_owned()).or_default();
                        *top = (*top).max(seq);
                        let ack = ronda_wire::Ack { through: *top }.encode();
                        let _ =
                            client.try_publish(format!("{base}/ack"), QoS::AtLeastOnce, false, ack);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        Ok(Listener { seen, task })
    }

    fn count_between(&self, from: Instant, to: Instant) -> usize {
        self.seen
            .lock()
            .map(|s| s.iter().filter(|t| **t >= from && **t <= to).count())
            .unwrap_or(0)
    }

    fn stop(self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------
// Cost of one round, one scrape, one get.

/// `ronda-agent probe` run [`PROBES`] times. Wall: the device round as the
/// agent times it itself (its `probe round done … took_ms` debug line), so
/// that start-up and the 200 ms wait for a first CPU reading are left out;
/// the whole command's wall time when that line is missing. CPU: the whole
/// command, start-up included (config, HTTP clients, office broker connect),
/// so an upper bound. It comes from the `cutime`/`cstime` that Linux adds to
/// this process when a child is reaped (`/proc/self/stat`): rusage of the
/// child without `unsafe` `wait4` or a `/usr/bin/time` that may be missing.
/// Nothing else exits meanwhile, so the difference is the probes' own.
async fn probe_round(agent: &Path, config: &Path, dir: &Path) -> Result<(f64, f64), BenchError> {
    let mut walls = Vec::new();
    let before = children_cpu_ticks()?;
    for i in 0..PROBES {
        let started = Instant::now();
        let out = tokio::process::Command::new(agent)
            .args(["probe", "--config", &path_str(config)])
            .env("RUST_LOG", "warn,ronda_agent::source=debug")
            .env("NO_COLOR", "1")
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| BenchError::io(agent, e))?;
        let whole = started.elapsed().as_secs_f64() * 1e3;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if i == 0 {
            let log = dir.join("probe.log");
            std::fs::write(&log, stderr.as_bytes()).map_err(|e| BenchError::io(&log, e))?;
        }
        if !out.status.success() {
            return Err(fail(format!(
                "ronda-agent probe failed ({}): {}",
                out.status,
                stderr.trim()
            )));
        }
        check_probe_report(&out.stdout)?;
        walls.push(took_ms(&stderr).unwrap_or(whole));
    }
    let ticks = children_cpu_ticks()? - before;
    let cpu_ms = ticks as f64 / clock_ticks() * 1e3 / f64::from(PROBES);
    Ok((median(&walls), cpu_ms))
}

/// Every device in the report, and each reachable; a device the agent
/// cannot reach costs a timeout, not a round.
fn check_probe_report(stdout: &[u8]) -> Result<(), BenchError> {
    let v: serde_json::Value = serde_json::from_slice(stdout)
        .map_err(|e| fail(format!("ronda-agent probe printed no report: {e}")))?;
    let mut n = 0;
    let mut unreachable = Vec::new();
    for section in ["recorders", "plugs", "services"] {
        for d in v
            .get(section)
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
        {
            n += 1;
            if d.get("reachable").and_then(|r| r.as_bool()) == Some(false) {
                unreachable.push(
                    d.get("id")
                        .and_then(|i| i.as_str())
                        .unwrap_or("?")
                        .to_owned(),
                );
            }
        }
    }
    if n != DEVICES {
        return Err(fail(format!(
            "ronda-agent probe reported {n} devices, not {DEVICES}"
        )));
    }
    if !unreachable.is_empty() {
        return Err(fail(format!(
            "ronda-agent probe could not reach {}",
            unreachable.join(", ")
        )));
    }
    Ok(())
}

/// `took_ms=N` from the agent's `probe round done` line.
fn took_ms(log: &str) -> Option<f64> {
    let line = log.lines().find(|l| l.contains("probe round done"))?;
    let rest = &line[line.find("took_ms=")? + "took_ms=".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// CPU ticks of this process's reaped children (`cutime` + `cstime`).
fn children_cpu_ticks() -> Result<u64, BenchError> {
    let path = Path::new("/proc/self/stat");
    let text = std::fs::read_to_string(path).map_err(|e| BenchError::io(path, e))?;
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    // cutime and cstime are fields 16 and 17 of the line, 14 and 15 here.
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (tick(13), tick(14)) {
        (Some(u), Some(s)) => Ok(u + s),
        _ => Err(fail("no cutime/cstime in /proc/self/stat")),
    }
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// One scrape of /metrics: median wall time, and the exporter's CPU over
/// [`REQUESTS`] scrapes after one that warms it up.
async fn scrapes(ne: &Program) -> Result<(f64, f64), BenchError> {
    let url = format!("http://127.0.0.1:{}/metrics", ne.port);
    let http = reqwest::Client::new();
    let scrape = || async {
        let body = http
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        Ok::<usize, BenchError>(body.len())
    };
    scrape().await?;
    let cpu0 = ne.proc.cpu_seconds()?;
    let mut walls = Vec::new();
    for _ in 0..REQUESTS {
        let started = Instant::now();
        if scrape().await? < 1000 {
            return Err(fail("node_exporter answered /metrics with almost nothing"));
        }
        walls.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let cpu = ne.proc.cpu_seconds()? - cpu0;
    Ok((median(&walls), cpu * 1e3 / f64::from(REQUESTS)))
}

/// One passive check: median wall time, and the CPU of every zabbix_agentd
/// process over [`GETS`] gets of typical keys, after one that warms up.
async fn gets(z: &Program) -> Result<(f64, f64), BenchError> {
    zabbix_get(z.port, ZABBIX_KEYS[0]).await?;
    let cpu0 = tree_cpu(z.pid()?)?;
    let mut walls = Vec::new();
    for i in 0..GETS as usize {
        let key = ZABBIX_KEYS[i % ZABBIX_KEYS.len()];
        let started = Instant::now();
        let value = zabbix_get(z.port, key).await?;
        walls.push(started.elapsed().as_secs_f64() * 1e3);
        if value.starts_with("ZBX_NOTSUPPORTED") {
            eprintln!("bench: footprint: zabbix_agentd does not support {key}: {value}");
        }
    }
    let cpu = tree_cpu(z.pid()?)? - cpu0;
    Ok((median(&walls), cpu * 1e3 / f64::from(GETS)))
}

/// Zabbix's passive check protocol: `ZBXD\x01`, the length as 8 bytes
/// little-endian, the key; the answer comes back framed the same way and
/// the agent closes the connection.
async fn zabbix_get(port: u16, key: &str) -> Result<String, BenchError> {
    let io = |e| BenchError::io(Path::new("zabbix_agentd"), e);
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(io)?;
        s.set_nodelay(true).map_err(io)?;
        let mut req = b"ZBXD\x01".to_vec();
        req.extend_from_slice(&(key.len() as u64).to_le_bytes());
        req.extend_from_slice(key.as_bytes());
        s.write_all(&req).await.map_err(io)?;
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).await.map_err(io)?;
        match reply.strip_prefix(b"ZBXD\x01") {
            Some(rest) if rest.len() >= 8 => Ok(String::from_utf8_lossy(&rest[8..]).into_owned()),
            _ => Err(fail(format!(
                "zabbix_agentd gave no framed answer to {key}: {:?}",
                String::from_utf8_lossy(&reply)
            ))),
        }
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| fail(format!("zabbix_agentd did not answer {key} in 5 s")))?
}

// ---------------------------------------------------------------------------
// node_exporter and zabbix_agentd, on their defaults but on loopback only.

struct Program {
    proc: Proc,
    port: u16,
}

impl Program {
    fn pid(&self) -> Result<u32, BenchError> {
        self.proc.pid()
    }

    fn rss_bytes(&self) -> Result<u64, BenchError> {
        self.proc.rss_bytes()
    }

    fn cpu_seconds(&self) -> Result<f64, BenchError> {
        self.proc.cpu_seconds()
    }
}

/// A program that cannot be had leaves out its own figures only.
async fn start_node_exporter(dir: &Path) -> Option<Program> {
    let started = async {
        if !ensure_packages(&[("prometheus-node-exporter", NODE_EXPORTER)]) {
            return Err(fail("prometheus-node-exporter could not be installed"));
        }
        let port = free_port()?;
        let listen = format!("--web.listen-address=127.0.0.1:{port}");
        let log = dir.join("node_exporter.log");
        let mut proc = Proc::spawn("node_exporter", Path::new(NODE_EXPORTER), &[&listen], &log)?;
        wait_listening(&mut proc, port, &log).await?;
        Ok::<_, BenchError>(Program { proc, port })
    };
    started
        .await
        .map_err(|e| eprintln!("bench: footprint: skipping node_exporter: {e}"))
        .ok()
}

/// zabbix_agentd in the foreground with a minimal config: only what keeps
/// it on loopback, in the run folder and under this user differs from its
/// built-in defaults (three listeners, a collector, no active checks).
async fn start_zabbix(dir: &Path) -> Option<Program> {
    let started = async {
        if !ensure_packages(&[("zabbix-agent", ZABBIX_AGENTD)]) {
            return Err(fail("zabbix-agent could not be installed"));
        }
        let port = zabbix_port()?;
        let mut conf = format!(
            "Server=127.0.0.1\nListenIP=127.0.0.1\nListenPort={port}\nPidFile={}\nLogFile={}\n",
            path_str(&dir.join("zabbix_agentd.pid")),
            path_str(&dir.join("zabbix_agentd.log"))
        );
        if is_root() {
            conf += "AllowRoot=1\n";
        }
        let conf_path = dir.join("zabbix_agentd.conf");
        std::fs::write(&conf_path, conf).map_err(|e| BenchError::io(&conf_path, e))?;
        let log = dir.join("zabbix_agentd.out");
        let mut proc = Proc::spawn(
            "zabbix_agentd",
            Path::new(ZABBIX_AGENTD),
            &["-f", "-c", &path_str(&conf_path)],
            &log,
        )?;
        wait_listening(&mut proc, port, &dir.join("zabbix_agentd.log")).await?;
        Ok::<_, BenchError>(Program { proc, port })
    };
    started
        .await
        .map_err(|e| eprintln!("bench: footprint: skipping zabbix_agentd: {e}"))
        .ok()
}

/// A free port zabbix_agentd accepts: it refuses `ListenPort` above 32767.
fn zabbix_port() -> Result<u16, BenchError> {
    for _ in 0..100 {
        let port = fastrand::u16(10_000..=32_767);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(fail("no free port from 10000 to 32767 for zabbix_agentd"))
}

/// Wait for a listening socket in `/proc/net/tcp` rather than connecting:
/// a probe connection would be work the program then measures.
async fn wait_listening(proc: &mut Proc, port: u16, log: &Path) -> Result<(), BenchError> {
    let local = format!("0100007F:{port:04X}");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        alive(proc, log)?;
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        let listening = table.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A")
        });
        if listening {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(fail(format!(
        "{} did not listen on 127.0.0.1:{port} in 10 s; see {}",
        proc.name,
        log.display()
    )))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|u| u.split_whitespace().next().map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// `pid` and every process below it: zabbix_agentd forks its listeners and
/// collector. Their RSS is summed, which counts the pages they share after
/// the fork once per process, as `ps` and `top` users would add it up.
fn tree(pid: u32) -> Vec<u32> {
    let mut parent: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat: PathBuf = entry.path().join("stat");
        let ppid = std::fs::read_to_string(stat).ok().and_then(|t| {
            t.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<u32>().ok())
        });
        if let Some(pp) = ppid {
            parent.push((p, pp));
        }
    }
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let of = all[i];
        all.extend(parent.iter().filter(|(_, pp)| *pp == of).map(|(p, _)| *p));
        i += 1;
    }
    all
}

fn tree_rss(pid: u32) -> Result<u64, BenchError> {
    tree(pid).into_iter().map(rss_bytes).sum()
}

fn tree_cpu(pid: u32) -> Result<f64, BenchError> {
    tree(pid).into_iter().map(cpu_seconds).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A written config with two devices of every kind but `service`.
    fn written() -> String {
        let mut y = "# comment\noffice: o\nagent: a\ninterval: 30s\nbroker:\n  url: mqtt://127.0.0.1:1883\nlocal_broker:\n  url: mqtt://127.0.0.1:4000\nprotected_classes: [server]\n".to_owned();
        let (recorders, plugs) = KINDS[..12].split_at(6);
        y += "recorders:\n";
        for (i, k) in recorders.iter().chain(recorders).enumerate() {
            y += &format!("  - id: r{i}\n    kind: {k}\n    channels:\n      - id: \"1\"\n");
        }
        y += "plugs:\n";
        for (i, k) in plugs.iter().chain(plugs).enumerate() {
            y += &format!(
                "  - id: p{i}\n    kind: {k}\n    class: pc\n    url: http://127.0.0.1:{i}\n"
            );
        }
        y + "services:\n  - id: s\n    url: http://127.0.0.1:4/\n"
    }

    #[test]
    fn the_written_config_is_cut_to_one_device_of_each_kind() {
        let y = written();
        let broker = local_broker(&y).unwrap();
        assert_eq!(broker.port(), 4000);
        let (out, kept) = trim_config(&y, &broker, Path::new("/s"), "5s").unwrap();
        assert_eq!(kept.len(), DEVICES, "{kept:?}");
        for k in &KINDS[..DEVICES] {
            assert!(
                kept.iter().any(|d| d.ends_with(&format!(" ({k})"))),
                "{k} in {kept:?}"
            );
        }
        assert!(
            out.contains("interval: 5s\nstate_dir: /s\nbroker:\n  url: mqtt://127.0.0.1:4000\n"),
            "{out}"
        );
        assert_eq!(out.matches("interval:").count(), 1, "{out}");
        assert!(
            out.contains("local_broker:\n  url: mqtt://127.0.0.1:4000\n"),
            "{out}"
        );
        assert!(!out.contains("services:"), "{out}");
        let items = out.lines().filter(|l| l.starts_with("  - id: ")).count();
        assert_eq!(items, DEVICES, "{out}");
    }

    #[test]
    fn too_few_devices_are_refused() {
        let y = written();
        let short: String = y.split("\n  - id: r3\n").next().unwrap().to_owned();
        let broker = local_broker(&y).unwrap();
        assert!(trim_config(&short, &broker, Path::new("/s"), "30s").is_err());
    }

    #[test]
    fn took_ms_is_read_from_the_debug_line() {
        let log = "2026 DEBUG ronda_agent::source: probe round done devices=10 took_ms=42\n";
        assert_eq!(took_ms(log), Some(42.0));
        assert_eq!(took_ms("nothing"), None);
    }
}
