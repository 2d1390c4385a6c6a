//! A tiny PUSH receiver on 127.0.0.1 (real HTTP) that records what the
//! simulated ZKTeco device sends and answers from a script, and the device
//! started against it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::doors::{start, Doors};
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use ronda_sim::access::layout::zkteco_device;
use ronda_sim::state::DeviceState;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub const ID: &str = "pintu-belakang";
pub const SN: &str = "CKJM201960012";

/// One request the device made.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub body: String,
}

impl Seen {
    pub fn is_upload(&self) -> bool {
        self.method == "POST" && self.target.starts_with("/iclock/cdata")
    }
}

/// What the receiver answers: the handshake's options, then scripted
/// answers to uploads and polls (`OK` once the script runs out).
#[derive(Default)]
pub struct Script {
    pub options: String,
    /// `None`: hold the answer back for good (a server that hangs).
    pub handshakes: VecDeque<Option<String>>,
    pub uploads: VecDeque<(u16, String)>,
    pub polls: VecDeque<String>,
}

#[derive(Clone)]
pub struct Receiver {
    seen: mpsc::UnboundedSender<Seen>,
    script: Arc<Mutex<Script>>,
}

/// The handshake options after `GET OPTION FROM: <SN>`: the key set of
/// docs/vendors/zkteco-push.md §1 ([ATT] §6 example plus the version
/// keys), with delays of 1 and 2 protocol seconds.
pub const OPTIONS: &str = "ATTLOGStamp=None\nOPERLOGStamp=9999\nErrorDelay=1\nDelay=2\nTransTimes=00:00;14:05\nTransInterval=1\nTransFlag=TransData AttLog\tOpLog\nTimeZone=7\nRealtime=1\nEncrypt=None\nServerVer=2.4.1\nPushProtVer=2.4.1\n";

async fn answer(State(r): State<Receiver>, req: Request) -> axum::response::Response {
    let method = req.method().to_string();
    let target = req.uri().to_string();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&body).into_owned();
    let _ = r.seen.send(Seen {
        method: method.clone(),
        target: target.clone(),
        body,
    });
    let date = [("date", "Fri, 03 Jul 2015 06:53:01 GMT")];
    if method == "GET" && target.starts_with("/iclock/cdata") {
        let scripted = r.script.lock().unwrap().handshakes.pop_front();
        let text = match scripted {
            Some(None) => std::future::pending().await,
            Some(Some(text)) => text,
            None => {
                let options = r.script.lock().unwrap().options.clone();
                format!("GET OPTION FROM: {SN}\n{options}")
            }
        };
        return (date, text).into_response();
    }
    if target.starts_with("/iclock/getrequest") {
        let cmd = r.script.lock().unwrap().polls.pop_front();
        return (date, cmd.unwrap_or_else(|| "OK".into())).into_response();
    }
    let (status, text) = if method == "POST" && target.starts_with("/iclock/cdata") {
        let scripted = r.script.lock().unwrap().uploads.pop_front();
        scripted.unwrap_or((200, "OK".into()))
    } else {
        (200, "OK".into())
    };
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    (status, date, text).into_response()
}

pub struct Bench {
    pub doors: Doors,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    pub script: Arc<Mutex<Script>>,
}

/// A receiver, and the device calling it with a protocol second of 20 ms.
pub async fn bench(options: &str, change: impl FnOnce(&mut DeviceState, &mut Script)) -> Bench {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (tx, seen) = mpsc::unbounded_channel();
    let mut script = Script {
        options: options.into(),
        ..Script::default()
    };
    let mut device = zkteco_device(addr);
    device.access.push.second_ms = 20;
    change(&mut device, &mut script);
    let script = Arc::new(Mutex::new(script));
    let receiver = Receiver {
        seen: tx,
        script: script.clone(),
    };
    let app = axum::Router::new().fallback(answer).with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let doors = start(vec![device]).await;
    Bench {
        doors,
        seen,
        script,
    }
}

/// How long a test waits for the request it expects, polls aside.
pub const WAIT: Duration = Duration::from_secs(20);

impl Bench {
    pub async fn next(&mut self) -> Seen {
        tokio::time::timeout(WAIT, self.seen.recv())
            .await
            .expect("the device made no request in 20 s")
            .unwrap()
    }

    /// The next request that is not a poll.
    pub async fn next_not_poll(&mut self) -> Seen {
        let wanted = async {
            loop {
                let s = self.seen.recv().await.unwrap();
                if !s.target.starts_with("/iclock/getrequest") {
                    return s;
                }
            }
        };
        tokio::time::timeout(WAIT, wanted)
            .await
            .expect("the device made only polls for 20 s")
    }

    pub async fn next_upload(&mut self) -> Seen {
        let wanted = async {
            loop {
                let s = self.seen.recv().await.unwrap();
                if s.is_upload() {
                    return s;
                }
            }
        };
        tokio::time::timeout(WAIT, wanted)
            .await
            .expect("the device uploaded nothing for 20 s")
    }
}

/// Wait until the device has looked at its state after a change made
/// now (every change wakes it).
pub async fn looked(b: &Bench) {
    let turns = b.doors.state(ID).access.push.turns;
    b.doors.change(ID, json!({})).await;
    ronda_testkit::eventually("the device to look at its state", || async {
        (b.doors.state(ID).access.push.turns > turns).then_some(())
    })
    .await;
}

pub fn indexes(body: &str) -> Vec<u64> {
    body.lines()
        .map(|l| {
            let idx = l.split('\t').find_map(|f| f.strip_prefix("index="));
            idx.unwrap().parse().unwrap()
        })
        .collect()
}
