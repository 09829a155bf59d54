//! The single integration-test binary.

mod providers;
