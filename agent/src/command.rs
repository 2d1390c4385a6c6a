//! Commands from the server: switch a plug, with the agent's own protection
//! of essential equipment, and a read-back of the plug afterwards; take one
//! live snapshot of a camera for a person to look at.

use base64::Engine as _;
use ronda_wire::{Action, Command, CommandResult, Snapshot, SCHEMA_VERSION};

use crate::source::DeviceSet;

/// Carry out one command and say how it went.
pub async fn handle(devices: &DeviceSet, cmd: Command) -> CommandResult {
    match cmd.action {
        Action::PlugSet { plug, on } => plug_set(devices, &cmd.id, &plug, on).await,
        Action::ViewSnapshot { recorder, channel } => {
            view_snapshot(devices, &cmd.id, &recorder, &channel).await
        }
    }
}

/// The largest JPEG an answer carries: its base64 (4/3 larger) and the
/// numbers must fit the server's MQTT payload cap of 256 KiB.
pub const MAX_SNAPSHOT: usize = 192 << 10;

/// One snapshot, in its turn with the sampler. The picture goes into the
/// answer and nowhere else: not a log line, not a file.
async fn view_snapshot(
    devices: &DeviceSet,
    id: &str,
    recorder: &str,
    channel: &str,
) -> CommandResult {
    let look = match devices.views.take(recorder, channel).await {
        Ok(look) => look,
        Err(e) => return CommandResult::refused(id, e.to_string()),
    };
    let size = look.jpeg.len();
    if size > MAX_SNAPSHOT {
        return CommandResult::refused(
            id,
            format!("the snapshot of recorder `{recorder}` channel `{channel}` is {size} bytes, over the {MAX_SNAPSHOT}-byte limit of an answer; set the camera's snapshot to a smaller size or quality"),
        );
    }
    tracing::info!(recorder, channel, bytes = size, "snapshot taken by command");
    CommandResult {
        snapshot: Some(Snapshot {
            jpeg: base64::engine::general_purpose::STANDARD.encode(&look.jpeg),
            stats: look.stats,
        }),
        ok: true,
        error: None,
        ..CommandResult::refused(id, "")
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
