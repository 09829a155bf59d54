//! The socket itself: authentication before the upgrade, the query token, bad and oversized
//! frames, the open-socket count, keep-alive, idle timeout, revocation and slow readers.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, client_async,
    tungstenite::{Message, client::IntoClientRequest},
};

use super::{Client, connect, refusal, try_connect, wait_for_sockets};
use crate::helpers::{
    Answer, FakeLlm, TEST_INTERNAL_KEY, chat_app_with, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn anonymous_and_bad_credentials_are_refused_before_the_upgrade() {
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    let (status, body) = refusal(try_connect(&app, "", &[]).await);
    assert_eq!((status, body["code"].as_str()), (401, Some("UNAUTHORIZED")));
    let (status, _) =
        refusal(try_connect(&app, "", &[("authorization", "Bearer not-a-jwt")]).await);
    assert_eq!(status, 401);
    let (status, _) = refusal(try_connect(&app, "?token=not-a-jwt", &[]).await);
    assert_eq!(status, 401);
    let (status, _) = refusal(try_connect(&app, "?token=ak_unknownunknownunknown", &[]).await);
    assert_eq!(status, 401);
    // The internal key passes the gate but is nobody's socket.
    let (status, _) = refusal(try_connect(&app, "", &[("x-api-key", TEST_INTERNAL_KEY)]).await);
    assert_eq!(status, 401);
    // A workspace the caller is not in is refused before the upgrade too.
    let other = app.user_with_workspace().await;
    let query = format!("?workspaceId={}", other.ws);
    let auth = format!("Bearer {}", user.token);
    let (status, body) = refusal(try_connect(&app, &query, &[("authorization", &auth)]).await);
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));
    // A plain GET with good credentials is not an upgrade.
    let r = app.get("/ws", &user.token).await;
    r.expect_error(400, "VALIDATION_ERROR");
    wait_for_sockets(&app, 0).await;
}

#[tokio::test]
async fn the_query_token_is_accepted_for_jwts_and_api_keys() {
    let fake = FakeLlm::saying("hi there").await;
    let c = chat_app_with(&fake, |_| {}).await;
    let query = format!("?workspaceId={}&token={}", c.ws, c.token);
    let mut ws = try_connect(&c.app, &query, &[]).await.expect("query token");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await, json!({"type": "pong"}));
    // An API key, judged as the chat route it stands for: `read` alone opens the socket but
    // runs no turn; `chat` does.
    let reader = c
        .app
        .post(
            "/api-keys",
            &c.token,
            json!({"name": "r", "scopes": ["read"]}),
        )
        .await;
    let key = reader.expect(201).body["key"].as_str().unwrap().to_string();
    let mut ws = try_connect(&c.app, &format!("?token={key}"), &[])
        .await
        .expect("read key");
    ws.send(json!({"type": "chat", "id": "k", "message": "hello"}))
        .await;
    let frame = ws.next().await;
    assert_eq!(
        (frame["type"].as_str(), frame["data"]["code"].as_str()),
        (Some("error"), Some("FORBIDDEN")),
        "{frame}"
    );
    let chat = c
        .app
        .post(
            "/api-keys",
            &c.token,
            json!({"name": "c", "scopes": ["chat"]}),
        )
        .await;
    let key = chat.expect(201).body["key"].as_str().unwrap().to_string();
    let mut ws = try_connect(&c.app, &format!("?token={key}"), &[])
        .await
        .expect("chat key");
    ws.send(json!({"type": "chat", "id": "k", "message": "hello"}))
        .await;
    let frames = ws.until_end_of("k").await;
    assert_eq!(frames.last().unwrap()["data"]["content"], "hi there");
    // Without `read`, no presence pushes: only the turn's own frames came.
    assert!(frames.iter().all(|f| f["id"] == "k"), "{frames:?}");
}

/// Sends `message` and reads the `error` frame it gets: (id, code, data).
async fn error_of(ws: &mut Client, message: Message) -> (Option<String>, String, Value) {
    ws.socket.send(message).await.unwrap();
    let frame = ws.next().await;
    assert_eq!(frame["type"], "error", "{frame}");
    let code = frame["data"]["code"].as_str().unwrap().to_string();
    (
        frame["id"].as_str().map(str::to_string),
        code,
        frame["data"].clone(),
    )
}

#[tokio::test]
async fn bad_frames_get_an_error_frame_and_the_socket_stays_up() {
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    let mut ws = connect(&app, &user.token).await;
    assert_eq!(
        error_of(&mut ws, Message::text("not json")).await.1,
        "BAD_FRAME"
    );
    assert_eq!(
        error_of(&mut ws, Message::text(r#"{"type":"dance"}"#))
            .await
            .1,
        "BAD_FRAME"
    );
    assert_eq!(
        error_of(&mut ws, Message::text("[1,2]")).await.1,
        "BAD_FRAME"
    );
    assert_eq!(
        error_of(&mut ws, Message::binary(vec![1, 2, 3])).await.1,
        "BAD_FRAME"
    );
    let (id, c, data) = error_of(&mut ws, Message::text(r#"{"type":"chat","id":"x1"}"#)).await;
    assert_eq!(
        (id.as_deref(), c.as_str()),
        (Some("x1"), "VALIDATION_ERROR")
    );
    assert!(data["details"]["message"].is_string(), "{data}");
    let long = "m".repeat(10_001);
    let (id, c, data) = error_of(
        &mut ws,
        Message::text(json!({"type": "chat", "id": "x2", "message": long}).to_string()),
    )
    .await;
    assert_eq!(
        (id.as_deref(), c.as_str()),
        (Some("x2"), "VALIDATION_ERROR")
    );
    assert!(data["details"]["message"].is_string(), "{data}");
    let (_, c, _) = error_of(&mut ws, Message::text(r#"{"type":"cancel"}"#)).await;
    assert_eq!(c, "VALIDATION_ERROR");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn an_oversized_message_closes_the_socket_with_1009() {
    let app = spawn_app_with(|c| c.ws.max_message_bytes = 1024).await;
    let user = app.user_with_workspace().await;
    let mut ws = connect(&app, &user.token).await;
    // At the limit is fine.
    let padding = "p".repeat(1024 - r#"{"type":"ping","pad":""}"#.len());
    ws.send(json!({"type": "ping", "pad": padding})).await;
    assert_eq!(ws.next().await, json!({"type": "pong"}));
    let big = json!({"type": "chat", "id": "big", "message": "x".repeat(4096)});
    ws.send(big).await;
    let close = ws.close_frame().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);
    wait_for_sockets(&app, 0).await;
}

#[tokio::test]
async fn ws_connections_counts_open_sockets_in_health_metrics_and_prometheus() {
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    wait_for_sockets(&app, 0).await;
    let a = connect(&app, &user.token).await;
    let mut b = connect(&app, &user.token).await;
    wait_for_sockets(&app, 2).await;
    let metrics = app.get("/metrics", &user.token).await.expect(200);
    assert_eq!(metrics.body["wsConnections"], 2);
    let text = app.key_get("/metrics/prometheus").await.expect(200).text;
    assert!(
        text.lines().any(|l| l == "astra_websocket_connections 2"),
        "{text}"
    );
    drop(a);
    wait_for_sockets(&app, 1).await;
    b.socket.close(None).await.unwrap();
    wait_for_sockets(&app, 0).await;
    let text = app.key_get("/metrics/prometheus").await.expect(200).text;
    assert!(
        text.lines().any(|l| l == "astra_websocket_connections 0"),
        "{text}"
    );
}

#[tokio::test]
async fn the_server_pings_and_drops_clients_that_stop_answering() {
    let app = spawn_app_with(|c| {
        c.ws.ping_interval = Duration::from_millis(100);
        c.ws.max_missed_pongs = 2;
    })
    .await;
    let user = app.user_with_workspace().await;
    let mut alive = connect(&app, &user.token).await;
    let _silent = connect(&app, &user.token).await;
    wait_for_sockets(&app, 2).await;
    // Reading answers the pings; the silent client never reads, so never answers.
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(800);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(until, alive.socket.next()).await {
        if matches!(message, Message::Ping(_)) {
            pings += 1;
        }
    }
    assert!(pings >= 4, "{pings} pings");
    wait_for_sockets(&app, 1).await;
    alive.send(json!({"type": "ping"})).await;
    assert_eq!(alive.next().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn an_idle_socket_is_closed_with_1000() {
    let app = spawn_app_with(|c| c.ws.idle_timeout = Duration::from_millis(300)).await;
    let user = app.user_with_workspace().await;
    let mut ws = connect(&app, &user.token).await;
    let started = std::time::Instant::now();
    let close = ws.close_frame().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1000);
    assert_eq!(close.reason.as_str(), "idle timeout");
    assert!(started.elapsed() >= Duration::from_millis(250));
    wait_for_sockets(&app, 0).await;
}

#[tokio::test]
async fn a_socket_does_not_outlive_a_logout() {
    let app = spawn_app_with(|c| c.ws.ping_interval = Duration::from_millis(150)).await;
    let user = app.user_with_workspace().await;
    let mut ws = connect(&app, &user.token).await;
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await, json!({"type": "pong"}));
    app.post("/auth/logout", &user.token, json!({}))
        .await
        .expect(200);
    let frame = ws.next().await;
    assert_eq!(frame["data"]["code"], "UNAUTHORIZED", "{frame}");
    let close = ws.close_frame().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    wait_for_sockets(&app, 0).await;
}

#[tokio::test]
async fn a_reader_too_slow_for_its_queue_is_disconnected() {
    // 6 MiB of answer, more than the socket buffers hold, into a queue of 4 frames.
    let fake = FakeLlm::start(|_, _| {
        let chunk = "z".repeat(16 * 1024);
        let chunks: Vec<&str> = (0..384).map(|_| chunk.as_str()).collect();
        Answer::chunks(&chunks)
    })
    .await;
    let c = chat_app_with(&fake, |cfg| cfg.ws.outbound_buffer = 4).await;
    // A client with a tiny receive window that never reads.
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(c.app.addr).await.unwrap();
    let mut request = format!("ws://{}/ws", c.app.addr)
        .into_client_request()
        .unwrap();
    let auth = format!("Bearer {}", c.token).parse().unwrap();
    request.headers_mut().insert("authorization", auth);
    let (socket, _) = client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    let mut ws = Client { socket };
    ws.send(json!({"type": "chat", "id": "flood", "message": "say a lot"}))
        .await;
    wait_for_sockets(&c.app, 0).await;
    // Its turn was cancelled as a client that left, and recorded so.
    let store = c.store().await;
    let mut status = None;
    for _ in 0..100 {
        status = astra::with_pool!(store.pool(), p => {
            sqlx::query_scalar::<_, String>("SELECT status FROM traces").fetch_optional(p).await.unwrap()
        });
        if status.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status.as_deref(), Some("cancelled"));
}

#[tokio::test]
async fn the_channel_and_its_frames_are_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc = app
        .send(reqwest::Method::GET, "/openapi.json", None, &[])
        .await
        .expect(200)
        .body;
    let op = &doc["paths"]["/ws"]["get"];
    for status in ["101", "400", "401", "403", "503"] {
        assert!(op["responses"][status].is_object(), "{status}: {op}");
    }
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        params.contains(&"token") && params.contains(&"workspaceId"),
        "{params:?}"
    );
    let schemas = &doc["components"]["schemas"];
    for name in [
        "WsClientFrame",
        "WsChatFrame",
        "WsCancelFrame",
        "WsServerFrame",
    ] {
        assert!(schemas[name].is_object(), "{name} missing");
    }
}

/// Serving upgrades means the server first reads bytes to tell HTTP/1 from the HTTP/2
/// preface; a client stalling inside the preface is cut off like a slow-header client.
#[tokio::test]
async fn a_client_stalling_in_the_protocol_sniff_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|c| c.dos.header_read_timeout = Duration::from_millis(400)).await;
    let mut stalled = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stalled.write_all(b"PRI * HT").await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stalled.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "still connected: {read:?}"
    );
}
