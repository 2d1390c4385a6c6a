//! A webhook receiver for tests and the benchmark, written from
//! docs/webhooks.md (Ronda's own published contract), not from the server's
//! code: it checks `X-Ronda-Signature` (HMAC-SHA256 over
//! `"<timestamp>.<body>"`, compared in constant time), refuses a timestamp
//! more than 300 s from its own clock, and refuses a delivery id it has
//! seen (answering 200, so the sender stops). It can be told to misbehave:
//! answer a status, hang, or stream an answer that never ends.
//!
//! It serves on a thread of its own, so that [`Receiver::replay`] (a plain
//! blocking client) works from any test, whatever its runtime.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::oneshot;

/// How far a timestamp may be from the receiver's clock (docs/webhooks.md).
pub const WINDOW_SECS: i64 = 300;

/// One request as it came.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `X-Ronda-Delivery` (empty when missing).
    pub id: String,
    /// `X-Ronda-Timestamp` (0 when missing or not a number).
    pub timestamp: i64,
    /// `X-Ronda-Signature` (empty when missing).
    pub signature: String,
    pub body: Vec<u8>,
    /// The body, if it is JSON.
    pub json: Option<serde_json::Value>,
    pub at: Instant,
    /// The wall-clock time it arrived, to compare with times from another
    /// process (the benchmark's grace expiry, read from the database).
    pub received: jiff::Timestamp,
    /// `User-Agent` and `Content-Type`, for tests of the headers.
    pub user_agent: String,
    pub content_type: String,
}

/// What to do with one coming request instead of checking it.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This status, with no body.
    Status(u16),
    /// This status, with these headers and this body.
    With {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// This status, and a body that never ends, as fast as it is read.
    Endless(u16),
    /// This status, and a body that never ends, a byte every 100 ms.
    Dribble(u16),
    /// Hold the request open and never answer.
    Hang,
}

#[derive(Default)]
struct Book {
    script: VecDeque<Answer>,
    attempts: Vec<Delivery>,
    accepted: Vec<Delivery>,
    refused: Vec<(Delivery, String)>,
    seen: HashSet<String>,
    ahead: Duration,
}

struct Shared {
    key: Vec<u8>,
    book: Mutex<Book>,
}

pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Receiver {
    /// A receiver on 127.0.0.1 (a free port) that checks with `key`.
    pub async fn start(key: &[u8]) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            key: key.to_vec(),
            book: Mutex::default(),
        });
        let (stop, stopped) = oneshot::channel();
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(shared.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("webhook-receiver".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    // Dropping the runtime after this ends drops every
                    // connection, hung ones too.
                    tokio::select! {
                        _ = stopped => {}
                        r = axum::serve(listener, app) => r.unwrap(),
                    }
                });
            })?;
        Ok(Receiver {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Verified, fresh, not seen before; in arrival order.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.book().accepted.clone()
    }

    /// Refused, with why: `bad signature`, `stale timestamp`, `replayed
    /// delivery id` or `no signature`.
    pub fn refused(&self) -> Vec<(Delivery, String)> {
        self.book().refused.clone()
    }

    /// Every request, scripted ones too, in arrival order.
    pub fn attempts(&self) -> Vec<Delivery> {
        self.book().attempts.clone()
    }

    /// Answer the next requests with these statuses (no checks, nothing
    /// accepted), then check and answer 200 again.
    pub fn answer_next(&self, statuses: Vec<u16>) {
        self.answer_next_with(statuses.into_iter().map(Answer::Status).collect());
    }

    /// Answer the next requests so, in order, before checking again.
    pub fn answer_next_with(&self, answers: Vec<Answer>) {
        self.book().script.extend(answers);
    }

    /// Hold the next `n` requests open, never answering.
    pub fn hang_next(&self, n: usize) {
        self.answer_next_with(vec![Answer::Hang; n]);
    }

    /// Move the receiver's clock forward (replay tests without sleeping).
    pub fn advance_clock(&self, by: Duration) {
        self.book().ahead += by;
    }

    /// POST a recorded delivery again, byte for byte; the status answered.
    pub fn replay(&self, d: &Delivery) -> u16 {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let head = format!(
            "POST /hook HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             X-Ronda-Delivery: {}\r\nX-Ronda-Timestamp: {}\r\nX-Ronda-Signature: {}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            d.id,
            d.timestamp,
            d.signature,
            d.body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&d.body).unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        // `HTTP/1.1 200 OK`
        line.split(' ').nth(1).unwrap().parse().unwrap()
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.shared.book.lock().unwrap()
    }
}

async fn hook(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let raw_timestamp = header("x-ronda-timestamp");
    let delivery = Delivery {
        id: header("x-ronda-delivery").unwrap_or_default(),
        timestamp: raw_timestamp
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
        signature: header("x-ronda-signature").unwrap_or_default(),
        json: serde_json::from_slice(&body).ok(),
        body: body.to_vec(),
        at: Instant::now(),
        received: jiff::Timestamp::now(),
        user_agent: header("user-agent").unwrap_or_default(),
        content_type: header("content-type").unwrap_or_default(),
    };
    let scripted = {
        let mut book = shared.book.lock().unwrap();
        book.attempts.push(delivery.clone());
        book.script.pop_front()
    };
    if let Some(answer) = scripted {
        return scripted_answer(answer).await;
    }
    let verdict = check(
        &shared,
        raw_timestamp.as_deref(),
        header("x-ronda-signature").as_deref(),
        &body,
    );
    let mut book = shared.book.lock().unwrap();
    let why = match verdict {
        Err(why) => why,
        Ok(timestamp) if (now(&book) - timestamp).abs() > WINDOW_SECS => "stale timestamp",
        Ok(_) if !book.seen.insert(delivery.id.clone()) => {
            // Acknowledged, so the sender stops; not handled twice.
            book.refused.push((delivery, "replayed delivery id".into()));
            return status(200);
        }
        Ok(_) => {
            book.accepted.push(delivery);
            return status(200);
        }
    };
    book.refused.push((delivery, why.into()));
    status(401)
}

/// The timestamp of a request whose signature is good, as the document
/// says to check it: over the raw bytes, in constant time.
fn check(
    shared: &Shared,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<i64, &'static str> {
    let signature = signature.ok_or("no signature")?;
    let timestamp = timestamp.unwrap_or_default();
    let given = signature
        .strip_prefix("sha256=")
        .and_then(unhex)
        .ok_or("bad signature")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&shared.key).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| "bad signature")?;
    timestamp.parse().map_err(|_| "stale timestamp")
}

fn now(book: &Book) -> i64 {
    let ahead = i64::try_from(book.ahead.as_secs()).unwrap();
    jiff::Timestamp::now().as_second() + ahead
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

fn status(code: u16) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::from_u16(code).unwrap();
    r
}

async fn scripted_answer(answer: Answer) -> Response<Body> {
    use futures_util::stream;
    let (code, headers, body) = match answer {
        Answer::Status(code) => return status(code),
        Answer::Hang => return std::future::pending().await,
        Answer::With {
            status,
            headers,
            body,
        } => (status, headers, Body::from(body)),
        Answer::Endless(code) => {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let endless = stream::repeat_with(move || Ok::<_, Infallible>(chunk.clone()));
            (code, Vec::new(), Body::from_stream(endless))
        }
        Answer::Dribble(code) => {
            let dribble = stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Ok::<_, Infallible>(Bytes::from_static(b"x")), ()))
            });
            (code, Vec::new(), Body::from_stream(dribble))
        }
    };
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(code).unwrap();
    for (name, value) in headers {
        r.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    r
}
