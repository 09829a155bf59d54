//! The store conformance suite: the engine-specific behaviour of `astra::store` — full-text
//! search ranking and escaping, the triggers that keep memory search in step, `SKIP LOCKED`
//! claims with leases, cost buckets by UTC day, SQLite's `synchronous` mode on every
//! connection, the transactional outbox (an event's deliveries roll back with their change),
//! the group commit of turns — checked through the store's own methods.
//!
//! Every test opens a fresh database: a temporary SQLite file by default, a new PostgreSQL
//! database when `ASTRA_TEST_DATABASE_URL` is set (`.ci/run` runs both). The SQL is written
//! once for both engines except where these tests look, so passing on both is the point.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod budgets;
mod claims;
mod cluster;
mod costs;
mod durability;
mod helpers;
mod memory;
mod memory_vectors;
mod outbox;
mod prop_search;
mod search;
mod turn_writer;
