//! Security tests: grants (filled in by the security work).
