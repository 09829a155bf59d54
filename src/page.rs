//! Validated pagination shared by the HTTP layer (which parses `limit`/`offset`) and domain
//! code (which pages through rows); it lives below both so neither imports the other.

/// A page of a list: `limit` rows after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Page size.
    pub limit: i64,
    /// Items skipped.
    pub offset: i64,
}
