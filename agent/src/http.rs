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

use crate::conffile::Secret;
use crate::probe::ProbeError;

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

/// One device reached over HTTP, with its base URL and credentials.
#[derive(Clone)]
pub struct Device {
    client: reqwest::Client,
    base: String,
    creds: Option<Creds>,
    timeout: Duration,
    max_body: usize,
    challenge: Arc<Mutex<Option<PasswordClient>>>,
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
        }
    }

    pub fn with_max_body(mut self, max_body: usize) -> Self {
        self.max_body = max_body;
        self
    }

    pub fn base(&self) -> &str {
        &self.base
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
    /// the credentials are wrong.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Result<Answer, ProbeError> {
        let url = format!("{}{}", self.base, path);
        let mut answer = self.attempt(&method, &url, path, body.clone()).await?;
        if answer.0.status == StatusCode::UNAUTHORIZED && self.creds.is_some() {
            self.learn_challenge(&answer.1)?;
            answer = self.attempt(&method, &url, path, body).await?;
        }
        if answer.0.status == StatusCode::UNAUTHORIZED {
            self.forget_challenge();
            return Err(ProbeError::Unauthorized);
        }
        Ok(answer.0)
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Result<(Answer, reqwest::header::HeaderMap), ProbeError> {
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
        let body = read_capped(resp, self.max_body, self.timeout).await?;
        Ok((Answer { status, body }, headers))
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
        let Some(client) = guard.as_mut() else {
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
        if let Ok(mut guard) = self.challenge.lock() {
            *guard = Some(client);
        }
        Ok(())
    }

    fn forget_challenge(&self) {
        if let Ok(mut guard) = self.challenge.lock() {
            *guard = None;
        }
    }
}

/// Read a body, refusing it as soon as it passes `max` bytes, so that a
/// misbehaving device cannot fill the agent's memory.
pub async fn read_capped(
    mut resp: reqwest::Response,
    max: usize,
    timeout: Duration,
) -> Result<String, ProbeError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(ProbeError::TooLarge(max));
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ProbeError::from_reqwest(e, timeout))?
    {
        if buf.len() + chunk.len() > max {
            return Err(ProbeError::TooLarge(max));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The start of a body, for an error text.
pub fn snippet(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use http_auth::digest::DigestClient;
    use http_auth::{ChallengeRef, PasswordParams};

    /// RFC 7616 section 3.9.1: the worked example, for MD5 and SHA-256.
    fn rfc_response(algorithm: &str) -> String {
        let header = format!(
            "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm={algorithm}, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
        let challenges = http_auth::parse_challenges(&header).unwrap();
        let challenge: &ChallengeRef = &challenges[0];
        let mut client = DigestClient::try_from(challenge).unwrap();
        let params = PasswordParams {
            username: "Mufasa",
            password: "Circle of Life",
            uri: "/dir/index.html",
            method: "GET",
            body: None,
        };
        client
            .respond_with_testing_cnonce(&params, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
            .unwrap()
    }

    #[test]
    fn rfc7616_md5_example() {
        let r = rfc_response("MD5");
        assert!(
            r.contains("response=\"8ca523f5e9506fed4657c9700eebdbec\""),
            "{r}"
        );
        assert!(r.contains("nc=00000001"), "{r}");
        assert!(r.contains("qop=auth"), "{r}");
    }

    #[test]
    fn rfc7616_sha256_example() {
        let r = rfc_response("SHA-256");
        assert!(
            r.contains(
                "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""
            ),
            "{r}"
        );
    }

    #[test]
    fn nonce_is_reused_with_a_rising_count() {
        let challenges = http_auth::parse_challenges(
            "Digest realm=\"r\", qop=\"auth\", nonce=\"abc\", algorithm=MD5",
        )
        .unwrap();
        let mut client = DigestClient::try_from(&challenges[0]).unwrap();
        let p = PasswordParams {
            username: "u",
            password: "p",
            uri: "/",
            method: "GET",
            body: None,
        };
        assert!(client.respond(&p).unwrap().contains("nc=00000001"));
        assert!(client.respond(&p).unwrap().contains("nc=00000002"));
    }

    /// A server that answers every request with `head` and then `body_len`
    /// bytes, in chunks, like a misbehaving device.
    async fn serve_raw(head: String, body_len: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let head = head.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 2048];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(head.as_bytes()).await;
                    let chunk = vec![b'x'; 64 * 1024];
                    let mut sent = 0;
                    while sent < body_len {
                        let n = chunk.len().min(body_len - sent);
                        if s.write_all(&chunk[..n]).await.is_err() {
                            return;
                        }
                        sent += n;
                    }
                });
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_two_megabyte_body_is_refused_with_or_without_its_length() {
        let two_mb = 2 << 20;
        let clients = super::Clients::new().unwrap();
        let t = std::time::Duration::from_secs(5);
        let declared = serve_raw(
            format!("HTTP/1.1 200 OK\r\nContent-Length: {two_mb}\r\n\r\n"),
            two_mb,
        )
        .await;
        let d = super::Device::new(clients.pick(false), &declared, None, t);
        assert_eq!(
            d.get("/").await,
            Err(super::ProbeError::TooLarge(super::DEFAULT_MAX_BODY))
        );
        // No length: the cap applies while reading, before the body is whole.
        let undeclared = serve_raw(
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".into(),
            two_mb,
        )
        .await;
        let d = super::Device::new(clients.pick(false), &undeclared, None, t);
        assert_eq!(
            d.get("/").await,
            Err(super::ProbeError::TooLarge(super::DEFAULT_MAX_BODY))
        );
    }

    #[test]
    fn snippets_are_short_and_flat() {
        assert_eq!(super::snippet("a\n  b"), "a b");
        assert_eq!(super::snippet(&"x".repeat(500)).chars().count(), 121);
    }
}
