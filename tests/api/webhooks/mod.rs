//! Webhooks: CRUD, validation and isolation; signed deliveries from the outbox with retries.

mod crud;
mod delivery;
mod outbox;
pub(crate) mod receiver;
mod standard;
