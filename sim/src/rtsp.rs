//! Simulated RTSP camera server: `OPTIONS` and `DESCRIBE` for
//! `/Streaming/Channels/<channel>`, with digest auth on DESCRIBE as Hikvision
//! cameras do, `404` for unknown or offline channels, and silence when hung.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::auth;
use crate::fixture::render;
use crate::state::{lock, Shared};

const SDP: &str = include_str!("../templates/rtsp/sdp.txt");

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

/// Answer requests on one connection until the client closes it.
async fn session(stream: TcpStream, dev: Shared) {
    let host = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let mut conn = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut conn).await else {
            return;
        };
        if lock(&dev).hang {
            std::future::pending::<()>().await;
        }
        let reply = answer(&dev, &request, &host);
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
    let mut line = String::new();
    conn.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
    let mut parts = line.split_whitespace();
    let (method, url) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut cseq, mut authorization) = (String::from("0"), None);
    loop {
        line.clear();
        conn.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
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

fn answer(dev: &Shared, r: &Request, host: &str) -> String {
    let date = jiff::Timestamp::now().strftime("%a, %b %d %Y %H:%M:%S GMT");
    let head = |status: &str| format!("RTSP/1.0 {status}\r\nCSeq: {}\r\nDate:  {date}\r\n", r.cseq);
    match r.method.as_str() {
        "OPTIONS" => format!("{}Public: OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER\r\n\r\n", head("200 OK")),
        "DESCRIBE" => {
            let d = lock(dev).clone();
            if !auth::check(&d.auth, "DESCRIBE", r.authorization.as_deref()) {
                return format!("{}WWW-Authenticate: {}\r\n\r\n", head("401 Unauthorized"), auth::challenge_header(&d.auth));
            }
            let channel = r.url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            if !d.channels.iter().any(|c| c.id == channel && c.online) {
                return format!("{}\r\n", head("404 Not Found"));
            }
            let sdp = render("sdp", SDP, minijinja::context! { host, channel });
            format!("{}Content-Type: application/sdp\r\nContent-Base: {}/\r\nContent-Length: {}\r\n\r\n{sdp}", head("200 OK"), r.url, sdp.len())
        }
        _ => format!("{}\r\n", head("405 Method Not Allowed")),
    }
}
