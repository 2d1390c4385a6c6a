//! Ronda's circular letters as files: reading and checking them, the pure
//! checklist evaluation `evaluate(letter, office, now)`, and the alert
//! lifecycle that turns evaluations into alerts.
//!
//! Nothing here does I/O besides reading the files, and nothing reads the
//! clock: every time is passed in, so tests control it.

// First: the `text!` macro is used by the modules after it.
#[macro_use]
pub mod text;
pub mod alert;
pub mod eval;
mod items;
mod load;
pub mod model;
pub mod notify;
mod raw;
pub mod registry;
mod shape;
mod walk;

pub use items::KINDS;
pub use load::{format_local_minute, from_text, load, parse_time, DEFAULT_KEEP_ON};
pub use model::{
    AccessClosed, AccessSeverities, Check, Item, Letter, Notify, Period, Remediation, Scope,
    Severity, ViewRule, Window,
};
pub use registry::Registry;
pub use text::Text;
