//! Heartbeat monitors: CRUD and validation; HTTP and RSS runs against local servers.

mod crud;
mod runs;
