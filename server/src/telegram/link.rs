//! One-time codes that link a Telegram account to a Ronda account: the
//! dashboard shows one to its signed-in user, who sends `/link CODE` to the
//! bot. Only the code's hash is kept; it works once, for ten minutes.

use sha2::{Digest, Sha256};

/// Letters that cannot be misread for one another on a phone.
const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
pub const CODE_LEN: usize = 8;
pub const CODE_TTL: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// A new code: 8 letters of 32, 40 bits, against at most a few wrong tries
/// an hour per Telegram account.
pub fn new_code() -> String {
    crate::store::users::random_bytes::<CODE_LEN>()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect()
}

/// What is stored of `code`, as typed (case and spaces do not matter).
pub fn hash(code: &str) -> String {
    let code: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    let digest = Sha256::digest(code.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_differ_and_hash_as_typed() {
        let (a, b) = (super::new_code(), super::new_code());
        assert_eq!(a.len(), super::CODE_LEN);
        assert_ne!(a, b);
        assert_eq!(
            super::hash(&a),
            super::hash(&format!(" {} ", a.to_lowercase()))
        );
        assert_ne!(super::hash(&a), super::hash(&b));
    }
}
