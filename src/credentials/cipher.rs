//! AES-256-GCM encryption of provider keys at rest (aws-lc-rs), under the gateway's
//! encryption key (`ASTRA_ENCRYPTION_KEY`, or one generated into the data dir).
//!
//! A stored secret is `v1:` + base64(nonce ‖ ciphertext ‖ tag). The nonce is 96 random bits
//! per encryption, and the associated data binds the ciphertext to its workspace and
//! credential id, so a ciphertext copied to another row does not decrypt.

use std::{fmt, path::Path, sync::Arc};

use anyhow::Context;
use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use base64::{Engine, engine::general_purpose::STANDARD};

use crate::config::Secret;
pub use crate::config::encryption_key::{KEY_LEN, parse_key};

/// Prefix of the current storage format.
const VERSION: &str = "v1:";

/// Reads `<data_dir>/encryption_key`, creating it with a random key on first start (the
/// same way the JWT secret is generated when `JWT_SECRET` is unset).
pub fn load_or_create_key(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join("encryption_key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        parse_key(existing).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        return Ok(Secret::new(existing));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("ASTRA_DATA_DIR: cannot create {}", data_dir.display()))?;
    let mut bytes = [0u8; KEY_LEN];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("system random generator failed"))?;
    let key = hex::encode(bytes);
    std::fs::write(&path, &key)
        .with_context(|| format!("ASTRA_DATA_DIR: cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    tracing::warn!(path = %path.display(), "ASTRA_ENCRYPTION_KEY is unset: generated one and stored it in the data dir");
    Ok(Secret::new(key))
}

/// Why a stored secret could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// Not in a known storage format.
    #[error("stored secret has an unknown format")]
    Format,
    /// Wrong key, wrong row, or tampered data.
    #[error("stored secret does not decrypt with the current encryption key")]
    Decrypt,
    /// The platform's random generator failed.
    #[error("random generator failed")]
    Random,
}

/// Encrypts and decrypts provider keys; cheap to clone.
#[derive(Clone)]
pub struct CredentialCipher {
    key: Arc<LessSafeKey>,
    rng: SystemRandom,
}

impl fmt::Debug for CredentialCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialCipher(AES-256-GCM, key ***)")
    }
}

impl CredentialCipher {
    /// A cipher under `key` (as accepted by [`parse_key`]).
    pub fn new(key: &Secret) -> anyhow::Result<Self> {
        let bytes = parse_key(key.expose()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| anyhow::anyhow!("AES-256-GCM key rejected"))?;
        Ok(Self {
            key: Arc::new(LessSafeKey::new(unbound)),
            rng: SystemRandom::new(),
        })
    }

    /// Encrypts `plain`, bound to `context` (workspace and credential id).
    pub fn seal(&self, plain: &Secret, context: &str) -> Result<String, CipherError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CipherError::Random)?;
        let mut data = plain.expose().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| CipherError::Decrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{VERSION}{}", STANDARD.encode(out)))
    }

    /// Decrypts what [`CredentialCipher::seal`] produced for the same `context`.
    pub fn open(&self, stored: &str, context: &str) -> Result<Secret, CipherError> {
        let encoded = stored.strip_prefix(VERSION).ok_or(CipherError::Format)?;
        let raw = STANDARD.decode(encoded).map_err(|_| CipherError::Format)?;
        if raw.len() < NONCE_LEN {
            return Err(CipherError::Format);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CipherError::Format)?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut sealed)
            .map_err(|_| CipherError::Decrypt)?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| CipherError::Decrypt)?;
        Ok(Secret::new(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> CredentialCipher {
        CredentialCipher::new(&Secret::new("11".repeat(32))).unwrap()
    }

    #[test]
    fn round_trip_is_bound_to_its_context_and_randomised() {
        let c = cipher();
        let a = c.seal(&Secret::new("sk-live-123"), "ws_a:pcr_1").unwrap();
        let b = c.seal(&Secret::new("sk-live-123"), "ws_a:pcr_1").unwrap();
        assert_ne!(a, b, "fresh nonce per encryption");
        assert!(!a.contains("sk-live"));
        assert_eq!(c.open(&a, "ws_a:pcr_1").unwrap().expose(), "sk-live-123");
        assert_eq!(c.open(&a, "ws_b:pcr_1"), Err(CipherError::Decrypt));
        let other = CredentialCipher::new(&Secret::new("22".repeat(32))).unwrap();
        assert_eq!(other.open(&a, "ws_a:pcr_1"), Err(CipherError::Decrypt));
        assert_eq!(c.open("plain", "x"), Err(CipherError::Format));
    }
}
