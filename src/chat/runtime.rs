//! What a started turn uses once the request is gone: owned handles on the gateway's shared
//! parts, taken from the [`TurnEnv`] when the turn starts. The loop and its recording run on
//! the task tracker and outlive the request that began them.

use std::{sync::Arc, time::Duration};

use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{presence::Presence, tool_cache::ToolCache, turn::TurnEnv};
use crate::{
    providers::{Pricing, ProviderRegistry},
    store::Store,
    tools::ToolRegistry,
};

/// The running turn's environment (cheap to clone: handles and a few settings).
#[derive(Clone)]
pub struct TurnRuntime {
    /// Database.
    pub store: Store,
    /// LLM provider clients and breakers.
    pub providers: Arc<ProviderRegistry>,
    /// Price table, for the cost of each call.
    pub pricing: Arc<Pricing>,
    /// Tools agents may call.
    pub tools: Arc<ToolRegistry>,
    /// Results of cacheable tools.
    pub tool_cache: Arc<ToolCache>,
    /// Live agent states per user.
    pub presence: Arc<Presence>,
    /// Where the loop and its recording run; shutdown waits for them.
    pub tasks: TaskTracker,
    /// Turns in flight: a running turn holds a token of it.
    pub in_flight: TaskTracker,
    /// Cancelled when running turns must stop (shutdown, after the grace): a turn then
    /// ends with [`super::runner::Stop::Shutdown`].
    pub shutdown: CancellationToken,
    /// Time limit of one tool call (`ASTRA_TOOL_TIMEOUT_MS`).
    pub tool_timeout: Duration,
    /// Sends finished turns to an OTLP collector (inert without an endpoint).
    pub otlp: Arc<crate::traces::export::Exporter>,
}

impl From<&TurnEnv<'_>> for TurnRuntime {
    fn from(env: &TurnEnv<'_>) -> Self {
        Self {
            store: env.store.clone(),
            providers: env.providers.clone(),
            pricing: env.pricing.clone(),
            tools: env.tools.clone(),
            tool_cache: env.tool_cache.clone(),
            presence: env.presence.clone(),
            tasks: env.tasks.clone(),
            in_flight: env.in_flight.clone(),
            shutdown: env.shutdown.clone(),
            tool_timeout: env.config.tool_timeout,
            otlp: env.otlp.clone(),
        }
    }
}
