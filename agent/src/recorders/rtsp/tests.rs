//! RTSP answers and requests against the fixtures written from RFC 2326
//! and real camera captures (Hikvision, Dahua, a cheap OEM DVR).

use http_auth::{PasswordClient, PasswordParams};

use super::*;

/// A fixture's body: everything after the header and its empty line.
fn fixture(name: &str) -> Vec<u8> {
    crate::fixture::read("rtsp", name).into_bytes()
}

/// The same fixture, parsed from bytes and read as off a socket: both agree.
async fn answer(name: &str) -> Result<Answer, ProbeError> {
    let bytes = fixture(name);
    let read = read_answer(&mut bytes.as_slice()).await;
    assert_eq!(read, parse_answer(&bytes), "{name}");
    read
}

#[tokio::test]
async fn options_lists_describe() {
    let a = answer("options_response.txt").await.unwrap();
    assert_eq!((a.status, a.reason.as_str()), (200, "OK"));
    assert_eq!(a.header("cseq"), Some("1"));
    assert!(a.header("Public").unwrap().contains("DESCRIBE"));
    assert_eq!(a.body, "");
}

#[tokio::test]
async fn a_good_describe_has_an_sdp_with_video() {
    let a = answer("describe_200.txt").await.unwrap();
    assert_eq!(check_describe(&a), Ok(()));
    assert_eq!(a.body.len(), 635);
    assert!(a.body.starts_with("v=0\r\n"));
    assert!(a.body.contains("m=video 0 RTP/AVP 96"));
}

#[tokio::test]
async fn a_digest_challenge_is_answered_for_the_request_url() {
    let a = answer("describe_401.txt").await.unwrap();
    assert_eq!(check_describe(&a), Err(ProbeError::Unauthorized));
    let auth = respond(&a, "DESCRIBE");
    assert!(auth.starts_with("Digest "), "{auth}");
    assert!(auth.contains("uri=\"rtsp://10.0.0.5/Streaming/Channels/101\""));
    assert!(auth.contains("realm=\"IP Camera(C6496)\""));
    assert!(
        !auth.contains("Gerbang2018"),
        "the password itself is never sent"
    );
}

#[tokio::test]
async fn digest_wins_over_basic_and_basic_alone_is_answered() {
    let both = answer("describe_401_digest_and_basic.txt").await.unwrap();
    assert_eq!(both.all("www-authenticate").count(), 2);
    assert!(respond(&both, "DESCRIBE").starts_with("Digest "));
    let basic = answer("describe_401_basic.txt").await.unwrap();
    // base64("admin:Gerbang2018")
    assert_eq!(
        respond(&basic, "DESCRIBE"),
        "Basic YWRtaW46R2VyYmFuZzIwMTg="
    );
}

fn respond(a: &Answer, method: &str) -> String {
    let mut b = PasswordClient::builder();
    for c in a.all("WWW-Authenticate") {
        b = b.challenges(c);
    }
    b.build()
        .unwrap()
        .respond(&PasswordParams {
            username: "admin",
            password: "Gerbang2018",
            uri: "rtsp://10.0.0.5/Streaming/Channels/101",
            method,
            body: None,
        })
        .unwrap()
}

#[tokio::test]
async fn the_worked_example_request_is_sent_byte_for_byte() {
    // rtsp.md section 4: the answer to describe_401.txt, no qop.
    let challenge = answer("describe_401.txt").await.unwrap();
    let url = "rtsp://192.168.1.64:554/Streaming/Channels/101";
    let (sent, _) = target(url).unwrap();
    assert_eq!(sent, url, "the URL is sent as configured, port and all");
    let mut client =
        PasswordClient::try_from(challenge.header("WWW-Authenticate").unwrap()).unwrap();
    let auth = client
        .respond(&PasswordParams {
            username: "admin",
            password: "Gerbang2018",
            uri: &sent,
            method: "DESCRIBE",
            body: None,
        })
        .unwrap();
    assert!(
        auth.contains("response=\"2bb774caf8739f0b0083ca2a075eca66\""),
        "{auth}"
    );
    let expected = String::from_utf8(fixture("describe_request_digest.txt")).unwrap();
    let ours = request_text("DESCRIBE", &sent, 3, Some(&auth));
    // Byte for byte but for the order of the digest's parameters.
    let (ours_auth, want_auth) = (authorization(&ours), authorization(&expected));
    assert_eq!(ours_auth.0, want_auth.0);
    assert_eq!(
        ours.replace(&ours_auth.1, ""),
        expected.replace(&want_auth.1, "")
    );
    assert_eq!(
        request_text("OPTIONS", &sent, 1, None),
        format!("OPTIONS {url} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: ronda-agent\r\n\r\n")
    );
}

/// The Authorization header's parameters, sorted, and its raw value.
fn authorization(request: &str) -> (Vec<(String, String)>, String) {
    let value = request
        .lines()
        .find_map(|l| l.strip_prefix("Authorization: "))
        .unwrap();
    let parsed = http_auth::parse_challenges(value).unwrap();
    let mut params: Vec<_> = parsed[0]
        .params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_unescaped()))
        .collect();
    params.sort();
    (params, value.to_owned())
}

#[tokio::test]
async fn sha256_is_taken_first_with_qop() {
    let a = answer("describe_401_sha256.txt").await.unwrap();
    let auth = respond(&a, "DESCRIBE");
    assert!(auth.starts_with("Digest "), "{auth}");
    assert!(
        auth.contains("algorithm=SHA-256")
            && auth.contains("qop=auth")
            && auth.contains("nc=00000001"),
        "{auth}"
    );
}

#[tokio::test]
async fn odd_cameras_read_alike() {
    // A CSeq with trailing space, and Dahua's header order and extras.
    let longse = answer("describe_401_cseq_space.txt").await.unwrap();
    assert_eq!((longse.status, longse.header("CSeq")), (401, Some("2")));
    assert!(respond(&longse, "DESCRIBE").contains("realm=\"Surveillance Server\""));
    let options = answer("options_response_dahua.txt").await.unwrap();
    assert_eq!(options.status, 200);
    assert!(options.header("public").unwrap().contains("DESCRIBE"));
    let dahua = answer("describe_200_dahua.txt").await.unwrap();
    assert_eq!(dahua.body.len(), 389);
    assert_eq!(check_describe(&dahua), Ok(()));
    let (url, addr) =
        target("rtsp://192.168.1.108:554/cam/realmonitor?channel=1&subtype=0").unwrap();
    assert_eq!(
        (url.as_str(), addr.as_str()),
        (
            "rtsp://192.168.1.108:554/cam/realmonitor?channel=1&subtype=0",
            "192.168.1.108:554"
        )
    );
}

#[tokio::test]
async fn a_missing_stream_is_named() {
    let a = answer("describe_404.txt").await.unwrap();
    assert_eq!(a.status, 404);
    assert_eq!(
        check_describe(&a).unwrap_err().to_string(),
        "stream not found"
    );
}

#[tokio::test]
async fn without_content_length_the_body_is_empty() {
    let a = answer("describe_no_content_length.txt").await.unwrap();
    assert_eq!((a.status, a.body.as_str()), (200, ""));
    let e = check_describe(&a).unwrap_err();
    assert!(e.to_string().contains("no Content-Length"), "{e}");
}

#[tokio::test]
async fn short_and_huge_bodies_are_refused() {
    let e = answer("describe_truncated.txt").await.unwrap_err();
    assert_eq!(
        e,
        ProbeError::Parse("RTSP body shorter than its Content-Length".into())
    );
    assert_eq!(
        answer("describe_too_large.txt").await,
        Err(ProbeError::TooLarge(MAX_BODY))
    );
}

#[tokio::test]
async fn broken_heads_are_parse_errors() {
    for bad in [
        &b"HTTP/1.1 200 OK\r\n\r\n"[..],
        b"RTSP/1.0 OK\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nCSeq: 2\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: lots\r\n\r\n",
    ] {
        assert!(
            matches!(parse_answer(bad), Err(ProbeError::Parse(_))),
            "{bad:?}"
        );
        let read = read_answer(&mut &bad[..]).await;
        assert!(
            matches!(read, Err(ProbeError::Parse(_))),
            "{bad:?}: {read:?}"
        );
    }
    let endless = [b"RTSP/1.0 200 OK\r\nX: ".as_slice(), &[b'a'; 20_000]].concat();
    let read = read_answer(&mut endless.as_slice()).await;
    assert!(matches!(read, Err(ProbeError::Parse(_))), "{read:?}");
    let closed = read_answer(&mut &b""[..]).await;
    assert!(
        matches!(closed, Err(ProbeError::Transport(_))),
        "{closed:?}"
    );
}

#[test]
fn an_answer_without_video_is_not_a_camera_stream() {
    let a = Answer {
        status: 200,
        reason: "OK".into(),
        headers: vec![("Content-Type".into(), "application/sdp".into())],
        body: "v=0\r\nm=audio 0 RTP/AVP 0\r\n".into(),
    };
    assert_eq!(
        check_describe(&a),
        Err(ProbeError::Device("the stream has no video".into()))
    );
    let html = Answer {
        headers: vec![("Content-Type".into(), "text/html".into())],
        ..a.clone()
    };
    assert!(matches!(check_describe(&html), Err(ProbeError::Parse(_))));
    // No Content-Type at all (some firmwares): the body is tried as SDP.
    let untyped = Answer {
        headers: vec![],
        body: "v=0\r\nm=video 0 RTP/AVP 96\r\n".into(),
        ..a.clone()
    };
    assert_eq!(check_describe(&untyped), Ok(()));
    let garbage = Answer {
        body: "<html>login</html>".into(),
        ..untyped
    };
    assert!(matches!(
        check_describe(&garbage),
        Err(ProbeError::Parse(_))
    ));
}

#[test]
fn credentials_in_a_url_never_reach_the_request_line() {
    let (url, addr) = target("rtsp://admin:secret@10.0.0.5/Streaming/Channels/101").unwrap();
    assert_eq!(
        (url.as_str(), addr.as_str()),
        ("rtsp://10.0.0.5/Streaming/Channels/101", "10.0.0.5:554")
    );
    let e = target("rtsp://admin:secret@/x").unwrap_err().to_string();
    assert!(!e.contains("secret"), "{e}");
}

/// Found by `fuzz_rtsp_mutated_fixtures`: a head whose last line ends in a
/// bare `\n` before the `\r\n` empty line was read by the client but
/// refused by `parse_answer`.
#[tokio::test]
async fn mixed_line_ends_read_alike_in_memory_and_off_the_wire() {
    let mixed =
        b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nDate: Mon, Jun 11 2018 08:00:00 GMT\n\r\n";
    let read = read_answer(&mut &mixed[..]).await;
    assert_eq!(read, parse_answer(mixed));
    assert_eq!(read.unwrap().header("CSeq"), Some("2"));
}

/// Found by `fuzz_rtsp_mutated_fixtures`: a head over `MAX_HEAD` was refused
/// by the client's reader but read by `parse_answer`.
#[tokio::test]
async fn a_head_too_long_for_the_client_is_too_long_in_memory() {
    let long = [
        b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nX: ".as_slice(),
        &[b'9'; 20_000],
        b"\r\n\r\n",
    ]
    .concat();
    let read = read_answer(&mut long.as_slice()).await;
    assert!(matches!(read, Err(ProbeError::Parse(_))), "{read:?}");
    assert_eq!(parse_answer(&long), read);
}
