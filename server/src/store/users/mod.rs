//! User accounts: roles, argon2id password hashes, the password policy, and
//! the account commands (`ronda-server user add|passwd|list|disable`).
//!
//! Accounts live in the server's SQLite file. There is no default account.

pub mod devices;
pub mod links;
pub mod mqtt;
mod pending;
pub mod session;
pub mod tokens;

pub use pending::{add_pending, exists, heads_of};

use crate::store::sql::{params, Connection, OptionalExtension};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::Serialize;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    /// Every office; acknowledges alerts; controls plugs.
    It,
    /// One office: sees and acknowledges only that office.
    Head,
    /// Read-only, every office.
    Viewer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "it" => Some(Role::It),
            "head" => Some(Role::Head),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::It => "it",
            Role::Head => "head",
            Role::Viewer => "viewer",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// The office of a head.
    pub office: Option<String>,
    pub disabled: bool,
}

impl User {
    /// Whether this user may see `office`.
    pub fn sees(&self, office: &str) -> bool {
        self.role != Role::Head || self.office.as_deref() == Some(office)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user names are 2-64 characters of a-z, 0-9, `.`, `_` and `-`")]
    BadName,
    #[error("a head needs --office; other roles must not have one")]
    Office,
    #[error("unknown role `{0}`: admin, it, head or viewer")]
    Role(String),
    #[error("the password must be at least {MIN_PASSWORD} characters")]
    TooShort,
    #[error("that password is too common; choose another")]
    Common,
    #[error("user `{0}` already exists")]
    Exists(String),
    #[error("no user `{0}`")]
    Unknown(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] crate::store::sql::Error),
    #[error("{0}")]
    Store(String),
}

pub const MIN_PASSWORD: usize = 8;

/// Passwords refused whatever their length: the most common ones, and the
/// ones people in an Indonesian office try first.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyui",
    "qwerty123",
    "11111111",
    "00000000",
    "iloveyou",
    "admin123",
    "administrator",
    "letmein1",
    "welcome1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "abc12345",
    "passw0rd",
    "bismillah",
    "indonesia",
    "rahasia123",
    "rahasia",
    "katasandi",
    "sayang123",
    "jakarta123",
    "merdeka45",
    "garuda123",
    "pemkab123",
    "diskominfo",
    "ronda123",
    "ronda2018",
    "kotim123",
];

pub fn check_password(password: &str) -> Result<(), UserError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(UserError::TooShort);
    }
    if COMMON.contains(&password.to_lowercase().as_str()) {
        return Err(UserError::Common);
    }
    Ok(())
}

#[cfg(test)]
thread_local! {
    /// argon2 instances made on this thread: a test's proof that a hash ran.
    static HASHES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// argon2id with m = 19456 KiB, t = 2, p = 1 (the OWASP minimum).
fn argon() -> Result<Argon2<'static>, UserError> {
    #[cfg(test)]
    HASHES.with(|h| h.set(h.get() + 1));
    let params = Params::new(19_456, 2, 1, None).map_err(|e| UserError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash(password: &str) -> Result<String, UserError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| UserError::Hash(e.to_string()))?;
    argon()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        // An account with no password yet ([`add_pending`]) answers as
        // slowly as a wrong password, so it cannot be told apart.
        let _ = hash(password);
        return false;
    };
    argon().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Random bytes from the OS, for salts and session ids.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // getrandom through the argon2/password-hash stack's rand_core.
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    OsRng.fill_bytes(&mut b);
    b
}

/// Longest user name, in bytes.
pub const MAX_NAME: usize = 64;

fn valid_name(name: &str) -> bool {
    (2..=MAX_NAME).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

/// A valid name, a known role, and an office exactly when the role is head.
fn scope(name: &str, role: &str, office: Option<&str>) -> Result<Role, UserError> {
    let role = Role::parse(role).ok_or_else(|| UserError::Role(role.into()))?;
    if !valid_name(name) {
        return Err(UserError::BadName);
    }
    if (role == Role::Head) != office.is_some() {
        return Err(UserError::Office);
    }
    Ok(role)
}

pub fn add(
    conn: &Connection,
    name: &str,
    role: &str,
    office: Option<&str>,
    password: &str,
    now_ms: i64,
) -> Result<User, UserError> {
    let role = scope(name, role, office)?;
    check_password(password)?;
    insert(conn, name, role, office, &hash(password)?, now_ms)
}

/// Store a new account whose role and office are checked; an empty
/// `password_hash` is an account with no password yet.
fn insert(
    conn: &Connection,
    name: &str,
    role: Role,
    office: Option<&str>,
    password_hash: &str,
    now_ms: i64,
) -> Result<User, UserError> {
    let n = conn.execute(
        "INSERT INTO users (name, role, office, password_hash, password_changed_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT DO NOTHING",
        params![name, role.as_str(), office, password_hash, now_ms],
    )?;
    if n == 0 {
        return Err(UserError::Exists(name.into()));
    }
    Ok(User {
        name: name.into(),
        role,
        office: office.map(String::from),
        disabled: false,
    })
}

/// Change a password; every session of the user ends.
pub fn passwd(conn: &Connection, name: &str, password: &str, now_ms: i64) -> Result<(), UserError> {
    check_password(password)?;
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2, password_changed_ms = ?3 WHERE name = ?1",
        params![name, hash(password)?, now_ms],
    )?;
    if n == 0 {
        return Err(UserError::Unknown(name.into()));
    }
    end_everything(conn, name)
}

/// Every session ends, and no browser counts as the owner's any more: after
/// a password change, one an intruder logged in from must not.
fn end_everything(conn: &Connection, name: &str) -> Result<(), UserError> {
    conn.execute("DELETE FROM sessions WHERE \"user\" = ?1", [name])?;
    devices::forget(conn, name)
}

/// Disable an account; every session of the user ends.
pub fn disable(conn: &Connection, name: &str) -> Result<(), UserError> {
    if conn.execute("UPDATE users SET disabled = 1 WHERE name = ?1", [name])? == 0 {
        return Err(UserError::Unknown(name.into()));
    }
    end_everything(conn, name)
}

pub fn list(conn: &Connection) -> Result<Vec<User>, UserError> {
    let mut stmt = conn.prepare("SELECT name, role, office, disabled FROM users ORDER BY name")?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<crate::store::sql::Result<_>>()?)
}

fn row(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<User> {
    Ok(User {
        name: r.get(0)?,
        role: Role::parse(&r.get::<_, String>(1)?).unwrap_or(Role::Viewer),
        office: r.get(2)?,
        disabled: r.get(3)?,
    })
}

/// The user if `password` is theirs and the account is enabled.
pub fn authenticate(
    conn: &Connection,
    name: &str,
    password: &str,
) -> Result<Option<User>, UserError> {
    Ok(check(account(conn, name)?, password))
}

/// An account with its password hash, to [`check`] away from the database
/// lock: the hash takes tens of milliseconds of CPU.
pub fn account(conn: &Connection, name: &str) -> Result<Option<(User, String)>, UserError> {
    Ok(conn
        .query_row(
            "SELECT name, role, office, disabled, password_hash FROM users WHERE name = ?1",
            [name],
            |r| Ok((row(r)?, r.get::<_, String>(4)?)),
        )
        .optional()?)
}

/// The user of `found` if `password` is theirs and the account is enabled.
/// The hash runs in every case, first: an unknown name or a disabled
/// account answers as slowly as a wrong password, so neither can be probed.
pub fn check(found: Option<(User, String)>, password: &str) -> Option<User> {
    let matches = match &found {
        Some((_, phc)) => verify(password, phc),
        None => {
            let _ = hash(password);
            false
        }
    };
    found
        .filter(|(user, _)| matches && !user.disabled)
        .map(|(user, _)| user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Vec<(crate::store::testdb::TestDb, Connection)> {
        crate::store::testdb::each()
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
        for (_db, c) in db() {
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
        for (_db, c) in db() {
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
    }
}
