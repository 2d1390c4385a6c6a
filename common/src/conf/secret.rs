//! Secrets in config files: a value written in the file, a separate file
//! (or a systemd credential, `$CREDENTIALS_DIRECTORY/<name>`), or an
//! environment variable. Each is read only by the command that uses it
//! ([`LazySecret`]), and none shows its value in `Debug` output or logs.

use std::fmt;
use std::path::PathBuf;

use super::credential::{self, FileRef};
use super::Checker;

/// Where a secret comes from: the config file itself, a separate file, a
/// systemd credential, or the environment. It never shows its value in
/// `Debug` output or logs.
#[derive(Clone)]
pub enum SecretSource {
    Value(Secret),
    File(PathBuf),
    Env(String),
    /// `…_file: $CREDENTIALS_DIRECTORY/<name>`: found in the folder systemd
    /// names when the secret is read ([`credential`]).
    Credential(String),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Value(_) => f.write_str("Value(<redacted>)"),
            SecretSource::File(p) => write!(f, "File({})", p.display()),
            SecretSource::Env(v) => write!(f, "Env({v})"),
            SecretSource::Credential(n) => write!(f, "Credential({n})"),
        }
    }
}

/// A resolved secret, or a password written into a config file.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A secret as a config file names it, read only when it is used: a command
/// that never connects to the broker must not need the broker's password
/// variable. Errors name the file and key, so the one who runs the command
/// knows which setting to fix.
#[derive(Clone)]
pub struct LazySecret {
    source: SecretSource,
    /// `file: key`, such as `agent.yaml: broker.password`; none for a
    /// secret made in code.
    at: Option<String>,
}

impl fmt::Debug for LazySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

impl From<Secret> for LazySecret {
    fn from(value: Secret) -> Self {
        LazySecret {
            source: SecretSource::Value(value),
            at: None,
        }
    }
}

/// A secret that cannot be read, and where the config names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SecretError {
    pub at: Option<String>,
    pub reason: String,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl LazySecret {
    pub fn new(source: SecretSource, at: Option<String>) -> Self {
        LazySecret { source, at }
    }

    /// Where the config names it: `file: key`.
    pub fn at(&self) -> Option<&str> {
        self.at.as_deref()
    }

    /// Read the secret from where it is kept.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        self.source.resolve().map_err(|reason| SecretError {
            at: self.at.clone(),
            reason,
        })
    }

    /// Read the secret now and keep its value. A long-running command does
    /// this at start-up, so that a missing variable stops it at once rather
    /// than at its first connection, and a file is read once.
    pub fn read_now(&mut self) -> Result<(), SecretError> {
        self.source = SecretSource::Value(self.resolve()?);
        Ok(())
    }
}

/// Read every secret in `secrets` now ([`LazySecret::read_now`]); every
/// one that cannot be read is reported.
pub fn read_all<'a>(
    secrets: impl IntoIterator<Item = &'a mut LazySecret>,
) -> Result<(), Vec<SecretError>> {
    let errors: Vec<SecretError> = secrets
        .into_iter()
        .filter_map(|s| s.read_now().err())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The one secret given by `value`, `file` or `env`, not read yet. Reports a
/// problem at `path` when more than one is given, or at `path_file` when the
/// file names a credential badly.
pub fn lazy_secret_in(
    c: &mut Checker<'_>,
    path: &str,
    value: &Option<Secret>,
    file: &Option<PathBuf>,
    env: &Option<String>,
) -> Option<LazySecret> {
    let mut sources = Vec::new();
    sources.extend(value.clone().map(SecretSource::Value));
    if let Some(f) = file {
        match credential::parse(f) {
            Ok(FileRef::Path(p)) => sources.push(SecretSource::File(p)),
            Ok(FileRef::Credential(name)) => sources.push(SecretSource::Credential(name)),
            Err(e) => {
                c.fail(&format!("{path}_file"), e);
                return None;
            }
        }
    }
    sources.extend(env.clone().map(SecretSource::Env));
    if sources.len() > 1 {
        c.fail(path, "give only one of the value, its _file and its _env");
        return None;
    }
    let at = format!("{}: {path}", c.source.file.display());
    Some(LazySecret::new(sources.pop()?, Some(at)))
}

/// The one secret given by `value`, `file` or `env`, resolved. Reports a
/// problem at `path` when more than one is given or it cannot be read.
pub fn secret_in(
    c: &mut Checker<'_>,
    path: &str,
    value: &Option<Secret>,
    file: &Option<PathBuf>,
    env: &Option<String>,
) -> Option<Secret> {
    let lazy = lazy_secret_in(c, path, value, file, env)?;
    lazy.source.resolve().map_err(|e| c.fail(path, e)).ok()
}

impl SecretSource {
    /// Resolve the secret; a file's trailing newline is dropped.
    pub fn resolve(&self) -> Result<Secret, String> {
        match self {
            SecretSource::Value(v) => Ok(v.clone()),
            SecretSource::File(p) => std::fs::read_to_string(p)
                .map(|s| Secret(s.trim_end_matches(['\r', '\n']).to_owned()))
                .map_err(|e| format!("cannot read secret file {}: {e}", p.display())),
            SecretSource::Env(var) => std::env::var(var)
                .map(Secret)
                .map_err(|_| format!("environment variable {var} is not set")),
            SecretSource::Credential(name) => credential::read(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Source;
    use super::*;
    use std::path::Path;

    #[test]
    fn secrets_never_show_in_debug() {
        let s = SecretSource::Value(Secret::new("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", s.resolve().unwrap()).contains("hunter2"));
    }

    #[test]
    fn a_lazy_secret_is_read_when_used_and_names_its_key() {
        let source = Source::from_text(Path::new("agent.yaml"), "broker: {}\n".into());
        let mut c = source.checker();
        let env = Some("RONDA_TEST_NEVER_SET_3F9C".to_owned());
        let lazy = lazy_secret_in(&mut c, "broker.password", &None, &None, &env).unwrap();
        assert!(!c.has_problems(), "an unset variable is no problem at load");
        assert_eq!(
            lazy.resolve().unwrap_err().to_string(),
            "agent.yaml: broker.password: environment variable RONDA_TEST_NEVER_SET_3F9C is not set"
        );
        let mut both = source.checker();
        let value = Some(Secret::new("x"));
        assert!(lazy_secret_in(&mut both, "broker.password", &value, &None, &env).is_none());
        assert!(both.has_problems());
    }

    #[test]
    fn a_lazy_secret_read_now_keeps_its_value_out_of_debug() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "hunter2\n").unwrap();
        let mut lazy = LazySecret::new(SecretSource::File(p.clone()), None);
        assert!(format!("{lazy:?}").contains("pw"), "{lazy:?}");
        read_all([&mut lazy]).unwrap();
        std::fs::remove_file(&p).unwrap();
        // The value was kept: the file is read once, at start-up.
        assert_eq!(lazy.resolve().unwrap().expose(), "hunter2");
        assert!(!format!("{lazy:?}").contains("hunter2"), "{lazy:?}");
        let mut unread = LazySecret::new(SecretSource::File(p), Some("s.yaml: k".into()));
        let errors = read_all([&mut unread]).unwrap_err();
        assert!(errors[0]
            .to_string()
            .starts_with("s.yaml: k: cannot read secret file"));
    }

    #[test]
    fn a_credential_file_is_read_when_used_and_its_errors_name_the_key() {
        let text = "broker:\n  password_file: $CREDENTIALS_DIRECTORY/mqtt-password\n";
        let source = Source::from_text(Path::new("agent.yaml"), text.into());
        let mut c = source.checker();
        let file = Some(PathBuf::from("$CREDENTIALS_DIRECTORY/mqtt-password"));
        let lazy = lazy_secret_in(&mut c, "broker.password", &None, &file, &None).unwrap();
        assert!(!c.has_problems(), "nothing is read at load");
        assert_eq!(format!("{lazy:?}"), "Credential(mqtt-password)");
        // Read through the credential folder of this process's environment
        // (none in a test run: `credential`'s tests cover the texts), with
        // the file and the key in front of any error.
        assert_eq!(
            lazy.resolve().map_err(|e| e.to_string()),
            credential::read("mqtt-password")
                .map_err(|r| format!("agent.yaml: broker.password: {r}"))
        );
    }

    #[test]
    fn a_credential_name_leading_out_of_the_folder_fails_the_load_at_its_key() {
        let text = "office: x\nbroker:\n  url: mqtt://127.0.0.1\n  password_file: $CREDENTIALS_DIRECTORY/../../etc/shadow\n";
        let source = Source::from_text(Path::new("agent.yaml"), text.into());
        let mut c = source.checker();
        let file = Some(PathBuf::from("$CREDENTIALS_DIRECTORY/../../etc/shadow"));
        assert!(lazy_secret_in(&mut c, "broker.password", &None, &file, &None).is_none());
        let err = c.finish().unwrap_err().to_string();
        assert!(
            err.starts_with("agent.yaml:4:18: broker.password_file: the credential name"),
            "{err}"
        );
    }

    #[test]
    fn secret_from_file_drops_the_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\n").unwrap();
        assert_eq!(SecretSource::File(p).resolve().unwrap().expose(), "s3cret");
    }
}
