//! `GET /traces/:id?format=otlp`: the turn as OTLP/JSON spans — tree, GenAI attribute names,
//! deterministic ids, timing — for a tool-using turn, a turn whose call was retried, and a
//! turn that failed after retries. The helpers here are shared with the exporter tests.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{Answer, ChatApp, FakeLlm, User, chat_app, has_tool_result, offers_tools};

/// A model that calls `calculator` when offered tools, then answers.
pub(super) async fn tool_llm() -> FakeLlm {
    FakeLlm::start(|req, _| {
        if offers_tools(req) && !has_tool_result(req) {
            Answer::tool("calculator", json!({"expression": "6*7"}))
        } else {
            Answer::text("42")
        }
    })
    .await
}

/// The newest trace's `trc_…` id.
pub(super) async fn newest_trace(c: &ChatApp) -> String {
    let r = c.app.get("/traces?limit=1", &c.token).await.expect(200);
    r.body["items"][0]["id"].as_str().unwrap().to_string()
}

/// Every span of an `ExportTraceServiceRequest` body.
pub(super) fn spans_of(body: &Value) -> Vec<Value> {
    let rs = &body["resourceSpans"][0];
    rs["scopeSpans"][0]["spans"].as_array().unwrap().clone()
}

/// The value of attribute `key` (the inner `stringValue`, `intValue`, … JSON), or `Null`.
pub(super) fn attr(span: &Value, key: &str) -> Value {
    span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| {
            a["value"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()
                .clone()
        })
        .unwrap_or(Value::Null)
}

/// The spans named `name`.
pub(super) fn named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["name"] == name).collect()
}

fn nanos(span: &Value, field: &str) -> u128 {
    span[field].as_str().unwrap().parse().unwrap()
}

fn hex_of_len(value: &Value, len: usize) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Asserts the tree of a tool-using turn (root → two `chat` calls → the tool under the first)
/// with its GenAI attributes, ids and timing; returns the spans by role.
pub(super) fn assert_tool_turn(spans: &[Value], trace: &str, session: &str) {
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let trace_hex = trace.strip_prefix("trc_").unwrap();
    let ids: HashSet<&str> = spans
        .iter()
        .map(|s| s["spanId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4, "span ids are distinct");
    for s in spans {
        assert_eq!(s["traceId"], trace_hex, "the trace id is the trc_ id's hex");
        assert!(hex_of_len(&s["spanId"], 16), "{}", s["spanId"]);
        assert!(nanos(s, "startTimeUnixNano") <= nanos(s, "endTimeUnixNano"));
    }
    let root = named(spans, "invoke_agent chad");
    let [root] = root[..] else {
        panic!("one root: {spans:#?}")
    };
    assert!(root.get("parentSpanId").is_none());
    assert_eq!(root["kind"], 1);
    assert_eq!(root["status"]["code"], 1);
    assert_eq!(attr(root, "gen_ai.operation.name"), "invoke_agent");
    assert_eq!(attr(root, "gen_ai.agent.id"), "chad");
    assert_eq!(attr(root, "astra.agent.id"), "chad");
    assert_eq!(attr(root, "astra.session.id"), session);
    assert_eq!(attr(root, "gen_ai.conversation.id"), session);
    assert_eq!(attr(root, "astra.trace.id"), trace);
    assert_eq!(attr(root, "gen_ai.usage.input_tokens"), "22");
    assert_eq!(attr(root, "gen_ai.usage.output_tokens"), "12");
    assert!(attr(root, "astra.cost_usd").as_f64().unwrap() > 0.0);

    let mut calls = named(spans, "chat gpt-4o-mini");
    assert_eq!(calls.len(), 2, "{spans:#?}");
    calls.sort_by_key(|c| attr(c, "astra.round").as_str().unwrap().to_string());
    for (call, (input, output)) in calls.iter().zip([("12", "7"), ("10", "5")]) {
        assert_eq!(call["parentSpanId"], root["spanId"]);
        assert_eq!(call["kind"], 3);
        assert_eq!(attr(call, "gen_ai.operation.name"), "chat");
        assert_eq!(attr(call, "gen_ai.system"), "openai");
        assert_eq!(attr(call, "gen_ai.request.model"), "gpt-4o-mini");
        assert_eq!(attr(call, "gen_ai.response.model"), "gpt-4o-mini");
        assert_eq!(attr(call, "gen_ai.usage.input_tokens"), input);
        assert_eq!(attr(call, "gen_ai.usage.output_tokens"), output);
        assert!(attr(call, "astra.cost_usd").as_f64().unwrap() > 0.0);
    }
    let reasons = &attr(calls[0], "gen_ai.response.finish_reasons")["values"];
    assert_eq!(reasons[0]["stringValue"], "tool_calls", "{}", calls[0]);

    let tool = named(spans, "execute_tool calculator");
    let [tool] = tool[..] else {
        panic!("one tool span: {spans:#?}")
    };
    assert_eq!(
        tool["parentSpanId"], calls[0]["spanId"],
        "the tool hangs under its round's call"
    );
    assert_eq!(attr(tool, "gen_ai.operation.name"), "execute_tool");
    assert_eq!(attr(tool, "gen_ai.tool.name"), "calculator");
    assert!(attr(tool, "gen_ai.tool.call.id").is_string());
    assert_eq!(tool["status"]["code"], 0);

    // The timeline: call 0, then the tool, then call 1, all inside the turn.
    assert!(nanos(root, "startTimeUnixNano") <= nanos(calls[0], "startTimeUnixNano"));
    assert!(nanos(calls[0], "endTimeUnixNano") <= nanos(tool, "startTimeUnixNano"));
    assert!(nanos(tool, "endTimeUnixNano") <= nanos(calls[1], "startTimeUnixNano"));
    assert!(nanos(calls[1], "endTimeUnixNano") <= nanos(root, "endTimeUnixNano"));
}

#[tokio::test]
async fn a_tool_turn_reads_as_an_otlp_span_tree() {
    let fake = tool_llm().await;
    let c = chat_app(&fake).await;
    let reply = c.chat(json!({"message": "what is 6*7?"})).await.expect(200);
    let session = reply.body["sessionId"].as_str().unwrap();
    let id = newest_trace(&c).await;
    let path = format!("/traces/{id}?format=otlp");
    let r = c.app.get(&path, &c.token).await.expect(200);

    let resource = &r.body["resourceSpans"][0]["resource"];
    assert_eq!(attr(resource, "service.name"), "astra", "{}", r.text);
    assert_eq!(
        r.body["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"],
        "astra"
    );
    assert_tool_turn(&spans_of(&r.body), &id, session);
    // Derived ids: reading again gives the very same document.
    let again = c.app.get(&path, &c.token).await.expect(200);
    assert_eq!(again.body, r.body);

    // The default shape is unchanged; an unknown format is refused.
    let plain = c
        .app
        .get(&format!("/traces/{id}"), &c.token)
        .await
        .expect(200);
    assert!(plain.body.get("resourceSpans").is_none() && plain.body["detail"].is_object());
    assert_eq!(plain.body["id"], id.as_str());
    c.app
        .get(&format!("/traces/{id}?format=jaeger"), &c.token)
        .await
        .expect_error(400, "VALIDATION_ERROR");
    // Another workspace's trace stays hidden in this format too.
    let User { token, ws, .. } = c.app.onboarded_user("otlp-other@example.com").await;
    c.app
        .get_in(&path, &token, &ws)
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn retries_become_attempt_spans_under_their_call() {
    // The first request fails with a retryable 503, the retry succeeds.
    let fake = FakeLlm::start(|_, n| {
        if n == 0 {
            Answer::error(503)
        } else {
            Answer::text("ok")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    c.chat(json!({"message": "hi"})).await.expect(200);
    let id = newest_trace(&c).await;
    let r = c
        .app
        .get(&format!("/traces/{id}?format=otlp"), &c.token)
        .await
        .expect(200);
    let spans = spans_of(&r.body);
    let call = named(&spans, "chat gpt-4o-mini");
    let [call] = call[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(attr(call, "astra.attempts"), "2");
    let attempts: Vec<&Value> = spans
        .iter()
        .filter(|s| s["parentSpanId"] == call["spanId"])
        .collect();
    assert_eq!(attempts.len(), 2, "{spans:#?}");
    assert_eq!(attempts[0]["name"], "attempt 1 openai");
    assert_eq!(attempts[0]["status"]["code"], 2);
    assert_eq!(attr(attempts[0], "http.response.status_code"), "503");
    assert_eq!(attr(attempts[0], "error.type"), "503");
    assert_eq!(attempts[1]["name"], "attempt 2 openai");
    assert_eq!(attempts[1]["status"]["code"], 0);
    assert_eq!(attr(attempts[1], "gen_ai.request.model"), "gpt-4o-mini");
}

#[tokio::test]
async fn a_failed_turn_has_an_error_root_and_a_failed_call() {
    let fake = FakeLlm::start(|_, _| Answer::error(503)).await;
    let c = chat_app(&fake).await;
    let failed = c.chat(json!({"message": "hi"})).await;
    assert!(failed.status >= 500, "{}", failed.text);
    let id = newest_trace(&c).await;
    let r = c
        .app
        .get(&format!("/traces/{id}?format=otlp"), &c.token)
        .await
        .expect(200);
    let spans = spans_of(&r.body);
    let root = named(&spans, "invoke_agent chad");
    assert_eq!(root[0]["status"]["code"], 2, "{spans:#?}");
    assert_eq!(attr(root[0], "error.type"), "error");
    assert!(root[0]["status"]["message"].is_string());
    let failed = named(&spans, "chat gpt-4o-mini");
    let [failed] = failed[..] else {
        panic!("{spans:#?}")
    };
    assert_eq!(failed["parentSpanId"], root[0]["spanId"]);
    assert_eq!(failed["status"]["code"], 2);
    assert_eq!(attr(failed, "gen_ai.system"), "openai");
    let attempts = spans
        .iter()
        .filter(|s| s["parentSpanId"] == failed["spanId"])
        .count();
    assert_eq!(attempts, 2, "the first try and one retry: {spans:#?}");
}
