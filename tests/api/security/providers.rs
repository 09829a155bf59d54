//! Security tests: providers (filled in by the security work).
