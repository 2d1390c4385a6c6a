//! Rate limits for the listener's warnings: anyone on the LAN can make a
//! request fail, and must not be able to fill the agent's log doing so.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How long one warning (one kind, one source) stays quiet after it is logged.
const QUIET: Duration = Duration::from_secs(600);
/// Distinct warnings remembered at once; beyond this, new ones are quiet
/// until old ones expire.
const KEYS: usize = 256;

#[derive(Default)]
pub(super) struct Throttle(Mutex<State>);

#[derive(Default)]
struct State {
    logged: HashMap<String, Instant>,
    /// Warnings kept quiet since the last one logged.
    quiet: u64,
}

impl Throttle {
    /// Whether a warning for `key` may be logged now, and how many were
    /// kept quiet before it.
    pub(super) fn allow(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let Ok(mut s) = self.0.lock() else {
            return None;
        };
        s.logged.retain(|_, at| now.duration_since(*at) < QUIET);
        if s.logged.contains_key(key) || s.logged.len() >= KEYS {
            s.quiet += 1;
            return None;
        }
        s.logged.insert(key.to_owned(), now);
        Some(std::mem::take(&mut s.quiet))
    }
}
