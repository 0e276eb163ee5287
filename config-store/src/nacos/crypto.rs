//! Secret encryption as Higress standalone does it (`pkg/utils/encryption.go`): content is
//! stored as `enc|` + URL-safe base64 (with padding) of AES-CBC(key, IV = key[..16], PKCS#7).
//! The key is 16, 24 or 32 bytes (AES-128/192/256).

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;

/// The marker that starts encrypted content.
pub const ENCRYPTED_PREFIX: &str = "enc|";

/// Why content could not be encrypted or decrypted. Messages never include the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key has the wrong length.
    #[error("the data encryption key is {0} bytes; it must be 16, 24 or 32")]
    KeyLength(usize),
    /// The content is encrypted and no key was given.
    #[error("the content is encrypted (enc|…) and no data encryption key is set (--data-enc-key)")]
    NoKey,
    /// The text after `enc|` is not URL-safe base64.
    #[error("the encrypted content is not valid base64")]
    Base64,
    /// Decryption gave bad padding or non-UTF-8 text: almost always the wrong key.
    #[error("cannot decrypt the content: wrong data encryption key (--data-enc-key)?")]
    Decrypt,
}

/// An AES-CBC cipher with Higress's fixed IV.
#[derive(Clone)]
pub struct Cipher {
    key: Vec<u8>,
}

// === impl Cipher ===

impl Cipher {
    /// A cipher for `key` (16, 24 or 32 bytes).
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        match key.len() {
            16 | 24 | 32 => Ok(Self { key: key.to_vec() }),
            n => Err(CryptoError::KeyLength(n)),
        }
    }

    /// `enc|` + base64url(AES-CBC(text)).
    pub fn encrypt(&self, text: &str) -> String {
        let iv = &self.key[..16];
        let data = text.as_bytes();
        let sealed = match self.key.len() {
            16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(&self.key, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(data)),
            24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(&self.key, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(data)),
            _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(&self.key, iv)
                .map(|c| c.encrypt_padded_vec_mut::<Pkcs7>(data)),
        }
        .unwrap_or_default();
        format!("{ENCRYPTED_PREFIX}{}", URL_SAFE.encode(sealed))
    }

    /// Decrypts `enc|…` content.
    fn decrypt(&self, encoded: &str) -> Result<String, CryptoError> {
        let data = URL_SAFE
            .decode(encoded.trim())
            .map_err(|_| CryptoError::Base64)?;
        let iv = &self.key[..16];
        let opened = match self.key.len() {
            16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(&self.key, iv)
                .map(|c| c.decrypt_padded_vec_mut::<Pkcs7>(&data)),
            24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(&self.key, iv)
                .map(|c| c.decrypt_padded_vec_mut::<Pkcs7>(&data)),
            _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(&self.key, iv)
                .map(|c| c.decrypt_padded_vec_mut::<Pkcs7>(&data)),
        };
        match opened {
            Ok(Ok(plain)) => String::from_utf8(plain).map_err(|_| CryptoError::Decrypt),
            _ => Err(CryptoError::Decrypt),
        }
    }
}

/// The clear text of stored content: decrypted when it starts with `enc|` (any kind, as
/// Higress reads), as is otherwise.
pub fn open(content: &str, cipher: Option<&Cipher>) -> Result<String, CryptoError> {
    match content.strip_prefix(ENCRYPTED_PREFIX) {
        None => Ok(content.to_string()),
        Some(encoded) => cipher.ok_or(CryptoError::NoKey)?.decrypt(encoded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY32: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn matches_higress_format() {
        // Made with `openssl enc -aes-256-cbc -K <key> -iv <key[..16]>` | base64url.
        let c = Cipher::new(KEY32).unwrap();
        assert_eq!(c.encrypt("kind: Secret\n"), "enc|3l3fxKIhkAW9EmoEKKInWg==");
        let c16 = Cipher::new(&KEY32[..16]).unwrap();
        assert_eq!(
            c16.encrypt("kind: Secret\n"),
            "enc|ZuyuUEv575Pg8PwlDM5O3A=="
        );
        assert_eq!(
            open("enc|3l3fxKIhkAW9EmoEKKInWg==", Some(&c)).unwrap(),
            "kind: Secret\n"
        );
    }

    #[test]
    fn round_trips_and_fails_clearly() {
        let c = Cipher::new(&KEY32[..24]).unwrap();
        let text = "apiVersion: v1\nkind: Secret\ndata:\n  password: aHVudGVyMg==\n";
        let sealed = c.encrypt(text);
        assert!(sealed.starts_with("enc|") && !sealed.contains("Secret"));
        assert_eq!(open(&sealed, Some(&c)).unwrap(), text);
        assert_eq!(
            open(text, Some(&c)).unwrap(),
            text,
            "clear content reads as is"
        );
        let wrong = Cipher::new(b"fedcba9876543210fedcba9876543210").unwrap();
        assert_eq!(open(&sealed, Some(&wrong)), Err(CryptoError::Decrypt));
        assert_eq!(open(&sealed, None), Err(CryptoError::NoKey));
        assert_eq!(open("enc|!!", Some(&c)), Err(CryptoError::Base64));
        assert!(matches!(
            Cipher::new(b"short"),
            Err(CryptoError::KeyLength(5))
        ));
    }
}
