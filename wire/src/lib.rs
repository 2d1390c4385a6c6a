//! Ronda's wire contract: MQTT topics and payloads shared by agent and server.
//!
//! Everything an agent and the server exchange is defined here once, so the two
//! sides cannot drift apart. See `examples/report.json` for a documented report.

mod decode;
mod id;
mod report;
mod topic;

pub use decode::{decode_report, decode_state, RejectReason};
pub use id::{Id, IdError};
pub use report::{
    Channel, Disk, Host, Memory, Plug, Recorder, Report, Service, Temperature, SCHEMA_VERSION,
};
pub use topic::{Kind, Presence, Topic, TopicError, ROOT};
