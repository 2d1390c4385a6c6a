//! RTSP answers (RFC 2326 section 7): the status line, the headers and a
//! body sized by `Content-Length`, parsed without any I/O so that every
//! case is tested against the fixtures.

use crate::probe::ProbeError;

/// Largest SDP body read; a camera's is well under 2 KiB.
pub const MAX_BODY: usize = 64 * 1024;
/// Largest status line plus headers; a camera's are a few hundred bytes.
pub const MAX_HEAD: usize = 16 * 1024;

/// An RTSP answer: status, reason phrase, headers, body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The first header of this name (names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header of this name, in order: cameras send one
    /// `WWW-Authenticate` per scheme (Digest and Basic).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The status line and headers, up to (not including) the empty line.
pub fn parse_head(head: &str) -> Result<Answer, ProbeError> {
    let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
    let (status, reason) = parse_status_line(lines.next().unwrap_or(""))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        // RFC 2326 keeps HTTP's folded headers: a line starting with white
        // space continues the previous one.
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Ok(Answer {
        status,
        reason,
        headers,
        body: String::new(),
    })
}

fn parse_status_line(line: &str) -> Result<(u16, String), ProbeError> {
    let mut parts = line.trim().splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(code) if version.starts_with("RTSP/") && (100..1000).contains(&code) => {
            Ok((code, parts.next().unwrap_or("").trim().to_owned()))
        }
        _ => Err(ProbeError::Parse(format!(
            "not an RTSP answer: {}",
            crate::http::snippet(line)
        ))),
    }
}

/// The body length the head announces. RFC 2326 section 12.14: without a
/// `Content-Length` the body is empty ("a default value of zero is assumed").
pub fn body_len(a: &Answer) -> Result<usize, ProbeError> {
    let Some(v) = a.header("Content-Length") else {
        return Ok(0);
    };
    let len: usize = v.parse().map_err(|_| {
        ProbeError::Parse(format!("bad Content-Length `{}`", crate::http::snippet(v)))
    })?;
    if len > MAX_BODY {
        return Err(ProbeError::TooLarge(MAX_BODY));
    }
    Ok(len)
}

/// Where the head ends: the offset of the body, if the empty line is there.
/// The empty line is `\r\n` or `\n` after a line's `\n`, as the client's
/// [`super::read_answer`] reads it. Looking for `\r\n\r\n` and `\n\n` alone
/// missed mixed line ends (`Date: …\n\r\n`), which the client accepts
/// (found by `fuzz_rtsp_mutated_fixtures`).
pub fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).enumerate().find_map(|(i, w)| match w {
        b"\n\n" => Some(i + 2),
        b"\n\r" if bytes.get(i + 2) == Some(&b'\n') => Some(i + 3),
        _ => None,
    })
}

/// A whole answer from its bytes, as read off the wire.
pub fn parse_answer(bytes: &[u8]) -> Result<Answer, ProbeError> {
    let Some(end) = head_end(bytes) else {
        return Err(ProbeError::Parse(
            "RTSP answer ends inside its headers".into(),
        ));
    };
    // The client's reader stops at this size; held in memory, the same
    // answer must not read (found by `fuzz_rtsp_mutated_fixtures`).
    if end > MAX_HEAD {
        return Err(ProbeError::Parse("RTSP answer headers are too long".into()));
    }
    let mut a = parse_head(&String::from_utf8_lossy(&bytes[..end]))?;
    let len = body_len(&a)?;
    let body = bytes
        .get(end..end + len)
        .ok_or_else(|| ProbeError::Parse("RTSP body shorter than its Content-Length".into()))?;
    a.body = String::from_utf8_lossy(body).into_owned();
    Ok(a)
}

/// The error a non-200 answer stands for.
pub fn status_error(a: &Answer) -> ProbeError {
    match a.status {
        401 => ProbeError::Unauthorized,
        404 => ProbeError::Device("stream not found".into()),
        s => ProbeError::Device(format!("RTSP {s} {}", crate::http::snippet(&a.reason))),
    }
}

/// A DESCRIBE answer must be `200` with an SDP that has a video stream.
pub fn check_describe(a: &Answer) -> Result<(), ProbeError> {
    if a.status != 200 {
        return Err(status_error(a));
    }
    // Some firmwares leave Content-Type out (a capture in retina's test
    // data); their body is still tried as SDP. A different type is not SDP.
    let sdp = a
        .header("Content-Type")
        .is_none_or(|t| t.trim().to_ascii_lowercase().starts_with("application/sdp"));
    if !sdp {
        return Err(ProbeError::Parse("DESCRIBE answer is not SDP".into()));
    }
    if a.body.trim().is_empty() {
        let why = match a.header("Content-Length") {
            None => "DESCRIBE answer has no Content-Length, so no SDP",
            Some(_) => "DESCRIBE answer has an empty SDP",
        };
        return Err(ProbeError::Parse(why.into()));
    }
    // RFC 4566: an SDP starts with `v=0` (5.1) and has one `m=` line per
    // media stream (5.14).
    if !a.body.trim_start().starts_with("v=") {
        return Err(ProbeError::Parse("DESCRIBE answer is not SDP".into()));
    }
    if !a.body.lines().any(|l| l.starts_with("m=video")) {
        return Err(ProbeError::Device("the stream has no video".into()));
    }
    Ok(())
}
