//! Admin passwords as argon2id hashes (PHC strings); verification in constant time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use ring::rand::{SecureRandom, SystemRandom};

/// Hashes `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| "no system randomness".to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// True when `password` matches the PHC `hash`; false for a malformed hash.
pub fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Compares two byte strings in constant time (for a not yet migrated plain password).
/// (HMAC-verifies one under a random key against the tag of the other: ring's `verify` is
/// constant time).
pub fn equal_plain(a: &[u8], b: &[u8]) -> bool {
    let Ok(key) = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &SystemRandom::new()) else {
        return false;
    };
    let tag = ring::hmac::sign(&key, a);
    ring::hmac::verify(&key, b, tag.as_ref()).is_ok()
}

/// `n` random bytes from the system.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| "no system randomness".to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_and_is_salted() {
        let a = hash("s3cret").unwrap();
        let b = hash("s3cret").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b);
        assert!(!a.contains("s3cret"));
        assert!(verify("s3cret", &a));
        assert!(!verify("s3cret!", &a));
        assert!(!verify("s3cret", "not a hash"));
        assert!(equal_plain(b"abc", b"abc"));
        assert!(!equal_plain(b"abc", b"abd"));
    }
}
