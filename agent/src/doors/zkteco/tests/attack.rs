//! The listener as an attacker on the office LAN calls it: someone else's
//! serial number, bodies too big or too many lines, clients too slow or too
//! many, bytes that are not HTTP, records that are not what they claim.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::super::Limits;
use super::rig::{read_answer, Rig, SN};
use crate::fixture::read;
use ronda_wire::DoorEventKind as K;

/// The listener still serves a device: the attack did not take it down.
async fn still_serves(rig: &Rig) {
    let (status, _, body) = rig.get(&format!("/iclock/getrequest?SN={SN}")).await;
    assert_eq!((status, body.as_str()), (200, "OK"));
}

#[tokio::test]
async fn an_unknown_serial_number_is_refused_and_nothing_kept() {
    let rig = Rig::start().await;
    let body = read("zkteco", "attlog_7_fields.txt");
    for target in [
        "/iclock/cdata?SN=EVIL0001&table=ATTLOG&Stamp=1",
        "/iclock/cdata?SN=ckjx201960001&table=ATTLOG",
        "/iclock/cdata?SN=%0A%1B[31mforged&table=ATTLOG",
        "/iclock/cdata?table=ATTLOG",
    ] {
        let (status, _, _) = rig.post(target, body.as_bytes()).await;
        assert!(status == 403 || status == 400, "{target}: {status}");
    }
    let (status, _, _) = rig.get("/iclock/cdata?SN=EVIL0001&options=all").await;
    assert_eq!(status, 403);
    assert!(rig.events().is_empty());
    let board = rig.controller("door-main");
    assert!(!board.reachable && board.last_contact.is_none());
}

#[tokio::test]
async fn an_oversize_body_is_refused() {
    let rig = Rig::start().await;
    // Declared too big: refused before a byte of it is read.
    let head = format!(
        "POST /iclock/cdata?SN={SN}&table=ATTLOG HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        2 << 20
    );
    let (status, _, _) = rig.raw(head.as_bytes()).await;
    assert_eq!(status, 413);
    // Chunked, with no length said: cut off at the cap.
    let line = "1001\t2026-12-24 07:58:03\t0\t1\t0\t0\t0\n";
    let chunk = line.repeat(1000);
    let mut s = TcpStream::connect(rig.addr).await.unwrap();
    let head = format!(
        "POST /iclock/cdata?SN={SN}&table=ATTLOG HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..40 {
        let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
        if s.write_all(framed.as_bytes()).await.is_err() {
            break;
        }
    }
    let (status, _, _) = read_answer(&mut s).await;
    assert_ne!(status, 200);
    assert!(rig.events().is_empty());
    still_serves(&rig).await;
}

#[tokio::test]
async fn a_hundred_thousand_lines_are_refused_whole() {
    let rig = Rig::start().await;
    let flood = "x\n".repeat(100_000);
    let (status, _, _) = rig.post_table("rtlog", &flood).await;
    assert_eq!(status, 413);
    // Real records among the junk are not kept either: the upload is refused.
    let mixed = format!("{}{flood}", read("zkteco", "rtlog_events.txt"));
    let (status, _, _) = rig.post_table("rtlog", &mixed).await;
    assert_eq!(status, 413);
    assert!(rig.events().is_empty());
    still_serves(&rig).await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let rig = Rig::start_with_limits(Limits {
        header: Duration::from_millis(200),
        request: Duration::from_secs(600),
        ..Limits::default()
    })
    .await;
    let mut slow = TcpStream::connect(rig.addr).await.unwrap();
    slow.write_all(b"GET /iclock/getrequest?SN=").await.unwrap();
    // The listener closes it; it would wait forever otherwise.
    let (status, _, _) = read_answer(&mut slow).await;
    assert_ne!(status, 200);
    still_serves(&rig).await;
}

#[tokio::test]
async fn a_client_that_never_sends_its_body_is_cut_off() {
    let rig = Rig::start_with_limits(Limits {
        request: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut slow = TcpStream::connect(rig.addr).await.unwrap();
    let head = format!(
        "POST /iclock/cdata?SN={SN}&table=ATTLOG HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n1001\t"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let (status, _, _) = read_answer(&mut slow).await;
    assert_ne!(status, 200);
    assert!(rig.events().is_empty());
    still_serves(&rig).await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_the_listener_recovers() {
    let rig = Rig::start_with_limits(Limits {
        connections: 8,
        ..Limits::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(rig.addr).await.unwrap());
    }
    // The ninth is closed at once, without an answer.
    let (status, _, _) = rig.get(&format!("/iclock/getrequest?SN={SN}")).await;
    assert_eq!(status, 0);
    drop(idle);
    ronda_testkit::eventually("a slot free again", || async {
        let (status, _, _) = rig.get(&format!("/iclock/getrequest?SN={SN}")).await;
        (status == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn hundreds_of_connections_at_once_do_not_take_it_down() {
    let rig = Rig::start().await;
    let mut clients = Vec::new();
    for _ in 0..300 {
        let addr = rig.addr;
        clients.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.ok()?;
            let req = format!("GET /iclock/getrequest?SN={SN} HTTP/1.1\r\nHost: a\r\n\r\n");
            s.write_all(req.as_bytes()).await.ok()?;
            Some(read_answer(&mut s).await.0)
        }));
    }
    let mut answered = 0;
    for c in clients {
        if c.await.unwrap() == Some(200) {
            answered += 1;
        }
    }
    // Some are turned away at the cap; those served were answered right.
    assert!(answered > 0);
    ronda_testkit::eventually("the listener serving again", || async {
        let (status, _, _) = rig.get(&format!("/iclock/getrequest?SN={SN}")).await;
        (status == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn garbage_bytes_get_no_events_and_no_crash() {
    let rig = Rig::start().await;
    let mut junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (status, _, _) = rig.raw(&junk).await;
    assert_ne!(status, 200);
    let (status, _, _) = rig.raw(&[b'A'; 100_000]).await;
    assert_ne!(status, 200);
    let long_url = format!(
        "GET /iclock/cdata?SN={SN}&x={} HTTP/1.1\r\n\r\n",
        "a".repeat(100_000)
    );
    let (status, _, _) = rig.raw(long_url.as_bytes()).await;
    assert_ne!(status, 200);
    // Well-formed HTTP, junk lines: acknowledged (sending them again would
    // not make them readable), nothing kept.
    junk.retain(|b| *b != b'\n');
    junk.extend_from_slice(b"\n\xff\xfe\tevent=102\ttime=yesterday\n");
    for table in ["ATTLOG", "OPERLOG", "rtlog", "rtstate"] {
        let (status, _, _) = rig
            .post(&format!("/iclock/cdata?SN={SN}&table={table}"), &junk)
            .await;
        assert_eq!(status, 200, "{table}");
    }
    assert!(rig.events().is_empty());
    let (status, _, _) = rig.get(&format!("/../../etc/passwd?SN={SN}")).await;
    assert_eq!(status, 404);
    still_serves(&rig).await;
}

#[tokio::test]
async fn a_name_instead_of_a_pin_is_kept_without_it() {
    let rig = Rig::start().await;
    let body = "Budi Santoso\t2026-12-25 22:13:05\t0\t1\t0\t0\t0\n\
                <script>alert(1)</script>\t2026-12-25 22:14:05\t0\t1\t0\t0\t0\n";
    let (_, _, answer) = rig.post_table("ATTLOG", body).await;
    assert_eq!(answer, "OK:2");
    let events = rig.events();
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .all(|e| e.kind == K::Granted && e.who.is_none()));
    let stored = rig.outbox_text();
    assert!(!stored.contains("Budi") && !stored.contains("script"));
}

#[tokio::test]
async fn fields_in_another_order_are_read_by_key() {
    let rig = Rig::start().await;
    let (_, _, answer) = rig
        .post_table("rtlog", &read("zkteco", "rtlog_reordered.txt"))
        .await;
    assert_eq!(answer, "OK");
    let events = rig.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e.kind, e.door_no, e.door.as_deref()),
        (K::Forced, Some(2), Some("server-room"))
    );
    assert_eq!(e.at.to_string(), "2026-12-25T03:30:00+07:00");
}
