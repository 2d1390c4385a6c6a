//! Login throttling. Every attempt is counted *before* its password is
//! checked, so requests sent at once cannot all slip past the limit while
//! the first ones are still hashing; a right password refunds its count.
//!
//! Three counts per attempt, over a window:
//! - the source address, over all accounts (one machine guessing many);
//! - the account from that address (one machine guessing one account);
//! - the account from browsers it has never logged in from, all addresses
//!   together (many machines guessing one account). A browser holding the
//!   account's device cookie ([`crate::store::users::devices`]) is counted on its
//!   own instead, so an attacker elsewhere cannot lock the owner out.
//!
//! And a bound on password checks running at once: each argon2id check
//! takes 19 MiB and a core on the blocking pool that session lookups share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed logins one address may make, over all accounts, per window.
pub const PER_SOURCE: u32 = 30;
/// Failed logins for one account from one address, or from one known
/// browser, per window.
pub const PER_ACCOUNT: u32 = 5;
/// Failed logins for one account from unknown browsers, all addresses
/// together, per window.
pub const PER_ACCOUNT_UNKNOWN: u32 = 20;
/// Password checks running at once.
pub const HASHING: usize = 4;
/// Beyond this many tracked keys, expired ones are dropped first.
const MAX_KEYS: usize = 10_000;

/// Who is trying: the name typed, the client's address, and the device
/// cookie's hash when it is one this account has logged in from.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub name: String,
    pub source: String,
    pub known_device: Option<String>,
}

impl Attempt {
    fn keys(&self) -> [(String, u32); 3] {
        let (name, source) = (&self.name, &address_key(&self.source));
        let third = match &self.known_device {
            Some(device) => (format!("device {device}"), PER_ACCOUNT),
            None => (format!("unknown {name}"), PER_ACCOUNT_UNKNOWN),
        };
        [
            (format!("src {source}"), PER_SOURCE),
            (format!("acct {name} {source}"), PER_ACCOUNT),
            third,
        ]
    }
}

/// What an address is counted as: [`crate::http::proxy::host_network`], so one
/// host cannot hop over the addresses of its IPv6 /64 for fresh counts.
fn address_key(source: &str) -> String {
    match source.parse() {
        Ok(ip) => crate::http::proxy::host_network(ip).to_string(),
        Err(_) => source.to_owned(),
    }
}

pub struct LoginLimiter {
    counts: Mutex<HashMap<String, (u32, Instant)>>,
    hashing: Arc<Semaphore>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::new(HASHING)
    }
}

impl LoginLimiter {
    pub fn new(hashing: usize) -> LoginLimiter {
        LoginLimiter {
            counts: Mutex::default(),
            hashing: Arc::new(Semaphore::new(hashing)),
        }
    }

    /// A slot for one password check, held until the check ends (even if
    /// the client has gone); `None` while all are taken.
    pub fn hashing(&self) -> Option<OwnedSemaphorePermit> {
        self.hashing.clone().try_acquire_owned().ok()
    }

    /// Count `a` as a failure now; `Err(wait)` instead, counting nothing,
    /// while any of its counts is at its limit.
    pub fn begin(&self, a: &Attempt, now: Instant) -> Result<(), Duration> {
        let Ok(mut map) = self.counts.lock() else {
            // A poisoned lock must not open the door: refuse for a while.
            return Err(WINDOW);
        };
        let keys = a.keys();
        let wait = keys
            .iter()
            .filter_map(|(k, limit)| {
                let (n, since) = map.get(k)?;
                let left = WINDOW
                    .checked_sub(now.duration_since(*since))
                    .filter(|d| !d.is_zero())?;
                (*n >= *limit).then_some(left)
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        if map.len() > MAX_KEYS {
            map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
        }
        for (k, _) in keys {
            let e = map.entry(k).or_insert((0, now));
            if now.duration_since(e.1) >= WINDOW {
                *e = (0, now);
            }
            e.0 += 1;
        }
        Ok(())
    }

    /// Take back the count of an attempt whose password was not checked.
    pub fn refund(&self, a: &Attempt) {
        self.take_back(a, false);
    }

    /// A right password: the shared counts take back this attempt, and that
    /// account's counts from that address or browser start over.
    pub fn succeeded(&self, a: &Attempt) {
        self.take_back(a, true);
    }

    fn take_back(&self, a: &Attempt, start_over: bool) {
        let Ok(mut map) = self.counts.lock() else {
            return;
        };
        let [src, acct, third] = a.keys().map(|(k, _)| k);
        let own_browser = a.known_device.is_some();
        for (key, own) in [(src, false), (acct, true), (third, own_browser)] {
            if start_over && own {
                map.remove(&key);
            } else if let Some(e) = map.get_mut(&key) {
                e.0 = e.0.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn from(name: &str, source: &str) -> Attempt {
        Attempt {
            name: name.into(),
            source: source.into(),
            known_device: None,
        }
    }

    #[test]
    fn an_attacker_is_throttled_without_locking_the_owner_out() {
        let l = LoginLimiter::default();
        let t = Instant::now();
        let attacker = from("budi", "10.0.0.66");
        for _ in 0..PER_ACCOUNT {
            assert!(l.begin(&attacker, t).is_ok());
        }
        let wait = l.begin(&attacker, t).unwrap_err();
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(1));
        // The real user, from their own desk, is not affected.
        assert!(l.begin(&from("budi", "10.0.0.5"), t).is_ok());
        // The window passes and the attacker may try again.
        assert!(l.begin(&attacker, t + WINDOW).is_ok());
    }

    #[test]
    fn one_address_guessing_many_accounts_is_throttled() {
        let l = LoginLimiter::default();
        let t = Instant::now();
        for i in 0..PER_SOURCE {
            assert!(l.begin(&from(&format!("user{i}"), "10.0.0.66"), t).is_ok());
        }
        assert!(l.begin(&from("someone-new", "10.0.0.66"), t).is_err());
        assert!(l.begin(&from("someone-new", "10.0.0.7"), t).is_ok());
    }

    #[test]
    fn the_addresses_of_one_ipv6_network_count_as_one() {
        let l = LoginLimiter::default();
        let t = Instant::now();
        for i in 0..PER_ACCOUNT {
            let a = from("budi", &format!("2001:db8:1:2::{i:x}"));
            assert!(l.begin(&a, t).is_ok());
        }
        assert!(l.begin(&from("budi", "2001:db8:1:2:ffff::9"), t).is_err());
        // The next /64 is another network; IPv4 is still per address.
        assert!(l.begin(&from("budi", "2001:db8:1:3::1"), t).is_ok());
        assert_eq!(address_key("10.0.0.5"), "10.0.0.5");
    }

    #[test]
    fn many_addresses_guessing_one_account_spare_the_owners_browser() {
        let l = LoginLimiter::default();
        let t = Instant::now();
        for i in 0..PER_ACCOUNT_UNKNOWN {
            assert!(l.begin(&from("budi", &format!("10.0.1.{i}")), t).is_ok());
        }
        // A new address, an unknown browser: refused.
        assert!(l.begin(&from("budi", "10.0.2.1"), t).is_err());
        // The owner's browser, known to the account, still gets in line.
        let owner = Attempt {
            known_device: Some("d1".into()),
            ..from("budi", "10.0.2.1")
        };
        assert!(l.begin(&owner, t).is_ok());
    }

    #[test]
    fn success_refunds_its_count() {
        let l = LoginLimiter::default();
        let t = Instant::now();
        let budi = from("budi", "10.0.0.5");
        for _ in 0..PER_ACCOUNT - 1 {
            l.begin(&budi, t).unwrap();
        }
        l.begin(&budi, t).unwrap();
        l.succeeded(&budi);
        for _ in 0..PER_ACCOUNT {
            assert!(l.begin(&budi, t).is_ok());
        }
        // Logins that succeed never use up the shared counts.
        let l = LoginLimiter::default();
        for _ in 0..PER_SOURCE * 2 {
            let a = from("budi", "10.0.0.5");
            l.begin(&a, t).unwrap();
            l.succeeded(&a);
        }
    }

    #[test]
    fn an_attempt_that_found_no_slot_is_taken_back() {
        let l = LoginLimiter::default();
        let t = Instant::now();
        let budi = from("budi", "10.0.0.5");
        // Every attempt is counted, then finds the hashing slots busy.
        for _ in 0..PER_ACCOUNT * 3 {
            l.begin(&budi, t).unwrap();
            l.refund(&budi);
        }
        // None was checked, so none counts against the owner.
        for _ in 0..PER_ACCOUNT {
            assert!(l.begin(&budi, t).is_ok());
        }
    }

    #[test]
    fn hashing_slots_are_bounded_and_come_back() {
        let l = LoginLimiter::new(2);
        let (a, b) = (l.hashing().unwrap(), l.hashing().unwrap());
        assert!(l.hashing().is_none(), "a third check waits for a slot");
        drop(a);
        assert!(l.hashing().is_some());
        drop(b);
    }
}
