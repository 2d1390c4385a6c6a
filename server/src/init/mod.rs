//! `ronda-server init`: a commented starting `server.yaml`, an `offices.yaml`
//! registry, an empty `letters/` folder and the first admin account.
//!
//! Everything is written to a folder beside the target first and loaded
//! there as `check` loads it; only a config that loads is moved into place,
//! so a refused answer leaves nothing behind. Secrets are never written:
//! the config names a file (`password_file: $CREDENTIALS_DIRECTORY/<name>`
//! for systemd's `LoadCredential=`, or a path the admin gives).

mod text;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use text::{offices_yaml, server_yaml};

use crate::store::users;
use crate::ServerConfig;

/// The systemd credential name of the SMTP password.
pub const SMTP_CREDENTIAL: &str = "smtp-password";
pub const DEFAULT_DATABASE: &str = "/var/lib/ronda-server/ronda.db";

/// Everything `init` writes, as answered or given as flags.
#[derive(Debug, Clone)]
pub struct Answers {
    /// The address people open; the base of the links in mail.
    pub url: String,
    pub listen: SocketAddr,
    /// `database.path`, as written (relative to the config's folder).
    pub database: PathBuf,
    pub region: String,
    pub timezone: String,
    pub mail: Option<MailAnswers>,
    pub offices: Vec<OfficeAnswer>,
    pub admin: String,
}

#[derive(Debug, Clone)]
pub struct MailAnswers {
    pub host: String,
    pub port: Option<u16>,
    /// `starttls`, `implicit` or `none`.
    pub tls: String,
    pub username: Option<String>,
    /// What `password_file` says, when there is a username.
    pub password_file: String,
    pub ca_file: Option<PathBuf>,
    pub from: String,
    /// `id` or `en`.
    pub language: String,
}

#[derive(Debug, Clone)]
pub struct OfficeAnswer {
    pub id: String,
    pub name: String,
    pub head_name: String,
    pub head_email: String,
}

impl OfficeAnswer {
    /// `ID:NAME:HEAD-EMAIL`, the `--office` flag's form. The name may hold
    /// `:`; the id is before the first, the address after the last.
    pub fn parse(s: &str) -> Result<OfficeAnswer, String> {
        let (id, rest) = s.split_once(':').ok_or_else(|| office_form(s))?;
        let (name, email) = rest.rsplit_once(':').ok_or_else(|| office_form(s))?;
        if id.trim().is_empty() || name.trim().is_empty() || email.trim().is_empty() {
            return Err(office_form(s));
        }
        Ok(OfficeAnswer {
            id: id.trim().to_owned(),
            name: name.trim().to_owned(),
            head_name: format!("Kepala {}", name.trim()),
            head_email: email.trim().to_owned(),
        })
    }
}

fn office_form(s: &str) -> String {
    format!("--office `{s}`: give ID:NAME:HEAD-EMAIL, such as `dinkes:Dinas Kesehatan:kepala@dinkes.kotim.go.id`")
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0} exists; give --force to replace it")]
    Exists(PathBuf),
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the config init would write does not load:\n{0}")]
    Config(String),
    #[error("admin account: {0}")]
    Admin(#[from] users::UserError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What was written, for the summary `init` prints.
#[derive(Debug)]
pub struct Written {
    pub server_yaml: PathBuf,
    pub offices_yaml: PathBuf,
    pub letters: PathBuf,
    pub database: PathBuf,
}

/// Check the admin's name and password, write the files into `dir` (which
/// is made if missing) and add the admin account.
pub fn write(dir: &Path, a: &Answers, password: &str, force: bool) -> Result<Written, InitError> {
    users::check_password(password)?;
    let server = dir.join("server.yaml");
    let offices = dir.join("offices.yaml");
    for p in [&server, &offices] {
        if p.exists() && !force {
            return Err(InitError::Exists(p.clone()));
        }
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| InitError::Write { path, error }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let stage = tempfile::Builder::new()
        .prefix(".ronda-init-")
        .tempdir_in(dir)
        .map_err(io(dir))?;
    let (s, o) = (
        stage.path().join("server.yaml"),
        stage.path().join("offices.yaml"),
    );
    std::fs::write(&s, server_yaml(a)).map_err(io(&s))?;
    std::fs::write(&o, offices_yaml(a)).map_err(io(&o))?;
    std::fs::create_dir_all(stage.path().join("letters")).map_err(io(stage.path()))?;
    load(&s)?;
    std::fs::rename(&o, &offices).map_err(io(&offices))?;
    std::fs::rename(&s, &server).map_err(io(&server))?;
    let letters = dir.join("letters");
    std::fs::create_dir_all(&letters).map_err(io(&letters))?;
    // `init` writes a SQLite setup; PostgreSQL is a change made afterwards.
    let crate::store::Location::File(database) = load(&server)?.database else {
        return Err(InitError::Config(
            "the written config names no SQLite file".into(),
        ));
    };
    if let Some(parent) = database.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    add_admin(&database, &a.admin, password, force)?;
    Ok(Written {
        server_yaml: server,
        offices_yaml: offices,
        letters,
        database,
    })
}

/// Load as `check` does: the config, then the registry and letters it names.
fn load(path: &Path) -> Result<ServerConfig, InitError> {
    let mut c = ServerConfig::load(path).map_err(|e| InitError::Config(e.to_string()))?;
    crate::letters::load(&mut c).map_err(InitError::Config)?;
    Ok(c)
}

/// The first admin; with `force`, an admin of that name gets the new password.
fn add_admin(database: &Path, name: &str, password: &str, force: bool) -> Result<(), InitError> {
    let conn = crate::store::open(database)?;
    let now = jiff::Timestamp::now().as_millisecond();
    match users::add(&conn, name, "admin", None, password, now) {
        Ok(_) => {}
        Err(users::UserError::Exists(_)) if force => users::passwd(&conn, name, password, now)?,
        Err(e) => return Err(e.into()),
    }
    let detail = format!("{name} (admin)");
    let _ = crate::store::audit::append(
        &conn,
        Some("init"),
        "user.create",
        &detail,
        Some("command line"),
        now,
    );
    Ok(())
}

#[cfg(test)]
mod tests;
