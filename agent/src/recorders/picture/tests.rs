//! The JPEG check and end-marker walk, on JPEG-shaped bytes built by hand
//! after ITU-T T.81 Annex B (markers, segment lengths, byte stuffing).

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::StatusCode;

use super::*;

/// A JPEG's marker structure: SOI, an APP1 holding an EXIF-like thumbnail
/// with its own SOI/EOI, SOS, scan bytes with a stuffed `FF 00` and a
/// restart marker, EOI. `tag` varies the scan so pictures differ.
pub fn sample(tag: u8) -> Vec<u8> {
    let thumb = [0xFF, 0xD8, 0x01, 0x02, 0xFF, 0xD9];
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE1];
    b.extend_from_slice(&((thumb.len() + 2) as u16).to_be_bytes());
    b.extend_from_slice(&thumb);
    b.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0x3F, 0]);
    b.extend_from_slice(&[tag, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, tag]);
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

pub fn raw(status: u16, content_type: &str, body: Vec<u8>) -> Raw {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    Raw {
        status: StatusCode::from_u16(status).unwrap(),
        headers,
        body,
    }
}

fn none(_: &str) -> Option<String> {
    None
}

#[test]
fn bytes_after_the_end_are_cut_whatever_they_hold() {
    let j = sample(7);
    for tail in [
        vec![0u8; 1024],
        b"\r\n--myboundary\r\n".to_vec(),
        vec![0xFF, 0xD9, 0xFF, 0xD9],
    ] {
        let mut long = j.clone();
        long.extend_from_slice(&tail);
        let got = jpeg(raw(200, "image/jpeg", long), none).unwrap();
        assert_eq!(got, j);
    }
}

#[test]
fn an_html_page_with_200_says_so() {
    let page = b"<html><body>Login</body></html>".to_vec();
    let e = jpeg(raw(200, "text/html", page), none).unwrap_err();
    assert_eq!(
        e.to_string(),
        "HTTP 200 but text/html: <html><body>Login</body></html>"
    );
}

#[test]
fn binary_that_is_not_a_jpeg_is_told_by_size_only() {
    let png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];
    let e = jpeg(raw(200, "image/png", png), none).unwrap_err();
    assert_eq!(
        e.to_string(),
        "HTTP 200 but image/png, 10 bytes that are not a JPEG"
    );
    let e = jpeg(raw(200, "image/jpeg", Vec::new()), none).unwrap_err();
    assert_eq!(e.to_string(), "HTTP 200 but an empty body");
}

#[test]
fn a_vendor_refusal_is_read_in_its_words() {
    fn dahua(t: &str) -> Option<String> {
        t.strip_prefix("Error")
            .map(|r| format!("says Error:{}", r.trim_end()))
    }
    let e = jpeg(
        raw(400, "text/plain", b"Error\r\nBad Request!\r\n".to_vec()),
        dahua,
    );
    assert_eq!(e.unwrap_err().to_string(), "says Error:\r\nBad Request!");
    let e = jpeg(raw(503, "text/plain", b"busy".to_vec()), dahua).unwrap_err();
    assert_eq!(e.to_string(), "HTTP 503: text/plain: busy");
}

#[test]
fn a_jpeg_under_an_error_status_is_not_taken() {
    let e = jpeg(raw(500, "image/jpeg", sample(1)), none).unwrap_err();
    assert!(matches!(e, ProbeError::Status { status: 500, .. }), "{e:?}");
}

#[test]
fn the_debug_of_an_answer_shows_no_bytes() {
    let r = raw(200, "image/jpeg", sample(1));
    let shown = format!("{r:?}");
    assert!(
        shown.contains(&format!("bytes: {}", sample(1).len())),
        "{shown}"
    );
    assert!(!shown.contains("255"), "{shown}");
}
