//! Probing discipline: every probe has a deadline, probes run concurrently
//! with a bound, and a failure is data for the report, not an agent error.

use std::future::Future;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

/// Why one device could not be read. Its text goes into the report, so it
/// names the cause and never a credential or a URL with one in it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbeError {
    #[error("no answer within {}", human(*.0))]
    Timeout(Duration),
    #[error("wrong username or password")]
    Unauthorized,
    /// The device refuses every login for a while after too many failures;
    /// how long, when it says.
    #[error("the device has locked the account after failed logins{}", .0.map(|d| format!(" (for {} more)", human_long(d))).unwrap_or_default())]
    Locked(Option<Duration>),
    #[error("cannot authenticate: {0}")]
    Auth(String),
    #[error("HTTP {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("{0}")]
    Transport(String),
    #[error("answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("unexpected answer: {0}")]
    Parse(String),
    #[error("{0}")]
    Device(String),
    #[error("probe setup failed: {0}")]
    Setup(String),
}

pub(crate) fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// "25m", "2h 5m": a lock's remaining time.
fn human_long(d: Duration) -> String {
    let m = d.as_secs().div_ceil(60);
    match (m / 60, m % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h {m}m"),
    }
}

impl ProbeError {
    /// Whether the device answered past its login: then the credentials
    /// worked, whatever else went wrong.
    pub fn got_past_login(&self) -> bool {
        match self {
            ProbeError::Status { status, .. } => *status != 401,
            ProbeError::TooLarge(_) | ProbeError::Parse(_) | ProbeError::Device(_) => true,
            ProbeError::Timeout(_)
            | ProbeError::Unauthorized
            | ProbeError::Locked(_)
            | ProbeError::Auth(_)
            | ProbeError::Connect(_)
            | ProbeError::Transport(_)
            | ProbeError::Setup(_) => false,
        }
    }

    /// Describe a reqwest failure without the URL, which may carry a
    /// password in its query (Tasmota's `?user=&password=`).
    pub fn from_reqwest(e: reqwest::Error, timeout: Duration) -> ProbeError {
        if e.is_timeout() {
            return ProbeError::Timeout(timeout);
        }
        let connect = e.is_connect();
        // reqwest's own text is generic ("error sending request"); the
        // innermost cause says what happened (refused, reset, bad certificate).
        let mut text = None;
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            text = Some(c.to_string());
            cause = c.source();
        }
        let text = text.unwrap_or_else(|| e.without_url().to_string());
        if connect {
            ProbeError::Connect(text)
        } else {
            ProbeError::Transport(text)
        }
    }

    pub fn parse(what: impl std::fmt::Display) -> ProbeError {
        ProbeError::Parse(what.to_string())
    }
}

/// The outer deadline of a device's whole probe: a little past its
/// timeout, which the adapters apply to each request themselves, often
/// with a clearer reason (the office broker down, not merely "no answer")
/// that an equal outer deadline could race.
pub fn backstop(timeout: Duration) -> Duration {
    timeout.saturating_add(Duration::from_millis(100))
}

/// Run `probe` with a deadline; a late probe becomes `Timeout`.
pub async fn with_deadline<T>(
    deadline: Duration,
    probe: impl Future<Output = Result<T, ProbeError>>,
) -> Result<T, ProbeError> {
    tokio::time::timeout(deadline, probe)
        .await
        .unwrap_or(Err(ProbeError::Timeout(deadline)))
}

/// Run all `probes` with at most `limit` at a time; results keep the order
/// of `probes`. Unordered underneath: an ordered buffer would hold a slot
/// for a finished probe until a hung one ahead of it gave up.
pub async fn bounded<T>(probes: Vec<impl Future<Output = T>>, limit: usize) -> Vec<T> {
    let mut done: Vec<(usize, T)> = stream::iter(probes.into_iter().enumerate())
        .map(|(i, p)| async move { (i, p.await) })
        .buffer_unordered(limit.max(1))
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_hung_probe_times_out_without_holding_the_others() {
        let hung = Duration::from_secs(3600);
        let start = tokio::time::Instant::now();
        let probes: Vec<_> = [hung, Duration::from_millis(10), Duration::from_millis(20)]
            .into_iter()
            .map(|d| {
                with_deadline(Duration::from_secs(5), async move {
                    tokio::time::sleep(d).await;
                    Ok::<_, ProbeError>(start.elapsed())
                })
            })
            .collect();
        let results = bounded(probes, 2).await;
        assert_eq!(results[0], Err(ProbeError::Timeout(Duration::from_secs(5))));
        // The hung probe holds one slot; the others run one after the other
        // in the second slot, without waiting for it.
        assert_eq!(results[1], Ok(Duration::from_millis(10)));
        assert_eq!(results[2], Ok(Duration::from_millis(30)));
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[test]
    fn timeouts_read_well() {
        assert_eq!(
            ProbeError::Timeout(Duration::from_secs(5)).to_string(),
            "no answer within 5s"
        );
        assert_eq!(
            ProbeError::Timeout(Duration::from_millis(1500)).to_string(),
            "no answer within 1500ms"
        );
    }
}
