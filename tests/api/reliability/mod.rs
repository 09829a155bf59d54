//! Reliability under faults: database outages (and, with the shutdown work, ordered shutdown).

mod outage;
