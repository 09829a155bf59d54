//! A fast fake upstream speaking the OpenAI Chat Completions wire format, streaming (SSE chunks
//! and a final usage chunk when `stream_options.include_usage` is set) and not.
//!
//! Behaviour comes from command-line defaults, overridable per request by directives in the last
//! user message, so concurrent scenarios never share mutable state:
//! `#latency=MS` (before the first byte), `#chunk=MS` (between content chunks), `#tokens=N`
//! (content chunks, one word each) and `#tool` (answer with one tool call when tools are offered).
//! A request whose last message is a tool result is answered with text, which closes a tool round.

use std::{convert::Infallible, time::Duration};

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
    serve::ListenerExt,
};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Default behaviour of the fake, overridden per request by message directives.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct FakeConfig {
    /// Delay before the first byte of every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Delay between streamed content chunks, in milliseconds (0: one write).
    #[arg(long, default_value_t = 0)]
    pub chunk_delay_ms: u64,
    /// Content tokens (chunks) per text answer.
    #[arg(long, default_value_t = 16)]
    pub tokens: usize,
}

/// Serves the fake on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: FakeConfig) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .route("/chat/completions", post(completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .route("/health", get(|| async { "ok" }))
        .with_state(config);
    // Nagle's algorithm plus delayed ACKs would add ~40 ms to every multi-write answer.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

#[derive(Deserialize)]
struct CompletionRequest {
    #[serde(default)]
    model: String,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    tools: Vec<Value>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

/// What one request asks of the fake after directives are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    latency: Duration,
    chunk_delay: Duration,
    tokens: usize,
    answer: Answer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Text,
    ToolCall { name: String, arguments: String },
}

fn plan(config: &FakeConfig, req: &CompletionRequest) -> Plan {
    let mut p = Plan {
        latency: Duration::from_millis(config.latency_ms),
        chunk_delay: Duration::from_millis(config.chunk_delay_ms),
        tokens: config.tokens,
        answer: Answer::Text,
    };
    let Some(last) = req.messages.last() else {
        return p;
    };
    if last.get("role").and_then(Value::as_str) != Some("user") {
        return p;
    }
    let text = last.get("content").and_then(Value::as_str).unwrap_or("");
    let mut wants_tool = false;
    for word in text.split_whitespace() {
        let Some(d) = word.strip_prefix('#') else {
            continue;
        };
        let (key, value) = d.split_once('=').unwrap_or((d, ""));
        let num = value.parse::<u64>().ok();
        match (key, num) {
            ("latency", Some(n)) => p.latency = Duration::from_millis(n),
            ("chunk", Some(n)) => p.chunk_delay = Duration::from_millis(n),
            ("tokens", Some(n)) => p.tokens = usize::try_from(n).unwrap_or(usize::MAX),
            ("tool", _) => wants_tool = true,
            _ => {}
        }
    }
    if wants_tool && let Some(answer) = pick_tool(&req.tools) {
        p.answer = answer;
    }
    p
}

/// Prefers `calculator`, then `current_time`, then the first offered tool with `{}`.
fn pick_tool(tools: &[Value]) -> Option<Answer> {
    let names: Vec<&str> = tools
        .iter()
        .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
        .collect();
    let (name, arguments) = if names.contains(&"calculator") {
        ("calculator", r#"{"expression":"6*7"}"#)
    } else if names.contains(&"current_time") {
        ("current_time", r#"{"timezone":"UTC"}"#)
    } else {
        (*names.first()?, "{}")
    };
    Some(Answer::ToolCall {
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    })
}

fn prompt_tokens(req: &CompletionRequest) -> u64 {
    let chars: usize = req
        .messages
        .iter()
        .filter_map(|m| m.get("content").and_then(Value::as_str))
        .map(str::len)
        .sum();
    u64::try_from(chars / 4 + 1).unwrap_or(u64::MAX)
}

async fn completions(State(config): State<FakeConfig>, body: Bytes) -> Response {
    let req: CompletionRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let err = json!({"error": {"message": e.to_string(), "type": "invalid_request_error"}});
            return (StatusCode::BAD_REQUEST, Json(err)).into_response();
        }
    };
    let plan = plan(&config, &req);
    let prompt = prompt_tokens(&req);
    if req.stream {
        let usage = req.stream_options.as_ref().is_some_and(|o| o.include_usage);
        stream_response(plan, req.model, prompt, usage)
    } else {
        if !plan.latency.is_zero() {
            tokio::time::sleep(plan.latency).await;
        }
        Json(whole_response(&plan, &req.model, prompt)).into_response()
    }
}

fn completion_tokens(plan: &Plan) -> u64 {
    match plan.answer {
        Answer::Text => u64::try_from(plan.tokens).unwrap_or(u64::MAX),
        Answer::ToolCall { .. } => 8,
    }
}

fn whole_response(plan: &Plan, model: &str, prompt: u64) -> Value {
    let completion = completion_tokens(plan);
    let (message, finish) = match &plan.answer {
        Answer::Text => (
            json!({"role": "assistant", "content": words(plan.tokens)}),
            "stop",
        ),
        Answer::ToolCall { name, arguments } => (
            json!({"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_bench_1", "type": "function",
                "function": {"name": name, "arguments": arguments}}]}),
            "tool_calls",
        ),
    };
    json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
    })
}

fn words(n: usize) -> String {
    let mut s = String::with_capacity(n * 6);
    for i in 0..n {
        s.push_str(WORDS[i % WORDS.len()]);
    }
    s
}

const WORDS: [&str; 8] = [
    "Sure, ", "here ", "is ", "a ", "short ", "bench ", "answer ", "today. ",
];

/// The SSE frames of one streamed answer: a role chunk, the content chunks (or one tool-call
/// chunk), a finish chunk, an optional usage chunk and `[DONE]`.
fn frames(plan: &Plan, model: &str, prompt: u64, usage: bool) -> (String, Vec<String>, String) {
    let model = serde_json::to_string(model).unwrap_or_else(|_| "\"bench\"".into());
    let chunk = |delta: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":0,\
             \"model\":{model},\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
        )
    };
    let head = chunk(r#"{"role":"assistant","content":""}"#, "null");
    let (body, finish) = match &plan.answer {
        Answer::Text => {
            let body = (0..plan.tokens)
                .map(|i| {
                    let word = serde_json::to_string(WORDS[i % WORDS.len()]).unwrap_or_default();
                    chunk(&format!("{{\"content\":{word}}}"), "null")
                })
                .collect();
            (body, "\"stop\"")
        }
        Answer::ToolCall { name, arguments } => {
            let call = json!({"tool_calls": [{"index": 0, "id": "call_bench_1", "type": "function",
                "function": {"name": name, "arguments": arguments}}]});
            (vec![chunk(&call.to_string(), "null")], "\"tool_calls\"")
        }
    };
    let mut tail = chunk("{}", finish);
    if usage {
        let completion = completion_tokens(plan);
        tail.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":0,\
             \"model\":{model},\"choices\":[],\"usage\":{{\"prompt_tokens\":{prompt},\
             \"completion_tokens\":{completion},\"total_tokens\":{}}}}}\n\n",
            prompt + completion
        ));
    }
    tail.push_str("data: [DONE]\n\n");
    (head, body, tail)
}

fn stream_response(plan: Plan, model: String, prompt: u64, usage: bool) -> Response {
    let (head, body, tail) = frames(&plan, &model, prompt, usage);
    let latency = plan.latency;
    let delay = plan.chunk_delay;
    let stream: futures_util::stream::BoxStream<'static, Result<Bytes, Infallible>> =
        if delay.is_zero() {
            // One write: the fake must cost far less than the gateway it feeds.
            let mut all = head;
            body.iter().for_each(|c| all.push_str(c));
            all.push_str(&tail);
            Box::pin(futures_util::stream::once(async move {
                if !latency.is_zero() {
                    tokio::time::sleep(latency).await;
                }
                Ok(Bytes::from(all))
            }))
        } else {
            let mut parts = Vec::with_capacity(body.len() + 2);
            parts.push((latency, head));
            parts.extend(body.into_iter().map(|c| (delay, c)));
            parts.push((Duration::ZERO, tail));
            Box::pin(futures_util::stream::unfold(
                parts.into_iter(),
                |mut it| async move {
                    let (wait, frame) = it.next()?;
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    Some((Ok(Bytes::from(frame)), it))
                },
            ))
        };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[derive(Deserialize)]
struct EmbeddingRequest {
    #[serde(default)]
    input: Value,
    #[serde(default)]
    dimensions: Option<usize>,
}

async fn embeddings(Json(req): Json<EmbeddingRequest>) -> Json<Value> {
    let n = match &req.input {
        Value::Array(a) => a.len(),
        _ => 1,
    };
    let dims = req.dimensions.unwrap_or(256).clamp(1, 4096);
    let data: Vec<Value> = (0..n)
        .map(|i| {
            let mut v = vec![0.0_f32; dims];
            v[i % dims] = 1.0;
            json!({"object": "embedding", "index": i, "embedding": v})
        })
        .collect();
    Json(
        json!({"object": "list", "data": data, "model": "bench-embed",
                "usage": {"prompt_tokens": n, "total_tokens": n}}),
    )
}

async fn models() -> Json<Value> {
    Json(
        json!({"object": "list", "data": [{"id": "bench", "object": "model", "owned_by": "bench"}]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(messages: Value, tools: Value) -> CompletionRequest {
        serde_json::from_value(json!({"model": "m", "messages": messages, "tools": tools,
                                      "stream": true}))
        .unwrap()
    }

    const CONFIG: FakeConfig = FakeConfig {
        latency_ms: 0,
        chunk_delay_ms: 0,
        tokens: 3,
    };

    #[test]
    fn directives_override_defaults() {
        let r = req(
            json!([{"role": "user", "content": "hi #latency=5 #chunk=7 #tokens=2"}]),
            json!([]),
        );
        let p = plan(&CONFIG, &r);
        assert_eq!(p.latency, Duration::from_millis(5));
        assert_eq!(p.chunk_delay, Duration::from_millis(7));
        assert_eq!(p.tokens, 2);
        assert_eq!(p.answer, Answer::Text);
    }

    #[test]
    fn tool_round_calls_then_answers() {
        let tools = json!([{"type": "function", "function": {"name": "current_time"}},
                           {"type": "function", "function": {"name": "calculator"}}]);
        let first = req(
            json!([{"role": "user", "content": "#tool sum"}]),
            tools.clone(),
        );
        assert!(matches!(plan(&CONFIG, &first).answer,
                         Answer::ToolCall { ref name, .. } if name == "calculator"));
        let second = req(
            json!([{"role": "user", "content": "#tool sum"},
                   {"role": "assistant", "content": null, "tool_calls": []},
                   {"role": "tool", "tool_call_id": "call_bench_1", "content": "42"}]),
            tools,
        );
        assert_eq!(plan(&CONFIG, &second).answer, Answer::Text);
    }

    #[test]
    fn stream_frames_end_with_usage_and_done() {
        let r = req(json!([{"role": "user", "content": "hello"}]), json!([]));
        let (head, body, tail) = frames(&plan(&CONFIG, &r), "m", 4, true);
        assert!(head.contains(r#""role":"assistant""#));
        assert_eq!(body.len(), 3);
        for frame in body.iter().chain([&head]) {
            let data = frame.trim().strip_prefix("data: ").unwrap();
            serde_json::from_str::<Value>(data).unwrap();
        }
        assert!(tail.contains(r#""total_tokens":7"#));
        assert!(tail.ends_with("data: [DONE]\n\n"));
    }
}
