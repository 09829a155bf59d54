//! Inference providers behind one small trait.
//!
//! Adapters translate the normalised model in [`types`] to each wire format (OpenAI
//! Chat Completions and compatibles, Anthropic Messages, Gemini, Bedrock Converse) and back
//! into one [`StreamEvent`] stream (or one [`ChatResponse`] where the API has a non-streaming
//! call). [`ProviderRegistry`] builds and caches them from
//! [`InferenceConfig`]; [`chat_stream_resilient`] adds timeouts, retries, circuit breakers
//! and fallback; [`Pricing`] turns usage into cost.

pub mod anthropic;
pub mod bedrock;
pub mod breaker;
mod breaker_shared;
pub mod catalog;
pub mod endpoint;
pub mod error;
pub mod eventstream;
pub mod gemini;
mod http;
pub mod openai_compat;
pub mod pricing;
#[cfg(test)]
mod prop;
pub mod registry;
pub mod resilient;
mod sigv4;
pub mod sse;
pub mod target;
pub mod types;

pub use crate::config::inference::{
    AwsCredentials, BreakerConfig, InferenceConfig, InferenceConfigError, PROVIDER_IDS,
    ProviderConfig, RetryConfig, WireFormat,
};
pub use breaker::{
    BreakerKey, BreakerSnapshot, BreakerState, BreakerTransition, CircuitBreakers, Clock,
    ManualClock, SystemClock,
};
pub use catalog::{BreakerInfo, ProviderInfo, catalog};
pub use endpoint::AllowedEndpoint;
pub use error::ProviderError;
pub use pricing::{KnownModel, Price, Pricing};
pub use registry::{ProviderRegistry, Resolved};
pub use resilient::{
    AttemptOutcome, AttemptRecord, chat_stream_resilient, chat_stream_traced, chat_traced,
};
pub use target::{Credentials, Target, WorkspaceKey};
pub use types::{
    ChatRequest, ChatResponse, Embeddings, EventStream, FinishReason, Message, Provider, Role,
    StreamEvent, ToolCall, ToolSpec, Usage, collect,
};
