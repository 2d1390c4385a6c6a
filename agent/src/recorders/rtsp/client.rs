//! One camera over RTSP: connect, `OPTIONS`, `DESCRIBE`, answering the
//! camera's 401 challenge (Digest, or Basic when that is all it offers).

use std::time::Duration;

use http_auth::{PasswordClient, PasswordParams};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::answer::{body_len, check_describe, parse_head, Answer, MAX_HEAD};
use crate::http::Creds;
use crate::probe::ProbeError;

/// RFC 2326 section 3.2: the default port of `rtsp://`.
const DEFAULT_PORT: u16 = 554;

/// How one camera's probe ended, and whether the camera said anything at
/// all: a camera that answered (even 401 or 404) is up.
pub struct Outcome {
    pub answered: bool,
    pub result: Result<(), ProbeError>,
}

/// The request URL without user info, and the `host:port` to dial.
pub fn target(url: &str) -> Result<(String, String), ProbeError> {
    // Errors here never quote the URL: it may carry `user:password@`.
    let mut u = reqwest::Url::parse(url)
        .map_err(|_| ProbeError::Setup("the camera url is not a valid URL".into()))?;
    let host = u
        .host_str()
        .ok_or_else(|| ProbeError::Setup("the camera url has no host".into()))?
        .to_owned();
    let addr = format!("{host}:{}", u.port().unwrap_or(DEFAULT_PORT));
    let _ = u.set_username("");
    let _ = u.set_password(None);
    Ok((u.to_string(), addr))
}

/// OPTIONS then DESCRIBE on one connection, within `deadline`.
pub async fn probe(url: &str, creds: Option<&Creds>, deadline: Duration) -> Outcome {
    let mut s = Session {
        conn: None,
        addr: String::new(),
        url: String::new(),
        cseq: 0,
        creds,
        auth: None,
        answered: false,
    };
    // The session outlives a timeout, so that what it saw before is kept.
    let result = tokio::time::timeout(deadline, s.run(url))
        .await
        .unwrap_or(Err(ProbeError::Timeout(deadline)));
    Outcome {
        answered: s.answered,
        result,
    }
}

struct Session<'a> {
    conn: Option<BufReader<TcpStream>>,
    /// `host:port` of the camera.
    addr: String,
    url: String,
    cseq: u32,
    creds: Option<&'a Creds>,
    /// The camera's challenge, once it has sent one; reused with a rising
    /// `nc` as RFC 2617 intends.
    auth: Option<PasswordClient>,
    answered: bool,
}

impl Session<'_> {
    async fn run(&mut self, url: &str) -> Result<(), ProbeError> {
        (self.url, self.addr) = target(url)?;
        self.connect().await?;
        // Any answer to OPTIONS shows an RTSP server; some cameras answer it
        // 501 or 404 and still describe their streams, so only a challenge
        // that cannot be met stops here.
        let options = self.request("OPTIONS").await?;
        if options.status == 401 {
            return Err(ProbeError::Unauthorized);
        }
        let describe = self.request("DESCRIBE").await?;
        check_describe(&describe)
    }

    async fn connect(&mut self) -> Result<(), ProbeError> {
        let stream = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| ProbeError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        self.conn = Some(BufReader::new(stream));
        Ok(())
    }

    /// Send `method`; on a 401, learn the challenge and send it once more.
    /// Credentials already refused are not tried again unless the camera
    /// says only its nonce was stale: cameras lock a user out after a few
    /// bad attempts.
    async fn request(&mut self, method: &str) -> Result<Answer, ProbeError> {
        let sent_auth = self.auth.is_some();
        let answer = self.send(method).await?;
        if answer.status != 401 || self.creds.is_none() || (sent_auth && !stale(&answer)) {
            return Ok(answer);
        }
        let mut builder = PasswordClient::builder();
        for challenge in answer.all("WWW-Authenticate") {
            builder = builder.challenges(challenge);
        }
        let client = builder
            .build()
            .map_err(|e| ProbeError::Auth(format!("cannot answer the camera's challenge: {e}")))?;
        self.auth = Some(client);
        // Some cameras close the connection after a 401 and say so.
        if answer
            .header("Connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            self.connect().await?;
        }
        self.send(method).await
    }

    async fn send(&mut self, method: &str) -> Result<Answer, ProbeError> {
        self.cseq += 1;
        let request = self.request_text(method)?;
        let io = |e: std::io::Error| ProbeError::Transport(format!("RTSP: {e}"));
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| ProbeError::Setup("RTSP request before connecting".into()))?;
        conn.get_mut()
            .write_all(request.as_bytes())
            .await
            .map_err(io)?;
        let answer = read_answer(conn).await?;
        self.answered = true;
        Ok(answer)
    }

    fn request_text(&mut self, method: &str) -> Result<String, ProbeError> {
        let authorization = match (self.creds, self.auth.as_mut()) {
            (Some(c), Some(client)) => {
                // RFC 2617 section 3.2.2: digest-uri is the Request-URI, here
                // the whole rtsp:// URL exactly as in the request line.
                let params = PasswordParams {
                    username: &c.username,
                    password: c.password.expose(),
                    uri: &self.url,
                    method,
                    body: None,
                };
                Some(client.respond(&params).map_err(ProbeError::Auth)?)
            }
            _ => None,
        };
        Ok(request_text(
            method,
            &self.url,
            self.cseq,
            authorization.as_deref(),
        ))
    }
}

/// Whether a 401 only says the nonce expired (`stale=TRUE`, any case).
fn stale(a: &Answer) -> bool {
    a.all("WWW-Authenticate").any(|c| {
        let c = c.to_ascii_lowercase().replace([' ', '"'], "");
        c.contains("stale=true")
    })
}

/// One request's text (RFC 2326 section 6): no body, headers in the order
/// of the spec's worked example.
pub fn request_text(method: &str, url: &str, cseq: u32, authorization: Option<&str>) -> String {
    let mut req = format!("{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\n");
    if let Some(a) = authorization {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    if method == "DESCRIBE" {
        req.push_str("Accept: application/sdp\r\n");
    }
    req.push_str("User-Agent: ronda-agent\r\n\r\n");
    req
}

/// Read one answer: the head up to [`MAX_HEAD`] bytes, then exactly the
/// `Content-Length` body (capped), never waiting for the camera to close.
pub async fn read_answer<R: AsyncBufRead + Unpin>(r: &mut R) -> Result<Answer, ProbeError> {
    let io = |e: std::io::Error| ProbeError::Transport(format!("RTSP: {e}"));
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let limit = (MAX_HEAD + 1).saturating_sub(before) as u64;
        let n = (&mut *r)
            .take(limit)
            .read_until(b'\n', &mut head)
            .await
            .map_err(io)?;
        if n == 0 {
            return Err(match before {
                0 => ProbeError::Transport("RTSP: connection closed before an answer".into()),
                _ => ProbeError::Parse("RTSP answer ends inside its headers".into()),
            });
        }
        if head.len() > MAX_HEAD {
            return Err(ProbeError::Parse("RTSP answer headers are too long".into()));
        }
        let line = &head[before..];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let mut answer = parse_head(&String::from_utf8_lossy(&head))?;
    let mut body = vec![0; body_len(&answer)?];
    r.read_exact(&mut body)
        .await
        .map_err(|_| ProbeError::Parse("RTSP body shorter than its Content-Length".into()))?;
    answer.body = String::from_utf8_lossy(&body).into_owned();
    Ok(answer)
}
