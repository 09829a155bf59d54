//! `webhookUrl`: 202 at once, the reply POSTed (signed) when the turn ends, retried.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, http::HeaderMap, http::StatusCode, routing::post};
use serde_json::{Value, json};

use super::{fake_llm::FakeLlm, support::chat_app};

#[tokio::test]
async fn the_reply_is_posted_to_the_webhook_url() {
    let received: Arc<Mutex<Vec<(HeaderMap, Value)>>> = Arc::default();
    let attempts = Arc::new(Mutex::new(0u32));
    let (r2, a2) = (received.clone(), attempts.clone());
    let receiver = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let (r2, a2) = (r2.clone(), a2.clone());
            async move {
                let mut n = a2.lock().unwrap();
                *n += 1;
                // The first delivery fails, so the retry is exercised.
                if *n == 1 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                r2.lock()
                    .unwrap()
                    .push((headers, serde_json::from_slice(&body).unwrap()));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let fake = FakeLlm::saying("async hello").await;
    let c = chat_app(&fake).await;
    let r = c
        .chat(json!({"message": "hi", "webhookUrl": url}))
        .await
        .expect(202);
    assert_eq!(r.body["status"], "accepted");
    let session = r.body["sessionId"].as_str().unwrap().to_string();
    for _ in 0..100 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let (headers, body) = received
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("webhook delivered");
    assert_eq!(body["content"], "async hello");
    assert_eq!(body["sessionId"], session.as_str());
    assert_eq!(body["usage"]["totalTokens"], 15);
    let ts: i64 = headers["x-astra-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = headers["x-astra-signature"].to_str().unwrap();
    let expected = astra::chat::reply_webhook::sign(
        &c.app.config.webhook_signing_key(),
        ts,
        &body.to_string(),
    );
    assert_eq!(sig, format!("sha256={expected}"));
    assert_eq!(*attempts.lock().unwrap(), 2);
    // Bad URLs are refused up front.
    c.chat(json!({"message": "hi", "webhookUrl": "ftp://example.com/x"}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
}
