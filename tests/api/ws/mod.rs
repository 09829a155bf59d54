//! `GET /ws` with a real WebSocket client (tokio-tungstenite): turns over frames, presence
//! pushes, authentication, bounds and keep-alive.

mod socket;
mod turns;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{
        self, Message,
        client::IntoClientRequest,
        http::{HeaderName, HeaderValue},
        protocol::CloseFrame,
    },
};

use crate::helpers::TestApp;

/// How long a test waits for one frame.
const FRAME_WAIT: Duration = Duration::from_secs(10);

/// A connected test client.
pub struct Client {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Opens `/ws{query}` with these headers; the handshake's error when refused.
pub async fn try_connect(
    app: &TestApp,
    query: &str,
    headers: &[(&str, &str)],
) -> Result<Client, tungstenite::Error> {
    let mut request = format!("ws://{}/ws{query}", app.addr)
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    connect_async(request)
        .await
        .map(|(socket, _)| Client { socket })
}

/// Opens `/ws` with `Authorization: Bearer token`.
pub async fn connect(app: &TestApp, token: &str) -> Client {
    let auth = format!("Bearer {token}");
    try_connect(app, "", &[("authorization", &auth)])
        .await
        .expect("websocket handshake")
}

/// The status and JSON body of a refused handshake.
pub fn refusal(result: Result<Client, tungstenite::Error>) -> (u16, Value) {
    match result {
        Err(tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            (response.status().as_u16(), body)
        }
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the handshake was accepted"),
    }
}

impl Client {
    /// Sends a JSON text frame.
    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// The next message of any kind (`None` when the socket ended).
    pub async fn raw(&mut self) -> Option<Message> {
        match tokio::time::timeout(FRAME_WAIT, self.socket.next()).await {
            Ok(Some(Ok(message))) => Some(message),
            Ok(Some(Err(_)) | None) => None,
            Err(_) => panic!("no message within {FRAME_WAIT:?}"),
        }
    }

    /// The next JSON frame, skipping WebSocket pings and pongs.
    pub async fn next(&mut self) -> Value {
        loop {
            match self.raw().await {
                Some(Message::Text(text)) => return serde_json::from_str(&text).unwrap(),
                Some(Message::Ping(_) | Message::Pong(_)) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Every frame until the turn `id` ends (`done` or `error`, except the `DUPLICATE_ID`
    /// refusal of a second frame with that id), frames of others included.
    pub async fn until_end_of(&mut self, id: &str) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await;
            let ends = frame["type"] == "done"
                || (frame["type"] == "error" && frame["data"]["code"] != "DUPLICATE_ID");
            let last = frame["id"] == id && ends;
            frames.push(frame);
            if last {
                return frames;
            }
        }
    }

    /// The next frame that is not a presence push.
    pub async fn next_unprompted(&mut self) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] != "presence" {
                return frame;
            }
        }
    }

    /// The close frame the server sends (reading past anything else), if any.
    pub async fn close_frame(&mut self) -> Option<CloseFrame> {
        loop {
            match self.raw().await? {
                Message::Close(frame) => return frame,
                _ => continue,
            }
        }
    }
}

/// The frames of turn `id`, as (type, data) pairs like the SSE events.
pub fn of_turn(frames: &[Value], id: &str) -> Vec<(String, Value)> {
    frames
        .iter()
        .filter(|f| f["id"] == id)
        .map(|f| (f["type"].as_str().unwrap().to_string(), f["data"].clone()))
        .collect()
}

/// Polls `/health` until `wsConnections` is `n`.
pub async fn wait_for_sockets(app: &TestApp, n: i64) {
    let mut seen = Value::Null;
    for _ in 0..200 {
        let r = app
            .send(reqwest::Method::GET, "/health", None, &[])
            .await
            .expect(200);
        seen = r.body["wsConnections"].clone();
        if seen == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("wsConnections stayed {seen}, expected {n}");
}
