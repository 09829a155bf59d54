//! Request limits of the chat routes: per-IP and per-user request rates, the monthly token
//! budget, agent quotas, and the request timeout.
//!
//! The window limiter itself lives in [`crate::rate`] (auth uses it too) and the settings in
//! [`crate::config::limits`] (read at start-up); both are re-exported here for the chat routes.

pub use crate::{
    config::limits::{LimitsConfig, QuotaRule},
    rate::{AUTONOMOUS_PER_MINUTE, MAX_RATE_KEYS, RateDecision, RateLimiter},
};
