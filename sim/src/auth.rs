//! The device side of HTTP auth: Basic, and Digest (RFC 7616, MD5 or
//! SHA-256, `qop=auth`), as the simulated device's firmware would check it.
//! Also where a "hung" device stops answering.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use md5::Digest as _;
use tokio_util::sync::CancellationToken;

use crate::state::{lock, Auth, Scheme, Shared};

/// The nonce every simulated device hands out. Real devices rotate it; the
/// agent must cope with either, and reuses it with a rising `nc`.
pub const NONCE: &str = "4e4e4e4e3a5244394d5a4d3d";

#[derive(Clone)]
pub struct Guard {
    pub device: Shared,
    pub shutdown: CancellationToken,
}

/// Wrap a device's routes: hang when hung, then check HTTP credentials.
/// ONVIF carries its credentials inside the SOAP body, so for ONVIF only
/// the hang applies here.
pub fn layer(router: axum::Router, guard: Guard, kind: crate::state::SimKind) -> axum::Router {
    if kind == crate::state::SimKind::Onvif {
        router.layer(axum::middleware::from_fn_with_state(guard, hang_only))
    } else {
        router.layer(axum::middleware::from_fn_with_state(guard, self::guard))
    }
}

async fn hang_only(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let hang = lock(&g.device).hang;
    if hang {
        g.shutdown.cancelled().await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    next.run(req).await
}

/// Middleware: hang if the device is hung, then check the credentials.
pub async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let (hang, auth) = {
        let d = lock(&g.device);
        (d.hang, d.auth.clone())
    };
    if hang {
        g.shutdown.cancelled().await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let ok = check(&auth, req.method().as_str(), header);
    match login(&g.device, ok, header.is_some()) {
        Login::Ok => next.run(req).await,
        Login::Refused => challenge(&auth),
        Login::Locked(left) => {
            let kind = lock(&g.device).kind;
            locked_answer(kind, &auth, left)
        }
    }
}

/// What the device makes of one request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Ok,
    Refused,
    /// Locked after too many failures, for this many more seconds.
    Locked(u64),
}

/// Count logins as the firmware does: a request that carries credentials
/// and fails is a failed login (the first request without any only fetches
/// the challenge); `lock_after` of them in a row lock the account for
/// `lock_secs`, during which even the right password is refused.
pub fn login(dev: &Shared, ok: bool, tried: bool) -> Login {
    let mut d = lock(dev);
    if d.auth.scheme == Scheme::None {
        return Login::Ok;
    }
    let now = d.now();
    if let Some(until) = d.locked_until.filter(|u| *u > now) {
        let left = u64::try_from(until.duration_since(now).as_secs()).unwrap_or(0);
        return Login::Locked(left.max(1));
    }
    if ok {
        d.failed_logins = 0;
        return Login::Ok;
    }
    if !tried {
        return Login::Refused;
    }
    d.failed_logins += 1;
    d.failed_logins_total += 1;
    if d.lock_after > 0 && d.failed_logins >= d.lock_after {
        d.failed_logins = 0;
        let secs = i64::try_from(d.lock_secs).unwrap_or(i64::MAX);
        d.locked_until = now.checked_add(jiff::SignedDuration::from_secs(secs)).ok();
        return Login::Locked(d.lock_secs);
    }
    Login::Refused
}

/// The vendor's answer to a login while the account is locked.
fn locked_answer(kind: crate::state::SimKind, auth: &Auth, left: u64) -> Response {
    use crate::state::SimKind;
    match kind {
        SimKind::Hikvision | SimKind::HikvisionAccess => {
            with_challenge(crate::hikvision::locked(left), auth)
        }
        SimKind::Dahua => crate::dahua::locked(left),
        _ => challenge(auth),
    }
}

/// Whether `header` answers the device's challenge for a request of `method`.
pub fn check(auth: &Auth, method: &str, header: Option<&str>) -> bool {
    match (auth.scheme, header) {
        (Scheme::None, _) => true,
        (_, None) => false,
        (Scheme::Basic, Some(h)) => h.strip_prefix("Basic ").is_some_and(|b64| {
            let want = format!("{}:{}", auth.username, auth.password);
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .is_ok_and(|got| got == want.as_bytes())
        }),
        (Scheme::DigestMd5 | Scheme::DigestSha256, Some(h)) => digest_ok(auth, method, h),
    }
}

pub fn challenge_header(auth: &Auth) -> String {
    match auth.scheme {
        Scheme::Basic => format!("Basic realm=\"{}\"", auth.realm),
        Scheme::DigestSha256 => format!(
            "Digest qop=\"auth\", realm=\"{}\", nonce=\"{NONCE}\", algorithm=SHA-256",
            auth.realm
        ),
        _ => format!(
            "Digest qop=\"auth\", realm=\"{}\", nonce=\"{NONCE}\", opaque=\"0a1b2c3d\", algorithm=MD5",
            auth.realm
        ),
    }
}

/// A plain 401 with the device's challenge.
pub fn challenge(auth: &Auth) -> Response {
    with_challenge(StatusCode::UNAUTHORIZED.into_response(), auth)
}

fn with_challenge(mut resp: Response, auth: &Auth) -> Response {
    if let Ok(v) = HeaderValue::from_str(&challenge_header(auth)) {
        resp.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    resp
}

fn digest_ok(auth: &Auth, method: &str, header: &str) -> bool {
    let Ok(parsed) = http_auth::parse_challenges(header) else {
        return false;
    };
    let Some(c) = parsed
        .first()
        .filter(|c| c.scheme.eq_ignore_ascii_case("digest"))
    else {
        return false;
    };
    let param = |name: &str| {
        c.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_unescaped())
    };
    let (Some(user), Some(uri), Some(nonce), Some(response)) = (
        param("username"),
        param("uri"),
        param("nonce"),
        param("response"),
    ) else {
        return false;
    };
    if user != auth.username || nonce != NONCE {
        return false;
    }
    let h = |s: String| hash(auth.scheme, &s);
    let ha1 = h(format!(
        "{}:{}:{}",
        auth.username, auth.realm, auth.password
    ));
    let ha2 = h(format!("{method}:{uri}"));
    let expected = match (param("qop"), param("nc"), param("cnonce")) {
        (Some(qop), Some(nc), Some(cnonce)) => {
            h(format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"))
        }
        _ => h(format!("{ha1}:{nonce}:{ha2}")),
    };
    expected == response
}

fn hash(scheme: Scheme, s: &str) -> String {
    let bytes: Vec<u8> = match scheme {
        Scheme::DigestSha256 => sha2::Sha256::digest(s.as_bytes()).to_vec(),
        _ => md5::Md5::digest(s.as_bytes()).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(scheme: Scheme) -> Auth {
        Auth {
            scheme,
            realm: "http-auth@example.org".into(),
            username: "Mufasa".into(),
            password: "Circle of Life".into(),
        }
    }

    #[test]
    fn digest_answers_from_the_agent_client_are_accepted() {
        for scheme in [Scheme::DigestMd5, Scheme::DigestSha256] {
            let a = auth(scheme);
            let mut client =
                http_auth::PasswordClient::try_from(challenge_header(&a).as_str()).unwrap();
            let answer = |client: &mut http_auth::PasswordClient, password: &str| {
                client
                    .respond(&http_auth::PasswordParams {
                        username: "Mufasa",
                        password,
                        uri: "/ISAPI/System/deviceInfo",
                        method: "GET",
                        body: None,
                    })
                    .unwrap()
            };
            assert!(check(
                &a,
                "GET",
                Some(&answer(&mut client, "Circle of Life"))
            ));
            assert!(!check(&a, "GET", Some(&answer(&mut client, "wrong"))));
            assert!(!check(&a, "GET", None));
        }
    }

    #[test]
    fn basic_checks_the_pair() {
        let a = auth(Scheme::Basic);
        let ok = base64::engine::general_purpose::STANDARD.encode("Mufasa:Circle of Life");
        assert!(check(&a, "GET", Some(&format!("Basic {ok}"))));
        assert!(!check(&a, "GET", Some("Basic bm9wZTpub3Bl")));
    }
}
