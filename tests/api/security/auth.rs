//! Security tests: auth (filled in by the security work).
