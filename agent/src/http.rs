//! HTTP to devices: a deadline per request, a cap on body size, and Basic or
//! Digest auth (RFC 7616, via `http-auth`) answered from the device's own
//! challenge.
//!
//! One [`Device`] per configured device keeps its digest state, so that later
//! requests reuse the nonce with a rising `nc` instead of paying a 401 each
//! time, as RFC 7616 intends.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use http_auth::{PasswordClient, PasswordParams};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};

use crate::probe::ProbeError;
use ronda_common::conf::Secret;

/// Largest body read from a device; anything longer is refused.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// Username and password for a device. The password never shows in `Debug`.
#[derive(Debug, Clone)]
pub struct Creds {
    pub username: String,
    pub password: Secret,
}

/// The shared HTTP clients: one that checks certificates, and one for
/// devices configured with `insecure_tls` (recorders ship self-signed
/// certificates that nobody replaces).
#[derive(Clone)]
pub struct Clients {
    checked: reqwest::Client,
    /// Built on first use: most offices have no device that needs it, and
    /// each client holds its own TLS setup in memory.
    unchecked: Arc<OnceLock<reqwest::Client>>,
}

impl Clients {
    pub fn new() -> Result<Clients, ProbeError> {
        let checked = base_builder()
            .build()
            .map_err(|e| ProbeError::Setup(e.without_url().to_string()))?;
        Ok(Clients {
            checked,
            unchecked: Arc::default(),
        })
    }

    pub fn pick(&self, insecure: bool) -> reqwest::Client {
        if !insecure {
            return self.checked.clone();
        }
        self.unchecked
            .get_or_init(|| {
                // No roots to load: nothing is checked against them.
                let built = base_builder()
                    .tls_built_in_root_certs(false)
                    .danger_accept_invalid_certs(true)
                    .build();
                built.unwrap_or_else(|e| {
                    tracing::warn!(error = %e.without_url(), "cannot build the unchecked TLS client; checking certificates");
                    self.checked.clone()
                })
            })
            .clone()
    }
}

/// Settings every device client shares: no redirects to other hosts, no
/// pooled connections kept idle for long (an agent should stay small).
pub fn base_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(3))
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        // Service checks read the peer certificate's expiry.
        .tls_info(true)
        .user_agent(concat!("ronda-agent/", env!("CARGO_PKG_VERSION")))
}

/// A device's answer: status and body text.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
}

/// A device's answer as bytes, with its headers: a picture, or a stream.
#[derive(Clone)]
pub struct Raw {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Raw {
    /// The answer's `Content-Type`, as sent.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
    }
}

/// The body is a picture, never shown: only its size.
impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Raw")
            .field("status", &self.status)
            .field("bytes", &self.body.len())
            .finish()
    }
}

/// How much of a body to read.
#[derive(Debug, Clone, Copy)]
enum Read {
    /// All of it, refused past this many bytes.
    Whole(usize),
    /// What arrives within the window, at most this many bytes.
    Window(usize, Duration),
}

/// Reads a vendor's "account locked" answer from a refused request's body:
/// `Some(how long, when it says)` when the device says it is locked.
pub type LockReader = fn(&str) -> Option<Option<Duration>>;

/// One device reached over HTTP, with its base URL and credentials.
#[derive(Clone)]
pub struct Device {
    client: reqwest::Client,
    base: String,
    creds: Option<Creds>,
    timeout: Duration,
    max_body: usize,
    /// The device's last challenge, and its header text.
    challenge: Arc<Mutex<Option<(PasswordClient, String)>>>,
    lock_reader: Option<LockReader>,
}

impl Device {
    pub fn new(
        client: reqwest::Client,
        base: &str,
        creds: Option<Creds>,
        timeout: Duration,
    ) -> Self {
        Device {
            client,
            base: base.trim_end_matches('/').to_owned(),
            creds,
            timeout,
            max_body: DEFAULT_MAX_BODY,
            challenge: Arc::new(Mutex::new(None)),
            lock_reader: None,
        }
    }

    /// Tell a locked account from a wrong password by the device's answer.
    pub fn with_lock_reader(mut self, reader: LockReader) -> Self {
        self.lock_reader = Some(reader);
        self
    }

    pub fn with_max_body(mut self, max_body: usize) -> Self {
        self.max_body = max_body;
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The deadline of each request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GET `path` (with its query), expecting a 2xx answer.
    pub async fn get(&self, path: &str) -> Result<String, ProbeError> {
        self.expect_ok(self.send(Method::GET, path, None).await?)
    }

    /// POST a body of `content_type` to `path`, expecting a 2xx answer.
    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: String,
    ) -> Result<String, ProbeError> {
        self.expect_ok(
            self.send(Method::POST, path, Some((content_type, body)))
                .await?,
        )
    }

    fn expect_ok(&self, a: Answer) -> Result<String, ProbeError> {
        if a.status.is_success() {
            Ok(a.body)
        } else {
            Err(ProbeError::Status {
                status: a.status.as_u16(),
                detail: snippet(&a.body),
            })
        }
    }

    /// Send one request, answering a 401 challenge once. A second 401 means
    /// the credentials are wrong. A Basic challenge repeated to the
    /// credentials that answered it is not tried again: they cannot have
    /// gone stale, and devices count failed logins and lock the account
    /// (or our address) after a few. Digest is tried once more, since a
    /// nonce may have gone stale, or a count arrived out of order from two
    /// requests in flight, with the device repeating the same challenge.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Result<Answer, ProbeError> {
        let raw = self
            .exchange(method, path, body, Read::Whole(self.max_body))
            .await?;
        Ok(Answer {
            status: raw.status,
            body: String::from_utf8_lossy(&raw.body).into_owned(),
        })
    }

    /// GET `path` and keep its body as bytes, refused past `cap`: a
    /// picture. Any status comes back (the caller tells a refusal it can
    /// work around from one it cannot); a refused login is an error as for
    /// [`Device::get`].
    pub async fn fetch(&self, path: &str, cap: usize) -> Result<Raw, ProbeError> {
        self.exchange(Method::GET, path, None, Read::Whole(cap))
            .await
    }

    /// GET `path`, expecting a 2xx answer, its body as bytes refused past `cap`.
    pub async fn get_bytes(&self, path: &str, cap: usize) -> Result<Vec<u8>, ProbeError> {
        let raw = self.fetch(path, cap).await?;
        if raw.status.is_success() {
            Ok(raw.body)
        } else {
            Err(ProbeError::Status {
                status: raw.status.as_u16(),
                detail: snippet(&String::from_utf8_lossy(&raw.body)),
            })
        }
    }

    /// GET a body that never ends (an event stream) and keep what arrives
    /// within `window` or up to `cap` bytes, whichever comes first; then
    /// the connection is dropped. Not an error either way.
    pub async fn peek(&self, path: &str, cap: usize, window: Duration) -> Result<Raw, ProbeError> {
        self.exchange(Method::GET, path, None, Read::Window(cap, window))
            .await
    }

    /// Send one request, answering a 401 challenge once (see [`Device::send`]).
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, String)>,
        read: Read,
    ) -> Result<Raw, ProbeError> {
        let url = format!("{}{}", self.base, path);
        let answered = self.known_challenge();
        let mut answer = self
            .attempt(&method, &url, path, body.clone(), read)
            .await?;
        if answer.status == StatusCode::UNAUTHORIZED && self.creds.is_some() {
            let fresh = challenge_text(&answer.headers);
            let basic = fresh
                .as_deref()
                .is_some_and(|c| c.trim_start().starts_with("Basic"));
            let refused = basic && answered.is_some() && answered == fresh;
            if !refused {
                self.learn_challenge(&answer.headers)?;
                answer = self.attempt(&method, &url, path, body, read).await?;
            }
        }
        let status = answer.status;
        if let Some(left) = self.lock_reader.and_then(|read| {
            (status.is_client_error() || status.is_server_error())
                .then(|| read(&String::from_utf8_lossy(&answer.body)))
                .flatten()
        }) {
            self.forget_challenge();
            return Err(ProbeError::Locked(left));
        }
        if status == StatusCode::UNAUTHORIZED {
            self.forget_challenge();
            return Err(ProbeError::Unauthorized);
        }
        Ok(answer)
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        path: &str,
        body: Option<(&str, String)>,
        read: Read,
    ) -> Result<Raw, ProbeError> {
        let mut req = self
            .client
            .request(method.clone(), url)
            .timeout(self.timeout);
        if let Some(header) = self.authorization(method, path)? {
            req = req.header(AUTHORIZATION, header);
        }
        if let Some((content_type, body)) = body {
            req = req.header(CONTENT_TYPE, content_type).body(body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ProbeError::from_reqwest(e, self.timeout))?;
        let (status, headers) = (resp.status(), resp.headers().clone());
        let body = match read {
            Read::Whole(max) => read_capped_bytes(resp, max, self.timeout).await?,
            Read::Window(max, window) => read_window(resp, max, window, self.timeout).await?,
        };
        Ok(Raw {
            status,
            headers,
            body,
        })
    }

    /// The Authorization header for a request, if a challenge is known.
    fn authorization(&self, method: &Method, path: &str) -> Result<Option<String>, ProbeError> {
        let Some(creds) = &self.creds else {
            return Ok(None);
        };
        let mut guard = self
            .challenge
            .lock()
            .map_err(|_| ProbeError::Setup("auth state poisoned".into()))?;
        let Some((client, _)) = guard.as_mut() else {
            return Ok(None);
        };
        let params = PasswordParams {
            username: &creds.username,
            password: creds.password.expose(),
            uri: path,
            method: method.as_str(),
            body: None,
        };
        client.respond(&params).map(Some).map_err(ProbeError::Auth)
    }

    fn learn_challenge(&self, headers: &reqwest::header::HeaderMap) -> Result<(), ProbeError> {
        let client = PasswordClient::try_from(headers.get_all(WWW_AUTHENTICATE))
            .map_err(|e| ProbeError::Auth(format!("cannot answer the device's challenge: {e}")))?;
        let text = challenge_text(headers).unwrap_or_default();
        if let Ok(mut guard) = self.challenge.lock() {
            *guard = Some((client, text));
        }
        Ok(())
    }

    /// The text of the challenge our next request answers, if any.
    fn known_challenge(&self) -> Option<String> {
        let guard = self.challenge.lock().ok()?;
        guard.as_ref().map(|(_, text)| text.clone())
    }

    fn forget_challenge(&self) {
        if let Ok(mut guard) = self.challenge.lock() {
            *guard = None;
        }
    }
}

/// Every `WWW-Authenticate` header of an answer, joined: a new nonce makes
/// a new text.
fn challenge_text(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let all: Vec<&str> = headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!all.is_empty()).then(|| all.join("\n"))
}

/// The start of a body, for an error text.
pub fn snippet(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

mod body;

use body::read_window;
pub use body::{read_capped, read_capped_bytes};

#[cfg(test)]
mod tests;
