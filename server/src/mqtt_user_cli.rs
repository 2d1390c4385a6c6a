//! `ronda-server mqtt-user add|list|revoke`: the agents' MQTT credentials.

use std::path::PathBuf;

use clap::Subcommand;
use ronda_server::store::users;
use ronda_server::ServerConfig;
use ronda_wire::Id;

#[derive(Subcommand)]
pub enum MqttUserCommand {
    /// Make the credential of one agent (username `office/agent`); the
    /// password is printed once. Running it again replaces the password.
    Add {
        #[arg(long, short)]
        config: PathBuf,
        office: String,
        agent: String,
    },
    /// List the credentials (usernames, never passwords).
    List {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Revoke an agent's credential; it can no longer connect.
    Revoke {
        #[arg(long, short)]
        config: PathBuf,
        office: String,
        agent: String,
    },
}

/// What to print on success, or the error.
pub fn execute(command: &MqttUserCommand) -> Result<String, String> {
    let (MqttUserCommand::Add { config, .. }
    | MqttUserCommand::List { config }
    | MqttUserCommand::Revoke { config, .. }) = command;
    let cfg = ServerConfig::load(config).map_err(|e| e.to_string())?;
    let conn = cfg.database.open().map_err(|e| e.to_string())?;
    let now = jiff::Timestamp::now().as_millisecond();
    let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    match command {
        MqttUserCommand::Add { office, agent, .. } => {
            let (o, a) = ids(office, agent)?;
            cfg.known_office(o.as_str())?;
            let password = users::mqtt::add(&conn, &o, &a, now).map_err(|e| e.to_string())?;
            let name = users::mqtt::username(&o, &a);
            let _ = ronda_server::store::audit::append(
                &conn,
                Some(&actor),
                "mqtt.add",
                &name,
                Some("command line"),
                now,
            );
            // Only the password on stdout, so `$(…)` captures just it.
            eprintln!("MQTT user {name} made; put this password in its agent.yaml (broker.password_file); it is shown once:");
            Ok(password)
        }
        MqttUserCommand::Revoke { office, agent, .. } => {
            let (o, a) = ids(office, agent)?;
            users::mqtt::revoke(&conn, &o, &a).map_err(|e| e.to_string())?;
            let name = users::mqtt::username(&o, &a);
            let _ = ronda_server::store::audit::append(
                &conn,
                Some(&actor),
                "mqtt.revoke",
                &name,
                Some("command line"),
                now,
            );
            Ok(format!("MQTT user {name} revoked"))
        }
        MqttUserCommand::List { .. } => {
            let list = users::mqtt::list(&conn).map_err(|e| e.to_string())?;
            let lines: Vec<String> = list
                .iter()
                .map(|u| {
                    let made = jiff::Timestamp::from_millisecond(u.created_ms)
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                    format!("{:<40} {made}", u.username)
                })
                .collect();
            Ok(lines.join("\n"))
        }
    }
}

fn ids(office: &str, agent: &str) -> Result<(Id, Id), String> {
    let o = Id::new(office).map_err(|e| format!("office: {e}"))?;
    let a = Id::new(agent).map_err(|e| format!("agent: {e}"))?;
    Ok((o, a))
}
