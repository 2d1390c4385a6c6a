//! RTSP answers: the reader the client uses on any bytes and on mutated
//! fixtures, and the DESCRIBE check (beyond the list: the answers
//! come from the camera as well).

use proptest::prelude::*;
use ronda_agent::recorders::rtsp::*;

use super::support::{check, mutated_any};

fn read(bytes: &[u8]) -> Result<Answer, ronda_agent::probe::ProbeError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(read_answer(&mut &bytes[..]))
}

/// The client's reader never panics, and a body it reads is the one the
/// head announced.
fn sound(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(a) = read(bytes) {
        prop_assert!((100..1000).contains(&a.status));
        let announced: usize = a
            .header("Content-Length")
            .map_or(0, |l| l.parse().unwrap_or(usize::MAX));
        prop_assert!(announced <= MAX_BODY);
        let _ = check_describe(&a);
    }
    Ok(())
}

/// `parse_answer` reads a whole answer held in memory as the client's
/// reader does off the wire (the unit tests compare the two on fixtures).
fn agree(bytes: &[u8]) -> Result<(), TestCaseError> {
    prop_assert_eq!(read(bytes).ok(), parse_answer(bytes).ok());
    Ok(())
}

#[test]
fn fuzz_rtsp_any_bytes() {
    check(
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            any::<String>().prop_map(|s| format!("RTSP/1.0 200 OK\r\n{s}\r\n\r\n").into_bytes()),
        ],
        |b| {
            sound(&b)?;
            agree(&b)
        },
    );
}

#[test]
fn fuzz_rtsp_mutated_fixtures() {
    check(mutated_any(super::fixtures("rtsp"), &[]), |text| {
        sound(text.as_bytes())?;
        agree(text.as_bytes())
    });
}
