//! Process plumbing shared by both binaries: logging, stop signals and the
//! reload signal (SIGHUP).

use tokio_util::sync::CancellationToken;

/// Structured logs to stderr; `RUST_LOG` overrides `default_filter`.
///
/// Colours only on a terminal: under systemd stderr is the journal, which
/// would keep the escape codes in every line. The journal stamps each line
/// itself (systemd names it in `JOURNAL_STREAM`), so the time is left out
/// there rather than shown twice.
pub fn init_logs(default_filter: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if stderr_is_the_journal() {
        logs.without_time().init();
    } else {
        logs.init();
    }
}

/// systemd's test (systemd.exec(5), `$JOURNAL_STREAM`): the variable holds
/// the device and inode of the journal's stream, and stderr is that stream
/// only if they match (a child whose stderr was redirected inherits the
/// variable all the same).
fn stderr_is_the_journal() -> bool {
    std::env::var_os("JOURNAL_STREAM")
        .is_some_and(|s| same_stream(&s, std::path::Path::new("/proc/self/fd/2")))
}

/// `stream` (`device:inode`) names the file `fd` leads to.
fn same_stream(stream: &std::ffi::OsStr, fd: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(fd)
            .is_ok_and(|m| stream.to_str() == Some(&format!("{}:{}", m.dev(), m.ino())))
    }
    #[cfg(not(unix))]
    {
        let _ = (stream, fd);
        false
    }
}

/// Cancel `shutdown` on SIGTERM or Ctrl-C.
pub async fn cancel_on_signal(shutdown: CancellationToken) {
    wait_for_signal().await;
    tracing::info!("stopping");
    shutdown.cancel();
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// SIGHUP, the signal `systemctl reload` sends, as a stream of requests.
///
/// Make it as early as the process can: until it exists, SIGHUP's default
/// action ends the process. Signals that arrive while the last one is
/// still being handled fold into one more request, so a burst of them
/// costs one or two reloads, never a queue.
pub struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    /// Catch SIGHUP from now on. Needs a tokio runtime. If it cannot be
    /// caught (never on Linux), [`Hangups::next`] never returns.
    pub fn catch() -> Hangups {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signal = match signal(SignalKind::hangup()) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot catch SIGHUP; reload needs a restart");
                    None
                }
            };
            Hangups { signal }
        }
        #[cfg(not(unix))]
        Hangups {}
    }

    /// A stream that never asks: for callers that take no signals (tests).
    pub fn none() -> Hangups {
        Hangups {
            #[cfg(unix)]
            signal: None,
        }
    }

    /// Wait for the next SIGHUP.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(s) = &mut self.signal {
            if s.recv().await.is_some() {
                return;
            }
            self.signal = None;
        }
        std::future::pending::<()>().await;
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn stderr_is_the_journal_only_when_the_stream_matches_device_and_inode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("stream");
        std::fs::write(&file, "").unwrap();
        let m = std::fs::metadata(&file).unwrap();
        let right = format!("{}:{}", m.dev(), m.ino());
        assert!(same_stream(right.as_ref(), &file));
        let wrong = format!("{}:{}", m.dev(), m.ino() + 1);
        assert!(!same_stream(wrong.as_ref(), &file));
        assert!(!same_stream("garbage".as_ref(), &file));
        assert!(!same_stream(right.as_ref(), &dir.path().join("gone")));
    }
}
