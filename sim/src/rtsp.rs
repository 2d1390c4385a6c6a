//! Simulated RTSP camera server (RFC 2326): `OPTIONS` and `DESCRIBE` for
//! `/Streaming/Channels/<channel>`, as Hikvision cameras name their streams,
//! with digest auth on DESCRIBE (OPTIONS needs none), `404` for an unknown
//! path or an offline channel, and silence when hung. Every answer comes
//! from a template under `templates/rtsp/`.

use minijinja::context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::auth;
use crate::fixture::render;
use crate::state::{lock, Auth, DeviceState, Scheme, Shared};

const OPTIONS: &str = include_str!("../templates/rtsp/options.txt");
const UNAUTHORIZED: &str = include_str!("../templates/rtsp/unauthorized.txt");
const DESCRIBE: &str = include_str!("../templates/rtsp/describe.txt");
const STATUS: &str = include_str!("../templates/rtsp/status.txt");
const SDP: &str = include_str!("../templates/rtsp/sdp.txt");

/// Longest request head read; a client's is a few hundred bytes.
const MAX_REQUEST: u64 = 16 * 1024;

pub async fn serve(listener: TcpListener, dev: Shared, shutdown: CancellationToken) {
    loop {
        let conn = tokio::select! {
            _ = shutdown.cancelled() => return,
            c = listener.accept() => c,
        };
        let Ok((stream, _)) = conn else { continue };
        let (dev, stop) = (dev.clone(), shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = session(stream, dev) => {}
            }
        });
    }
}

/// Answer requests on one connection until the client closes it. A hung
/// camera accepts, reads, and never answers.
async fn session(stream: TcpStream, dev: Shared) {
    let mut conn = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut conn).await else {
            return;
        };
        if lock(&dev).hang {
            std::future::pending::<()>().await;
        }
        let d = lock(&dev).clone();
        let reply = answer(&d, &request);
        if conn.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

struct Request {
    method: String,
    url: String,
    cseq: String,
    authorization: Option<String>,
}

async fn read_request(conn: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = (&mut *conn).take(MAX_REQUEST);
    let mut line = String::new();
    head.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
    let mut parts = line.split_whitespace();
    let (method, url) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut cseq, mut authorization) = (String::from("0"), None);
    loop {
        line.clear();
        head.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        match l.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("CSeq") => cseq = v.trim().to_owned(),
            Some((k, v)) if k.eq_ignore_ascii_case("Authorization") => {
                authorization = Some(v.trim().to_owned())
            }
            _ => {}
        }
    }
    Some(Request {
        method,
        url,
        cseq,
        authorization,
    })
}

fn answer(d: &DeviceState, r: &Request) -> String {
    // Hikvision's own Date format, two spaces after the colon included.
    let date = d.now().strftime("%a, %b %d %Y %H:%M:%S GMT").to_string();
    let cseq = &r.cseq;
    match r.method.as_str() {
        "OPTIONS" => head(render("options", OPTIONS, context! { cseq, date })),
        "DESCRIBE" => {
            if !auth::check(&d.auth, "DESCRIBE", r.authorization.as_deref()) {
                let challenge = challenge(&d.auth);
                return head(render(
                    "401",
                    UNAUTHORIZED,
                    context! { cseq, challenge, date },
                ));
            }
            let Some(channel) = channel_of(&r.url).filter(|id| stream_up(d, id)) else {
                let status = "404 Not Found";
                return head(render("404", STATUS, context! { status, cseq, date }));
            };
            describe(r, channel, &date)
        }
        _ => {
            let status = "405 Method Not Allowed";
            head(render("405", STATUS, context! { status, cseq, date }))
        }
    }
}

/// The camera's challenge. Hikvision's (fixture `describe_401.txt`) has no
/// qop and no algorithm (so MD5 and the RFC 2069 response), and `stale` in
/// capitals; other schemes as the HTTP side sends them.
fn challenge(a: &Auth) -> String {
    match a.scheme {
        Scheme::DigestMd5 => format!(
            "Digest realm=\"{}\", nonce=\"{}\", stale=\"FALSE\"",
            a.realm,
            auth::NONCE
        ),
        _ => auth::challenge_header(a),
    }
}

fn describe(r: &Request, channel: &str, date: &str) -> String {
    let host = r
        .url
        .strip_prefix("rtsp://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    let sdp = crlf(&render("sdp", SDP, context! { host, channel }));
    let base = r.url.trim_end_matches('/');
    let length = sdp.len();
    let cseq = &r.cseq;
    head(render(
        "describe",
        DESCRIBE,
        context! { cseq, base, length, date },
    )) + &sdp
}

/// The channel a stream URL names: `rtsp://host[:port]/Streaming/Channels/<id>[/]`.
fn channel_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("rtsp://")?;
    let path = &rest[rest.find('/')?..];
    let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
    let id = path.strip_prefix("/Streaming/Channels/")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

fn stream_up(d: &DeviceState, id: &str) -> bool {
    d.channels.iter().any(|c| c.id == id && c.online)
}

/// A rendered head, its lines ended with CRLF and closed by the empty line,
/// whatever line ends the template file has.
fn head(rendered: String) -> String {
    crlf(&rendered) + "\r\n"
}

fn crlf(text: &str) -> String {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hikvision_stream_paths_name_a_channel() {
        assert_eq!(
            channel_of("rtsp://127.0.0.1:554/Streaming/Channels/101"),
            Some("101")
        );
        assert_eq!(
            channel_of("rtsp://h/Streaming/Channels/201/?transportmode=unicast"),
            Some("201")
        );
        assert_eq!(channel_of("rtsp://h/cam/realmonitor?channel=1"), None);
        assert_eq!(channel_of("rtsp://h/Streaming/Channels/"), None);
        assert_eq!(
            channel_of("rtsp://h/Streaming/Channels/101/trackID=1"),
            None
        );
    }

    #[test]
    fn answers_are_crlf_framed_with_their_length() {
        let d = crate::layout::default_office()
            .into_iter()
            .find(|d| d.id == "cam-gerbang")
            .unwrap();
        let r = Request {
            method: "DESCRIBE".into(),
            url: "rtsp://127.0.0.1:8554/Streaming/Channels/101".into(),
            cseq: "3".into(),
            authorization: None,
        };
        let challenge = answer(&d, &r);
        assert!(
            challenge.starts_with("RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\n"),
            "{challenge}"
        );
        assert!(challenge.ends_with("GMT\r\n\r\n"), "{challenge}");
        let ok = describe(&r, "101", "Mon, Jun 11 2018 08:00:00 GMT");
        let (head, body) = ok.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert!(
            body.contains("m=video") && body.ends_with("a=appversion:1.0\r\n"),
            "{body}"
        );
    }
}
