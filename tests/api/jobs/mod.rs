//! The job queue: enqueue, list, cancel; each job type run by the worker, retries and timeouts.

mod crud;
mod replicas;
mod run;
