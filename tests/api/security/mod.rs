//! The adversarial suite: tenant escape, key leaks, races and denial of service, on both engines.

mod auth;
mod dos;
mod grants;
mod isolation;
mod providers;
