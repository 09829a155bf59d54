//! Every operation of `/openapi.json` documents a body schema for each status it declares:
//! errors point at `ErrorOut`, successes at their typed `…Out`, never at prose alone.

use serde_json::Value;

use crate::helpers::spawn_app;

/// Statuses that have no body by definition (101: the connection switches protocol).
const BODYLESS: &[&str] = &["101", "204", "304"];

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// A schema that says something: a reference, a type, or a composition of schemas.
fn is_schema(schema: &Value) -> bool {
    ["$ref", "type", "allOf", "oneOf", "anyOf", "properties"]
        .iter()
        .any(|k| schema.get(k).is_some())
}

/// The problems of one declared response.
fn check_response(at: &str, status: &str, response: &Value, problems: &mut Vec<String>) {
    if BODYLESS.contains(&status) {
        return;
    }
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        problems.push(format!("{at} {status}: no content schema"));
        return;
    };
    for (media, body) in content {
        if media == "text/event-stream" {
            continue;
        }
        let schema = body.get("schema").unwrap_or(&Value::Null);
        if !is_schema(schema) {
            problems.push(format!("{at} {status} {media}: no schema"));
        }
        let success = status.starts_with('2');
        if success && media.contains("json") && schema.get("$ref").is_none() && !is_typed(schema) {
            problems.push(format!("{at} {status}: success body is not a named schema"));
        }
    }
}

/// An inline success schema still counts when it is built of references or has properties
/// (e.g. a generic `Paged<T>` that utoipa inlines); a bare `{"type": "object"}` does not.
fn is_typed(schema: &Value) -> bool {
    let text = schema.to_string();
    text.contains("$ref") || schema.get("properties").is_some()
}

#[tokio::test]
async fn every_declared_response_has_a_schema() {
    let app = spawn_app().await;
    let doc = app
        .send(reqwest::Method::GET, "/openapi.json", None, &[])
        .await
        .expect(200)
        .body;
    let paths = doc["paths"].as_object().unwrap();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let at = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{at}: no responses");
            for (status, response) in responses {
                check_response(&at, status, response, &mut problems);
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} responses checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn the_error_schema_is_a_component() {
    let app = spawn_app().await;
    let doc = app
        .send(reqwest::Method::GET, "/openapi.json", None, &[])
        .await
        .expect(200)
        .body;
    let error = &doc["components"]["schemas"]["ErrorOut"];
    let required = error["required"].as_array().unwrap();
    for field in ["code", "message", "requestId"] {
        assert!(required.iter().any(|r| r == field), "{field}: {error}");
    }
}
