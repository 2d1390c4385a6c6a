//! Process plumbing shared by both binaries: logging, stop signals and the
//! reload signal (SIGHUP).

use tokio_util::sync::CancellationToken;

/// Structured logs to stderr; `RUST_LOG` overrides `default_filter`.
pub fn init_logs(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
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
