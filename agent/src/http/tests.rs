//! Tests of the device HTTP client: digest answers, body caps.

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
        r.contains("response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""),
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
