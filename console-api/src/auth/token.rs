//! Session tokens for the `_hi_sess` cookie: `<payload>.<mac>`, both base64url, where the
//! payload is `<user>\n<expiry unix seconds>` and the MAC is HMAC-SHA256 under the session key
//! over the payload and the current password hash, so changing the password (or the key)
//! invalidates every session. Stateless, like Higress's, but signed and expiring.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;

/// Signs a token for `user` valid for `ttl`, bound to `password_hash`.
pub fn issue(key: &[u8], password_hash: &str, user: &str, ttl: Duration) -> String {
    let expires = now().saturating_add(ttl.as_secs());
    let payload = format!("{user}\n{expires}");
    let mac = sign(key, password_hash, &payload);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload.as_bytes()),
        URL_SAFE_NO_PAD.encode(mac.as_ref())
    )
}

/// The user a valid, unexpired `token` names.
pub fn verify(key: &[u8], password_hash: &str, token: &str) -> Option<String> {
    let (payload, mac) = token.split_once('.')?;
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::verify(&k, &message(password_hash, &payload), &mac).ok()?;
    let (user, expires) = payload.rsplit_once('\n')?;
    (expires.parse::<u64>().ok()? > now()).then(|| user.to_string())
}

fn sign(key: &[u8], password_hash: &str, payload: &str) -> hmac::Tag {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&k, &message(password_hash, payload))
}

fn message(password_hash: &str, payload: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(payload.len() + password_hash.len() + 1);
    m.extend_from_slice(payload.as_bytes());
    m.push(0);
    m.extend_from_slice(password_hash.as_bytes());
    m
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn valid_token_names_its_user() {
        let t = issue(KEY, "h1", "admin", Duration::from_secs(60));
        assert_eq!(verify(KEY, "h1", &t).as_deref(), Some("admin"));
    }

    #[test]
    fn tampered_expired_or_rebound_tokens_fail() {
        let t = issue(KEY, "h1", "admin", Duration::from_secs(60));
        assert_eq!(verify(KEY, "h2", &t), None, "password changed");
        assert_eq!(verify(b"other key", "h1", &t), None);
        let (_, mac) = t.split_once('.').unwrap();
        let forged = format!("{}.{mac}", URL_SAFE_NO_PAD.encode(b"root\n99999999999"));
        assert_eq!(verify(KEY, "h1", &forged), None);
        let expired = issue(KEY, "h1", "admin", Duration::ZERO);
        assert_eq!(verify(KEY, "h1", &expired), None);
        assert_eq!(verify(KEY, "h1", "garbage"), None);
    }
}
