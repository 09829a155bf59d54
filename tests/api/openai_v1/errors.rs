//! Every error under `/v1` in OpenAI's shape: unknown paths, wrong methods, bad JSON and
//! content types, refusals before a stream starts; and the OpenAPI document of the group.

use reqwest::Method;
use serde_json::json;

use super::{ask, assert_v1_error};
use crate::helpers::{FakeLlm, chat_app, chat_app_with};

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_in_openai_shape() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    for path in ["/v1/responses", "/v1/embeddings", "/v1", "/v1/models/x/y"] {
        let r = c.v1(Method::POST, path, Some(json!({})), &[]).await;
        assert_v1_error(&r, 404, "invalid_request_error", "unknown_url");
        assert!(r.body["error"]["message"].as_str().unwrap().contains(path));
    }
    // Also without credentials: the path does not exist for anyone.
    let r = c.app.send(Method::GET, "/v1/nothing", None, &[]).await;
    assert_v1_error(&r, 404, "invalid_request_error", "unknown_url");
    let r = c.v1(Method::GET, "/v1/chat/completions", None, &[]).await;
    assert_v1_error(&r, 405, "invalid_request_error", "method_not_allowed");
    let r = c.v1(Method::DELETE, "/v1/models", None, &[]).await;
    assert_v1_error(&r, 405, "invalid_request_error", "method_not_allowed");
    // Other groups keep Astra's shape.
    c.app
        .send(Method::GET, "/nothing", None, &[])
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn bad_json_and_content_types_are_400_invalid_request_error() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let send_raw = |content_type: &'static str, body: &'static str| {
        c.app
            .client
            .post(c.app.url("/v1/chat/completions"))
            .bearer_auth(&c.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (content_type, body, param) in [
        ("application/json", "{not json", "body"),
        ("application/json", "\"just a string\"", "body"),
        ("text/plain", "{}", "Content-Type"),
    ] {
        let res = send_raw(content_type, body).await.unwrap();
        assert_eq!(res.status().as_u16(), 400, "{body}");
        let v: serde_json::Value = res.json().await.unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        assert_eq!(v["error"]["code"], "validation_error", "{v}");
        assert_eq!(v["error"]["param"], param, "{v}");
    }
    let r = c
        .complete(json!({"model": "agent/chad", "messages": "hi"}), &[])
        .await;
    assert_v1_error(&r, 400, "invalid_request_error", "validation_error");
    assert_eq!(r.body["error"]["param"], "messages");
    assert_eq!(fake.hits(), 0);
}

#[tokio::test]
async fn refusals_before_a_stream_starts_are_openai_errors_not_events() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app_with(&fake, |cfg| cfg.limits.user_per_minute = 1).await;
    let mut body = ask("hi");
    body["stream"] = json!(true);
    let (status, _) = c.complete_stream(body.clone()).await;
    assert_eq!(status, 200);
    let res = c
        .app
        .client
        .post(c.app.url("/v1/chat/completions"))
        .bearer_auth(&c.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().get("retry-after").is_some());
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_exceeded");
    // An unknown model on a streamed request is a 404 body too, before any event.
    let mut unknown = body;
    unknown["model"] = json!("agent/nobody");
    let c2 = chat_app(&fake).await;
    let (status, data) = c2.complete_stream(unknown).await;
    assert_eq!(status, 404);
    assert!(data.is_empty());
}

#[tokio::test]
async fn openapi_documents_the_v1_group_api_keys_and_the_bearer_formats() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let doc = c
        .app
        .send(Method::GET, "/openapi.json", None, &[])
        .await
        .expect(200)
        .body;
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/models",
        "/v1/chat/completions",
        "/api-keys",
        "/api-keys/{id}",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["scheme"], "bearer");
    let format = bearer["bearerFormat"].as_str().unwrap();
    assert!(format.contains("JWT") && format.contains("ak_"), "{format}");
    let completions = &paths["/v1/chat/completions"]["post"];
    let r429 = &completions["responses"]["429"]["content"]["application/json"]["schema"];
    assert_eq!(r429["$ref"], "#/components/schemas/V1ErrorOut");
    let props = &doc["components"]["schemas"]["ChatCompletionIn"]["properties"];
    for field in ["temperature", "max_tokens", "max_completion_tokens", "user"] {
        assert!(props.get(field).is_some(), "{field} undocumented");
    }
}
