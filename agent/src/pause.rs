//! Leaving a device alone after a refused login.
//!
//! Recorders lock an account after a handful of failed logins: Hikvision
//! for about 30 minutes, Dahua the account itself, so an agent with a wrong
//! password that tried every round would keep the office's own admin out
//! of its recorder all holiday. After a refusal the device is not asked
//! again for a while: 15 minutes, doubling up to 6 hours, or as long as the
//! device says it stays locked if that is longer. The report says so, and
//! the server raises one finding so that IT fixes the credential.

use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use ronda_wire::{PauseReason, Paused};
use tokio::time::Instant;

use crate::probe::ProbeError;

/// The first pause after a refused login.
pub const FIRST: Duration = Duration::from_secs(15 * 60);
/// The longest pause: a fixed password is noticed within this.
pub const LONGEST: Duration = Duration::from_secs(6 * 3600);
/// Past the device's own unlock time, so the next try finds it unlocked.
const MARGIN: Duration = Duration::from_secs(60);
/// The longest lock believed: a device's answer is an input like any other.
const LONGEST_LOCK: Duration = Duration::from_secs(24 * 3600);

/// One device's login record.
#[derive(Debug, Default)]
pub struct Pause {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    reason: Option<PauseReason>,
    /// When to try again, on the monotonic clock and on the agent's clock
    /// (for the report).
    until: Option<(Instant, Timestamp)>,
}

impl Pause {
    /// The pause in force now, if any: the device must not be asked.
    pub fn active(&self) -> Option<Paused> {
        let s = self.lock();
        let (at, until) = s.until?;
        (Instant::now() < at).then(|| Paused {
            reason: s.reason.unwrap_or(PauseReason::WrongPassword),
            until,
            failures: s.failures,
        })
    }

    /// Learn from a probe's outcome. A refused login starts (or lengthens)
    /// a pause, which is returned; any answer that got past the login
    /// clears the record.
    pub fn record<T>(&self, result: &Result<T, ProbeError>) -> Option<Paused> {
        let mut s = self.lock();
        let device_lock = match result {
            Err(ProbeError::Unauthorized) => None,
            Err(ProbeError::Locked(left)) => Some(*left),
            // Some firmware answers a locked account with a bare 403 (Dahua,
            // in field reports): after a refused login it is one more.
            Err(ProbeError::Status { status: 403, .. }) if s.failures > 0 => None,
            // A timeout or a broken answer says nothing about the password.
            Err(e) if !e.got_past_login() => return None,
            _ => {
                *s = State::default();
                return None;
            }
        };
        s.failures = s.failures.saturating_add(1);
        let mut wait = backoff(s.failures);
        s.reason = Some(PauseReason::WrongPassword);
        if let Some(left) = device_lock {
            s.reason = Some(PauseReason::Locked);
            // A device that does not say how long waits out the longest.
            let lock = left.map_or(LONGEST, |l| l.min(LONGEST_LOCK).saturating_add(MARGIN));
            wait = wait.max(lock);
        }
        let until = Timestamp::now().checked_add(wait).unwrap_or(Timestamp::MAX);
        let at = Instant::now()
            .checked_add(wait)
            .unwrap_or_else(Instant::now);
        s.until = Some((at, until));
        Some(Paused {
            reason: s.reason.unwrap_or(PauseReason::WrongPassword),
            until,
            failures: s.failures,
        })
    }

    /// Run `probe` unless the device is paused, and learn from it: the
    /// probe's result, or the pause in force (a refused login just now
    /// starts one).
    pub async fn ask<T>(
        &self,
        device: &str,
        probe: impl std::future::Future<Output = Result<T, ProbeError>>,
    ) -> Result<Result<T, ProbeError>, Paused> {
        if let Some(p) = self.active() {
            return Err(p);
        }
        let result = probe.await;
        if let Some(p) = self.record(&result) {
            tracing::warn!(device, error = %describe(&p), "login refused; leaving the device alone");
            return Err(p);
        }
        if let Err(e) = &result {
            tracing::debug!(device, error = %e, "probe failed");
        }
        Ok(result)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// 15 minutes after the first refusal, doubling, at most 6 hours.
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST.saturating_mul(1 << doublings).min(LONGEST)
}

/// A device's `reachable` and `error` in the report. One that answered past
/// its login is reachable even when its answer could not be read, so that
/// "could not read" is never taken for "does not answer"; a paused one was
/// not asked.
pub fn reported<T>(
    result: &Result<T, ProbeError>,
    paused: Option<&Paused>,
) -> (bool, Option<String>) {
    match (result, paused) {
        (_, Some(p)) => (false, Some(describe(p))),
        (Ok(_), None) => (true, None),
        (Err(e), None) => (e.got_past_login(), Some(e.to_string())),
    }
}

/// The report's text for a paused device.
pub fn describe(p: &Paused) -> String {
    let why = match p.reason {
        PauseReason::WrongPassword => "wrong username or password",
        PauseReason::Locked => "the device has locked the account after failed logins",
    };
    let failed = match p.failures {
        1 => "1 failed login".to_owned(),
        n => format!("{n} failed logins in a row"),
    };
    format!(
        "{why}; not asked again until {} ({failed})",
        p.until.round(jiff::Unit::Second).unwrap_or(p.until)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_from_a_quarter_hour_to_six_hours() {
        let mins: Vec<u64> = (1..=7).map(|n| backoff(n).as_secs() / 60).collect();
        assert_eq!(mins, [15, 30, 60, 120, 240, 360, 360]);
        assert_eq!(backoff(u32::MAX), LONGEST);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_login_pauses_the_device_until_its_time_is_up() {
        let p = Pause::default();
        assert_eq!(p.active(), None);
        let first = p.record::<()>(&Err(ProbeError::Unauthorized)).unwrap();
        assert_eq!(first.reason, PauseReason::WrongPassword);
        assert_eq!(first.failures, 1);
        assert_eq!(p.active(), Some(first.clone()));
        tokio::time::advance(FIRST - Duration::from_secs(1)).await;
        assert!(p.active().is_some(), "still paused a second before the end");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(p.active(), None);
        // The next refusal waits twice as long.
        let second = p.record::<()>(&Err(ProbeError::Unauthorized)).unwrap();
        assert_eq!(second.failures, 2);
        tokio::time::advance(FIRST).await;
        assert!(p.active().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_device_lock_is_waited_out_when_longer_than_the_backoff() {
        let p = Pause::default();
        let left = Duration::from_secs(1800);
        let paused = p
            .record::<()>(&Err(ProbeError::Locked(Some(left))))
            .unwrap();
        assert_eq!(paused.reason, PauseReason::Locked);
        tokio::time::advance(left).await;
        assert!(
            p.active().is_some(),
            "the margin past the device's own unlock"
        );
        tokio::time::advance(MARGIN).await;
        assert_eq!(p.active(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn an_absurd_lock_time_from_a_device_is_capped() {
        let p = Pause::default();
        let paused = p.record::<()>(&Err(ProbeError::Locked(Some(Duration::MAX))));
        assert!(paused.is_some());
        tokio::time::advance(LONGEST_LOCK + MARGIN).await;
        assert_eq!(p.active(), None, "a day at most");
    }

    #[tokio::test(start_paused = true)]
    async fn a_403_after_a_refused_login_counts_as_another() {
        let p = Pause::default();
        let forbidden = || ProbeError::Status {
            status: 403,
            detail: String::new(),
        };
        assert_eq!(
            p.record::<()>(&Err(forbidden())),
            None,
            "a first 403 is the device's answer"
        );
        p.record::<()>(&Err(ProbeError::Unauthorized));
        tokio::time::advance(FIRST).await;
        let again = p.record::<()>(&Err(forbidden())).unwrap();
        assert_eq!(again.failures, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_good_login_clears_the_record_and_a_timeout_leaves_it() {
        let p = Pause::default();
        p.record::<()>(&Err(ProbeError::Unauthorized));
        tokio::time::advance(FIRST).await;
        assert_eq!(
            p.record::<()>(&Err(ProbeError::Timeout(Duration::from_secs(5)))),
            None
        );
        assert_eq!(p.record(&Ok(())), None);
        // Counting starts again: the next refusal is a first one.
        let again = p.record::<()>(&Err(ProbeError::Unauthorized)).unwrap();
        assert_eq!(again.failures, 1);
    }
}
