//! Commands from the server: switch a plug, with the agent's own protection
//! of essential equipment, and a read-back of the plug afterwards.

use ronda_wire::{Action, Command, CommandResult, SCHEMA_VERSION};

use crate::source::DeviceSet;

/// Carry out one command and say how it went.
pub async fn handle(devices: &DeviceSet, cmd: Command) -> CommandResult {
    match cmd.action {
        Action::PlugSet { plug, on } => plug_set(devices, &cmd.id, &plug, on).await,
        Action::ViewSnapshot { .. } => {
            CommandResult::refused(&cmd.id, "this agent cannot take snapshots yet")
        }
    }
}

async fn plug_set(devices: &DeviceSet, id: &str, plug: &str, on: bool) -> CommandResult {
    let Some(p) = devices.plug(plug) else {
        return CommandResult::refused(id, format!("this agent has no plug `{plug}`"));
    };
    let class = &p.config.class;
    if !on && devices.protected_classes.iter().any(|c| c == class) {
        tracing::warn!(plug, class = %class, "refused to switch off a protected plug");
        return CommandResult::refused(
            id,
            format!("plug `{plug}` feeds `{class}` equipment, which this agent's config protects; it stays on"),
        );
    }
    match p.switch(on).await {
        Err(e) => CommandResult::refused(id, format!("could not switch plug `{plug}`: {e}")),
        Ok(state) => {
            let confirmed = state.relay_on == Some(on);
            tracing::info!(plug, on, confirmed, "plug switched by command");
            CommandResult {
                schema: SCHEMA_VERSION,
                id: id.to_owned(),
                ok: confirmed,
                error: (!confirmed).then(|| {
                    let seen = match state.relay_on {
                        Some(true) => "on".to_owned(),
                        Some(false) => "off".to_owned(),
                        None => state.error.clone().unwrap_or_else(|| "unknown".into()),
                    };
                    format!("plug `{plug}` reads {seen} after the command")
                }),
                plug: Some(state),
                snapshot: None,
            }
        }
    }
}
