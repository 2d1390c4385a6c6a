//! Dahua's "account locked" answer, told apart from a wrong password.
//!
//! After too many failed logins (`General.LockLoginTimes`, 5 by default)
//! Dahua locks the account for `General.LoginFailLockTime` (1800 s by
//! default), and refuses even the right password meanwhile. Its login
//! service answers the lock as JSON: error code `268632081` (message
//! `HasBeenLocked` on some firmware) with `params.remainLockSecond`, the
//! seconds left; a wrong password is code `268632085` with
//! `remainLoginTimes` (fixtures `login_locked.json`,
//! `login_wrong_password.json`). A plain refusal without that body stays a
//! wrong password.

use std::time::Duration;

use serde_json::Value;

/// Dahua's error code for a login while the account is locked.
pub const LOCKED_CODE: i64 = 268_632_081;

/// `Some(time left, when it says)` when `body` is Dahua's locked-account
/// answer; `None` for anything else (a wrong password included).
pub fn parse_lock(body: &str) -> Option<Option<Duration>> {
    let v: Value = serde_json::from_str(body.trim()).ok()?;
    let error = v.get("error")?;
    let code = error.get("code").and_then(Value::as_i64);
    let message = error.get("message").and_then(Value::as_str).unwrap_or("");
    let remain = v
        .pointer("/params/remainLockSecond")
        .and_then(Value::as_u64)
        .filter(|s| *s > 0);
    let locked = code == Some(LOCKED_CODE)
        || message.contains("HasBeenLocked")
        // Another login failure code that still carries a running lock.
        || remain.is_some();
    locked.then(|| remain.map(Duration::from_secs))
}
