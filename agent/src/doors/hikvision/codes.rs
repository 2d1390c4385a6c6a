//! Hikvision access-control event codes: which (major, minor) pairs Ronda
//! maps to a door event kind, and nothing else.
//!
//! The values are the decimal forms of the SDK constants in Hikvision's
//! *ISAPI Access Control on Person* developer guide, App. A.1 (p.357–372),
//! as listed in `docs/vendors/hikvision-access.md` §2, whose "Mapped to
//! Ronda" table is this one in prose. A minor code means different things
//! under different majors (0x404 is host tamper under 1, battery restored
//! under 2, a remote clock set under 3), so the pair is the key, always.
//! A pair that is not here is skipped and counted, never guessed.

use ronda_wire::DoorEventKind;

/// `MAJOR_ALARM`.
pub const ALARM: u32 = 0x1;
/// `MAJOR_EXCEPTION`.
pub const EXCEPTION: u32 = 0x2;
/// `MAJOR_OPERATION`.
pub const OPERATION: u32 = 0x3;
/// `MAJOR_EVENT`.
pub const EVENT: u32 = 0x5;

/// Every mapped pair, with the vendor's constant name for the record.
pub const MAPPED: &[(u32, u32, DoorEventKind, &str)] = &[
    // The door contact, and the exit button: opened, nobody identified.
    (EVENT, 25, DoorEventKind::Open, "MINOR_DOOR_OPEN_NORMAL"),
    (EVENT, 23, DoorEventKind::Open, "MINOR_DOOR_BUTTON_PRESS"),
    // Contact open without a valid unlock ([ACP]: "Door Abnormally Open").
    (EVENT, 27, DoorEventKind::Forced, "MINOR_DOOR_OPEN_ABNORMAL"),
    (
        EVENT,
        28,
        DoorEventKind::HeldOpen,
        "MINOR_DOOR_OPEN_TIMEOUT",
    ),
    // A credential passed.
    (EVENT, 1, DoorEventKind::Granted, "MINOR_LEGAL_CARD_PASS"),
    (
        EVENT,
        16,
        DoorEventKind::Granted,
        "MINOR_MULTI_VERIFY_SUCCESS",
    ),
    (
        EVENT,
        38,
        DoorEventKind::Granted,
        "MINOR_FINGERPRINT_COMPARE_PASS",
    ),
    (
        EVENT,
        40,
        DoorEventKind::Granted,
        "MINOR_CARD_FINGERPRINT_VERIFY_PASS",
    ),
    (
        EVENT,
        60,
        DoorEventKind::Granted,
        "MINOR_FACE_AND_CARD_VERIFY_PASS",
    ),
    (EVENT, 75, DoorEventKind::Granted, "MINOR_FACE_VERIFY_PASS"),
    (
        EVENT,
        77,
        DoorEventKind::Granted,
        "MINOR_EMPLOYEENO_AND_FACE_VERIFY_PASS",
    ),
    // A credential failed, or was refused.
    (EVENT, 6, DoorEventKind::Denied, "MINOR_CARD_NO_RIGHT"),
    (EVENT, 7, DoorEventKind::Denied, "MINOR_CARD_INVALID_PERIOD"),
    (EVENT, 8, DoorEventKind::Denied, "MINOR_CARD_OUT_OF_DATE"),
    (EVENT, 9, DoorEventKind::Denied, "MINOR_INVALID_CARD"),
    (EVENT, 10, DoorEventKind::Denied, "MINOR_ANTI_SNEAK_FAIL"),
    (
        EVENT,
        39,
        DoorEventKind::Denied,
        "MINOR_FINGERPRINT_COMPARE_FAIL",
    ),
    (
        EVENT,
        49,
        DoorEventKind::Denied,
        "MINOR_FINGERPRINT_INEXISTENCE",
    ),
    (EVENT, 76, DoorEventKind::Denied, "MINOR_FACE_VERIFY_FAIL"),
    (
        EVENT,
        80,
        DoorEventKind::Denied,
        "MINOR_FACE_RECOGNIZE_FAIL",
    ),
    (
        EVENT,
        117,
        DoorEventKind::Denied,
        "MINOR_DOOR_OPEN_OR_DORMANT_FAIL",
    ),
    (EVENT, 151, DoorEventKind::Denied, "MINOR_PASSWORD_MISMATCH"),
    (
        EVENT,
        152,
        DoorEventKind::Denied,
        "MINOR_EMPLOYEE_NO_NOT_EXIST",
    ),
    // Torn open or off the wall: the device, a reader, the door module.
    (
        ALARM,
        1028,
        DoorEventKind::Tamper,
        "MINOR_HOST_DESMANTLE_ALARM",
    ),
    (
        ALARM,
        1030,
        DoorEventKind::Tamper,
        "MINOR_CARD_READER_DESMANTLE_ALARM",
    ),
    (
        ALARM,
        1039,
        DoorEventKind::Tamper,
        "MINOR_SECURITY_MODULE_DESMANTLE_ALARM",
    ),
    (EXCEPTION, 1029, DoorEventKind::PowerLost, "MINOR_AC_OFF"),
    (
        EXCEPTION,
        1024,
        DoorEventKind::DeviceStart,
        "MINOR_DEV_POWER_ON",
    ),
    // A watchdog reset is a restart the device did not choose.
    (
        EXCEPTION,
        1026,
        DoorEventKind::DeviceStart,
        "MINOR_WATCH_DOG_RESET",
    ),
    (
        OPERATION,
        1024,
        DoorEventKind::RemoteOpen,
        "MINOR_REMOTE_OPEN_DOOR",
    ),
    // Remain-open from software: the door is free until told otherwise.
    (
        OPERATION,
        1026,
        DoorEventKind::RemoteOpen,
        "MINOR_REMOTE_ALWAYS_OPEN",
    ),
];

/// The kind of a (major, minor) pair, if Ronda maps it.
pub fn kind(major: u32, minor: u32) -> Option<DoorEventKind> {
    MAPPED
        .iter()
        .find(|(ma, mi, _, _)| *ma == major && *mi == minor)
        .map(|(_, _, k, _)| *k)
}

/// The code as the event carries it: `5/27`.
pub fn code(major: u32, minor: u32) -> String {
    format!("{major}/{minor}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_minor_means_different_things_under_different_majors() {
        // 0x404: host tamper (1), battery restored (2), remote clock set (3).
        assert_eq!(kind(ALARM, 1028), Some(DoorEventKind::Tamper));
        assert_eq!(kind(EXCEPTION, 1028), None);
        assert_eq!(kind(OPERATION, 1028), None);
        // 0x400: device power on (2), remote door open (3), nothing under 1.
        assert_eq!(kind(EXCEPTION, 1024), Some(DoorEventKind::DeviceStart));
        assert_eq!(kind(OPERATION, 1024), Some(DoorEventKind::RemoteOpen));
        assert_eq!(kind(ALARM, 1024), None);
        // 0x405: mains off (2), host tamper *resume* (1): only one is an event.
        assert_eq!(kind(EXCEPTION, 1029), Some(DoorEventKind::PowerLost));
        assert_eq!(kind(ALARM, 1029), None);
        // 0x27 (39): fingerprint mismatch (5), network lost (2).
        assert_eq!(kind(EVENT, 39), Some(DoorEventKind::Denied));
        assert_eq!(kind(EXCEPTION, 39), None);
    }

    #[test]
    fn every_pair_is_mapped_once_and_codes_fit_the_wire() {
        for (i, (ma, mi, _, _)) in MAPPED.iter().enumerate() {
            let twice = MAPPED[i + 1..]
                .iter()
                .any(|(a, b, _, _)| a == ma && b == mi);
            assert!(!twice, "{ma}/{mi} mapped twice");
        }
        assert_eq!(code(u32::MAX, u32::MAX).len(), 21, "under the wire's 32");
    }

    #[test]
    fn closing_restoring_and_lock_relay_codes_are_not_events() {
        // Door closed, lock relay open/close, AC restored, tamper restored.
        for (ma, mi) in [(5, 26), (5, 21), (5, 22), (2, 1030), (1, 1031)] {
            assert_eq!(kind(ma, mi), None, "{ma}/{mi}");
        }
    }
}
