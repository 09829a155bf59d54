//! Renders an [`Answer`] in the wire format a request's path asks for: OpenAI Chat
//! Completions (streamed, or one JSON body when the request does not ask for a stream),
//! Anthropic Messages (text only), Gemini `streamGenerateContent` and `generateContent`, and
//! Bedrock `converse-stream` (binary event-stream frames with valid CRCs) and `converse`, and
//! OpenAI-compatible `POST /v1/embeddings` ([`embeddings_body`]).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures_util::stream;
use serde_json::{Value, json};

use super::eventstream as es;
use super::llm::{Answer, failure_body, respond};

/// The reply to request number `n` on `path`.
pub fn answer(path: &str, request: &Value, n: usize, a: &Answer) -> Response {
    if let Some(status) = a.status {
        let json = [("content-type", "application/json".to_string())];
        return respond(status, Body::from(failure_body()), &json);
    }
    let json = [("content-type", "application/json".to_string())];
    let events = if path.ends_with("/chat/completions") {
        if request["stream"] != true {
            return respond(200, Body::from(openai_body(n, a).to_string()), &json);
        }
        openai_events(n, a)
    } else if path.ends_with("/messages") {
        anthropic_events(a)
    } else if path.contains(":streamGenerateContent") {
        gemini_events(a)
    } else if path.contains(":generateContent") {
        return respond(200, Body::from(gemini_body(a).to_string()), &json);
    } else if path.ends_with("/converse-stream") {
        let frames = bedrock_frames(n, a).into_iter().map(Bytes::from).collect();
        return stream_bytes(frames, a.delay, a.cut, "application/vnd.amazon.eventstream");
    } else if path.ends_with("/converse") {
        return respond(200, Body::from(bedrock_body(n, a).to_string()), &json);
    } else if path.ends_with("/embeddings") {
        return respond(200, Body::from(embeddings_body(request).to_string()), &json);
    } else {
        return respond(404, Body::empty(), &[]);
    };
    let events = events.into_iter().map(Bytes::from).collect();
    stream_bytes(events, a.delay, a.cut, "text/event-stream")
}

/// Dimension of the fake's embeddings.
pub const FAKE_EMBEDDING_DIM: usize = 16;

/// The fake's embedding of one text: each word (lower-cased letters and digits) adds 1 to
/// one of [`FAKE_EMBEDDING_DIM`] buckets chosen by a byte hash, so equal words meet; an empty
/// text is the first axis. Deterministic; no meaning beyond shared words.
pub fn fake_embedding(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; FAKE_EMBEDDING_DIM];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let h = word
            .to_lowercase()
            .bytes()
            .fold(7usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        v[h % FAKE_EMBEDDING_DIM] += 1.0;
    }
    if v.iter().all(|x| *x == 0.0) {
        v[0] = 1.0;
    }
    v
}

/// Tokens the fake bills for one input: its whitespace-separated words.
pub fn fake_embedding_tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// An OpenAI `/v1/embeddings` answer to `request` (`input`: a string or an array of them):
/// `data[i] = {object, index, embedding}` in input order and `usage` with the billed tokens
/// ([`fake_embedding_tokens`] summed).
fn embeddings_body(request: &Value) -> Value {
    let inputs: Vec<String> = match &request["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => Vec::new(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": fake_embedding(t)}))
        .collect();
    let tokens: u64 = inputs.iter().map(|t| fake_embedding_tokens(t)).sum();
    json!({"object": "list", "model": request["model"], "data": data,
           "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn openai_usage(a: &Answer) -> Value {
    let (p, c) = a.usage;
    json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c})
}

fn openai_events(n: usize, a: &Answer) -> Vec<String> {
    let mut events = vec![chunk(json!({"role": "assistant"}), Value::Null)];
    for text in &a.chunks {
        events.push(chunk(json!({"content": text}), Value::Null));
    }
    for (i, (name, args)) in a.tool_calls.iter().enumerate() {
        let (first, rest) = args.split_at(args.len() / 2);
        let call = json!({"index": i, "id": format!("call_{n}_{i}"), "type": "function",
                          "function": {"name": name, "arguments": first}});
        events.push(chunk(json!({"tool_calls": [call]}), Value::Null));
        let more = json!({"index": i, "function": {"arguments": rest}});
        events.push(chunk(json!({"tool_calls": [more]}), Value::Null));
    }
    let mut events: Vec<String> = events.iter().map(data).collect();
    if !a.cut {
        let finish = if a.tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        events.push(data(&chunk(json!({}), json!(finish))));
        let usage = json!({"id": "c1", "object": "chat.completion.chunk", "choices": [],
                           "usage": openai_usage(a)});
        events.push(data(&usage));
        events.push("data: [DONE]\n\n".to_string());
    }
    events
}

fn openai_body(n: usize, a: &Answer) -> Value {
    let calls: Vec<Value> = a
        .tool_calls
        .iter()
        .enumerate()
        .map(|(i, (name, args))| {
            json!({"id": format!("call_{n}_{i}"), "type": "function",
               "function": {"name": name, "arguments": args}})
        })
        .collect();
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    let mut message = json!({"role": "assistant", "content": a.chunks.concat()});
    if !calls.is_empty() {
        message["tool_calls"] = json!(calls);
    }
    json!({"id": "c1", "object": "chat.completion", "model": "m",
           "choices": [{"index": 0, "message": message, "finish_reason": finish}],
           "usage": openai_usage(a)})
}

fn anthropic_events(a: &Answer) -> Vec<String> {
    let ev = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let (input, output) = a.usage;
    let mut events = vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "m",
            "role": "assistant", "usage": {"input_tokens": input, "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    for text in &a.chunks {
        events.push(ev(
            "content_block_delta",
            json!({"type": "content_block_delta",
            "index": 0, "delta": {"type": "text_delta", "text": text}}),
        ));
    }
    if !a.cut {
        events.push(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        events.push(ev(
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": output}}),
        ));
        events.push(ev("message_stop", json!({"type": "message_stop"})));
    }
    events
}

/// Gemini parts, one list per streamed chunk: each text chunk, then the function calls.
fn gemini_parts(a: &Answer) -> Vec<Vec<Value>> {
    let mut chunks: Vec<Vec<Value>> = a.chunks.iter().map(|t| vec![json!({"text": t})]).collect();
    let calls: Vec<Value> = a
        .tool_calls
        .iter()
        .map(|(name, args)| {
            let args: Value = serde_json::from_str(args).unwrap_or(json!({}));
            json!({"functionCall": {"name": name, "args": args}})
        })
        .collect();
    if !calls.is_empty() || chunks.is_empty() {
        chunks.push(calls);
    }
    chunks
}

fn gemini_usage(a: &Answer) -> Value {
    let (prompt, candidates) = a.usage;
    json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates,
           "totalTokenCount": prompt + candidates})
}

fn gemini_events(a: &Answer) -> Vec<String> {
    let parts = gemini_parts(a);
    let last = parts.len() - 1;
    parts
        .into_iter()
        .enumerate()
        .map(|(i, parts)| {
            let mut c = json!({"content": {"role": "model", "parts": parts}, "index": 0});
            let mut event = json!({});
            if i == last && !a.cut {
                c["finishReason"] = json!("STOP");
                event["usageMetadata"] = gemini_usage(a);
            }
            event["candidates"] = json!([c]);
            data(&event)
        })
        .collect()
}

/// The whole `generateContent` reply: one candidate with every part.
fn gemini_body(a: &Answer) -> Value {
    let parts: Vec<Value> = gemini_parts(a).into_iter().flatten().collect();
    json!({"candidates": [{"content": {"role": "model", "parts": parts},
                           "finishReason": "STOP", "index": 0}],
           "usageMetadata": gemini_usage(a), "modelVersion": "gemini-fake"})
}

fn bedrock_stop(a: &Answer) -> &'static str {
    if a.tool_calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

/// `converse-stream`: text in block 0, each tool use in a block of its own with its input in
/// two fragments, then `messageStop` and `metadata` (unless the answer is cut).
fn bedrock_frames(n: usize, a: &Answer) -> Vec<Vec<u8>> {
    let mut frames = vec![es::event("messageStart", json!({"role": "assistant"}))];
    let mut block = 0;
    if !a.chunks.is_empty() {
        frames.extend(a.chunks.iter().map(|t| es::text_delta(0, t)));
        frames.push(es::event(
            "contentBlockStop",
            json!({"contentBlockIndex": 0}),
        ));
        block = 1;
    }
    for (i, (name, args)) in a.tool_calls.iter().enumerate() {
        let start = json!({"contentBlockIndex": block, "start": {"toolUse": {
            "toolUseId": format!("tooluse_{n}_{i}"), "name": name}}});
        frames.push(es::event("contentBlockStart", start));
        let (first, rest) = args.split_at(args.len() / 2);
        for part in [first, rest] {
            let delta = json!({"contentBlockIndex": block, "delta": {"toolUse": {"input": part}}});
            frames.push(es::event("contentBlockDelta", delta));
        }
        frames.push(es::event(
            "contentBlockStop",
            json!({"contentBlockIndex": block}),
        ));
        block += 1;
    }
    if !a.cut {
        frames.extend(es::closing(bedrock_stop(a), a.usage.0, a.usage.1));
    }
    frames
}

/// The whole `converse` reply.
fn bedrock_body(n: usize, a: &Answer) -> Value {
    let mut content = Vec::new();
    if !a.chunks.is_empty() {
        content.push(json!({"text": a.chunks.concat()}));
    }
    for (i, (name, args)) in a.tool_calls.iter().enumerate() {
        let input: Value = serde_json::from_str(args).unwrap_or(json!({}));
        content.push(json!({"toolUse": {"toolUseId": format!("tooluse_{n}_{i}"),
                                        "name": name, "input": input}}));
    }
    let (input, output) = a.usage;
    json!({"output": {"message": {"role": "assistant", "content": content}},
           "stopReason": bedrock_stop(a),
           "usage": {"inputTokens": input, "outputTokens": output, "totalTokens": input + output},
           "metrics": {"latencyMs": 100}})
}

fn data(v: &Value) -> String {
    format!("data: {v}\n\n")
}

/// Streams body chunks, each `delay` after the last; a cut stream ends in a broken connection.
pub(super) fn stream_bytes(
    chunks: Vec<Bytes>,
    delay: Duration,
    cut: bool,
    content_type: &str,
) -> Response {
    let body = stream::unfold((chunks.into_iter(), cut), move |(mut it, cut)| async move {
        match it.next() {
            Some(e) => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Some((Ok::<_, std::io::Error>(e), (it, cut)))
            }
            None if cut => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Some((Err(std::io::Error::other("cut")), (it, false)))
            }
            None => None,
        }
    });
    respond(
        200,
        Body::from_stream(body),
        &[("content-type", content_type.to_string())],
    )
}
