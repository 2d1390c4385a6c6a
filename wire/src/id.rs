//! Office and agent identifiers: `[a-z0-9-]`, 1 to 63 characters.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest id accepted; keeps topics short and ids usable as DNS labels.
pub const MAX_ID_LEN: usize = 63;

/// A validated office or agent id. Holding an `Id` proves it is well formed,
/// so it can be put into a topic without escaping.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id is empty")]
    Empty,
    #[error("id `{0}` is longer than {MAX_ID_LEN} characters")]
    TooLong(String),
    #[error("id `{0}` may only contain lowercase letters a-z, digits 0-9 and `-`")]
    BadChar(String),
}

impl Id {
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > MAX_ID_LEN {
            return Err(IdError::TooLong(s));
        }
        let ok = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(IdError::BadChar(s));
        }
        Ok(Id(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Id {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Id::new(s)
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Id {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Id::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_lowercase_digits_and_dash() {
        assert_eq!(Id::new("dinkes-2").unwrap().as_str(), "dinkes-2");
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "", "Dinkes", "din kes", "din/kes", "din+kes", "dín", "a_b", "#",
        ] {
            assert!(Id::new(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(matches!(Id::new("a".repeat(64)), Err(IdError::TooLong(_))));
    }

    #[test]
    fn deserialize_checks_the_id() {
        assert!(serde_json::from_str::<Id>("\"ok-1\"").is_ok());
        assert!(serde_json::from_str::<Id>("\"NOT OK\"").is_err());
    }
}
