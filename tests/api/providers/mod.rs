//! Provider layer tests against fake upstreams on 127.0.0.1.

mod anthropic;
mod bedrock;
mod breaker;
mod catalog;
mod config;
mod eventstream;
mod gemini;
mod openai;
mod pricing;
mod resilience;
mod support;
mod turns;
