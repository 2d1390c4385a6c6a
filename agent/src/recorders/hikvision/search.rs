//! The newest recorded segment of one track, through
//! `POST /ISAPI/ContentMgmt/search`.
//!
//! The device lists matches oldest first and pages them (`MORE`), so over a
//! long lookback the newest segment sits on the last page. Rather than read
//! every page, the lookback is searched in windows walking back from the
//! device's clock (the last hour, then four times further each step), and
//! the first window with a match holds the newest segment. A channel that
//! records costs one request; only a channel with no recent footage costs
//! more, and never more than [`MAX_REQUESTS`]. Which text each window is
//! written in is the caller's (see `convention`).

use jiff::civil::DateTime;
use jiff::SignedDuration;

use super::{parse_search, Hikvision, Stamp};
use crate::probe::ProbeError;

const SEARCH: &str = "/ISAPI/ContentMgmt/search";
/// Matches asked for per request.
const PAGE: usize = 50;
/// Pages read within one window before settling for its newest seen so far.
const MAX_PAGES: usize = 4;
/// Requests per channel, all windows together.
const MAX_REQUESTS: usize = 8;
/// The newest window: a channel that records has its newest segment here.
const FIRST_WINDOW: SignedDuration = SignedDuration::from_hours(1);
/// Search past the device's clock too: a segment being written may already
/// carry a slightly later end. Also how far past its clock a segment may
/// end before the reading that puts it there is refuted.
pub const AHEAD: SignedDuration = SignedDuration::from_mins(5);

/// The windows covering `lookback`, newest first, as (start, end) ages
/// before the device's clock.
pub fn windows(lookback: SignedDuration) -> Vec<(SignedDuration, SignedDuration)> {
    let mut out = Vec::new();
    let (mut newer, mut older) = (SignedDuration::ZERO, FIRST_WINDOW.min(lookback));
    loop {
        out.push((older, newer));
        if older >= lookback {
            return out;
        }
        newer = older;
        older = (older * 4).min(lookback);
    }
}

/// A track's newest segment end, as written.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Found {
    /// `None` when nothing was recorded in the windows searched.
    pub newest: Option<Stamp>,
    /// The window that gave `newest` (or every window, when none did) was
    /// read to its last page: nothing newer hides on a page not read.
    pub complete: bool,
}

impl Hikvision {
    /// The latest segment end of `track` in the first of `spans` that has
    /// one.
    pub(super) async fn newest_segment(
        &self,
        track: u32,
        spans: &[(DateTime, DateTime)],
    ) -> Result<Found, ProbeError> {
        let mut budget = MAX_REQUESTS;
        for (from, to) in spans {
            let found = self
                .search_window(track, &text(*from), &text(*to), &mut budget)
                .await?;
            if found.newest.is_some() || budget == 0 {
                return Ok(found);
            }
        }
        Ok(Found {
            newest: None,
            complete: true,
        })
    }

    /// Page through one window while the device says `MORE`.
    async fn search_window(
        &self,
        track: u32,
        from: &str,
        to: &str,
        budget: &mut usize,
    ) -> Result<Found, ProbeError> {
        // One searchID for every page: the device keeps the result set
        // under it and pages through it by position.
        let id = search_id(track);
        let (mut newest, mut position) = (None, 0);
        for _ in 0..MAX_PAGES {
            if *budget == 0 {
                break;
            }
            *budget -= 1;
            let body = search_request(&id, track, from, to, position);
            let answer = self.device.post(SEARCH, "application/xml", body).await?;
            let page = parse_search(&answer)?;
            newest = newest.max(page.newest);
            position += page.matches;
            if !page.more || page.matches == 0 {
                return Ok(Found {
                    newest,
                    complete: true,
                });
            }
        }
        Ok(Found {
            newest,
            complete: false,
        })
    }
}

/// `2018-06-11T08:00:00Z`: search text, with the `Z` every firmware takes.
pub fn text(t: DateTime) -> String {
    format!("{}Z", t.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// A GUID-shaped search id, fresh per window.
fn search_id(track: u32) -> String {
    let (a, b, c) = (fastrand::u32(..), fastrand::u16(..), fastrand::u64(..));
    format!(
        "{{{a:08X}-{b:04X}-{track:04}-52DA-{:012X}}}",
        c & 0xFFFF_FFFF_FFFF
    )
}

/// `CMSearchDescription` for one track and window, from match `position`
/// on. `searchResultPostion` is the vendor's own spelling.
pub fn search_request(id: &str, track: u32, from: &str, to: &str, position: usize) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<CMSearchDescription version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\">\
<searchID>{id}</searchID>\
<trackList><trackID>{track}</trackID></trackList>\
<timeSpanList><timeSpan><startTime>{from}</startTime><endTime>{to}</endTime></timeSpan></timeSpanList>\
<maxResults>{PAGE}</maxResults>\
<searchResultPostion>{position}</searchResultPostion>\
<metadataList><metadataDescriptor>//recordType.meta.std-cgi.com</metadataDescriptor></metadataList>\
</CMSearchDescription>"
    )
}
