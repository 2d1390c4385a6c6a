//! The simulated recorder's `mediaFileFind.cgi` finders. Each object
//! remembers its search and how many files it has handed out, so
//! `findNextFile` pages per object; `close` ends its search and `destroy`
//! frees it. `DeviceState::open_finders` counts the objects created and
//! not yet released, for the tests to see leaks. Released means closed and
//! then destroyed, the document's steps 4 and 5: an object destroyed
//! without a close is freed here too but stays counted, so a client that
//! skips the close shows as a leak.

use std::collections::HashMap;

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use minijinja::context;

use super::{bad_request, error, local, ok, parse_local, text, Dvr, FIND_CREATE, FIND_NEXT, Q};
use crate::fixture::render;
use crate::state::lock;
use axum::response::Response;

/// Files are ten minutes long, like a DVR's default pack duration cut short.
const FILE: SignedDuration = SignedDuration::from_mins(10);
/// Files handed out per `findNextFile` when the request names no count.
const DEFAULT_COUNT: usize = 100;

/// One finder object.
#[derive(Debug, Clone)]
pub struct Finder {
    /// The files `findFile` matched, oldest first, as (start, end).
    files: Option<Vec<(Timestamp, Timestamp)>>,
    /// The channel searched, for the answers' `Channel`.
    channel: String,
    /// Files already handed out.
    next: usize,
    closed: bool,
    /// The device's wall-clock offset when the search started.
    offset: Offset,
}

impl Default for Finder {
    fn default() -> Self {
        Finder {
            files: None,
            channel: String::new(),
            next: 0,
            closed: false,
            offset: super::WIB,
        }
    }
}

pub type Finders = HashMap<u32, Finder>;

pub fn handle(d: &Dvr, q: &Q) -> Response {
    let object = q.get("object").and_then(|o| o.parse::<u32>().ok());
    let mut finders = d.finders.lock().unwrap_or_else(|e| e.into_inner());
    match (q.get("action").map(String::as_str), object) {
        (Some("factory.create"), _) => {
            let id = loop {
                let id = fastrand::u32(1000..99_999);
                if !finders.contains_key(&id) {
                    break id;
                }
            };
            finders.insert(id, Finder::default());
            lock(&d.dev).open_finders += 1;
            text(render(
                "find_create",
                FIND_CREATE,
                context! { object => format!("{id:05}") },
            ))
        }
        (Some(action), Some(id)) => match finders.get_mut(&id) {
            Some(f) if action == "findFile" && !f.closed => find_file(d, f, q),
            Some(f) if action == "findNextFile" && !f.closed => find_next(f, q),
            Some(f) if action == "close" => {
                f.closed = true;
                ok()
            }
            Some(f) if action == "destroy" => {
                let closed = f.closed;
                finders.remove(&id);
                if closed {
                    let mut s = lock(&d.dev);
                    s.open_finders = s.open_finders.saturating_sub(1);
                } else {
                    tracing::warn!(object = id, "finder destroyed without close");
                }
                ok()
            }
            _ => bad_request(),
        },
        _ => bad_request(),
    }
}

/// `findFile`: a known channel number and a readable window, else the
/// device's `Error` / `Bad Request!`. Like several firmwares, it answers a
/// bare `Error` when nothing matches (still to be closed and destroyed).
fn find_file(d: &Dvr, f: &mut Finder, q: &Q) -> Response {
    let offset = lock(&d.dev).offset();
    let (Some(ch), Some(from), Some(to)) = (
        q.get("condition.Channel"),
        q.get("condition.StartTime")
            .and_then(|s| parse_local(s, offset)),
        q.get("condition.EndTime")
            .and_then(|s| parse_local(s, offset)),
    ) else {
        return bad_request();
    };
    let end = {
        let s = lock(&d.dev);
        let Some(c) = s.channels.iter().find(|c| &c.id == ch) else {
            return bad_request();
        };
        c.last_segment_end(s.now())
    };
    let dav = q
        .get("condition.Types[0]")
        .is_none_or(|t| t.eq_ignore_ascii_case("dav"));
    let matched = if dav {
        files(end, from, to)
    } else {
        Vec::new()
    };
    if matched.is_empty() {
        return error(None);
    }
    *f = Finder {
        files: Some(matched),
        channel: ch.clone(),
        offset,
        ..Finder::default()
    };
    ok()
}

/// The channel's ten-minute files inside the window, oldest first: the
/// newest ends where the channel's newest segment ends.
fn files(end: Option<Timestamp>, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut end = match end {
        Some(e) if e <= to => e,
        _ => return out,
    };
    while end > from {
        out.push((end - FILE, end));
        end -= FILE;
    }
    out.reverse();
    out
}

/// `findNextFile`: up to `count` files not yet handed out; `found=0` once
/// they are all out. Without a `findFile` first the device refuses.
fn find_next(f: &mut Finder, q: &Q) -> Response {
    let Some(files) = &f.files else {
        return bad_request();
    };
    let count = q
        .get("count")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(DEFAULT_COUNT);
    let page: Vec<_> = files.iter().skip(f.next).take(count).collect();
    f.next += page.len();
    let o = f.offset;
    let items: Vec<_> = page
        .into_iter()
        .map(|(start, end)| {
            let name = format!(
                "{}-{}",
                wall(*start, o, "%H.%M.%S"),
                wall(*end, o, "%H.%M.%S")
            );
            context! {
                start => local(*start, o), end => local(*end, o),
                day => wall(*start, o, "%Y-%m-%d"), hour => wall(*start, o, "%H"), name,
            }
        })
        .collect();
    // FilePath names the channel's directory with three digits: `001`.
    let dir = format!("{:0>3}", f.channel);
    text(render(
        "find_next",
        FIND_NEXT,
        context! { items, channel => f.channel, dir },
    ))
}

/// An instant of the device's clock on its wall clock, in `fmt`.
fn wall(t: Timestamp, offset: Offset, fmt: &str) -> String {
    super::zoned(t, offset).strftime(fmt).to_string()
}
