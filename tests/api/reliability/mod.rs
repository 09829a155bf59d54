//! Reliability under faults: database outages and ordered shutdown.

mod outage;
mod shutdown;
