//! Login throttling. Failed logins are counted per source address and per
//! (account, source) pair over a window. Counting the account per source,
//! not globally, is what keeps an attacker elsewhere from locking the real
//! user out: their own address is never the one being throttled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed logins one address may make, over all accounts, per window.
pub const PER_SOURCE: u32 = 30;
/// Failed logins for one account from one address per window.
pub const PER_ACCOUNT: u32 = 5;
/// Beyond this many tracked keys, expired ones are dropped first.
const MAX_KEYS: usize = 10_000;

#[derive(Default)]
pub struct LoginLimiter(Mutex<HashMap<String, (u32, Instant)>>);

impl LoginLimiter {
    fn keys(name: &str, source: &str) -> [(String, u32); 2] {
        [
            (format!("src {source}"), PER_SOURCE),
            (format!("acct {name} {source}"), PER_ACCOUNT),
        ]
    }

    /// `Err(wait)` while either counter is at its limit.
    pub fn check(&self, name: &str, source: &str, now: Instant) -> Result<(), Duration> {
        let Ok(map) = self.0.lock() else {
            return Ok(());
        };
        let wait = Self::keys(name, source)
            .iter()
            .filter_map(|(k, limit)| {
                let (n, since) = map.get(k)?;
                let left = WINDOW
                    .checked_sub(now.duration_since(*since))
                    .filter(|d| !d.is_zero())?;
                (*n >= *limit).then_some(left)
            })
            .max();
        wait.map_or(Ok(()), Err)
    }

    pub fn failed(&self, name: &str, source: &str, now: Instant) {
        let Ok(mut map) = self.0.lock() else { return };
        if map.len() > MAX_KEYS {
            map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
        }
        for (k, _) in Self::keys(name, source) {
            let e = map.entry(k).or_insert((0, now));
            if now.duration_since(e.1) >= WINDOW {
                *e = (0, now);
            }
            e.0 += 1;
        }
    }

    /// A right password clears that account's count from that address.
    pub fn succeeded(&self, name: &str, source: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&format!("acct {name} {source}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attacker_is_throttled_without_locking_the_owner_out() {
        let l = LoginLimiter::default();
        let t = Instant::now();
        for _ in 0..PER_ACCOUNT {
            assert!(l.check("budi", "10.0.0.66", t).is_ok());
            l.failed("budi", "10.0.0.66", t);
        }
        let wait = l.check("budi", "10.0.0.66", t).unwrap_err();
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(1));
        // The real user, from their own desk, is not affected.
        assert!(l.check("budi", "10.0.0.5", t).is_ok());
        // The window passes and the attacker may try again.
        assert!(l.check("budi", "10.0.0.66", t + WINDOW).is_ok());
    }

    #[test]
    fn one_address_guessing_many_accounts_is_throttled() {
        let l = LoginLimiter::default();
        let t = Instant::now();
        for i in 0..PER_SOURCE {
            l.failed(&format!("user{i}"), "10.0.0.66", t);
        }
        assert!(l.check("someone-new", "10.0.0.66", t).is_err());
        assert!(l.check("someone-new", "10.0.0.7", t).is_ok());
    }

    #[test]
    fn success_clears_the_account_count() {
        let l = LoginLimiter::default();
        let t = Instant::now();
        for _ in 0..PER_ACCOUNT - 1 {
            l.failed("budi", "10.0.0.5", t);
        }
        l.succeeded("budi", "10.0.0.5");
        l.failed("budi", "10.0.0.5", t);
        assert!(l.check("budi", "10.0.0.5", t).is_ok());
    }
}
