//! What the vendor viewers share: telling a JPEG from what a device sends
//! instead, cutting what follows its end, one request at a time per
//! device, and keeping one events reading for all channels a while.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ronda_wire::ViewEvent;

use crate::http::{snippet, Raw};
use crate::probe::ProbeError;

/// How long one reading of a device's view events serves its channels: a
/// sample walks the channels one after another, and one reading of the
/// device answers for all of them.
pub const EVENTS_FRESH: Duration = Duration::from_secs(60);

/// The picture in a device's answer, its bytes after the end marker cut
/// off; or an error that says what came instead. `refusal` reads a
/// vendor's own error body (an XML `ResponseStatus`, a Dahua `Error`).
pub fn jpeg(raw: Raw, refusal: fn(&str) -> Option<String>) -> Result<Vec<u8>, ProbeError> {
    if raw.status.is_success() && raw.body.starts_with(&[0xFF, 0xD8]) {
        let mut body = raw.body;
        // A picture cut short is kept as it came: decoding says so.
        let end = crate::view::decode::jpeg_end(&body).map_or(body.len(), <[u8]>::len);
        body.truncate(end);
        return Ok(body);
    }
    Err(not_a_picture(&raw, refusal))
}

/// Why an answer is not a picture, in words for the report. A body that is
/// not text is described by its size only: it may be a picture of another
/// kind, and a picture never goes into a report.
pub fn not_a_picture(raw: &Raw, refusal: fn(&str) -> Option<String>) -> ProbeError {
    let status = raw.status.as_u16();
    let text = std::str::from_utf8(&raw.body)
        .ok()
        .filter(|t| !t.chars().any(|c| c.is_control() && !c.is_whitespace()));
    if let Some(said) = text.and_then(refusal) {
        return ProbeError::Device(said);
    }
    let kind = raw.content_type().unwrap_or("no content type");
    let what = match text {
        Some("") => "an empty body".to_owned(),
        Some(t) => format!("{kind}: {}", snippet(t)),
        None if raw.body.is_empty() => "an empty body".to_owned(),
        None => format!("{kind}, {} bytes that are not a JPEG", raw.body.len()),
    };
    if raw.status.is_success() {
        ProbeError::Device(format!("HTTP {status} but {what}"))
    } else {
        ProbeError::Status {
            status,
            detail: what,
        }
    }
}

/// A device's view events as last read, kept a while for its other
/// channels.
pub struct Recent<T> {
    kept: Mutex<Option<(Instant, T)>>,
}

impl<T: Clone> Recent<T> {
    pub fn new() -> Self {
        Recent {
            kept: Mutex::new(None),
        }
    }

    /// The reading of less than [`EVENTS_FRESH`] ago, if any.
    pub fn get(&self) -> Option<T> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.as_ref()
            .filter(|(at, _)| at.elapsed() < EVENTS_FRESH)
            .map(|(_, t)| t.clone())
    }

    pub fn put(&self, t: T) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        *kept = Some((Instant::now(), t));
    }
}

impl<T: Clone> Default for Recent<T> {
    fn default() -> Self {
        Recent::new()
    }
}

/// The events of one channel from a device's (channel, event) list,
/// sorted, each once.
pub fn of_channel(all: &[(u32, ViewEvent)], ch: u32) -> Vec<ViewEvent> {
    let mut v: Vec<ViewEvent> = all
        .iter()
        .filter(|(c, _)| *c == ch)
        .map(|(_, e)| *e)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// One request at a time per device: a recorder serves pictures from a few
/// encoder slots, and a second caller (the `view.snapshot` command during a
/// sample) waits its turn.
pub type Turn = tokio::sync::Mutex<()>;

#[cfg(test)]
pub(crate) mod rig;
#[cfg(test)]
pub(crate) mod tests;
