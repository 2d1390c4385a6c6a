//! The newest recorded file of one channel through a `mediaFileFind.cgi`
//! finder: `factory.create`, `findFile`, `findNextFile` (paged), then
//! `close` and `destroy`.
//!
//! A recorder has only a few finder objects; one left open stays taken
//! until the recorder drops it on its own, so a leaking agent would soon
//! lock itself (and the recorder's other users) out of playback search.
//! [`Finder`] is therefore a guard: [`Finder::release`] runs after the
//! search on every path, error or not. The one case it cannot cover for
//! certain is the probe's deadline dropping the search future mid-way:
//! nothing after the drop point runs. Its `Drop` then sends the cleanup
//! from a spawned task, best effort (see there).

use jiff::civil::DateTime;
use reqwest::Method;

use super::parse::{need, parse_found, parse_kv};
use crate::http::{snippet, Device};
use crate::probe::ProbeError;

pub const FIND: &str = "/cgi-bin/mediaFileFind.cgi";
/// Files asked for per `findNextFile`.
pub const PAGE: usize = 100;
/// `findNextFile` calls per channel before settling for the newest seen:
/// a channel recording ten-minute files over a day's lookback needs three
/// (two full pages, then `found=0`).
pub const MAX_PAGES: usize = 10;

/// One finder object on the recorder, closed and destroyed on release.
pub struct Finder {
    device: Device,
    object: String,
    released: bool,
}

impl Finder {
    /// `factory.create`: `result=<object id>`.
    pub async fn create(device: &Device) -> Result<Finder, ProbeError> {
        let body = device.get(&format!("{FIND}?action=factory.create")).await?;
        let object = parse_object(&parse_kv(&body)?)?;
        Ok(Finder {
            device: device.clone(),
            object,
            released: false,
        })
    }

    /// Search `channel` between two device wall-clock times and page through
    /// the answer: the newest `EndTime` on the device's wall clock, `None`
    /// when nothing was recorded in the window.
    pub async fn newest(
        &self,
        channel: u32,
        from: DateTime,
        to: DateTime,
    ) -> Result<Option<DateTime>, ProbeError> {
        if !self.find_file(channel, from, to).await? {
            return Ok(None);
        }
        let mut newest = None;
        // While found > 0, within a bound: files come oldest first, so a
        // busy channel over a long lookback could need more pages than
        // this, and the newest seen so far is then what is reported.
        for page in 0..MAX_PAGES {
            let body = self
                .device
                .get(&format!(
                    "{FIND}?action=findNextFile&object={}&count={PAGE}",
                    self.object
                ))
                .await;
            let kv = match body.and_then(|b| parse_kv(&b)) {
                Ok(kv) => kv,
                // Some firmwares answer Error instead of `found=0` once the
                // list is exhausted; after a first good page that is the
                // end, not a failure.
                Err(e) if page > 0 => {
                    tracing::debug!(error = %e, "findNextFile ended with an error; list taken as done");
                    break;
                }
                Err(e) => return Err(e),
            };
            let found = parse_found(&kv)?;
            newest = newest.max(found.newest);
            if found.found == 0 {
                break;
            }
        }
        Ok(newest)
    }

    /// `findFile`: `true` when the device answers `OK`. A bare `Error`
    /// (no reason line, often with HTTP 400) is how several firmwares say
    /// that nothing matched: `false`. `Error` with a reason (`Bad Request!`,
    /// `Invalid Authority!`) is the device refusing the search.
    async fn find_file(
        &self,
        channel: u32,
        from: DateTime,
        to: DateTime,
    ) -> Result<bool, ProbeError> {
        let path = format!(
            "{FIND}?action=findFile&object={}&condition.Channel={channel}\
             &condition.StartTime={}&condition.EndTime={}&condition.Types[0]=dav",
            self.object,
            query_time(from),
            query_time(to),
        );
        let answer = match self.device.send(Method::GET, &path, None).await? {
            a if a.status.is_success() || a.status.is_client_error() => a.body,
            a => {
                return Err(ProbeError::Status {
                    status: a.status.as_u16(),
                    detail: snippet(&a.body),
                })
            }
        };
        find_file_answer(&answer)
    }

    /// `close` then `destroy`, each tried even if the other fails. Failures
    /// are logged only: the search result is what the caller wants.
    pub async fn release(mut self) {
        self.released = true;
        cleanup(&self.device, &self.object).await;
    }
}

impl Drop for Finder {
    /// The search future was dropped before `release` (the probe's deadline
    /// passed): send the cleanup from a task of its own. This is best
    /// effort and cannot be guaranteed: without a runtime (shutdown) there
    /// is nothing to run it on, and a recorder that made the probe time out
    /// may not answer the cleanup either; it then frees the finder only
    /// after its own idle timeout.
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let (device, object) = (self.device.clone(), std::mem::take(&mut self.object));
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move { cleanup(&device, &object).await });
            }
            Err(_) => tracing::debug!(%object, "finder left open: no runtime to close it"),
        }
    }
}

async fn cleanup(device: &Device, object: &str) {
    for action in ["close", "destroy"] {
        if let Err(e) = device
            .get(&format!("{FIND}?action={action}&object={object}"))
            .await
        {
            tracing::debug!(%object, action, error = %e, "finder cleanup failed");
        }
    }
}

/// The finder object id in a `factory.create` answer, kept as text (the
/// document's example has a leading zero). It goes back into URLs, so
/// anything but digits is refused.
pub fn parse_object(kv: &[(String, String)]) -> Result<String, ProbeError> {
    let object = need(kv, "result")?;
    if object.is_empty() || !object.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProbeError::Parse(format!(
            "factory.create gave object `{}`",
            snippet(object)
        )));
    }
    Ok(object.to_owned())
}

/// What a `findFile` answer means: `OK` is a started search, a bare
/// `Error` is nothing matched, anything else is the device refusing.
pub fn find_file_answer(body: &str) -> Result<bool, ProbeError> {
    let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
    match (lines.next(), lines.next()) {
        (Some(ok), None) if ok.eq_ignore_ascii_case("OK") => Ok(true),
        (Some(e), None) if e.eq_ignore_ascii_case("Error") => Ok(false),
        _ => {
            parse_kv(body)?;
            Err(ProbeError::Device(format!(
                "findFile answered `{}`",
                snippet(body)
            )))
        }
    }
}

/// `2018-06-11%2008:00:00`: the device's wall clock, space escaped for the URL.
pub fn query_time(t: DateTime) -> String {
    t.strftime("%Y-%m-%d%%20%H:%M:%S").to_string()
}
