//! systemd credentials named in config files:
//! `password_file: $CREDENTIALS_DIRECTORY/<name>`.
//!
//! The packaged units pass each secret with `LoadCredential=<name>:
//! /etc/ronda/credentials/<name>`; systemd copies it into a private folder
//! only the service's user can read and names that folder in
//! `$CREDENTIALS_DIRECTORY`. The folder differs per unit and per start, so a
//! config cannot name it: it names the variable, expanded here when the
//! secret is read, not when the file is loaded (`check` runs in a shell that
//! has no such variable).

use std::path::{Path, PathBuf};

use super::Secret;

/// The variable systemd sets for a service that has `LoadCredential=`.
pub const VAR: &str = "CREDENTIALS_DIRECTORY";

/// The two spellings of the prefix: `$CREDENTIALS_DIRECTORY/` as the Ronda
/// docs write it, `${CREDENTIALS_DIRECTORY}/` as systemd's man page does.
const PREFIXES: [&str; 2] = ["$CREDENTIALS_DIRECTORY/", "${CREDENTIALS_DIRECTORY}/"];

/// Where the packaged units load credentials from (for error texts).
const HOST_FOLDER: &str = "/etc/ronda/credentials";

/// What a `…_file` value names: a file, or a systemd credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRef {
    Path(PathBuf),
    Credential(String),
}

/// Read a `…_file` value. A `$CREDENTIALS_DIRECTORY/` prefix makes it a
/// credential, whose name must be one file name (no `/`, not `..`): the
/// name is joined to the folder systemd gives, and must not lead out of it.
/// Any other leading `$` is refused, since nothing else is expanded and the
/// file would be looked for under a folder literally named `$HOME`.
pub fn parse(value: &Path) -> Result<FileRef, String> {
    let Some(text) = value.to_str() else {
        return Ok(FileRef::Path(value.to_owned()));
    };
    if let Some(name) = PREFIXES.iter().find_map(|p| text.strip_prefix(p)) {
        return valid_name(name).map(|()| FileRef::Credential(name.to_owned()));
    }
    if text.starts_with('$') {
        return Err(format!(
            "`{text}`: only a leading `${VAR}/` is expanded in a file name; \
             give the file's own path"
        ));
    }
    Ok(FileRef::Path(value.to_owned()))
}

/// systemd's rule for a credential name (`credential_name_valid`): one file
/// name, at most 255 bytes.
fn valid_name(name: &str) -> Result<(), String> {
    let bad = if name.is_empty() {
        Some("is empty")
    } else if name.contains('/') {
        Some("holds a `/`; a credential is one file name, such as `smtp-password`")
    } else if name == "." || name == ".." {
        Some("is `.` or `..`")
    } else if name.contains('\0') {
        Some("holds a NUL byte")
    } else if name.len() > 255 {
        Some("is longer than 255 bytes")
    } else {
        None
    };
    match bad {
        Some(why) => Err(format!("the credential name after `${VAR}/` {why}")),
        None => Ok(()),
    }
}

/// Read credential `name` from the folder in `$CREDENTIALS_DIRECTORY`; a
/// trailing newline is dropped, as for any secret file.
pub fn read(name: &str) -> Result<Secret, String> {
    read_in(std::env::var_os(VAR).map(PathBuf::from), name)
}

/// [`read`] with the variable's value given, so tests need not change the
/// process's environment (which other threads read).
pub fn read_in(dir: Option<PathBuf>, name: &str) -> Result<Secret, String> {
    let dir = match dir {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => {
            return Err(format!(
                "`${VAR}/{name}`: ${VAR} is not set; systemd sets it only for a \
                 service with LoadCredential= (the packaged unit loads \
                 {HOST_FOLDER}/{name}), so outside the service name the file itself"
            ))
        }
    };
    if !dir.is_absolute() {
        return Err(format!(
            "`${VAR}/{name}`: ${VAR} is `{}`, not an absolute path",
            dir.display()
        ));
    }
    let file = dir.join(name);
    let text = std::fs::read_to_string(&file).map_err(|e| {
        format!(
            "cannot read credential `{name}` ({}): {e}; the unit needs \
             LoadCredential={name}:{HOST_FOLDER}/{name}",
            file.display()
        )
    })?;
    let value = text.trim_end_matches(['\r', '\n']);
    // The packaged units give every credential an empty default
    // (SetCredential=) so that a service using none of them still starts;
    // an empty one here means the file under /etc was never written.
    if value.is_empty() {
        return Err(format!(
            "credential `{name}` is empty: write the secret into \
             {HOST_FOLDER}/{name} (owner root, mode 0600) and restart the service"
        ));
    }
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_credentials_directory_names_a_credential_in_both_spellings() {
        for v in [
            "$CREDENTIALS_DIRECTORY/smtp-password",
            "${CREDENTIALS_DIRECTORY}/smtp-password",
        ] {
            assert_eq!(
                parse(Path::new(v)).unwrap(),
                FileRef::Credential("smtp-password".into())
            );
        }
        let plain = Path::new("/etc/ronda/mqtt-password");
        assert_eq!(parse(plain).unwrap(), FileRef::Path(plain.to_owned()));
        // The variable in the middle of a path is no prefix: a plain path.
        let mid = Path::new("/srv/$CREDENTIALS_DIRECTORY/x");
        assert_eq!(parse(mid).unwrap(), FileRef::Path(mid.to_owned()));
    }

    #[test]
    fn a_credential_name_cannot_lead_out_of_the_folder() {
        for v in [
            "$CREDENTIALS_DIRECTORY/../../etc/shadow",
            "$CREDENTIALS_DIRECTORY/..",
            "$CREDENTIALS_DIRECTORY/.",
            "$CREDENTIALS_DIRECTORY/",
            "$CREDENTIALS_DIRECTORY//etc/shadow",
            "$CREDENTIALS_DIRECTORY/sub/../smtp-password",
            "${CREDENTIALS_DIRECTORY}/../ronda-agent.service/mqtt-password",
        ] {
            let err = parse(Path::new(v)).unwrap_err();
            assert!(err.contains("credential name"), "{v}: {err}");
        }
        let long = format!("$CREDENTIALS_DIRECTORY/{}", "a".repeat(256));
        assert!(parse(Path::new(&long)).is_err());
    }

    #[test]
    fn other_variables_are_refused_rather_than_read_as_a_folder_named_dollar() {
        for v in ["$HOME/pw", "${STATE_DIRECTORY}/pw", "$CREDENTIALS_DIR/pw"] {
            let err = parse(Path::new(v)).unwrap_err();
            assert!(
                err.contains("only a leading `$CREDENTIALS_DIRECTORY/`"),
                "{v}: {err}"
            );
        }
    }

    #[test]
    fn a_credential_is_read_from_the_folder_systemd_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("smtp-password"), "s3cret\n").unwrap();
        let got = read_in(Some(dir.path().to_owned()), "smtp-password").unwrap();
        assert_eq!(got.expose(), "s3cret");
    }

    #[test]
    fn without_the_variable_the_error_says_systemd_sets_it_only_with_load_credential() {
        for unset in [None, Some(PathBuf::new())] {
            let err = read_in(unset, "smtp-password").unwrap_err();
            assert!(err.contains("$CREDENTIALS_DIRECTORY is not set"), "{err}");
            assert!(err.contains("LoadCredential="), "{err}");
            assert!(
                err.contains("/etc/ronda/credentials/smtp-password"),
                "{err}"
            );
        }
        let err = read_in(Some("run/creds".into()), "x").unwrap_err();
        assert!(err.contains("not an absolute path"), "{err}");
    }

    #[test]
    fn a_missing_or_empty_credential_names_the_file_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_in(Some(dir.path().to_owned()), "mqtt-password").unwrap_err();
        assert!(
            err.contains("LoadCredential=mqtt-password:/etc/ronda/credentials/mqtt-password"),
            "{err}"
        );
        // What the unit's empty SetCredential= default leaves when the file
        // under /etc/ronda/credentials was never written.
        std::fs::write(dir.path().join("mqtt-password"), "").unwrap();
        let err = read_in(Some(dir.path().to_owned()), "mqtt-password").unwrap_err();
        assert!(err.contains("is empty"), "{err}");
        assert!(
            err.contains("/etc/ronda/credentials/mqtt-password"),
            "{err}"
        );
    }
}
