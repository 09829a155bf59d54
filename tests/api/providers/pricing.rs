//! Price table, overrides and cost math.

use astra::providers::{Pricing, Usage};
use serde_json::json;

fn usage(prompt: u64, cached: u64, completion: u64) -> Usage {
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_prompt_tokens: cached,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn cost_uses_input_cached_and_output_prices() {
    let p = Pricing::new(None).unwrap();
    // gpt-4o: 2.50 in, 1.25 cached, 10.00 out per million.
    let cost = p.cost("openai", "gpt-4o", &usage(1_000_000, 200_000, 500_000));
    assert!(close(cost, 0.8 * 2.5 + 0.2 * 1.25 + 0.5 * 10.0), "{cost}");
    // No cached price: cached tokens bill as input (groq llama 3.3 70b: 0.59 / 0.79).
    let cost = p.cost(
        "groq",
        "llama-3.3-70b-versatile",
        &usage(2_000_000, 1_000_000, 1_000_000),
    );
    assert!(close(cost, 2.0 * 0.59 + 0.79), "{cost}");
    assert_eq!(p.cost("openai", "gpt-4o", &Usage::default()), 0.0);
}

#[test]
fn dated_and_vendor_prefixed_ids_find_their_base_price() {
    let p = Pricing::new(None).unwrap();
    let input = |provider: &str, model: &str| p.price(provider, model).map(|x| x.input);
    assert_eq!(input("openai", "gpt-4o-2024-08-06"), Some(2.50));
    assert_eq!(input("openai", "gpt-4o-mini-2024-07-18"), Some(0.15));
    assert_eq!(input("openai", "gpt-4.1-mini"), Some(0.40));
    assert_eq!(input("openrouter", "openai/gpt-4o"), Some(2.50));
    assert_eq!(input("claude", "claude-sonnet-4-5-20250929"), Some(3.00));
    assert_eq!(input("claude", "claude-opus-4-5-20251101"), Some(5.00));
    assert_eq!(input("claude", "claude-opus-4-20250514"), Some(15.00));
    assert_eq!(input("claude", "claude-3-5-haiku-latest"), Some(0.80));
    assert_eq!(
        input("bedrock", "us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
        Some(3.00)
    );
    assert_eq!(input("gemini", "gemini-2.0-flash-lite-001"), Some(0.075));
    assert_eq!(input("gemini", "gemini-1.5-pro-002"), Some(1.25));
    assert_eq!(input("grok", "grok-3-mini-beta"), Some(0.30));
    assert_eq!(input("mistral", "mistral-large-latest"), Some(2.00));
}

#[test]
fn overrides_replace_and_extend_the_table() {
    let p = Pricing::new(Some(&json!({
        "openai/gpt-4o": {"input": 1.0, "output": 2.0, "cachedInput": 0.5},
        "house-model": {"input": 4.0, "output": 8.0},
    })))
    .unwrap();
    assert!(close(
        p.cost("openai", "gpt-4o", &usage(1_000_000, 1_000_000, 1_000_000)),
        0.5 + 2.0
    ));
    assert!(
        close(p.cost("openrouter", "gpt-4o", &usage(1_000_000, 0, 0)), 2.5),
        "other providers keep the list price"
    );
    assert!(close(
        p.cost("vllm", "house-model", &usage(500_000, 0, 250_000)),
        2.0 + 2.0
    ));
    assert!(Pricing::new(Some(&json!({"bad": {"input": "cheap"}}))).is_err());
}

#[test]
fn unknown_models_cost_zero_and_warn_once() {
    let p = Pricing::new(None).unwrap();
    assert_eq!(p.cost("openai", "gpt-99", &usage(1000, 0, 1000)), 0.0);
    assert_eq!(p.cost("openai", "gpt-99", &usage(1000, 0, 1000)), 0.0);
    assert_eq!(p.warned_count(), 1);
    assert_eq!(p.cost("ollama", "llama3.2", &usage(1000, 0, 1000)), 0.0);
    assert_eq!(p.warned_count(), 1, "local models are free, not unknown");
}
