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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::devices::Devices;
    use crate::view::testing::{jpeg, recorder, MemoryViewer};
    use crate::view::Views;

    async fn devices(body: Vec<u8>) -> (DeviceSet, Arc<MemoryViewer>) {
        let stop = tokio_util::sync::CancellationToken::new();
        let mut set = DeviceSet::build(&Devices::default(), "t", &stop).unwrap();
        let v = Arc::new(MemoryViewer::default());
        *v.body.lock().unwrap() = body;
        let viewer: Box<dyn crate::view::Viewer> = Box::new(Arc::clone(&v));
        set.views = Arc::new(Views::new(vec![(recorder("nvr", true), Some(viewer))]));
        (set, v)
    }

    fn snapshot(recorder: &str, channel: &str) -> Command {
        Command::new(
            "c-18",
            Action::ViewSnapshot {
                recorder: recorder.into(),
                channel: channel.into(),
            },
        )
    }

    #[tokio::test]
    async fn a_snapshot_comes_back_whole_with_its_numbers() {
        let picture = jpeg(640, 360, 0, 80);
        let mut body = picture.clone();
        body.extend_from_slice(b"dahua tail");
        let (set, _) = devices(body).await;
        let r = handle(&set, snapshot("nvr", "1")).await;
        assert!(r.ok, "{:?}", r.error);
        let s = r.snapshot.as_ref().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&s.jpeg)
            .unwrap();
        assert_eq!(bytes, picture, "the JPEG without what followed its end");
        assert_eq!((s.stats.w, s.stats.h), (640, 360));
        assert!(
            !format!("{r:?}").contains(&s.jpeg[..40]),
            "no picture in Debug"
        );
    }

    #[tokio::test]
    async fn a_snapshot_too_large_for_an_answer_is_refused_with_its_size() {
        // Fine detail at high quality: well over 192 KiB.
        let big = jpeg(1920, 1080, 3, 98);
        assert!(big.len() > MAX_SNAPSHOT);
        let (set, _) = devices(big.clone()).await;
        let r = handle(&set, snapshot("nvr", "2")).await;
        assert!(!r.ok && r.snapshot.is_none());
        let e = r.error.unwrap();
        assert!(
            e.contains(&format!(
                "is {} bytes, over the 196608-byte limit",
                big.len()
            )),
            "{e}"
        );
    }

    #[tokio::test]
    async fn unknown_recorders_and_channels_are_named() {
        let (set, v) = devices(jpeg(64, 64, 0, 80)).await;
        let r = handle(&set, snapshot("nvr-lain", "1")).await;
        assert_eq!(
            r.error.as_deref(),
            Some("this agent has no recorder `nvr-lain`")
        );
        let r = handle(&set, snapshot("nvr", "../1")).await;
        assert_eq!(
            r.error.as_deref(),
            Some("recorder `nvr` has no channel `../1`")
        );
        assert_eq!(v.asked.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_camera_that_sends_no_picture_is_refused_with_the_reason() {
        let (set, _) = devices(b"\xFF\xD8\xFF\xDB\x00\x43".to_vec()).await;
        let r = handle(&set, snapshot("nvr", "1")).await;
        assert_eq!(
            r.error.as_deref(),
            Some("could not take a snapshot of recorder `nvr` channel `1`: snapshot: truncated")
        );
    }
}
