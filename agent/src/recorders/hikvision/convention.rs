//! Which clock a firmware's recording search speaks, found per device.
//!
//! `ContentMgmt/search` writes `startTime`/`endTime` with a `Z`. Older NVR
//! firmware means its wall clock by it; camera firmware from V5.5 on means
//! UTC, as `xs:dateTime` says. Both are in the field and no capability
//! names which, so the adapter finds out from the answers:
//!
//! * While unknown, the searched text covers the wanted instants under both
//!   readings, and each end time is read both ways.
//! * A reading is *refuted* when a segment would end after the device's own
//!   clock (plus [`AHEAD`]): no recorder writes the future. The true
//!   reading is never refuted.
//! * A reading is *supported* when a channel's newest end moved on since
//!   the previous round and, under it, lies within [`FRESH`] of the
//!   device's clock. A segment that grew was written between the rounds,
//!   which puts it near now under the true reading; the other reading is
//!   `offset` away. (Nearness alone is not enough: a camera that stopped
//!   exactly `offset` ago looks like one recording now under the wrong
//!   reading.)
//! * Exactly one reading not refuted decides; else exactly one supported.
//!   Otherwise both candidate ends are reported, and the verdict stands
//!   only where they agree.
//!
//! The decision is a firmware property: kept for the next rounds, and
//! dropped when a segment later ends in the future under it, or when under
//! it no camera records now while under the other reading one does (see
//! [`suspect`]).

use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

use super::search::{windows, Found, AHEAD};
use super::Stamp;
use crate::probe::ProbeError;

/// Near enough to the device's clock to be a camera recording now.
pub const FRESH: SignedDuration = SignedDuration::from_mins(2);

/// `t + d`, held at the ends of time: a device's clock is its own input
/// and may sit at year 9999.
pub fn shift(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(if d.is_negative() {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// How a firmware reads and writes search times ending in `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchTimes {
    /// True UTC.
    Utc,
    /// The device's wall clock, the `Z` notwithstanding.
    Wall,
}

use SearchTimes::{Utc, Wall};

const BOTH: [SearchTimes; 2] = [Utc, Wall];

impl SearchTimes {
    /// The digits this reading writes for `t` on a device at `offset`.
    pub fn digits(self, t: Timestamp, offset: Offset) -> DateTime {
        match self {
            Utc => Offset::UTC.to_datetime(t),
            Wall => offset.to_datetime(t),
        }
    }

    /// The instant a written end means under this reading; `None` when it
    /// names no representable instant.
    pub fn read(self, end: Stamp, offset: Offset) -> Option<Timestamp> {
        let o = if end.exact || self == Utc {
            Offset::UTC
        } else {
            offset
        };
        o.to_timestamp(end.civil).ok()
    }

    fn line(self) -> &'static str {
        match self {
            Utc => "search-times: utc",
            Wall => "search-times: wall clock",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How one round searches and reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The wall clock is UTC: both readings are one.
    Same,
    /// Known for this device.
    Known(SearchTimes),
    /// Not known yet: search and read both ways.
    Detect,
    /// The device's zone is unknown: everything in its wall frame, and only
    /// a segment near its clock is taken as a fact.
    Blind,
}

/// The text windows (`startTime`, `endTime`) to search, newest first, for
/// a device whose clock reads `now` at `offset`.
pub fn spans(
    mode: Mode,
    now: Timestamp,
    offset: Offset,
    lookback: SignedDuration,
) -> Vec<(DateTime, DateTime)> {
    let readings: &[SearchTimes] = match mode {
        Mode::Known(Utc) => &[Utc],
        Mode::Known(Wall) => &[Wall],
        Mode::Detect => &BOTH,
        Mode::Same | Mode::Blind => &[Utc],
    };
    let edge = |t: Timestamp, rs: &[SearchTimes], pick: fn(DateTime, DateTime) -> DateTime| {
        rs.iter()
            .map(|r| r.digits(t, offset))
            .reduce(pick)
            .unwrap_or_else(|| offset.to_datetime(t))
    };
    windows(lookback)
        .into_iter()
        .map(|(older, newer)| {
            let from = edge(shift(now, -older), readings, DateTime::min);
            let to = if newer.is_zero() {
                // The newest window reaches past now under both readings
                // even when the convention is known: a firmware that
                // changed its mind then shows a segment in the future.
                edge(shift(now, AHEAD), &BOTH, DateTime::max)
            } else {
                edge(shift(now, -newer), readings, DateTime::max)
            };
            (from, to)
        })
        .collect()
}

/// What one channel's search gave: its newest end, as it read, and why
/// it could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ends {
    pub end: Option<Timestamp>,
    pub other: Option<Timestamp>,
    pub error: Option<String>,
}

/// A round's result for the adapter.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// One per channel, and the `search-times: …` line.
    Done(Vec<Ends>, &'static str),
    /// The known convention was refuted: search again, detecting.
    Redo,
}

/// What the adapter keeps about a device between rounds.
#[derive(Debug, Default)]
pub struct Memory {
    known: Option<SearchTimes>,
    last: Option<Round>,
}

/// A detecting round's newest ends, read to the end of their window.
#[derive(Debug)]
struct Round {
    now: Timestamp,
    offset: Offset,
    newest: Vec<(String, Option<Stamp>)>,
}

/// Per reading (indexed by [`SearchTimes::index`]): refuted, supported.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Evidence {
    pub refuted: [bool; 2],
    pub supported: [bool; 2],
}

/// Exactly one reading not refuted; else exactly one supported.
pub fn decide(e: Evidence) -> Option<SearchTimes> {
    let one = |set: Vec<SearchTimes>| (set.len() == 1).then(|| set[0]);
    let open: Vec<_> = BOTH.into_iter().filter(|r| !e.refuted[r.index()]).collect();
    match open.len() {
        1 => one(open),
        2 => one(BOTH
            .into_iter()
            .filter(|r| e.supported[r.index()])
            .collect()),
        _ => None,
    }
}

type Results<'a> = [(&'a str, Result<Found, ProbeError>)];

impl Memory {
    /// The round's mode for a device whose wall clock is at `offset`.
    pub fn mode(&self, offset: Option<Offset>) -> Mode {
        match offset {
            None => Mode::Blind,
            Some(o) if o == Offset::UTC => Mode::Same,
            Some(_) => self.known.map_or(Mode::Detect, Mode::Known),
        }
    }

    /// Read a round's searches (one per channel, in order) by `mode`.
    pub fn settle(
        &mut self,
        mode: Mode,
        now: Timestamp,
        offset: Offset,
        results: &Results<'_>,
    ) -> Settled {
        let late = |at: Option<Timestamp>| at.is_none_or(|t| t > shift(now, AHEAD));
        match mode {
            Mode::Known(r) => {
                let refuted = newest(results).any(|s| late(r.read(s, offset)));
                if refuted || suspect(r, now, offset, results) {
                    tracing::info!(convention = ?r, refuted, "the known search-time convention no longer fits the footage; detecting again");
                    self.known = None;
                    return Settled::Redo;
                }
                Settled::Done(one_way(results, r, offset, now), r.line())
            }
            Mode::Same => Settled::Done(
                one_way(results, Utc, offset, now),
                "search-times: utc (wall clock is UTC)",
            ),
            Mode::Blind => Settled::Done(blind(results, now), "search-times: not yet known"),
            Mode::Detect => self.detect(now, offset, results),
        }
    }

    fn detect(&mut self, now: Timestamp, offset: Offset, results: &Results<'_>) -> Settled {
        let evidence = self.evidence(now, offset, results);
        if let Some(r) = decide(evidence) {
            tracing::info!(convention = ?r, "recorder search-time convention found");
            self.known = Some(r);
            self.last = None;
            return Settled::Done(one_way(results, r, offset, now), r.line());
        }
        self.last = Some(Round {
            now,
            offset,
            newest: results
                .iter()
                .filter_map(|(id, f)| match f {
                    Ok(f) if f.complete => Some(((*id).to_owned(), f.newest)),
                    _ => None,
                })
                .collect(),
        });
        let ends = if evidence.refuted == [true, true] {
            let why = "its newest segment ends after the recorder's own clock under either \
                       reading of its search times";
            per_channel(results, |s| match s {
                Some(_) => Err(why.to_owned()),
                None => Ok((None, None)),
            })
        } else {
            per_channel(results, |s| {
                let (utc, wall) = (
                    s.and_then(|s| Utc.read(s, offset)),
                    s.and_then(|s| Wall.read(s, offset)),
                );
                Ok((utc, wall.filter(|w| Some(*w) != utc)))
            })
        };
        Settled::Done(ends, "search-times: not yet known")
    }

    /// Refutations from every channel; support from channels whose newest
    /// end moved on since the last detecting round at the same offset.
    fn evidence(&self, now: Timestamp, offset: Offset, results: &Results<'_>) -> Evidence {
        let mut e = Evidence::default();
        for s in newest(results) {
            for r in BOTH {
                e.refuted[r.index()] |= r.read(s, offset).is_none_or(|t| t > shift(now, AHEAD));
            }
        }
        let Some(prev) = self.last.as_ref().filter(|p| {
            let gap = now.duration_since(p.now);
            // Rounds further apart than this could let the wrong reading
            // of an older segment land near now.
            p.offset == offset
                && gap.is_positive()
                && gap < SignedDuration::from_secs(i64::from(offset.seconds())).abs() - AHEAD * 2
        }) else {
            return e;
        };
        for (id, found) in results {
            let Ok(Found {
                newest: Some(new), ..
            }) = found
            else {
                continue;
            };
            let grew = prev
                .newest
                .iter()
                .find(|(p, _)| p == id)
                .is_some_and(|(_, old)| old.is_none_or(|old| *new > old));
            if !grew {
                continue;
            }
            for r in BOTH {
                e.supported[r.index()] |= r.read(*new, offset).is_some_and(|t| {
                    t >= shift(now, -FRESH)
                        && t <= shift(now, AHEAD)
                        && t >= shift(prev.now, -AHEAD)
                });
            }
        }
        e
    }
}

/// A known reading the footage no longer bears out: under it no camera
/// records now, while under the other one a camera does, or no search
/// found anything at all (its window may be hours from the footage). East
/// of UTC a firmware that moved from its wall clock to UTC (an update)
/// refutes nothing, as UTC read as wall time never lies in the future;
/// this is how the change is still noticed. A device whose cameras have
/// all stopped is searched both ways each round, at no extra request.
fn suspect(known: SearchTimes, now: Timestamp, offset: Offset, results: &Results<'_>) -> bool {
    let near =
        |t: Option<Timestamp>| t.is_some_and(|t| t >= shift(now, -FRESH) && t <= shift(now, AHEAD));
    let other = if known == Utc { Wall } else { Utc };
    let nothing = results
        .iter()
        .all(|(_, f)| matches!(f, Ok(f) if f.newest.is_none()));
    !newest(results).any(|s| near(known.read(s, offset)))
        && (nothing || newest(results).any(|s| near(other.read(s, offset))))
}

/// Every channel's newest end that was found.
fn newest<'a>(results: &'a Results<'_>) -> impl Iterator<Item = Stamp> + 'a {
    results
        .iter()
        .filter_map(|(_, f)| f.as_ref().ok().and_then(|f| f.newest))
}

type Pair = (Option<Timestamp>, Option<Timestamp>);

/// Turn each channel's newest end into its [`Ends`]; a failed search
/// keeps its error.
fn per_channel(
    results: &Results<'_>,
    read: impl Fn(Option<Stamp>) -> Result<Pair, String>,
) -> Vec<Ends> {
    results
        .iter()
        .map(|(_, f)| {
            let got = f
                .as_ref()
                .map_err(|e| format!("recording search failed: {e}"))
                .and_then(|f| read(f.newest));
            match got {
                Ok((end, other)) => Ends {
                    end,
                    other,
                    error: None,
                },
                Err(error) => Ends {
                    error: Some(error),
                    ..Ends::default()
                },
            }
        })
        .collect()
}

/// Read under one convention; a segment in the future is no fact.
fn one_way(results: &Results<'_>, r: SearchTimes, offset: Offset, now: Timestamp) -> Vec<Ends> {
    per_channel(results, |s| {
        let Some(s) = s else { return Ok((None, None)) };
        match r.read(s, offset) {
            Some(t) if t <= shift(now, AHEAD) => Ok((Some(t), None)),
            _ => Err(format!(
                "its newest segment ends at {}, after the recorder's own clock",
                s.civil
            )),
        }
    })
}

/// With the zone unknown only a segment near the device's clock, in its
/// wall frame, is taken as a fact: any other answer might be a window
/// hours away from the footage.
fn blind(results: &Results<'_>, now: Timestamp) -> Vec<Ends> {
    per_channel(results, |s| {
        let at = s.and_then(|s| Utc.read(s, Offset::UTC));
        match at {
            Some(t) if t >= shift(now, -FRESH) && t <= shift(now, AHEAD) => Ok((Some(t), None)),
            _ => Err("cannot tell when it last recorded: the recorder states no time zone".into()),
        }
    })
}
