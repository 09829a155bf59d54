//! The form of `ASTRA_ENCRYPTION_KEY`: checked at start-up, used by `credentials` (which
//! re-exports it) to seal provider keys.

use base64::{Engine, engine::general_purpose::STANDARD};

/// Key length of AES-256.
pub const KEY_LEN: usize = 32;

/// Parses a 32-byte key written as 64 hex digits or as base64 (standard or URL-safe).
pub fn parse_key(text: &str) -> Result<[u8; KEY_LEN], String> {
    let text = text.trim();
    let bytes = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|e| e.to_string())?
    } else {
        STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| "expected 32 bytes as 64 hex digits or base64".to_string())?
    };
    bytes
        .try_into()
        .map_err(|_| "expected 32 bytes as 64 hex digits or base64".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_as_hex_or_base64() {
        assert!(parse_key(&"ab".repeat(32)).is_ok());
        assert!(parse_key(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(parse_key("short").is_err());
        assert!(parse_key(&"ab".repeat(16)).is_err());
    }
}
