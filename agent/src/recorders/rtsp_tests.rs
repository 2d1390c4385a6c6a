//! RTSP answers against fixtures written from RFC 2326 and a camera's SDP.

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../sim/fixtures/rtsp/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read(&path).unwrap();
    let split = text.windows(2).position(|w| w == b"\n\n").unwrap();
    text[split + 2..].to_vec()
}

async fn answer(name: &str) -> Result<Answer, ProbeError> {
    let bytes = fixture(name);
    read_answer(&mut bytes.as_slice()).await
}

#[tokio::test]
async fn options_and_a_good_describe() {
    let a = answer("options_response.txt").await.unwrap();
    assert_eq!(a.status, 200);
    assert!(a.header("public").unwrap().contains("DESCRIBE"));
    let d = answer("describe_200.txt").await.unwrap();
    assert_eq!(check_sdp(&d), Ok(()));
    assert!(d.body.contains("m=video 0 RTP/AVP 96"));
}

#[tokio::test]
async fn a_challenge_can_be_answered() {
    let a = answer("describe_401.txt").await.unwrap();
    assert_eq!(check_sdp(&a), Err(ProbeError::Unauthorized));
    let mut client = PasswordClient::try_from(a.header("WWW-Authenticate").unwrap()).unwrap();
    let params = PasswordParams {
        username: "admin",
        password: "p",
        uri: "rtsp://h/Streaming/Channels/101",
        method: "DESCRIBE",
        body: None,
    };
    let auth = client.respond(&params).unwrap();
    assert!(
        auth.starts_with("Digest ") && auth.contains("uri=\"rtsp://h/Streaming/Channels/101\""),
        "{auth}"
    );
}

#[tokio::test]
async fn missing_streams_short_bodies_and_huge_ones() {
    let a = answer("describe_404.txt").await.unwrap();
    assert_eq!(
        check_sdp(&a).unwrap_err().to_string(),
        "stream not found (RTSP 404)"
    );
    assert!(matches!(
        answer("describe_truncated.txt").await,
        Err(ProbeError::Parse(_))
    ));
    assert_eq!(
        answer("describe_too_large.txt").await,
        Err(ProbeError::TooLarge(MAX_BODY))
    );
    assert!(read_answer(&mut b"HTTP/1.1 200 OK\r\n\r\n".as_slice())
        .await
        .is_err());
}

#[test]
fn credentials_in_a_url_never_reach_the_request_line() {
    let (url, addr) = target("rtsp://admin:secret@10.0.0.5/Streaming/Channels/101").unwrap();
    assert_eq!(
        (url.as_str(), addr.as_str()),
        ("rtsp://10.0.0.5/Streaming/Channels/101", "10.0.0.5:554")
    );
}
