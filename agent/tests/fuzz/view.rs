//! The snapshot path (`view::decode`, `view::stats`) on any bytes and on
//! real JPEGs (T.81; baseline 4:2:0 as cameras send them, progressive,
//! greyscale, with restart markers; made with `jpeg-encoder`) with byte
//! edits: truncations, bit flips, deletions, insertions, a copied stretch,
//! a frame header claiming another size, bytes after the end marker.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use proptest::prelude::*;
use proptest::sample::Index;
use ronda_agent::view::decode::{decode_into, jpeg_end, DecodeError, Luma, MAX_PIXELS};
use ronda_agent::view::stats::stats;

use super::support::check;

const CAP: usize = 1 << 20;

fn encode(
    w: u16,
    h: u16,
    tune: impl FnOnce(&mut Encoder<&mut Vec<u8>>),
    color: ColorType,
) -> Vec<u8> {
    let n = usize::from(w) * usize::from(h);
    let per_pixel = match color {
        ColorType::Luma => 1,
        ColorType::Cmyk => 4,
        _ => 3,
    };
    let px: Vec<u8> = (0..n * per_pixel)
        .map(|i| ((i * 37) ^ (i / 97)) as u8)
        .collect();
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 75);
    e.set_sampling_factor(SamplingFactor::R_4_2_0);
    tune(&mut e);
    e.encode(&px, w, h, color).unwrap();
    out
}

fn samples() -> Vec<Vec<u8>> {
    vec![
        encode(160, 120, |_| {}, ColorType::Rgb),
        encode(33, 17, |_| {}, ColorType::Rgb),
        encode(96, 64, |e| e.set_progressive(true), ColorType::Rgb),
        encode(64, 48, |_| {}, ColorType::Luma),
        encode(80, 80, |e| e.set_restart_interval(2), ColorType::Rgb),
        encode(40, 24, |_| {}, ColorType::Cmyk),
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    Truncate(Index),
    Flip(Index, u8),
    Delete(Index, u8),
    Insert(Index, Vec<u8>),
    Copy(Index, Index, u8),
    /// The frame header claims `w`×`h`.
    Claim(u16, u16),
    Tail(Vec<u8>),
}

fn edit() -> impl Strategy<Value = Edit> {
    let size = prop_oneof![3 => 1u16..2048, 1 => any::<u16>()];
    prop_oneof![
        1 => any::<Index>().prop_map(Edit::Truncate),
        4 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, b)),
        1 => (any::<Index>(), 1u8..16).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Edit::Insert(i, b)),
        1 => (any::<Index>(), any::<Index>(), 1u8..64).prop_map(|(a, b, n)| Edit::Copy(a, b, n)),
        1 => (size.clone(), size).prop_map(|(w, h)| Edit::Claim(w, h)),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Edit::Tail),
    ]
}

fn apply(b: &mut Vec<u8>, e: &Edit) {
    if b.is_empty() {
        return;
    }
    match e {
        Edit::Truncate(i) => b.truncate(i.index(b.len())),
        Edit::Flip(i, bit) => {
            let i = i.index(b.len());
            b[i] ^= 1 << bit;
        }
        Edit::Delete(i, n) => {
            let i = i.index(b.len());
            b.drain(i..(i + usize::from(*n)).min(b.len()));
        }
        Edit::Insert(i, bytes) => {
            let i = i.index(b.len());
            b.splice(i..i, bytes.iter().copied());
        }
        Edit::Copy(from, to, n) => {
            let from = from.index(b.len());
            let stretch = b[from..(from + usize::from(*n)).min(b.len())].to_vec();
            let to = to.index(b.len());
            b.splice(to..to, stretch);
        }
        Edit::Claim(w, h) => {
            if let Some(sof) = b
                .windows(2)
                .position(|m| m == [0xFF, 0xC0] || m == [0xFF, 0xC2])
            {
                if sof + 9 <= b.len() {
                    b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
                    b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
                }
            }
        }
        Edit::Tail(t) => b.extend_from_slice(t),
    }
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(samples()),
        proptest::collection::vec(edit(), 1..5),
    )
        .prop_map(|(mut body, edits)| {
            edits.iter().for_each(|e| apply(&mut body, e));
            body
        })
}

/// No panic; what decodes is 1/8 of a size within the limit, and its
/// numbers are in range.
fn the_path(body: Vec<u8>) -> Result<(), TestCaseError> {
    if let Ok(jpeg) = jpeg_end(&body) {
        prop_assert!(jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]));
        prop_assert_eq!(jpeg_end(jpeg).map(<[u8]>::len), Ok(jpeg.len()));
    }
    let mut l = Luma::default();
    match decode_into(&body, CAP, &mut l) {
        Ok(()) => {
            let (fw, fh) = (usize::from(l.full_w), usize::from(l.full_h));
            prop_assert!((fw * fh) as u64 <= MAX_PIXELS);
            prop_assert_eq!((l.w, l.h), (fw.div_ceil(8), fh.div_ceil(8)));
            prop_assert_eq!(l.px.len(), l.w * l.h);
            let s = stats(&l);
            prop_assert!(s.entropy <= 80 && s.dark <= 1000 && s.edges <= 1000 && s.contrast <= 128);
            prop_assert_eq!(s.hash.len(), 16);
        }
        Err(DecodeError::TooLarge(n, cap)) => prop_assert!(n > cap),
        Err(_) => {}
    }
    Ok(())
}

#[test]
fn fuzz_jpeg_any_bytes() {
    let soi_first = proptest::collection::vec(any::<u8>(), 0..512).prop_map(|mut b| {
        b.splice(0..0, [0xFF, 0xD8]);
        b
    });
    check(
        prop_oneof![proptest::collection::vec(any::<u8>(), 0..512), soi_first],
        the_path,
    );
}

#[test]
fn fuzz_jpeg_mutated_snapshots() {
    check(mutated(), the_path);
}

#[test]
fn fuzz_jpeg_truncated_snapshots_are_refused() {
    check(
        (proptest::sample::select(samples()), any::<Index>()),
        |(body, cut)| {
            let cut = cut.index(body.len() - 1);
            let mut l = Luma::default();
            prop_assert!(decode_into(&body[..cut], CAP, &mut l).is_err());
            Ok(())
        },
    );
}
