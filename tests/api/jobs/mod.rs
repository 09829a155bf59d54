//! The job queue: enqueue, list, cancel; each job type run by the worker, retries and timeouts;
//! attempts counted at claim time, attempt ids and idempotency.

mod attempts;
mod crud;
mod replicas;
mod run;
