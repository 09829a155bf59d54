//! Reliability under faults: database outages, ordered shutdown, SIGKILL of the real binary.

mod crash;
mod outage;
mod pg_restart;
mod shutdown;
