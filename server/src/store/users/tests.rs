//! Tests of accounts: hashes, the password policy, the account commands.

use super::*;

fn db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open(&dir.path().join("u.db")).unwrap();
    (dir, conn)
}

#[test]
fn hashes_are_argon2id_with_the_chosen_cost_and_verify() {
    let h = hash("kantor-aman-2018").unwrap();
    assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    assert!(verify("kantor-aman-2018", &h));
    assert!(!verify("kantor-aman-2019", &h));
}

/// argon2 runs made on this thread while `f` runs.
fn hashes_in(f: impl FnOnce()) -> u32 {
    let before = HASHES.with(std::cell::Cell::get);
    f();
    HASHES.with(std::cell::Cell::get) - before
}

#[test]
fn a_disabled_or_unknown_account_costs_one_hash_like_a_wrong_password() {
    let (_d, c) = db();
    add(&c, "budi", "it", None, "lampu-merah-7", 1).unwrap();
    disable(&c, "budi").unwrap();
    let found = || account(&c, "budi").unwrap();
    // Refused, but only after the same work as any other answer: a
    // quicker "no" would tell a prober the account exists but is off.
    assert_eq!(
        hashes_in(|| assert!(check(found(), "lampu-merah-7").is_none())),
        1
    );
    assert_eq!(
        hashes_in(|| assert!(check(found(), "salah-sandi-9").is_none())),
        1
    );
    assert_eq!(
        hashes_in(|| assert!(check(None, "salah-sandi-9").is_none())),
        1
    );
}

#[test]
fn an_account_without_a_password_cannot_log_in_and_costs_a_hash() {
    let (_d, c) = db();
    add_pending(&c, "kepala-dinkes", "head", Some("dinkes"), 1).unwrap();
    let found = || account(&c, "kepala-dinkes").unwrap();
    for guess in ["", "lampu-merah-7"] {
        assert_eq!(hashes_in(|| assert!(check(found(), guess).is_none())), 1);
    }
}

#[test]
fn short_and_common_passwords_are_refused() {
    assert!(matches!(check_password("pendek"), Err(UserError::TooShort)));
    assert!(matches!(
        check_password("Bismillah"),
        Err(UserError::Common)
    ));
    assert!(check_password("lampu-merah-7").is_ok());
}

#[test]
fn accounts_add_authenticate_change_and_disable() {
    let (_d, c) = db();
    assert!(matches!(
        add(&c, "kepala", "head", None, "lampu-merah-7", 1),
        Err(UserError::Office)
    ));
    add(&c, "kepala", "head", Some("dinkes"), "lampu-merah-7", 1).unwrap();
    assert!(matches!(
        add(&c, "kepala", "it", None, "lampu-merah-7", 1),
        Err(UserError::Exists(_))
    ));
    assert!(authenticate(&c, "kepala", "lampu-merah-7")
        .unwrap()
        .is_some());
    assert!(authenticate(&c, "kepala", "salah-sandi-99")
        .unwrap()
        .is_none());
    assert!(authenticate(&c, "nobody", "lampu-merah-7")
        .unwrap()
        .is_none());
    passwd(&c, "kepala", "lampu-hijau-8", 2).unwrap();
    assert!(authenticate(&c, "kepala", "lampu-merah-7")
        .unwrap()
        .is_none());
    disable(&c, "kepala").unwrap();
    assert!(authenticate(&c, "kepala", "lampu-hijau-8")
        .unwrap()
        .is_none());
    assert!(list(&c).unwrap()[0].disabled);
}
