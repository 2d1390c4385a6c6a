//! A camera snapshot (JPEG, ITU-T T.81) to its luma at 1/8 scale, through
//! the DCT's own scaling: only each block's DC term is transformed, so a
//! 1080p picture becomes 240×135 pixels without ever existing at full size.
//!
//! Everything here reads bytes from a device on the office network, so the
//! checks run before the decoder allocates: the SOI marker, the body cap,
//! the pixel count the frame header claims (a 60 KB file may claim
//! 65535×65535), and a smaller limit for progressive files, which keep every
//! coefficient of the picture in memory until the last scan.

use jpeg_decoder::{CodingProcess, Decoder, PixelFormat};

/// The most pixels a snapshot may claim: 16 MP covers every camera sold
/// for offices (4K is 8.3 MP) with room to spare.
pub const MAX_PIXELS: u64 = 16_000_000;
/// The most pixels of a progressive snapshot: its coefficients (2 bytes
/// each, 1.5 a pixel at 4:2:0, 3 at 4:4:4) stay in memory: 12–24 MB here.
pub const MAX_PROGRESSIVE_PIXELS: u64 = 4_000_000;

/// Why a snapshot could not be read. The texts go into the report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty body")]
    Empty,
    #[error("not a JPEG")]
    NotJpeg,
    #[error("{0} bytes, over the {1}-byte cap")]
    TooLarge(usize, usize),
    #[error("truncated")]
    Truncated,
    #[error("claims {w}×{h} pixels, over the {} MP limit", MAX_PIXELS / 1_000_000)]
    TooManyPixels { w: u16, h: u16 },
    #[error("progressive JPEG of {mp} MP: over the {} MP limit for progressive", MAX_PROGRESSIVE_PIXELS / 1_000_000)]
    Progressive { mp: u64 },
    #[error("lossless JPEG: not a camera snapshot")]
    Lossless,
    #[error("damaged JPEG: {0}")]
    Damaged(String),
}

/// A picture's luma at 1/8 scale, and the size of the picture itself. One
/// is kept and reused from snapshot to snapshot. Still a picture of people:
/// `Debug` shows its size only.
#[derive(Default, Clone)]
pub struct Luma {
    /// The snapshot's own size.
    pub full_w: u16,
    pub full_h: u16,
    /// The decoded size, 1/8 of the snapshot's rounded up.
    pub w: usize,
    pub h: usize,
    /// Row-major, `w * h` bytes.
    pub px: Vec<u8>,
}

impl std::fmt::Debug for Luma {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Luma {{ {}×{} of {}×{} }}",
            self.w, self.h, self.full_w, self.full_h
        )
    }
}

/// The JPEG proper: `body` up to and including its EOI marker. Dahua
/// firmware appends bytes after it; other recorders may too. Walks the
/// marker segments rather than searching for `FF D9`, which also occurs
/// inside an EXIF thumbnail.
pub fn jpeg_end(body: &[u8]) -> Result<&[u8], DecodeError> {
    match body {
        [] => return Err(DecodeError::Empty),
        [0xFF, 0xD8, ..] => {}
        _ => return Err(DecodeError::NotJpeg),
    }
    let mut i = 2;
    loop {
        // Like libjpeg, tolerate stray bytes between segments.
        while *body.get(i).ok_or(DecodeError::Truncated)? != 0xFF {
            i += 1;
        }
        while *body.get(i).ok_or(DecodeError::Truncated)? == 0xFF {
            i += 1;
        }
        let marker = body[i];
        i += 1;
        match marker {
            0xD9 => return Ok(&body[..i]),
            // Markers without a length: RSTn, TEM (and a stuffed 0).
            0xD0..=0xD7 | 0x01 | 0x00 => continue,
            _ => {}
        }
        let len = body.get(i..i + 2).ok_or(DecodeError::Truncated)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        if len < 2 {
            return Err(DecodeError::Damaged(format!("segment length {len}")));
        }
        i += len;
        if i > body.len() {
            return Err(DecodeError::Truncated);
        }
        if marker == 0xDA {
            i = scan_end(body, i)?;
        }
    }
}

/// Where the entropy-coded data that starts at `i` ends: the first `FF`
/// that is neither a stuffed `FF 00` nor a restart marker.
fn scan_end(body: &[u8], mut i: usize) -> Result<usize, DecodeError> {
    loop {
        let at = i + body
            .get(i..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
            .ok_or(DecodeError::Truncated)?;
        match body.get(at + 1).ok_or(DecodeError::Truncated)? {
            0x00 | 0xD0..=0xD7 => i = at + 2,
            _ => return Ok(at),
        }
    }
}

/// Decode `body` (at most `cap` bytes, bytes after EOI ignored) into `out`.
pub fn decode_into(body: &[u8], cap: usize, out: &mut Luma) -> Result<(), DecodeError> {
    if body.len() > cap {
        return Err(DecodeError::TooLarge(body.len(), cap));
    }
    let jpeg = jpeg_end(body)?;
    let mut d = Decoder::new(jpeg);
    d.read_info().map_err(damaged)?;
    let info = d.info().ok_or(DecodeError::Truncated)?;
    let (w, h) = (info.width, info.height);
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_PIXELS {
        return Err(DecodeError::TooManyPixels { w, h });
    }
    match info.coding_process {
        CodingProcess::DctProgressive if pixels > MAX_PROGRESSIVE_PIXELS => {
            return Err(DecodeError::Progressive {
                mp: pixels.div_ceil(1_000_000),
            });
        }
        CodingProcess::Lossless => return Err(DecodeError::Lossless),
        _ => {}
    }
    let (sw, sh) = d.scale(w.div_ceil(8), h.div_ceil(8)).map_err(damaged)?;
    // A second guard inside the decoder: its output at 1/8, 4 bytes a pixel.
    d.set_max_decoding_buffer_size(usize::from(sw) * usize::from(sh) * 4);
    let pixels = d.decode().map_err(damaged)?;
    (out.full_w, out.full_h, out.w, out.h) = (w, h, usize::from(sw), usize::from(sh));
    to_luma(&pixels, info.pixel_format, out.w * out.h, &mut out.px)
}

fn damaged(e: jpeg_decoder::Error) -> DecodeError {
    match e {
        jpeg_decoder::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated
        }
        e => DecodeError::Damaged(e.to_string()),
    }
}

/// Reduce the decoder's pixels to luma (BT.601 weights) in `px`, whose
/// allocation is kept.
fn to_luma(
    pixels: &[u8],
    format: PixelFormat,
    n: usize,
    px: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    px.clear();
    let size = match format {
        PixelFormat::L8 => 1,
        PixelFormat::L16 => 2,
        PixelFormat::RGB24 => 3,
        PixelFormat::CMYK32 => 4,
    };
    if pixels.len() < n * size {
        return Err(DecodeError::Truncated);
    }
    let weigh = |r: u32, g: u32, b: u32| ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8;
    let chunks = pixels.chunks_exact(size).take(n);
    match format {
        PixelFormat::L8 => px.extend_from_slice(&pixels[..n]),
        // Big-endian 16-bit: the high byte is the 8-bit value.
        PixelFormat::L16 => px.extend(chunks.map(|p| p[0])),
        PixelFormat::RGB24 => {
            px.extend(chunks.map(|p| weigh(p[0].into(), p[1].into(), p[2].into())))
        }
        // Adobe's inverted CMYK, as jpeg-decoder passes it on: 255 is no
        // ink. Cameras do not send CMYK; a hostile file may.
        PixelFormat::CMYK32 => px.extend(chunks.map(|p| {
            let k = u32::from(p[3]);
            let light = |c: u8| u32::from(c) * k / 255;
            weigh(light(p[0]), light(p[1]), light(p[2]))
        })),
    }
    Ok(())
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
