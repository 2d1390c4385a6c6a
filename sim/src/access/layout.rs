//! The simulated office's door controllers: a Hikvision access terminal at
//! the main door and a ZKTeco device at the back door, with the users they
//! know (a guard on holiday duty and a member of staff).

use std::net::SocketAddr;

use super::{Dialect, DoorMode, Happening, SimDoor};
use crate::state::{Auth, DeviceState, Scheme, SimKind};

/// The guard on duty over the holiday: the id a letter's allowlist names.
pub const GUARD: &str = "9001";
/// A member of staff, who has no business in the office over the holiday.
pub const STAFF: &str = "1023";

fn door(no: u32, place: &str) -> SimDoor {
    SimDoor {
        no,
        place: place.into(),
        open: false,
        mode: DoorMode::Normal,
    }
}

fn people(d: &mut DeviceState) {
    d.access.people = [(GUARD, "Satpam Jaga"), (STAFF, "Staf Tata Usaha")]
        .into_iter()
        .map(|(id, name)| (id.to_owned(), name.to_owned()))
        .collect();
}

/// A DS-K1T341AMF face terminal at the main door, digest MD5. Its log
/// starts with its own power-on.
pub fn hikvision_terminal() -> DeviceState {
    let mut d = DeviceState::new("pintu-depan", SimKind::HikvisionAccess);
    d.auth = Auth {
        scheme: Scheme::DigestMd5,
        realm: "DS-K1T341AMF".into(),
        username: "admin".into(),
        password: "Pintu2018".into(),
    };
    d.model = "DS-K1T341AMF".into();
    d.firmware = "V3.2.30".into();
    d.serial = "F12345678".into();
    d.access.doors = vec![door(1, "main-door")];
    people(&mut d);
    let now = d.now();
    d.access.record(now, Happening::DeviceStart, None, None);
    d
}

/// A ZKTeco access terminal at the back door, speaking the access dialect
/// (`rtlog`) to the agent's listener at `listen`. Its log starts with its
/// own start.
pub fn zkteco_device(listen: SocketAddr) -> DeviceState {
    let mut d = DeviceState::new("pintu-belakang", SimKind::ZktecoPush);
    d.model = "SpeedFace-V5L".into();
    d.firmware = "Ver 8.0.4-20220718".into();
    d.serial = "CKJM201960012".into();
    d.access.doors = vec![door(1, "back-door")];
    d.access.push.server = format!("http://{listen}");
    d.access.push.dialect = Dialect::Access;
    // Until the server tells its own: short, so that a device started
    // before its agent calls again soon.
    d.access.push.error_delay_s = 3;
    people(&mut d);
    let now = d.now();
    d.access.record(now, Happening::DeviceStart, None, None);
    d
}

/// Both door controllers, the ZKTeco one calling `listen`.
pub fn door_controllers(listen: SocketAddr) -> Vec<DeviceState> {
    vec![hikvision_terminal(), zkteco_device(listen)]
}
