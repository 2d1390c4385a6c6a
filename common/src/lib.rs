//! What the agent and the server both need, and nothing either one owns.
//!
//! Config files with `file:line:column` errors and secrets ([`conf`]), one
//! MQTT connection done right ([`link`]), URLs that never echo a password
//! ([`url`]), and process plumbing: logs and stop signals ([`shell`]).

pub mod conf;
#[cfg(feature = "link")]
pub mod link;
#[cfg(feature = "shell")]
pub mod shell;
pub mod url;
