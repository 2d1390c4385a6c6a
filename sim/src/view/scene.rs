//! The drawn scenes: a road in front of an office (sky, shop houses with
//! windows, lamp posts, the road with its markings, a striped kerb, the
//! office's paved yard behind an iron fence), the same road at night in
//! infrared grey, and the pictures of the faults.
//!
//! Each point is painted twice, in day colours and in infrared grey, and
//! the two are mixed by the light of the hour: dawn and dusk ramp between.

use jiff::tz::Offset;
use jiff::Timestamp;

use super::{cache, Fault, Raster, Size};

type Rgb = [f32; 3];

/// Lamp posts on the far pavement, by their left edge across the frame.
const LAMPS: [f32; 2] = [0.22, 0.74];
/// Shop houses across the road: left, right, top of the wall, colour.
const BUILDINGS: [(f32, f32, f32, Rgb); 6] = [
    (0.00, 0.14, 0.18, [200.0, 190.0, 170.0]),
    (0.14, 0.33, 0.08, [170.0, 180.0, 190.0]),
    (0.33, 0.45, 0.24, [210.0, 160.0, 120.0]),
    (0.45, 0.68, 0.12, [225.0, 225.0, 215.0]),
    (0.68, 0.80, 0.28, [150.0, 165.0, 150.0]),
    (0.80, 1.01, 0.15, [190.0, 175.0, 160.0]),
];
/// How much taller a unit across is than a unit down, at 16:9: round
/// things stay round.
const ASPECT: f32 = 16.0 / 9.0;

/// How much daylight there is at `t` on the wall clock `offset`: 1 by
/// day, 0 by night, ramps of an hour around 06:00 and 18:00 (Java is near
/// the equator: the sun rises and sets close to six all year).
pub fn light_level(t: Timestamp, offset: Offset) -> f32 {
    let z = t.to_zoned(jiff::tz::TimeZone::fixed(offset));
    let h = f32::from(z.hour()) + f32::from(z.minute()) / 60.0 + f32::from(z.second()) / 3600.0;
    smooth(5.5, 6.5, h) * (1.0 - smooth(17.5, 18.5, h))
}

fn smooth(a: f32, b: f32, x: f32) -> f32 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

fn scale(a: Rgb, k: f32) -> Rgb {
    a.map(|c| c * k)
}

/// A hash of a lattice point to 0..1.
fn hash(x: i32, y: i32, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x8da6_b343) ^ (y as u32).wrapping_mul(0xd816_3841) ^ seed;
    h = (h ^ (h >> 13)).wrapping_mul(0x85eb_ca6b);
    h ^= h >> 16;
    (h & 0xffff) as f32 / 65535.0
}

/// Smooth value noise in 0..1, one lattice cell per unit.
fn noise(x: f32, y: f32, seed: u32) -> f32 {
    let (fx, fy) = (x.floor(), y.floor());
    let (ix, iy) = (fx as i32, fy as i32);
    let (tx, ty) = (smooth(0.0, 1.0, x - fx), smooth(0.0, 1.0, y - fy));
    let top = hash(ix, iy, seed) + (hash(ix + 1, iy, seed) - hash(ix, iy, seed)) * tx;
    let bottom =
        hash(ix, iy + 1, seed) + (hash(ix + 1, iy + 1, seed) - hash(ix, iy + 1, seed)) * tx;
    top + (bottom - top) * ty
}

/// A car passing on the road.
#[derive(Clone, Copy)]
struct Car {
    u: f32,
    colour: Rgb,
}

/// What varies from one frame of the road to the next.
#[derive(Clone, Copy)]
struct Frame {
    light: f32,
    /// Where the camera looks, added to the point painted.
    shift: (f32, f32),
    /// The clouds move.
    drift: f32,
    car: Option<Car>,
}

/// Paint a picture of `fault`: `odd` puts a truck in front of the camera,
/// `light` is the daylight (0 night, 1 day), `seed` the frame's own (its
/// sensor noise and passing cars), `drift` which ten minutes of the day
/// (the clouds move).
pub fn draw(fault: Fault, odd: bool, light: f32, seed: u64, drift: u32, size: Size) -> Raster {
    if fault == Fault::NoSignal {
        // The recorder draws its screen: the same bytes every time.
        return no_signal(size);
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let (sigma, gain) = (2.0 + 3.0 * (1.0 - light), 1.0 + (rng.f32() - 0.5) * 0.06);
    // About one frame in forty catches a car passing.
    let car = (rng.u32(..40) == 0).then(|| Car {
        u: rng.f32() * 1.1 - 0.2,
        colour: [rng.f32() * 200.0, rng.f32() * 200.0, rng.f32() * 200.0],
    });
    let light = (light * 32.0).round() / 32.0;
    let f = Frame {
        light,
        shift: (0.0, 0.0),
        drift: (drift % 1000) as f32 * 0.002,
        car,
    };
    let odd = odd && matches!(fault, Fault::Normal | Fault::Defocus);
    let paint = || clean(fault, odd, &f, size);
    let mut r = match car {
        Some(_) => paint(),
        None => cache::clean(
            cache::Key {
                fault,
                odd,
                light: (light * 32.0) as u8,
                drift,
                size,
            },
            paint,
        ),
    };
    r.noise(&mut rng, sigma, gain);
    r
}

/// The picture before sensor noise.
fn clean(fault: Fault, odd: bool, f: &Frame, size: Size) -> Raster {
    let mut r = match fault {
        Fault::Turn => road(
            &Frame {
                shift: (0.3, -0.55),
                ..*f
            },
            false,
            size,
        ),
        Fault::Cover => cover(f.light, size),
        Fault::Dark => dark(f.light, size),
        Fault::NoSignal => no_signal(size),
        Fault::Normal | Fault::Freeze | Fault::Defocus => road(f, odd, size),
    };
    if fault == Fault::Defocus {
        r.blur(usize::from(size.w) / 70 + 1);
    }
    r
}

/// The road as the camera sees it, `truck` passing close in front.
fn road(f: &Frame, truck: bool, size: Size) -> Raster {
    Raster::paint(size, |u, v| {
        if truck {
            if let Some(c) = truck_at(u, v, f.light) {
                return c;
            }
        }
        let (u, v) = (u + f.shift.0, v + f.shift.1);
        let (day, night) = point(u, v, f);
        // The infrared lamp lights the middle most.
        let d2 = (u - f.shift.0 - 0.5).powi(2) + (v - f.shift.1 - 0.5).powi(2);
        let night = night * (1.0 - 0.8 * d2) + glow(u, v);
        mix([night; 3], scale(day, 0.7 + 0.3 * f.light), f.light)
    })
}

/// The light around the lamp heads at night, in grey levels.
fn glow(u: f32, v: f32) -> f32 {
    LAMPS
        .iter()
        .map(|l| {
            let d2 = ((u - l - 0.032) * ASPECT).powi(2) + (v - 0.212).powi(2);
            150.0 * (-d2 / 0.0006).exp()
        })
        .sum()
}

/// The scene at a point: its day colour and its infrared grey.
fn point(u: f32, v: f32, f: &Frame) -> (Rgb, f32) {
    if let Some(p) = fence(u, v) {
        return p;
    }
    if let Some(p) = f.car.and_then(|c| car(c, u, v)) {
        return p;
    }
    match v {
        v if v >= 0.735 => yard(u, v),
        v if v >= 0.71 => kerb(u),
        v if v >= 0.47 => road_surface(u, v),
        _ => lamp_post(u, v)
            .or_else(|| building(u, v))
            .unwrap_or_else(|| sky(u, v, f.drift)),
    }
}

fn fence(u: f32, v: f32) -> Option<(Rgb, f32)> {
    let rail = (0.64..0.652).contains(&v) || (0.90..0.912).contains(&v);
    let bar = (0.62..0.93).contains(&v) && (u / 0.045).rem_euclid(1.0) < 0.16;
    let shade = if (u / 0.045).rem_euclid(1.0) < 0.08 {
        1.2
    } else {
        0.9
    };
    (rail || bar).then_some((scale([35.0, 58.0, 42.0], shade), 160.0 * shade))
}

fn car(c: Car, u: f32, v: f32) -> Option<(Rgb, f32)> {
    let x = u - c.u;
    if !(0.0..0.17).contains(&x) || !(0.50..0.63).contains(&v) {
        return None;
    }
    let wheel = [0.035, 0.135]
        .iter()
        .any(|w| ((x - w) * ASPECT).powi(2) + (v - 0.612).powi(2) < 0.018f32.powi(2));
    match () {
        _ if wheel => Some(([25.0; 3], 30.0)),
        _ if (0.545..0.605).contains(&v) => Some((c.colour, 75.0)),
        _ if v < 0.545 && (0.03..0.13).contains(&x) => Some(([40.0, 45.0, 55.0], 25.0)),
        _ => None,
    }
}

fn yard(u: f32, v: f32) -> (Rgb, f32) {
    let joint = (u * 25.0).rem_euclid(1.0) < 0.04 || (v * 40.0).rem_euclid(1.0) < 0.06;
    let tex = 0.9 + 0.2 * noise(u * 60.0, v * 80.0, 7);
    let day = if joint {
        [140.0, 130.0, 115.0]
    } else {
        [178.0, 168.0, 150.0]
    };
    let night = if joint { 60.0 } else { 80.0 } + 60.0 * (v - 0.735);
    (scale(day, tex), night * tex)
}

/// Kerb stones painted black and white, as Indonesian roads have them.
fn kerb(u: f32) -> (Rgb, f32) {
    if (u / 0.05).rem_euclid(2.0) < 1.0 {
        ([215.0, 215.0, 210.0], 120.0)
    } else {
        ([35.0; 3], 40.0)
    }
}

fn road_surface(u: f32, v: f32) -> (Rgb, f32) {
    let edge = (0.476..0.481).contains(&v) || (0.697..0.704).contains(&v);
    let dash = (0.584..0.592).contains(&v) && (u / 0.1).rem_euclid(1.0) < 0.5;
    if edge || dash {
        return ([230.0, 230.0, 220.0], 115.0);
    }
    let tex = 0.8 + 0.25 * noise(u * 150.0, v * 220.0, 1) + 0.15 * noise(u * 25.0, v * 40.0, 2);
    let pools: f32 = LAMPS
        .iter()
        .map(|l| 70.0 * (-(((u - l - 0.03) * 3.0).powi(2) + ((v - 0.55) * 8.0).powi(2))).exp())
        .sum();
    (scale([88.0, 88.0, 92.0], tex), 35.0 * tex + pools)
}

fn lamp_post(u: f32, v: f32) -> Option<(Rgb, f32)> {
    LAMPS.iter().find_map(|&l| {
        let x = u - l;
        let pole = (0.0..0.004).contains(&x) && (0.20..0.46).contains(&v);
        let arm = (0.0..0.035).contains(&x) && (0.200..0.205).contains(&v);
        let head = (0.022..0.042).contains(&x) && (0.205..0.216).contains(&v);
        match () {
            _ if head => Some(([210.0, 210.0, 200.0], 255.0)),
            _ if pole || arm => Some(([95.0, 95.0, 100.0], 30.0)),
            _ => None,
        }
    })
}

/// Shop houses with rows of windows, a few lit at night, and shop fronts.
fn building(u: f32, v: f32) -> Option<(Rgb, f32)> {
    if v >= 0.44 {
        return Some(([160.0, 155.0, 150.0], 45.0)); // far pavement
    }
    let (i, &(left, right, top, wall)) = BUILDINGS
        .iter()
        .enumerate()
        .find(|(_, b)| u >= b.0 && u < b.1 && v >= b.2)?;
    if v >= 0.405 {
        let awning = v < 0.415;
        return Some(if awning {
            (scale(wall, 0.6), 50.0)
        } else {
            ([90.0, 80.0, 70.0], 35.0)
        });
    }
    let (cx, cy) = ((u - left - 0.01) / 0.028, (v - top - 0.02) / 0.045);
    let window = cx >= 0.0
        && cy >= 0.0
        && u < right - 0.012
        && v < 0.39
        && cx.rem_euclid(1.0) < 0.57
        && cy.rem_euclid(1.0) < 0.55;
    let tex = 0.92 + 0.16 * noise(u * 90.0, v * 90.0, 3 + i as u32);
    if window {
        let lit = hash(cx as i32, cy as i32, i as u32) < 0.3;
        let glass = [60.0, 80.0, 105.0 + 30.0 * noise(u * 40.0, v * 20.0, 4)];
        return Some((glass, if lit { 190.0 } else { 22.0 }));
    }
    Some((scale(wall, tex), 32.0 * tex))
}

fn sky(u: f32, v: f32, drift: f32) -> (Rgb, f32) {
    let t = ((v + 0.6) / 0.9).clamp(0.0, 1.0);
    let blue = mix([95.0, 150.0, 215.0], [185.0, 205.0, 230.0], t);
    let c = noise(u * 4.0 + drift * 10.0, v * 9.0, 5) * 0.6 + noise(u * 12.0, v * 24.0, 6) * 0.4;
    let cloud = smooth(0.5, 0.75, c);
    (mix(blue, [238.0, 238.0, 242.0], cloud), 12.0 + 10.0 * cloud)
}

/// A box truck passing close: its side fills most of the frame.
fn truck_at(u: f32, v: f32, light: f32) -> Option<Rgb> {
    if !(0.06..0.94).contains(&v) {
        return None;
    }
    let wheel = [0.15, 0.3, 0.78]
        .iter()
        .any(|w| ((u - w) * ASPECT).powi(2) + (v - 0.88).powi(2) < 0.07f32.powi(2));
    let (day, night) = match v {
        _ if wheel => ([20.0; 3], 25.0),
        v if v >= 0.84 => ([45.0, 45.0, 50.0], 40.0),
        v if (0.40..0.48).contains(&v) => ([190.0, 30.0, 35.0], 110.0),
        _ => ([226.0, 226.0, 220.0], 150.0),
    };
    Some(mix([night; 3], day, light))
}

/// Tape or a bag over the lens: a beige field, a little brighter at one
/// corner, dimmer at night.
fn cover(light: f32, size: Size) -> Raster {
    let k = 0.75 + 0.25 * light;
    Raster::paint(size, |u, v| {
        let g = 18.0 * (0.5 - u) + 10.0 * (0.5 - v) + 4.0 * noise(u * 3.0, v * 3.0, 9);
        scale([118.0 + g, 112.0 + g, 100.0 + g], k)
    })
}

/// The infrared is dead: black but for the street lamps after dark.
fn dark(light: f32, size: Size) -> Raster {
    let lamps = 1.0 - light;
    Raster::paint(size, |u, v| [4.0 + glow(u, v) * lamps * 0.5; 3])
}

/// What a recorder sends for a camera it has lost: its blue screen saying
/// so.
fn no_signal(size: Size) -> Raster {
    let mut r = Raster::paint(size, |_, _| [16.0, 40.0, 120.0]);
    r.text("NO VIDEO", usize::from(size.w / 120).max(1));
    r
}

/// A lens cap or a dead sensor: black with faint noise.
pub fn black(seed: u64, size: Size) -> Raster {
    let mut r = Raster::paint(size, |_, _| [1.0; 3]);
    r.noise(&mut fastrand::Rng::with_seed(seed), 1.0, 1.0);
    r
}

/// The open sky, as a camera turned all the way up sees it.
pub fn open_sky(seed: u64, size: Size) -> Raster {
    let f = Frame {
        light: 1.0,
        shift: (0.0, -1.0),
        drift: 0.3,
        car: None,
    };
    let mut r = road(&f, false, size);
    r.noise(&mut fastrand::Rng::with_seed(seed), 2.0, 1.0);
    r
}
