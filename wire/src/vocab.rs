//! The shared words for equipment classes, camera zones and doors.
//!
//! Agent configs tag plugs with a class and channels with a zone; letters
//! name them in their checks. One list keeps the two sides matching, so a
//! letter that says `printr` is caught before a holiday, not during it.

/// What is plugged into a smart plug.
pub const CLASSES: &[&str] = &[
    "server",
    "network",
    "cctv-recorder",
    "cctv-monitor",
    "pc",
    "printer",
    "scanner",
    "photocopier",
    "air-conditioner",
    "dispenser",
    "refrigerator",
    "fan",
    "lighting",
    "tv",
    "charger",
    "queue-display",
    "other",
];

/// Where a camera looks.
pub const ZONES: &[&str] = &[
    "front-road",
    "entrance",
    "interior",
    "perimeter",
    "parking",
    "server-room",
    "archive",
    "service-counter",
];

/// Which door an access controller guards.
pub const DOORS: &[&str] = &[
    "main-gate",
    "side-gate",
    "back-gate",
    "main-door",
    "side-door",
    "back-door",
    "server-room",
    "archive",
    "cash-room",
    "warehouse",
    "office",
];

pub fn is_door(s: &str) -> bool {
    DOORS.contains(&s)
}

pub fn is_class(s: &str) -> bool {
    CLASSES.contains(&s)
}

pub fn is_zone(s: &str) -> bool {
    ZONES.contains(&s)
}
