//! Renders an [`Answer`] in the wire format a request's path asks for: OpenAI Chat
//! Completions (streamed, or one JSON body when the request does not ask for a stream),
//! Anthropic Messages and Gemini `streamGenerateContent` (text only; tool calls are OpenAI's).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures_util::stream;
use serde_json::{Value, json};

use super::llm::{Answer, failure_body, respond};

/// The reply to request number `n` on `path`.
pub fn answer(path: &str, request: &Value, n: usize, a: &Answer) -> Response {
    if let Some(status) = a.status {
        let json = [("content-type", "application/json".to_string())];
        return respond(status, Body::from(failure_body()), &json);
    }
    let events = if path.ends_with("/chat/completions") {
        if request["stream"] != true {
            let json = [("content-type", "application/json".to_string())];
            return respond(200, Body::from(openai_body(n, a).to_string()), &json);
        }
        openai_events(n, a)
    } else if path.ends_with("/messages") {
        anthropic_events(a)
    } else if path.contains(":streamGenerateContent") {
        gemini_events(a)
    } else {
        return respond(404, Body::empty(), &[]);
    };
    stream_events(events, a.delay, a.cut)
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

fn gemini_events(a: &Answer) -> Vec<String> {
    let (prompt, candidates) = a.usage;
    let last = a.chunks.len().saturating_sub(1);
    let chunk = |i: usize, text: &str| {
        let mut c = json!({"content": {"role": "model", "parts": [{"text": text}]}, "index": 0});
        let mut event = json!({});
        if i == last && !a.cut {
            c["finishReason"] = json!("STOP");
            event["usageMetadata"] =
                json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates});
        }
        event["candidates"] = json!([c]);
        data(&event)
    };
    a.chunks
        .iter()
        .enumerate()
        .map(|(i, t)| chunk(i, t))
        .collect()
}

fn data(v: &Value) -> String {
    format!("data: {v}\n\n")
}

/// Streams events, each `delay` after the last; a cut stream ends in a broken connection.
fn stream_events(events: Vec<String>, delay: Duration, cut: bool) -> Response {
    let body = stream::unfold((events.into_iter(), cut), move |(mut it, cut)| async move {
        match it.next() {
            Some(e) => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Some((Ok::<_, std::io::Error>(Bytes::from(e)), (it, cut)))
            }
            None if cut => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Some((Err(std::io::Error::other("cut")), (it, false)))
            }
            None => None,
        }
    });
    let sse = [("content-type", "text/event-stream".to_string())];
    respond(200, Body::from_stream(body), &sse)
}
