//! Reading a device's body: whole and capped, or what arrives in a window
//! (a stream that never ends).

use std::time::Duration;

use crate::probe::ProbeError;

/// Read a body, refusing it as soon as it passes `max` bytes, so that a
/// misbehaving device cannot fill the agent's memory.
pub async fn read_capped(
    resp: reqwest::Response,
    max: usize,
    timeout: Duration,
) -> Result<String, ProbeError> {
    let buf = read_capped_bytes(resp, max, timeout).await?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// [`read_capped`] as bytes.
pub async fn read_capped_bytes(
    mut resp: reqwest::Response,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>, ProbeError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(ProbeError::TooLarge(max));
    }
    let mut buf = Vec::with_capacity(resp.content_length().map_or(0, |n| n as usize));
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ProbeError::from_reqwest(e, timeout))?
    {
        if buf.len() + chunk.len() > max {
            return Err(ProbeError::TooLarge(max));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Read what arrives within `window`, at most `max` bytes (a longer chunk
/// is cut): for bodies that never end.
pub(super) async fn read_window(
    mut resp: reqwest::Response,
    max: usize,
    window: Duration,
    timeout: Duration,
) -> Result<Vec<u8>, ProbeError> {
    let mut buf = Vec::new();
    let until = tokio::time::Instant::now() + window;
    while buf.len() < max {
        let next = match tokio::time::timeout_at(until, resp.chunk()).await {
            Err(_) => break,
            Ok(next) => next.map_err(|e| ProbeError::from_reqwest(e, timeout))?,
        };
        let Some(chunk) = next else { break };
        let room = max - buf.len();
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(buf)
}
