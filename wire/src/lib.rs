//! Ronda's wire contract: MQTT topics and payloads shared by agent and server.
//!
//! Everything an agent and the server exchange is defined here once, so the two
//! sides cannot drift apart. See `examples/report.json` for a documented report.

pub mod ack;
mod command;
mod decode;
mod devices;
mod doors;
mod id;
mod report;
mod topic;
mod view;
pub mod vocab;

pub use ack::{Ack, Delivery, Progress};
pub use command::Snapshot;
pub use command::{Action, Command, CommandResult};
pub use decode::{decode_events, decode_report, decode_state, RejectReason};
pub use devices::{Channel, PauseReason, Paused, Plug, PowerOn, Recorder, RecorderDisk, Service};
pub use doors::{
    is_user_id, AccessController, DeviceTime, Door, DoorEvent, DoorEventKind, DoorState, Events,
    MAX_EVENTS, MAX_WHO_LEN,
};
pub use id::{Id, IdError};
pub use report::{Disk, Host, Memory, Report, Temperature, SCHEMA_VERSION};
pub use topic::{Kind, Presence, Topic, TopicError, ROOT};
pub use view::{View, ViewEvent, ViewSample, ViewStats, VIEW_SAMPLES};
