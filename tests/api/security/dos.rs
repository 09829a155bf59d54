//! Security tests: dos (filled in by the security work).
