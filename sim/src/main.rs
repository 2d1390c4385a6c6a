//! `ronda-sim`: run a simulated office until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "ronda-sim",
    version,
    about = "Ronda office simulator: fake CCTV recorders, smart plugs and a service on 127.0.0.1"
)]
struct Cli {
    /// Control API on this port, devices on the ports after it, the MQTT broker on port + 83.
    #[arg(long, default_value_t = 17800)]
    base_port: u16,
    /// Use any free ports instead of fixed ones.
    #[arg(long)]
    any_port: bool,
    /// Use this MQTT broker for the MQTT devices instead of starting one.
    #[arg(long)]
    mqtt: Option<SocketAddr>,
    /// Keep the software recorder's footage here (default: a temporary folder).
    #[arg(long)]
    folder: Option<PathBuf>,
    /// Write an agent config for this office to this file.
    #[arg(long)]
    write_config: Option<PathBuf>,
    /// Add door access controllers: a Hikvision access terminal, and a ZKTeco
    /// PUSH device calling the agent's listener (on port + 84, or a free
    /// port with --any-port), written as `access_listen` in the agent config.
    #[arg(long)]
    doors: bool,
    /// Central broker URL to put in the written agent config.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    broker: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Write the simulated cameras' pictures (the road by day and night,
    /// black, cover, sky and each fault) as JPEG files into DIR, to look at.
    Scenes {
        dir: PathBuf,
        /// Picture size, WIDTHxHEIGHT.
        #[arg(long, default_value = "1280x720")]
        size: ronda_sim::view::Size,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ronda_common::shell::init_logs("info");
    let cli = Cli::parse();
    if let Some(Command::Scenes { dir, size }) = &cli.command {
        let files = ronda_sim::view::set::write(dir, *size)
            .with_context(|| format!("cannot write the scenes into {}", dir.display()))?;
        for f in files {
            println!("{}", f.display());
        }
        return Ok(());
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(ronda_common::shell::cancel_on_signal(shutdown.clone()));
    let opts = ronda_sim::Options {
        base_port: (!cli.any_port).then_some(cli.base_port),
        mqtt: cli.mqtt,
        folder_root: cli.folder,
    };
    let layout = ronda_sim::layout::Layout {
        doors: cli
            .doors
            .then(|| listen_addr(cli.any_port, cli.base_port))
            .transpose()?,
    };
    let office = ronda_sim::layout::office(&layout);
    let sim = ronda_sim::start(office, opts, shutdown.clone())
        .await
        .context("cannot start the simulator")?;
    println!(
        "ronda-sim: simulated office with {} devices",
        sim.devices.len()
    );
    for d in &sim.devices {
        let at = d.addr.map_or_else(
            || "(mqtt / folder / calls out)".to_owned(),
            |a| a.to_string(),
        );
        println!(
            "  {:<16} {:<16} {at}",
            d.id,
            format!("{:?}", d.kind).to_lowercase()
        );
    }
    println!("  MQTT broker      mqtt://{}", sim.mqtt);
    println!("  control API      http://{}/devices", sim.control);
    if let Some(path) = &cli.write_config {
        let yaml =
            ronda_sim::agent_config::agent_yaml(&sim, "dinsos", "kantor-utama", &cli.broker, "30s");
        std::fs::write(path, yaml).with_context(|| format!("cannot write {}", path.display()))?;
        println!("  agent config     {}", path.display());
    }
    println!("Change a device: curl -X POST http://{}/devices/nvr-depan -H 'content-type: application/json' -d '{{\"channel\":\"1\",\"recording\":false}}'", sim.control);
    shutdown.cancelled().await;
    Ok(())
}

/// Where the agent's door listener will be, for the ZKTeco device to call:
/// a fixed port with a base port, so that a written config stays valid.
fn listen_addr(any_port: bool, base_port: u16) -> anyhow::Result<SocketAddr> {
    if !any_port {
        return Ok(SocketAddr::from(([127, 0, 0, 1], base_port + 84)));
    }
    let probe = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    probe.local_addr().context("no free port")
}
