//! The web console's static files, embedded in the binary with `rust-embed` (read from
//! `console/` on disk in debug builds, so the frontend can be edited without rebuilding).
//!
//! Domain-free: a file is looked up by its path and comes back with its bytes, content type,
//! strong ETag (from the SHA-256 rust-embed computes at build time) and cache policy; the
//! Content-Security-Policy allows exactly the inline import map of `index.html` by its hash.

use std::borrow::Cow;

use base64::Engine;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "console/"]
struct Files;

/// One embedded file, ready to serve.
pub struct Asset {
    /// The file's bytes.
    pub bytes: Cow<'static, [u8]>,
    /// `Content-Type` from the file extension.
    pub content_type: &'static str,
    /// Strong ETag, quoted.
    pub etag: String,
    /// `Cache-Control`: versioned vendor files are immutable, the rest revalidate each time.
    pub cache_control: &'static str,
}

/// The file at `path` (relative, no leading slash), if it is embedded.
pub fn get(path: &str) -> Option<Asset> {
    let file = Files::get(path)?;
    let hash = file.metadata.sha256_hash();
    Some(Asset {
        etag: format!("\"{}\"", hex::encode(&hash[..16])),
        content_type: content_type(path),
        cache_control: if path.starts_with("vendor/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        },
        bytes: file.data,
    })
}

/// Every embedded path.
#[cfg(test)]
fn paths() -> impl Iterator<Item = Cow<'static, str>> {
    Files::iter()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// `Content-Security-Policy` for the console: same-origin scripts, styles, images and API calls
/// only; the one inline script allowed is the import map in `index_html`, by its SHA-256.
pub fn content_security_policy(index_html: &[u8]) -> String {
    let hashes: String = inline_scripts(index_html)
        .map(|body| {
            let digest = Sha256::digest(body);
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    format!(
        "default-src 'none'; script-src 'self'{hashes}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Bodies of the `<script type="importmap">` elements of an HTML page.
fn inline_scripts(html: &[u8]) -> impl Iterator<Item = &[u8]> {
    const OPEN: &[u8] = b"<script type=\"importmap\">";
    const CLOSE: &[u8] = b"</script>";
    let mut rest = html;
    std::iter::from_fn(move || {
        let start = find(rest, OPEN)? + OPEN.len();
        let len = find(&rest[start..], CLOSE)?;
        let body = &rest[start..start + len];
        rest = &rest[start + len..];
        Some(body)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_map_is_allowed_by_its_hash() {
        let html = b"<head><script type=\"importmap\">{\"imports\":{}}</script></head>";
        let csp = content_security_policy(html);
        let digest = Sha256::digest(b"{\"imports\":{}}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        assert!(
            csp.contains(&format!("script-src 'self' 'sha256-{b64}';")),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
    }

    #[test]
    fn the_index_and_the_vendored_libraries_are_embedded() {
        assert!(get("index.html").is_some());
        let preact = paths().find(|p| p.starts_with("vendor/") && p.ends_with(".js"));
        let preact = get(&preact.expect("a vendored module")).expect("file");
        assert_eq!(preact.cache_control, "public, max-age=31536000, immutable");
        assert!(get("missing.js").is_none());
    }
}
