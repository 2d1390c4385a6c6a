//! The last few clean pictures (drawn, blurred if defocused, before sensor
//! noise), so that a camera asked again and again only pays for its noise
//! and the encoding: drawing 1080p takes ten times as long as both. What
//! is cached is a pure function of its key, so a frame is the same bytes
//! with or without it.

use std::sync::{Arc, Mutex};

use super::{Fault, Raster, Size};

/// The most bytes of pictures kept: a few 1080p ones.
const BUDGET: usize = 32 << 20;

/// Everything a clean picture depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub fault: Fault,
    pub odd: bool,
    /// Daylight in 32nds.
    pub light: u8,
    /// Which ten minutes of the clouds' drift.
    pub drift: u32,
    pub size: Size,
}

static CLEAN: Mutex<Vec<(Key, Arc<Raster>)>> = Mutex::new(Vec::new());

/// The clean picture of `key`, drawn by `draw` if it is not kept.
pub fn clean(key: Key, draw: impl FnOnce() -> Raster) -> Raster {
    let hit = {
        let mut kept = CLEAN.lock().unwrap_or_else(|e| e.into_inner());
        let i = kept.iter().position(|(k, _)| *k == key);
        // The newest use goes last; the oldest goes first when full.
        i.map(|i| {
            let e = kept.remove(i);
            let r = e.1.clone();
            kept.push(e);
            r
        })
    };
    if let Some(r) = hit {
        return (*r).clone();
    }
    let r = draw();
    let bytes = r.rgb.len();
    if bytes <= BUDGET {
        let mut kept = CLEAN.lock().unwrap_or_else(|e| e.into_inner());
        while kept.iter().map(|(_, r)| r.rgb.len()).sum::<usize>() + bytes > BUDGET {
            kept.remove(0);
        }
        kept.push((key, Arc::new(r.clone())));
    }
    r
}
