//! The simulated NVR's recording search (`POST /ISAPI/ContentMgmt/search`):
//! read the `CMSearchDescription`, list the requested track's segments in
//! the window, oldest first, one page at a time.

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

use crate::state::SimChannel;

/// How long one recorded file runs before the NVR starts the next.
pub const SEGMENT: SignedDuration = SignedDuration::from_mins(15);
/// The most segments listed back from the newest: a week of 15-minute files.
const MAX_BACK: i64 = 7 * 24 * 4;
/// Matches per page when the request names no `maxResults`.
const DEFAULT_PAGE: usize = 40;

/// The fields of a `CMSearchDescription` the simulator honours.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub search_id: String,
    pub track: u32,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub max_results: usize,
    pub position: usize,
}

impl Query {
    /// `None` without a `trackID`: the device answers 400 then.
    pub fn parse(body: &str, offset: Offset) -> Option<Query> {
        let time = |tag: &str| element(body, tag).and_then(|t| read_wall(t, offset));
        Some(Query {
            search_id: element(body, "searchID").unwrap_or("").to_owned(),
            track: element(body, "trackID")?.parse().ok()?,
            from: time("startTime"),
            to: time("endTime"),
            max_results: element(body, "maxResults")
                .and_then(|m| m.parse().ok())
                .filter(|m| *m > 0)
                .unwrap_or(DEFAULT_PAGE),
            // The vendor's own spelling.
            position: element(body, "searchResultPostion")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
        })
    }
}

/// The text of the first element with this local name, whatever its
/// prefix: enough to read a search request without an XML parser.
fn element<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let close = rest.find('>')?;
        let tag = &rest[..close];
        let qualified = tag.split_whitespace().next().unwrap_or("");
        let local = qualified.rsplit(':').next().unwrap_or(qualified);
        if local == name && !tag.ends_with('/') {
            let inner = &rest[close + 1..];
            let end = inner.find("</")?;
            return Some(inner[..end].trim());
        }
    }
    None
}

/// A search time: the device's wall clock, with or without the `Z` its
/// firmware puts after it.
fn read_wall(text: &str, offset: Offset) -> Option<Timestamp> {
    let civil: jiff::civil::DateTime = text.trim_end_matches('Z').parse().ok()?;
    offset.to_timestamp(civil).ok()
}

/// One recorded file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// One page of matches, and whether more follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub segments: Vec<Segment>,
    pub more: bool,
}

/// The channel's segments within the window, oldest first: back-to-back
/// files ending at its newest segment end. A channel that never recorded,
/// or stopped before the window, has none.
pub fn answer(q: &Query, channel: Option<&SimChannel>, now: Timestamp) -> Page {
    let newest = channel.and_then(|c| c.last_segment_end(now));
    let mut all: Vec<Segment> = newest
        .map(|end| {
            (0..MAX_BACK)
                .map(|k| {
                    let end = end - SEGMENT * i32::try_from(k).unwrap_or(0);
                    Segment {
                        start: end - SEGMENT,
                        end,
                    }
                })
                .take_while(|s| q.from.is_none_or(|from| s.end >= from))
                .filter(|s| q.to.is_none_or(|to| s.start <= to))
                .collect()
        })
        .unwrap_or_default();
    all.reverse();
    let segments: Vec<Segment> = all
        .iter()
        .skip(q.position)
        .take(q.max_results)
        .copied()
        .collect();
    let more = q.position + segments.len() < all.len();
    Page { segments, more }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_whatever_the_prefix() {
        let body = "<?xml version=\"1.0\"?><hik:CMSearchDescription xmlns:hik=\"x\">\
<hik:searchID>{A}</hik:searchID><hik:trackList><hik:trackID>201</hik:trackID></hik:trackList>\
<hik:timeSpan><hik:startTime>2018-06-11T07:00:00Z</hik:startTime>\
<hik:endTime>2018-06-11T08:05:00Z</hik:endTime></hik:timeSpan>\
<hik:maxResults>2</hik:maxResults><hik:searchResultPostion>4</hik:searchResultPostion>\
</hik:CMSearchDescription>";
        let q = Query::parse(body, Offset::constant(7)).unwrap();
        assert_eq!(q.search_id, "{A}");
        assert_eq!(q.track, 201);
        assert_eq!(q.from, Some("2018-06-11T00:00:00Z".parse().unwrap()));
        assert_eq!((q.max_results, q.position), (2, 4));
        assert_eq!(Query::parse("<CMSearchDescription/>", Offset::UTC), None);
    }
}
