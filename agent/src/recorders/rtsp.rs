//! RTSP cameras: `OPTIONS`, then `DESCRIBE` (answering a digest or basic
//! challenge), per camera URL. A `200` with an SDP that has a video stream
//! proves the stream exists and the credentials work. It does not prove
//! recording: channels read this way carry no segment time.
//!
//! A small client over tokio rather than `retina`: retina's session starts
//! at DESCRIBE (no OPTIONS), and brings a whole media stack (RTP, H.264
//! parsing) that an agent that never decodes video should not carry.

use std::time::Duration;

use http_auth::{PasswordClient, PasswordParams};
use jiff::Timestamp;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::http::Creds;
use crate::probe::{bounded, ProbeError};

/// Largest SDP body read; a camera's is a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;

pub struct Rtsp {
    cameras: Vec<(String, String)>,
    creds: Option<Creds>,
    timeout: Duration,
}

impl Rtsp {
    pub fn new(cfg: &RecorderConfig) -> Self {
        Rtsp {
            cameras: cfg
                .channels
                .iter()
                .filter_map(|c| Some((c.id.clone(), c.url.clone()?)))
                .collect(),
            creds: cfg.creds.clone(),
            timeout: cfg.timeout,
        }
    }

    async fn read_all(&self) -> Result<Reading, ProbeError> {
        let probes = self.cameras.iter().map(|(id, url)| async move {
            let result = tokio::time::timeout(self.timeout, describe(url, self.creds.as_ref()))
                .await
                .unwrap_or(Err(ProbeError::Timeout(self.timeout)));
            (id.clone(), result)
        });
        let results = bounded(probes.collect(), 4).await;
        if let Some(Err(first)) = results.first().map(|r| &r.1) {
            // One error shared by every camera is the recorder's own.
            if results.iter().all(|(_, r)| r.as_ref().err() == Some(first)) {
                return Err(first.clone());
            }
        }
        let channels = results
            .into_iter()
            .map(|(id, r)| {
                let mut c = ChannelReading::new(&id);
                match r {
                    Ok(()) => c.online = Some(true),
                    Err(e @ (ProbeError::Status { .. } | ProbeError::Device(_))) => {
                        c.online = Some(false);
                        c.error = Some(e.to_string());
                    }
                    Err(e) => c.error = Some(e.to_string()),
                }
                c
            })
            .collect();
        Ok(Reading {
            channels,
            ..Reading::default()
        })
    }
}

impl Adapter for Rtsp {
    fn read(&self, _now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all())
    }
}

/// An RTSP answer: status, headers, body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The URL without its user info, and the host:port to connect to.
fn target(url: &str) -> Result<(String, String), ProbeError> {
    let mut u = reqwest::Url::parse(url)
        .map_err(|_| ProbeError::Setup("camera url is not a URL".into()))?;
    let host = u
        .host_str()
        .ok_or_else(|| ProbeError::Setup("camera url has no host".into()))?
        .to_owned();
    let addr = format!("{host}:{}", u.port().unwrap_or(554));
    let _ = u.set_username("");
    let _ = u.set_password(None);
    Ok((u.to_string(), addr))
}

/// OPTIONS then DESCRIBE on one connection, answering one challenge.
pub async fn describe(url: &str, creds: Option<&Creds>) -> Result<(), ProbeError> {
    let (url, addr) = target(url)?;
    let stream = TcpStream::connect(&addr)
        .await
        .map_err(|e| ProbeError::Connect(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let mut conn = BufReader::new(stream);
    let options = exchange(&mut conn, "OPTIONS", &url, 1, None).await?;
    if options.status != 200 {
        return Err(status_error(&options));
    }
    let mut answer = exchange(&mut conn, "DESCRIBE", &url, 2, None).await?;
    if answer.status == 401 {
        let (Some(c), Some(challenge)) = (creds, answer.header("WWW-Authenticate")) else {
            return Err(ProbeError::Unauthorized);
        };
        let mut client =
            PasswordClient::try_from(challenge).map_err(|e| ProbeError::Auth(e.to_string()))?;
        let params = PasswordParams {
            username: &c.username,
            password: c.password.expose(),
            uri: &url,
            method: "DESCRIBE",
            body: None,
        };
        let auth = client.respond(&params).map_err(ProbeError::Auth)?;
        answer = exchange(&mut conn, "DESCRIBE", &url, 3, Some(&auth)).await?;
    }
    check_sdp(&answer)
}

fn status_error(a: &Answer) -> ProbeError {
    match a.status {
        401 => ProbeError::Unauthorized,
        404 => ProbeError::Device("stream not found (RTSP 404)".into()),
        s => ProbeError::Status {
            status: s,
            detail: "RTSP".into(),
        },
    }
}

/// A DESCRIBE answer must be an SDP with a video stream.
pub fn check_sdp(a: &Answer) -> Result<(), ProbeError> {
    if a.status != 200 {
        return Err(status_error(a));
    }
    if !a
        .header("Content-Type")
        .is_some_and(|t| t.starts_with("application/sdp"))
    {
        return Err(ProbeError::Parse("DESCRIBE answer is not SDP".into()));
    }
    if !a.body.lines().any(|l| l.starts_with("m=video")) {
        return Err(ProbeError::Device("the stream has no video".into()));
    }
    Ok(())
}

async fn exchange(
    conn: &mut BufReader<TcpStream>,
    method: &str,
    url: &str,
    cseq: u32,
    auth: Option<&str>,
) -> Result<Answer, ProbeError> {
    let mut req = format!("{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: ronda-agent\r\n");
    if method == "DESCRIBE" {
        req.push_str("Accept: application/sdp\r\n");
    }
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    let io = |e: std::io::Error| ProbeError::Transport(format!("RTSP: {e}"));
    conn.get_mut().write_all(req.as_bytes()).await.map_err(io)?;
    read_answer(conn).await
}

/// Read one answer: status line, headers, and a Content-Length body.
pub async fn read_answer<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
) -> Result<Answer, ProbeError> {
    let io = |e: std::io::Error| ProbeError::Transport(format!("RTSP: {e}"));
    let mut line = String::new();
    if r.read_line(&mut line).await.map_err(io)? == 0 {
        return Err(ProbeError::Transport(
            "RTSP: connection closed before an answer".into(),
        ));
    }
    let status = parse_status_line(&line)?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.map_err(io)? == 0 {
            return Err(ProbeError::Parse(
                "RTSP answer ends inside its headers".into(),
            ));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(ProbeError::Parse("RTSP answer has too many headers".into()));
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut a = Answer {
        status,
        headers,
        body: String::new(),
    };
    let len: usize = a
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if len > MAX_BODY {
        return Err(ProbeError::TooLarge(MAX_BODY));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)
        .await
        .map_err(|_| ProbeError::Parse("RTSP body shorter than its Content-Length".into()))?;
    a.body = String::from_utf8_lossy(&body).into_owned();
    Ok(a)
}

fn parse_status_line(line: &str) -> Result<u16, ProbeError> {
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().and_then(|s| s.parse().ok())) {
        (Some(v), Some(code)) if v.starts_with("RTSP/") => Ok(code),
        _ => Err(ProbeError::Parse(format!(
            "not an RTSP answer: {}",
            crate::http::snippet(line)
        ))),
    }
}

#[cfg(test)]
#[path = "rtsp_tests.rs"]
mod tests;
