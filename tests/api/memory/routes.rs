//! The memory routes: profile, daily entries, notes, and their validation.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;

use super::support::{daily_at, day, mem_app};

#[tokio::test]
async fn profile_is_replaced_whole_and_size_limited() {
    let m = mem_app("mem-profile").await;
    let r = m
        .call(Method::GET, "/agent/memory/profile", None)
        .await
        .expect(200);
    assert_eq!(r.body, json!({"profile": {}, "updatedAt": null}));
    let facts = json!({"name": "Ada", "timezone": "Europe/Paris", "likes": ["tea", "sailing"], "vip": true});
    let r = m
        .call(
            Method::PUT,
            "/agent/memory/profile",
            Some(json!({"profile": facts})),
        )
        .await
        .expect(200);
    assert_eq!(r.body["profile"], facts);
    assert!(r.body["updatedAt"].is_string());
    let r = m
        .call(Method::GET, "/agent/memory/profile", None)
        .await
        .expect(200);
    assert_eq!(r.body["profile"], facts);
    // What GET answers can be sent back as is.
    m.call(Method::PUT, "/agent/memory/profile", Some(r.body.clone()))
        .await
        .expect(200);
    // Replace, not merge.
    let r = m
        .call(
            Method::PUT,
            "/agent/memory/profile",
            Some(json!({"profile": {"name": "Ada L."}})),
        )
        .await
        .expect(200);
    assert_eq!(r.body["profile"], json!({"name": "Ada L."}));
    for (body, field) in [
        (json!({"profile": [1, 2]}), "profile"),
        (json!({"profile": "text"}), "profile"),
        (json!({"profile": {"": 1}}), "profile"),
        (
            json!({"profile": {"big": "x".repeat(64 * 1024)}}),
            "profile",
        ),
        (json!({}), "profile"),
        (json!({"profile": {}, "extra": 1}), ""),
    ] {
        let r = m
            .call(Method::PUT, "/agent/memory/profile", Some(body))
            .await
            .expect_error(400, "VALIDATION_ERROR");
        let details = &r.body["details"];
        assert!(
            details.is_object() && (field.is_empty() || details[field].is_string()),
            "{}",
            r.text
        );
    }
    // Just under the limit is kept.
    m.call(
        Method::PUT,
        "/agent/memory/profile",
        Some(json!({"profile": {"big": "x".repeat(60 * 1024)}})),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn daily_entries_are_grouped_by_day_and_indices_are_stable() {
    let m = mem_app("mem-daily").await;
    let store = m.app.store().await;
    let now = Utc::now();
    let today = day(now);
    let three_ago = now - Duration::days(3);
    let ten_ago = now - Duration::days(10);
    for (text, at) in [
        ("first today", now),
        ("second today", now),
        ("three days ago", three_ago),
        ("ten days ago", ten_ago),
    ] {
        daily_at(&store, &m.user.id, &m.user.ws, text, at).await;
    }
    let r = m
        .call(Method::GET, "/agent/memory/daily", None)
        .await
        .expect(200);
    assert_eq!(r.body["days"], 7);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", r.text);
    assert_eq!(items[0]["date"], today.as_str());
    assert_eq!(items[1]["date"], day(three_ago).as_str());
    let entries = items[0]["entries"].as_array().unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| (e["index"].as_i64().unwrap(), e["content"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [(0, "first today"), (1, "second today")]
    );
    assert_eq!(entries[0]["source"], "api");
    assert!(entries[0]["createdAt"].is_string());
    let r = m
        .call(Method::GET, "/agent/memory/daily?days=30", None)
        .await
        .expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    for bad in ["0", "91", "abc", "-1"] {
        m.call(
            Method::GET,
            &format!("/agent/memory/daily?days={bad}"),
            None,
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
    }
    // One day.
    let path = format!("/agent/memory/daily/{today}");
    let r = m.call(Method::GET, &path, None).await.expect(200);
    assert_eq!(r.body["date"], today.as_str());
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 2);
    let r = m
        .call(Method::GET, "/agent/memory/daily/2001-01-01", None)
        .await
        .expect(200);
    assert_eq!(r.body, json!({"date": "2001-01-01", "entries": []}));
    for bad in [
        "2026-13-01",
        "2026-2-01",
        "2026-02-30",
        "yesterday",
        "20260201",
    ] {
        let r = m
            .call(Method::GET, &format!("/agent/memory/daily/{bad}"), None)
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"]["date"].is_string(), "{}", r.text);
    }
    // Deleting keeps the other indices, and an index is never handed out again.
    m.call(Method::DELETE, &format!("{path}/0"), None)
        .await
        .expect(204);
    m.call(Method::DELETE, &format!("{path}/0"), None)
        .await
        .expect_error(404, "NOT_FOUND");
    m.call(Method::DELETE, &format!("{path}/7"), None)
        .await
        .expect_error(404, "NOT_FOUND");
    daily_at(&store, &m.user.id, &m.user.ws, "third today", Utc::now()).await;
    let r = m.call(Method::GET, &path, None).await.expect(200);
    let indices: Vec<i64> = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_i64().unwrap())
        .collect();
    assert_eq!(indices, [1, 2]);
    for bad in ["x", "-1", "1.5"] {
        let r = m
            .call(Method::DELETE, &format!("{path}/{bad}"), None)
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"]["entryIndex"].is_string(), "{}", r.text);
    }
    m.call(Method::DELETE, "/agent/memory/daily/not-a-day/0", None)
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn notes_are_added_listed_newest_first_and_deleted_by_index() {
    let m = mem_app("mem-notes").await;
    let r = m
        .call(
            Method::POST,
            "/agent/memory/notes",
            Some(json!({"content": "Quarterly goal: ship memory", "tags": ["goals", " q3 "]})),
        )
        .await
        .expect(201);
    assert_eq!(r.body["index"], 0);
    assert_eq!(r.body["content"], "Quarterly goal: ship memory");
    assert_eq!(r.body["tags"], json!(["goals", "q3"]));
    assert_eq!(r.body["source"], "api");
    assert!(r.body["createdAt"].is_string());
    let r = m
        .call(
            Method::POST,
            "/agent/memory/notes",
            Some(json!({"content": "Prefers short answers"})),
        )
        .await
        .expect(201);
    assert_eq!(
        (r.body["index"].as_i64(), &r.body["tags"]),
        (Some(1), &json!([]))
    );
    let r = m
        .call(Method::GET, "/agent/memory/notes", None)
        .await
        .expect(200);
    assert_eq!(
        (r.body["total"].as_i64(), r.body["limit"].as_i64()),
        (Some(2), Some(20))
    );
    let contents: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        ["Prefers short answers", "Quarterly goal: ship memory"]
    );
    let r = m
        .call(Method::GET, "/agent/memory/notes?limit=1&offset=1", None)
        .await
        .expect(200);
    assert_eq!(r.body["items"][0]["index"], 0);
    m.call(Method::GET, "/agent/memory/notes?limit=101", None)
        .await
        .expect_error(400, "VALIDATION_ERROR");
    m.call(Method::DELETE, "/agent/memory/notes/0", None)
        .await
        .expect(204);
    m.call(Method::DELETE, "/agent/memory/notes/0", None)
        .await
        .expect_error(404, "NOT_FOUND");
    let r = m
        .call(
            Method::POST,
            "/agent/memory/notes",
            Some(json!({"content": "x".repeat(4000)})),
        )
        .await
        .expect(201);
    assert_eq!(r.body["index"], 2, "indices are not reused");
    let r = m
        .call(Method::GET, "/agent/memory/notes", None)
        .await
        .expect(200);
    assert_eq!(r.body["total"], 2);
    for (body, field) in [
        (json!({"content": ""}), "content"),
        (json!({"content": "   "}), "content"),
        (json!({"content": "x".repeat(4001)}), "content"),
        (json!({}), "content"),
        (json!({"content": "ok", "tags": [""]}), "tags"),
        (json!({"content": "ok", "tags": ["t".repeat(51)]}), "tags"),
        (json!({"content": "ok", "tags": vec!["t"; 21]}), "tags"),
        (json!({"content": "ok", "tags": "one"}), "tags"),
        (json!({"content": "ok", "importance": 1}), ""),
    ] {
        let r = m
            .call(Method::POST, "/agent/memory/notes", Some(body))
            .await
            .expect_error(400, "VALIDATION_ERROR");
        let details = &r.body["details"];
        assert!(
            details.is_object() && (field.is_empty() || details[field].is_string()),
            "{field}: {}",
            r.text
        );
    }
    for bad in ["x", "-1"] {
        m.call(Method::DELETE, &format!("/agent/memory/notes/{bad}"), None)
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn search_parameters_are_validated() {
    let m = mem_app("mem-search-params").await;
    let long = "q".repeat(501);
    for path in [
        "/agent/memory/search".to_string(),
        "/agent/memory/search?q=".to_string(),
        "/agent/memory/search?q=%20%20".to_string(),
        format!("/agent/memory/search?q={long}"),
        "/agent/memory/search?q=tea&topK=0".to_string(),
        "/agent/memory/search?q=tea&topK=51".to_string(),
        "/agent/memory/search?q=tea&topK=many".to_string(),
    ] {
        m.call(Method::GET, &path, None)
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }
    // Nothing stored, or nothing searchable in the query: an empty list.
    for q in ["tea", "%3F%21%2A", "%22unbalanced"] {
        let r = m
            .call(
                Method::GET,
                &format!("/agent/memory/search?q={q}&topK=50"),
                None,
            )
            .await
            .expect(200);
        assert_eq!(r.body, json!({"items": []}), "{q}");
    }
}
