//! The OTLP exporter (`ASTRA_OTLP_ENDPOINT`) against a fake collector: a tool turn's spans
//! arrive with the configured headers, after a retried 503, equal to the `?format=otlp`
//! read; a full queue drops and counts; a refused export is counted as failed; shutdown
//! flushes what is queued.

use std::time::Duration;

use astra::{Config, config::OtlpConfig};
use serde_json::{Value, json};

use super::{
    collector::Collector,
    otlp::{assert_tool_turn, newest_trace, spans_of, tool_llm},
};
use crate::{
    helpers::{ChatApp, FakeLlm, chat_app_with},
    prometheus::counter,
};

const SPANS: &str = "astra_otlp_spans_total";

/// Points the exporter at `collector` through the environment settings.
fn export_to(config: &mut Config, collector: &Collector, extra: &[(&str, &str)]) {
    // `extra` first: the lookup takes the first match, so it overrides the defaults.
    let mut env: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.extend([
        ("ASTRA_OTLP_ENDPOINT".into(), collector.endpoint.clone()),
        ("ASTRA_OTLP_FLUSH_MS".into(), "50".into()),
        ("ASTRA_OTLP_TIMEOUT_MS".into(), "5000".into()),
    ]);
    let lookup = move |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    config.otlp = OtlpConfig::from_env(&lookup).unwrap();
}

fn sorted(mut spans: Vec<Value>) -> Vec<Value> {
    spans.sort_by_key(|s| s["spanId"].as_str().unwrap().to_string());
    spans
}

#[tokio::test]
async fn finished_turns_reach_the_collector_as_the_otlp_read_shows_them() {
    let collector = Collector::start().await;
    // The first export is refused with a retryable 503; the retry goes through.
    collector.then_answer(&[503]);
    let fake = tool_llm().await;
    let headers = (
        "ASTRA_OTLP_HEADERS",
        "x-otlp-team=ops, authorization=Basic b3BzOnB3==",
    );
    let c = chat_app_with(&fake, |cfg| export_to(cfg, &collector, &[headers])).await;
    let exported_before = counter(&c.app, SPANS, &[("outcome", "exported")]).await;
    let reply = c.chat(json!({"message": "what is 6*7?"})).await.expect(200);
    let session = reply.body["sessionId"].as_str().unwrap();
    let id = newest_trace(&c).await;
    let trace_hex = id.strip_prefix("trc_").unwrap();

    let received = collector.wait_for(trace_hex, 4).await;
    assert_tool_turn(&received, &id, session);
    assert!(collector.hits() >= 2, "the 503 was retried");
    let read = c
        .app
        .get(&format!("/traces/{id}?format=otlp"), &c.token)
        .await
        .expect(200);
    assert_eq!(
        sorted(received),
        sorted(spans_of(&read.body)),
        "the export is the read"
    );

    let export = &collector.exports()[0];
    let header = |name: &str| export.headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(header("x-otlp-team"), Some("ops"));
    assert_eq!(header("authorization"), Some("Basic b3BzOnB3=="));
    assert_eq!(header("content-type"), Some("application/json"));
    let resource = &export.body["resourceSpans"][0]["resource"]["attributes"];
    assert!(
        resource
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["key"] == "service.name")
    );
    let exported = counter(&c.app, SPANS, &[("outcome", "exported")]).await;
    assert!(
        exported >= exported_before + 4.0,
        "{exported_before} → {exported}"
    );
}

#[tokio::test]
async fn a_full_queue_drops_spans_and_counts_them() {
    let collector = Collector::start().await;
    // The batcher is held in its first request while turns keep finishing.
    collector.delay(Duration::from_secs(3));
    let fake = FakeLlm::saying("hi").await;
    let settings = [
        ("ASTRA_OTLP_QUEUE_SIZE", "1"),
        ("ASTRA_OTLP_BATCH_SPANS", "1"),
    ];
    let c = chat_app_with(&fake, |cfg| export_to(cfg, &collector, &settings)).await;
    let dropped_before = counter(&c.app, SPANS, &[("outcome", "dropped")]).await;
    for i in 0..4 {
        c.chat(json!({"message": format!("turn {i}")}))
            .await
            .expect(200);
    }
    // Turn 0 is being sent, turn 1 waits in the queue of one: turns 2 and 3 (two spans
    // each: the turn and its call) are dropped, and the replies were not held up.
    let dropped = counter(&c.app, SPANS, &[("outcome", "dropped")]).await;
    assert!(
        dropped >= dropped_before + 4.0,
        "{dropped_before} → {dropped}"
    );
    assert!(
        collector.exports().is_empty(),
        "still held by the slow collector"
    );
}

#[tokio::test]
async fn a_refused_export_is_counted_as_failed() {
    let collector = Collector::start().await;
    // 400 is not retryable: the batch is given up at once.
    collector.then_answer(&[400]);
    let fake = FakeLlm::saying("hi").await;
    let c = chat_app_with(&fake, |cfg| export_to(cfg, &collector, &[])).await;
    let failed_before = counter(&c.app, SPANS, &[("outcome", "failed")]).await;
    c.chat(json!({"message": "hi"})).await.expect(200);
    crate::webhooks::receiver::eventually(|| async {
        let failed = counter(&c.app, SPANS, &[("outcome", "failed")]).await;
        (failed >= failed_before + 2.0).then_some(())
    })
    .await;
    assert_eq!(collector.hits(), 1, "no retry after a 400");
    assert!(collector.exports().is_empty());
}

#[tokio::test]
async fn shutdown_flushes_the_queued_spans() {
    let collector = Collector::start().await;
    let fake = FakeLlm::saying("hi").await;
    // Neither the batch size nor the flush interval is reached before shutdown.
    let settings = [
        ("ASTRA_OTLP_BATCH_SPANS", "1000"),
        ("ASTRA_OTLP_FLUSH_MS", "600000"),
    ];
    let c: ChatApp = chat_app_with(&fake, |cfg| export_to(cfg, &collector, &settings)).await;
    c.chat(json!({"message": "hi"})).await.expect(200);
    let id = newest_trace(&c).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(collector.hits(), 0, "nothing is sent before a batch is due");
    c.app.stop().await;
    let spans = collector.spans_of(id.strip_prefix("trc_").unwrap());
    assert_eq!(spans.len(), 2, "the turn and its call: {spans:#?}");
}
