//! Prefixed, time-sortable ids (`usr_…`, `ws_…`, `ses_…`): a prefix plus a UUIDv7 in hex.

/// A new id with the given prefix, e.g. `new_id("usr")` → `usr_0192…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// True when `id` looks like an id of this prefix (cheap shape check before a lookup).
pub fn has_prefix(id: &str, prefix: &str) -> bool {
    id.len() > prefix.len() + 1 && id.starts_with(prefix) && id.as_bytes()[prefix.len()] == b'_'
}
