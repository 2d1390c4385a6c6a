//! A stand-in device: a real HTTP/1.1 server on `127.0.0.1:0` that asks for
//! digest auth and answers through a handler, including the ways a broken
//! or hostile device answers (a body that never ends, one that is huge).
//! Shared by the Hikvision and Dahua adapter tests, and the recorders'
//! viewer tests (pictures as bytes, an event stream that never ends).
//!
//! The digest answer is checked for the user and the server's own nonce,
//! not for the password hash (no MD5 here): a wrong password is played by
//! [`Login::Refuse`], a device that refuses every answer.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const NONCE: &str = "4e4d5a3a1c2b3a4d5e6f";
/// Largest request the stand-in reads.
const MAX_REQUEST: usize = 64 * 1024;

/// One request as the stand-in read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub body: String,
}

/// What the stand-in answers.
pub enum Reply {
    Body {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// Headers promising a body, a little of it, then nothing ever again.
    Hang,
    /// A body of this many bytes without a length, sent as fast as taken.
    Huge(usize),
    /// A body of bytes (a picture).
    Bytes {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// A body without a length that starts with these bytes and never
    /// ends (an event stream).
    Endless {
        content_type: &'static str,
        start: Vec<u8>,
    },
}

impl Reply {
    pub fn json(body: impl Into<String>) -> Reply {
        Reply::Body {
            status: 200,
            content_type: "application/json",
            body: body.into(),
        }
    }

    pub fn xml(body: impl Into<String>) -> Reply {
        Reply::Body {
            status: 200,
            content_type: "application/xml",
            body: body.into(),
        }
    }

    pub fn text(body: impl Into<String>) -> Reply {
        Reply::Body {
            status: 200,
            content_type: "text/plain",
            body: body.into(),
        }
    }

    pub fn status(status: u16, body: impl Into<String>) -> Reply {
        Reply::Body {
            status,
            content_type: "text/plain",
            body: body.into(),
        }
    }
}

/// How the stand-in treats logins.
#[derive(Clone)]
pub enum Login {
    /// A digest answer from user `admin` to this server's nonce passes.
    Digest,
    /// Every request is refused with 401 and this body (the device's
    /// `userCheck`, or nothing): a wrong password, or a locked account.
    Refuse(String),
    /// No login asked (Frigate's internal port).
    Open,
}

pub type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

pub struct Server {
    pub url: String,
    log: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub async fn start(login: Login, handler: Handler) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log: Arc<Mutex<Vec<Request>>> = Arc::default();
        let seen = log.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let (login, handler, seen) = (login.clone(), handler.clone(), seen.clone());
                tokio::spawn(async move { serve(s, login, handler, seen).await });
            }
        });
        Server { url, log }
    }

    /// Every request received, logins included, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// Requests whose target starts with `path`.
    pub fn asked(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.target.starts_with(path))
            .collect()
    }
}

async fn serve(mut s: TcpStream, login: Login, handler: Handler, log: Arc<Mutex<Vec<Request>>>) {
    let Some((req, auth)) = read_request(&mut s).await else {
        return;
    };
    log.lock().unwrap().push(req.clone());
    let passes = matches!(login, Login::Open)
        || matches!(login, Login::Digest)
            && auth.as_deref().is_some_and(|a| {
                a.starts_with("Digest ")
                    && a.contains("username=\"admin\"")
                    && a.contains(&format!("nonce=\"{NONCE}\""))
            });
    if !passes {
        let body = match &login {
            Login::Refuse(b) => b.clone(),
            Login::Digest | Login::Open => String::new(),
        };
        let head = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"stand-in\", \
             qop=\"auth\", nonce=\"{NONCE}\", algorithm=MD5\r\nContent-Type: application/xml\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(format!("{head}{body}").as_bytes()).await;
        return;
    }
    match handler(&req) {
        Reply::Body {
            status,
            content_type,
            body,
        } => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(format!("{head}{body}").as_bytes()).await;
        }
        Reply::Hang => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                        Content-Length: 100000\r\n\r\n{\"AcsEvent\":";
            let _ = s.write_all(head.as_bytes()).await;
            std::future::pending::<()>().await;
        }
        Reply::Bytes {
            status,
            content_type,
            body,
        } => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            let mut all = head.into_bytes();
            all.extend_from_slice(&body);
            let _ = s.write_all(&all).await;
        }
        Reply::Endless {
            content_type,
            start,
        } => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n");
            let mut all = head.into_bytes();
            all.extend_from_slice(&start);
            if s.write_all(&all).await.is_ok() {
                std::future::pending::<()>().await;
            }
        }
        Reply::Huge(len) => {
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < len {
                let n = chunk.len().min(len - sent);
                if s.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                sent += n;
            }
        }
    }
}

/// The request line, the `Authorization` header and the body.
async fn read_request(s: &mut TcpStream) -> Option<(Request, Option<String>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > MAX_REQUEST {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let header = |name: &str| {
        head.split("\r\n").find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len.min(MAX_REQUEST) {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    let auth = header("authorization");
    Some((
        Request {
            method,
            target,
            body,
        },
        auth,
    ))
}
