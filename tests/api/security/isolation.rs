//! Security tests: isolation (filled in by the security work).
