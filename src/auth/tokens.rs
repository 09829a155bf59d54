//! Access tokens (JWT HS256) and opaque refresh tokens.
//!
//! Only HS256 is accepted (so `alg: none` and algorithm confusion fail), signed with
//! `JWT_SECRET` and also verified with `JWT_SECRET_PREV` during key rotation.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the user id.
    pub sub: String,
    /// The user id again, under the name clients of the seed expect.
    pub uid: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// The user's token version when issued; logout bumps it.
    pub ver: i64,
    /// Always `"access"`.
    pub typ: String,
}

/// Signing and verification keys.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: Vec<DecodingKey>,
    validation: Validation,
}

impl JwtKeys {
    /// Keys from the current secret and an optional previous one.
    pub fn new(secret: &str, previous: Option<&str>) -> Self {
        let mut decoding = vec![DecodingKey::from_secret(secret.as_bytes())];
        if let Some(prev) = previous {
            decoding.push(DecodingKey::from_secret(prev.as_bytes()));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding,
            validation,
        }
    }

    /// Signs claims.
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    /// Verifies a token with the current key, then the previous one.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        self.decoding.iter().find_map(|key| {
            jsonwebtoken::decode::<Claims>(token, key, &self.validation)
                .ok()
                .map(|data| data.claims)
                .filter(|c| c.typ == "access" && c.sub == c.uid)
        })
    }
}

/// A new random 256-bit refresh token, URL-safe base64.
pub fn new_refresh_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a refresh token, hex; only this is stored.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_offset: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: "usr_1".into(),
            uid: "usr_1".into(),
            iat: now,
            exp: now + exp_offset,
            ver: 0,
            typ: "access".into(),
        }
    }

    #[test]
    fn verifies_with_current_and_previous_keys() {
        let old = JwtKeys::new("old-secret-old-secret", None);
        let token = old.sign(&claims(60)).expect("sign");
        let rotated = JwtKeys::new("new-secret-new-secret", Some("old-secret-old-secret"));
        assert!(rotated.verify(&token).is_some());
        let other = JwtKeys::new("new-secret-new-secret", None);
        assert!(other.verify(&token).is_none());
    }

    #[test]
    fn refuses_expired_tokens() {
        let keys = JwtKeys::new("a-secret-a-secret", None);
        let token = keys.sign(&claims(-5)).expect("sign");
        assert!(keys.verify(&token).is_none());
    }
}
