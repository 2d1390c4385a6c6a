//! Commands from the server on `…/cmd` and the agent's answers on `…/cmd/result`.
//!
//! ```json
//! {"schema":1,"id":"c-17","action":"plug.set","params":{"plug":"dispenser","on":false}}
//! {"schema":1,"id":"c-17","ok":true,"plug":{"id":"dispenser",…,"relay_on":false}}
//! ```

use serde::{Deserialize, Serialize};

use crate::devices::Plug;
use crate::report::SCHEMA_VERSION;
use crate::view::ViewStats;

/// A request to one agent. `id` is chosen by the server and echoed back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub schema: u32,
    pub id: String,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", content = "params")]
pub enum Action {
    /// Switch a plug's relay. The agent reads the plug back afterwards.
    #[serde(rename = "plug.set")]
    PlugSet { plug: String, on: bool },
    /// Take one live snapshot of a camera for a person to look at. The
    /// agent sends it once in its answer and keeps no copy.
    #[serde(rename = "view.snapshot")]
    ViewSnapshot { recorder: String, channel: String },
}

/// The agent's answer: `ok`, or an error that says why not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandResult {
    pub schema: u32,
    pub id: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The plug as read back after switching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plug: Option<Plug>,
    /// The picture asked for by `view.snapshot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
}

/// A live snapshot in a command's answer: the JPEG and its numbers.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The JPEG, base64 (standard alphabet, padded).
    pub jpeg: String,
    pub stats: ViewStats,
}

/// The picture is personal data: never in a log line.
impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("jpeg", &format_args!("<{} base64 chars>", self.jpeg.len()))
            .field("stats", &self.stats)
            .finish()
    }
}

impl Command {
    pub fn new(id: impl Into<String>, action: Action) -> Self {
        Command {
            schema: SCHEMA_VERSION,
            id: id.into(),
            action,
        }
    }

    /// Parse a command, refusing other schema versions.
    pub fn decode(payload: &[u8]) -> Result<Command, String> {
        let c: Command = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if c.schema != SCHEMA_VERSION {
            return Err(format!("schema version {} is not supported", c.schema));
        }
        Ok(c)
    }
}

impl CommandResult {
    pub fn refused(id: &str, error: impl Into<String>) -> Self {
        CommandResult {
            schema: SCHEMA_VERSION,
            id: id.to_owned(),
            ok: false,
            error: Some(error.into()),
            plug: None,
            snapshot: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plug_set_has_the_documented_shape() {
        let text = r#"{"schema":1,"id":"c-17","action":"plug.set","params":{"plug":"dispenser","on":false}}"#;
        let c = Command::decode(text.as_bytes()).unwrap();
        assert_eq!(
            c.action,
            Action::PlugSet {
                plug: "dispenser".into(),
                on: false
            }
        );
        assert_eq!(serde_json::to_string(&c).unwrap(), text);
    }

    #[test]
    fn view_snapshot_has_the_documented_shape() {
        let text = r#"{"schema":1,"id":"c-18","action":"view.snapshot","params":{"recorder":"nvr","channel":"1"}}"#;
        let c = Command::decode(text.as_bytes()).unwrap();
        assert_eq!(
            c.action,
            Action::ViewSnapshot {
                recorder: "nvr".into(),
                channel: "1".into()
            }
        );
        let r = CommandResult {
            snapshot: Some(Snapshot {
                jpeg: "/9j/2w==".into(),
                stats: ViewStats::default(),
            }),
            ..CommandResult::refused("c-18", "x")
        };
        assert!(!format!("{r:?}").contains("/9j/"), "no picture in Debug");
    }

    #[test]
    fn unknown_actions_and_versions_are_refused() {
        assert!(Command::decode(br#"{"schema":1,"id":"x","action":"self.destruct"}"#).is_err());
        let v2 = r#"{"schema":2,"id":"x","action":"plug.set","params":{"plug":"p","on":true}}"#;
        assert!(Command::decode(v2.as_bytes())
            .unwrap_err()
            .contains("schema"));
    }
}
