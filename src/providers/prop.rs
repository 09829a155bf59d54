//! Property tests of what reads provider bytes (issue #12): the SSE parser, the three stream
//! decoders (OpenAI-compatible, Anthropic, Gemini) and Bedrock's Converse answer (one JSON
//! document: Astra calls Converse, not the binary event-stream `ConverseStream`, so there is
//! no event-stream parser to test).
//!
//! Properties: arbitrary bytes, split anywhere, never panic and parse the same whatever the
//! chunking; encoded events round-trip; work stays bounded on long input; decoders fed
//! arbitrary (and arbitrarily shaped) events never panic and never report token counts
//! beyond [`MAX_REPORTED_TOKENS`].

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{
    anthropic, bedrock, gemini, openai_compat,
    sse::{Decoder, SseEvent, SseParser},
    types::{MAX_REPORTED_TOKENS, StreamEvent},
};

/// Everything a parser yields for `chunks`, or the first error (as text).
fn parse_all(chunks: &[&[u8]]) -> Result<Vec<SseEvent>, String> {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(p.push(chunk).map_err(|e| e.to_string())?);
    }
    out.extend(p.finish().map_err(|e| e.to_string())?);
    Ok(out)
}

/// `bytes` cut at the given positions (taken modulo its length).
fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for cut in at {
        out.push(&bytes[from..cut]);
        from = cut;
    }
    out.push(&bytes[from..]);
    out
}

/// Bytes that look like SSE often enough to reach every branch.
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"data: ".to_vec()),
        Just(b"data:".to_vec()),
        Just(b"event: x".to_vec()),
        Just(b": comment".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just("é".as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..12),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

/// A line value SSE can carry: no line breaks.
fn line_text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,24}"
}

fn sse_event() -> impl Strategy<Value = SseEvent> {
    (
        prop::option::of("[^\r\n:]{0,12}"),
        prop::collection::vec(line_text(), 1..4),
    )
        .prop_map(|(event, lines)| SseEvent {
            event,
            data: lines.join("\n"),
        })
}

/// Writes events the way a provider does.
fn encode(events: &[SseEvent]) -> String {
    let mut out = String::new();
    for ev in events {
        if let Some(name) = &ev.event {
            out.push_str(&format!("event: {name}\n"));
        }
        for line in ev.data.split('\n') {
            out.push_str(&format!("data: {line}\n"));
        }
        out.push('\n');
    }
    out
}

/// Token counts: plausible ones, and whatever a hostile endpoint may claim.
fn tokens() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (0u64..5000).prop_map(|n| json!(n)),
        8 => any::<u64>().prop_map(|n| json!(n)),
        2 => Just(json!(u64::MAX)),
        1 => Just(json!(-1)),
        1 => Just(json!("12")),
        1 => Just(json!(1.5)),
    ]
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![".{0,8}".prop_map(Value::from), Just(Value::Null)]
}

fn index() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..4).prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n))
    ]
}

/// Any JSON, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn openai_usage() -> impl Strategy<Value = Value> {
    (tokens(), tokens(), tokens()).prop_map(|(p, c, cached)| {
        json!({"prompt_tokens": p, "completion_tokens": c, "prompt_tokens_details": {"cached_tokens": cached}})
    })
}

fn openai_event() -> impl Strategy<Value = String> {
    let tool = (index(), text(), text(), text()).prop_map(|(i, id, name, args)| {
        json!({"index": i, "id": id, "function": {"name": name, "arguments": args}})
    });
    let chunk = (
        text(),
        prop::collection::vec(tool, 0..3),
        prop::option::of(prop_oneof![Just("stop"), Just("tool_calls"), Just("x")]),
        prop::option::of(openai_usage()),
        prop::option::of(openai_usage()),
    )
        .prop_map(|(content, tools, finish, usage, groq)| {
            json!({
                "choices": [{"delta": {"content": content, "tool_calls": tools}, "finish_reason": finish}],
                "usage": usage, "x_groq": {"usage": groq},
            })
            .to_string()
        });
    prop_oneof![
        6 => chunk,
        1 => Just("[DONE]".to_string()),
        1 => any_json().prop_map(|v| v.to_string()),
        1 => ".{0,12}",
    ]
}

fn anthropic_usage() -> impl Strategy<Value = Value> {
    (tokens(), tokens(), tokens(), tokens()).prop_map(|(i, o, r, w)| {
        json!({"input_tokens": i, "output_tokens": o, "cache_read_input_tokens": r, "cache_creation_input_tokens": w})
    })
}

fn anthropic_event() -> impl Strategy<Value = String> {
    prop_oneof![
        anthropic_usage().prop_map(|u| json!({"type": "message_start", "message": {"usage": u}}).to_string()),
        (index(), text(), text()).prop_map(|(i, id, name)| json!({"type": "content_block_start", "index": i,
            "content_block": {"type": "tool_use", "id": id, "name": name}}).to_string()),
        index().prop_map(|i| json!({"type": "content_block_start", "index": i, "content_block": {"type": "text"}}).to_string()),
        (index(), text()).prop_map(|(i, t)| json!({"type": "content_block_delta", "index": i,
            "delta": {"type": "text_delta", "text": t}}).to_string()),
        (index(), text()).prop_map(|(i, t)| json!({"type": "content_block_delta", "index": i,
            "delta": {"type": "input_json_delta", "partial_json": t}}).to_string()),
        (text(), anthropic_usage()).prop_map(|(r, u)| json!({"type": "message_delta", "delta": {"stop_reason": r}, "usage": u}).to_string()),
        Just(json!({"type": "message_stop"}).to_string()),
        Just(json!({"type": "ping"}).to_string()),
        any_json().prop_map(|v| json!({"type": "error", "error": v}).to_string()),
        any_json().prop_map(|v| v.to_string()),
    ]
}

fn gemini_event() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        (text(), any::<bool>()).prop_map(|(t, thought)| json!({"text": t, "thought": thought})),
        (text(), any_json(), text()).prop_map(|(name, args, id)| {
            json!({"functionCall": {"name": name, "args": args, "id": id}})
        }),
    ];
    let usage = (tokens(), tokens(), tokens(), tokens()).prop_map(|(p, c, t, cached)| {
        json!({"promptTokenCount": p, "candidatesTokenCount": c, "thoughtsTokenCount": t, "cachedContentTokenCount": cached})
    });
    let chunk = (
        prop::collection::vec(part, 0..3),
        prop::option::of(prop_oneof![
            Just("STOP"),
            Just("MAX_TOKENS"),
            Just("SAFETY"),
            Just("?")
        ]),
        prop::option::of(usage),
        prop::option::of(text()),
    )
        .prop_map(|(parts, finish, usage, block)| {
            json!({
                "candidates": [{"content": {"parts": parts}, "finishReason": finish}],
                "usageMetadata": usage, "promptFeedback": {"blockReason": block},
            })
            .to_string()
        });
    prop_oneof![4 => chunk, 1 => any_json().prop_map(|v| v.to_string())]
}

fn bedrock_answer() -> impl Strategy<Value = String> {
    let block = prop_oneof![
        text().prop_map(|t| json!({"text": t})),
        (text(), text(), any_json()).prop_map(|(id, name, input)| {
            json!({"toolUse": {"toolUseId": id, "name": name, "input": input}})
        }),
    ];
    let usage = (tokens(), tokens(), tokens(), tokens()).prop_map(|(i, o, r, w)| {
        json!({"inputTokens": i, "outputTokens": o, "cacheReadInputTokens": r, "cacheWriteInputTokens": w})
    });
    let answer = (
        prop::collection::vec(block, 0..4),
        text(),
        prop::option::of(usage),
    )
        .prop_map(|(content, stop, usage)| {
            json!({"output": {"message": {"content": content}}, "stopReason": stop, "usage": usage})
                .to_string()
        });
    prop_oneof![4 => answer, 1 => any_json().prop_map(|v| v.to_string())]
}

/// Asserts every reported usage respects the cap.
fn check_usage(events: &[StreamEvent]) {
    for item in events {
        if let StreamEvent::Usage(u) = item {
            assert!(u.prompt_tokens <= MAX_REPORTED_TOKENS, "{u:?}");
            assert!(u.completion_tokens <= MAX_REPORTED_TOKENS, "{u:?}");
            assert!(u.cached_prompt_tokens <= u.prompt_tokens, "{u:?}");
        }
    }
}

/// Feeds `events` as the stream driver does (stop at the first error or once done, else
/// `end`), and checks every reported usage against the cap.
fn drive(mut decoder: impl Decoder, events: Vec<String>) {
    let mut out = Vec::new();
    let mut failed = false;
    for data in events {
        match decoder.event(SseEvent { event: None, data }) {
            Ok(items) => out.extend(items),
            Err(_) => {
                failed = true;
                break;
            }
        }
        if decoder.done() {
            break;
        }
    }
    if !failed
        && !decoder.done()
        && let Ok(items) = decoder.end()
    {
        out.extend(items);
    }
    check_usage(&out);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sse_parsing_never_panics_and_ignores_chunking(
        bytes in sse_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = parse_all(&[&bytes]);
        let pieces = split(&bytes, &cuts);
        prop_assert_eq!(parse_all(&pieces), whole.clone());
        // Byte by byte, the worst chunking, too.
        let single: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(parse_all(&single), whole);
    }

    #[test]
    fn sse_events_round_trip(
        events in prop::collection::vec(sse_event(), 0..6),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let wire = encode(&events);
        let pieces = split(wire.as_bytes(), &cuts);
        prop_assert_eq!(parse_all(&pieces), Ok(events));
    }

    #[test]
    fn openai_decoding_never_panics(events in prop::collection::vec(openai_event(), 0..8)) {
        drive(openai_compat::ChunkDecoder::default(), events);
    }

    #[test]
    fn anthropic_decoding_never_panics(events in prop::collection::vec(anthropic_event(), 0..8)) {
        drive(anthropic::EventDecoder::default(), events);
    }

    #[test]
    fn bedrock_answers_never_panic(body in bedrock_answer()) {
        if let Ok(answer) = serde_json::from_str::<bedrock::converse::ConverseResponse>(&body) {
            let reply = crate::providers::ChatResponse::from(answer);
            check_usage(&[StreamEvent::Usage(reply.usage)]);
        }
    }

    #[test]
    fn gemini_decoding_never_panics(events in prop::collection::vec(gemini_event(), 0..8)) {
        drive(gemini::ChunkDecoder::default(), events);
    }
}

/// Long input: many events and one long line (900 KiB, near the line cap), fed in small chunks, parse with output no
/// larger than the input (bounded work: each byte is scanned once, see `SseParser`).
#[test]
fn long_sse_input_parses_with_bounded_output() {
    let one = "event: delta\ndata: {\"x\": \"0123456789\"}\n\n";
    let body = one.repeat(5_000);
    let chunks: Vec<&[u8]> = body.as_bytes().chunks(7).collect();
    let events = parse_all(&chunks).unwrap_or_default();
    assert_eq!(events.len(), 5_000);
    let long_line = format!("data: {}\n\n", "y".repeat(900 * 1024));
    let chunks: Vec<&[u8]> = long_line.as_bytes().chunks(3).collect();
    let events = parse_all(&chunks).unwrap_or_default();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data.len(), 900 * 1024);
}
