//! Provider layer tests against fake upstreams on 127.0.0.1.

mod anthropic;
mod bedrock;
mod breaker;
mod config;
mod gemini;
mod openai;
mod pricing;
mod resilience;
mod support;
