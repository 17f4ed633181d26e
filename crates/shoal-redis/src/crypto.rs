//! Encryption at rest for stored tokens: AES-256-GCM with a random nonce per write, keyed by an
//! [`EncryptionKey`] that never appears in `Debug`, logs or errors.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::RngCore as _;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretBox};
use shoal_core::{Error, Result};

const NONCE_LEN: usize = 12;

/// A 256-bit AES-GCM key for token records at rest. `Debug` prints `EncryptionKey([redacted])`;
/// there is no `Display` and no way to read the key back out.
pub struct EncryptionKey(SecretBox<[u8; 32]>);

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

impl Clone for EncryptionKey {
    fn clone(&self) -> Self {
        Self::from_bytes(*self.0.expose_secret())
    }
}

impl EncryptionKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// A key from standard base64 of 32 bytes (what `openssl rand -base64 32` prints), e.g. read
    /// from an environment variable or a secret manager. The error never echoes the input.
    pub fn from_base64(encoded: &str) -> Result<Self> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| Error::Config("encryption key: not valid base64".into()))?,
        );
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            Error::Config(format!(
                "encryption key: expected 32 bytes, got {}",
                bytes.len()
            ))
        })?;
        Ok(Self::from_bytes(key))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::from_bytes(key)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.expose_secret().into())
    }

    /// `nonce || ciphertext+tag`, with `aad` bound to it (the record's key name).
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| Error::Config("token encryption failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plaintext of [`seal`](Self::seal)'s output, or `None` when the key or `aad` is wrong
    /// or the blob was tampered with.
    pub(crate) fn open(&self, aad: &[u8], blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if blob.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
            .ok()
            .map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_with_a_fresh_nonce_and_opens_only_with_the_same_key_and_name() {
        let key = EncryptionKey::generate();
        let a = key.seal(b"k1", b"secret-token").unwrap();
        let b = key.seal(b"k1", b"secret-token").unwrap();
        assert_ne!(a, b, "a random nonce per write");
        assert!(!a.windows(12).any(|w| w == b"secret-token"));
        assert_eq!(key.open(b"k1", &a).unwrap().as_slice(), b"secret-token");
        assert!(key.open(b"k2", &a).is_none(), "bound to the record's name");
        assert!(EncryptionKey::generate().open(b"k1", &a).is_none());
        let mut tampered = a.clone();
        tampered[20] ^= 1;
        assert!(key.open(b"k1", &tampered).is_none());
        assert!(key.open(b"k1", b"short").is_none());
    }

    #[test]
    fn base64_keys_are_checked_and_never_echoed() {
        let encoded = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let key = EncryptionKey::from_base64(&encoded).unwrap();
        assert_eq!(format!("{key:?}"), "EncryptionKey([redacted])");
        let err = EncryptionKey::from_base64("c2hvcnQ=")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("32 bytes") && !err.contains("c2hvcnQ"),
            "{err}"
        );
        let err = EncryptionKey::from_base64("not base64 SECRETISH!")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SECRETISH"), "{err}");
        let copy = key.clone();
        let sealed = key.seal(b"n", b"x").unwrap();
        assert_eq!(copy.open(b"n", &sealed).unwrap().as_slice(), b"x");
    }
}
