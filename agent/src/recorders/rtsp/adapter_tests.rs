//! How camera outcomes make the recorder's reading, and one session
//! against a scripted camera.

use std::time::Duration;

use super::*;

/// A fixture's body: everything after the header and its empty line.
fn fixture(name: &str) -> Vec<u8> {
    crate::fixture::read("rtsp", name).into_bytes()
}

fn outcome(answered: bool, result: Result<(), ProbeError>) -> Outcome {
    Outcome { answered, result }
}

#[test]
fn one_answering_camera_makes_the_recorder_reachable() {
    let timeout = ProbeError::Timeout(Duration::from_secs(1));
    let refused = ProbeError::Connect("refused".into());
    let lost = ProbeError::Device("stream not found".into());
    assert_eq!(
        recorder_error(&[outcome(true, Ok(())), outcome(false, Err(timeout.clone()))]),
        None
    );
    assert_eq!(
        recorder_error(&[
            outcome(true, Err(lost.clone())),
            outcome(true, Err(ProbeError::Unauthorized))
        ]),
        None
    );
    // All alike: the recorder's error.
    let all_401 = [
        outcome(true, Err(ProbeError::Unauthorized)),
        outcome(true, Err(ProbeError::Unauthorized)),
    ];
    assert_eq!(recorder_error(&all_401), Some(ProbeError::Unauthorized));
    // None answered, for different reasons: the first one's.
    assert_eq!(
        recorder_error(&[
            outcome(false, Err(refused.clone())),
            outcome(false, Err(timeout))
        ]),
        Some(refused)
    );
}

#[test]
fn channels_say_online_only_when_they_know() {
    // Issue 17 point 5: a live stream is online, with no segment and the
    // reason why, so it reads as "could not read", never "did not record".
    let ok = channel("101", Ok(()));
    assert_eq!(
        (
            ok.online,
            ok.error.as_deref(),
            ok.recording,
            ok.last_segment_end
        ),
        (Some(true), Some(NO_RECORDINGS), None, None)
    );
    let lost = channel("201", Err(ProbeError::Device("stream not found".into())));
    assert_eq!(
        (lost.online, lost.error.as_deref()),
        (Some(false), Some("stream not found"))
    );
    let locked = channel("301", Err(ProbeError::Unauthorized));
    assert_eq!(
        (locked.online, locked.error.as_deref()),
        (None, Some("wrong username or password"))
    );
}

#[test]
fn each_camera_gets_a_share_of_the_deadline() {
    let cfg = |n: usize| {
        let channels = (0..n)
            .map(|i| super::super::ChannelConfig {
                id: i.to_string(),
                name: None,
                zone: "front-road".into(),
                url: Some(format!("rtsp://10.0.0.{i}/Streaming/Channels/101")),
                path: None,
            })
            .collect();
        RecorderConfig {
            id: "cams".into(),
            kind: super::super::RecorderKind::Rtsp,
            url: String::new(),
            creds: None,
            insecure_tls: false,
            timeout: Duration::from_secs(10),
            lookback: Duration::from_secs(3600),
            channels,
            view: None,
        }
    };
    assert_eq!(Rtsp::new(&cfg(2)).per_camera(), Duration::from_secs(9));
    assert_eq!(Rtsp::new(&cfg(5)).per_camera(), Duration::from_millis(4500));
}

/// A camera that challenges OPTIONS and closes the connection after its 401,
/// as some do: the client reconnects, answers Basic, and describes.
#[tokio::test]
async fn a_challenge_on_options_and_a_closed_connection_are_handled() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sdp = String::from_utf8(fixture("describe_200.txt")).unwrap();
    let camera = tokio::spawn(async move {
        let mut seen = Vec::new();
        for answers in [1, 2] {
            let (s, _) = listener.accept().await.unwrap();
            let mut conn = BufReader::new(s);
            for _ in 0..answers {
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    conn.read_line(&mut line).await.unwrap();
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let reply = if !head.contains("Authorization: Basic ") {
                    "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nConnection: close\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n".to_owned()
                } else if head.starts_with("OPTIONS") {
                    "RTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n".to_owned()
                } else {
                    sdp.clone()
                };
                conn.get_mut().write_all(reply.as_bytes()).await.unwrap();
                seen.push(head);
            }
        }
        seen
    });
    let creds = Creds {
        username: "admin".into(),
        password: ronda_common::conf::Secret::new("Gerbang2018"),
    };
    let url = format!("rtsp://{addr}/Streaming/Channels/101");
    let outcome = client::probe(&url, Some(&creds), Duration::from_secs(5)).await;
    assert_eq!(outcome.result, Ok(()));
    assert!(outcome.answered);
    let seen = camera.await.unwrap();
    assert!(
        seen[0].starts_with(&format!("OPTIONS {url} RTSP/1.0\r\nCSeq: 1\r\n")),
        "{seen:?}"
    );
    assert!(
        seen[1].starts_with("OPTIONS") && seen[1].contains("CSeq: 2\r\n"),
        "{seen:?}"
    );
    assert!(
        seen[2].starts_with("DESCRIBE") && seen[2].contains("CSeq: 3\r\n"),
        "{seen:?}"
    );
    assert!(seen[2].contains("Accept: application/sdp\r\n"), "{seen:?}");
}
