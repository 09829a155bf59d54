//! The requests a load phase sends, and how each is timed: total time to the end of the answer
//! and, for streams, time to the first content delta.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::{Client, header::HeaderMap};

/// Builds the load generator's HTTP client (HTTP/1.1, no proxy from the environment).
pub fn client(timeout: Duration) -> anyhow::Result<Client> {
    Ok(Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .timeout(timeout)
        .build()?)
}

/// One timed request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// From send to the end of the answer (the `done` event for gateway streams).
    pub total: Duration,
    /// From send to the first non-empty content delta, for streamed answers.
    pub first_content: Option<Duration>,
}

/// Why a request did not count as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// A non-success status (304 counts as success).
    Status(u16),
    /// Connect or I/O error.
    Transport,
    /// The client timeout fired.
    Timeout,
    /// An SSE `error` event.
    StreamError,
    /// A stream ended without `done` / `[DONE]`.
    Incomplete,
    /// The open-loop scheduler found too many requests in flight and skipped one.
    Dropped,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(s) => write!(f, "http_{s}"),
            Self::Transport => f.write_str("transport"),
            Self::Timeout => f.write_str("timeout"),
            Self::StreamError => f.write_str("sse_error"),
            Self::Incomplete => f.write_str("incomplete"),
            Self::Dropped => f.write_str("dropped"),
        }
    }
}

fn transport(e: &reqwest::Error) -> Failure {
    if e.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Transport
    }
}

/// What to send. Gateway chat bodies are built per request so sessions rotate.
#[derive(Debug, Clone)]
pub enum Target {
    /// Streaming Chat Completions requests sent in sequence (two for a tool round), each read to
    /// `[DONE]`: the fake directly, or through the bare proxy.
    Completions {
        /// `…/v1/chat/completions`.
        url: String,
        /// JSON bodies, in order.
        bodies: Vec<Bytes>,
    },
    /// `POST /agent/chat` or `/agent/chat/stream` on the gateway.
    Chat {
        /// Full URL of the route.
        url: String,
        /// Authorization and workspace headers.
        headers: HeaderMap,
        /// The user message (may carry fake directives).
        message: String,
        /// `surfaceId` is `{prefix}-{i % sessions}`.
        surface_prefix: String,
        /// Number of sessions the requests rotate over.
        sessions: u64,
        /// SSE route: parse events.
        stream: bool,
    },
    /// A GET with fixed headers.
    Get {
        /// URL.
        url: String,
        /// Headers.
        headers: HeaderMap,
    },
    /// A POST of a fixed JSON body.
    PostJson {
        /// URL.
        url: String,
        /// Body.
        body: Bytes,
    },
}

impl Target {
    /// Sends request number `i` and times it.
    pub async fn call(&self, client: &Client, i: u64) -> Result<Sample, Failure> {
        let start = Instant::now();
        match self {
            Self::Completions { url, bodies } => {
                let mut first = None;
                for body in bodies {
                    let resp = client
                        .post(url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .map_err(|e| transport(&e))?;
                    let seen = read_stream(resp, start, Dialect::OpenAi).await?;
                    first = first.or(seen);
                }
                Ok(Sample {
                    total: start.elapsed(),
                    first_content: first,
                })
            }
            Self::Chat {
                url,
                headers,
                message,
                surface_prefix,
                sessions,
                stream,
            } => {
                let body = serde_json::json!({
                    "message": message,
                    "surfaceId": format!("{surface_prefix}-{}", i % sessions.max(&1)),
                });
                let resp = client
                    .post(url)
                    .headers(headers.clone())
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| transport(&e))?;
                if *stream {
                    let first = read_stream(resp, start, Dialect::Gateway).await?;
                    Ok(Sample {
                        total: start.elapsed(),
                        first_content: first,
                    })
                } else {
                    read_whole(resp, start).await
                }
            }
            Self::Get { url, headers } => {
                let resp = client
                    .get(url)
                    .headers(headers.clone())
                    .send()
                    .await
                    .map_err(|e| transport(&e))?;
                read_whole(resp, start).await
            }
            Self::PostJson { url, body } => {
                let resp = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| transport(&e))?;
                read_whole(resp, start).await
            }
        }
    }
}

fn check_status(resp: &reqwest::Response) -> Result<(), Failure> {
    let s = resp.status();
    if s.is_success() || s == reqwest::StatusCode::NOT_MODIFIED {
        Ok(())
    } else {
        Err(Failure::Status(s.as_u16()))
    }
}

async fn read_whole(resp: reqwest::Response, start: Instant) -> Result<Sample, Failure> {
    check_status(&resp)?;
    resp.bytes().await.map_err(|e| transport(&e))?;
    Ok(Sample {
        total: start.elapsed(),
        first_content: None,
    })
}

/// Which SSE vocabulary a stream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI chunks: content in `delta.content`, end at `data: [DONE]`.
    OpenAi,
    /// The gateway's named events: `content`, then `done` or `error`.
    Gateway,
}

/// What one SSE line tells the timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// First or further content.
    Content,
    /// End of a successful answer.
    Done,
    /// An error event.
    Error,
}

/// Splits an SSE byte stream into lines and classifies them; state spans chunk boundaries.
#[derive(Debug)]
pub struct SseScanner {
    dialect: Dialect,
    line: Vec<u8>,
}

impl SseScanner {
    /// A scanner for `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            line: Vec::with_capacity(256),
        }
    }

    /// Feeds bytes; calls `on` for each signal found in completed lines.
    pub fn feed(&mut self, bytes: &[u8], mut on: impl FnMut(Signal)) {
        for &b in bytes {
            if b == b'\n' {
                if let Some(s) = self.classify() {
                    on(s);
                }
                self.line.clear();
            } else {
                self.line.push(b);
            }
        }
    }

    fn classify(&self) -> Option<Signal> {
        let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
        match self.dialect {
            Dialect::Gateway => match line.strip_prefix(b"event:")?.trim_ascii() {
                b"content" => Some(Signal::Content),
                b"done" => Some(Signal::Done),
                b"error" => Some(Signal::Error),
                _ => None,
            },
            Dialect::OpenAi => {
                let data = line.strip_prefix(b"data:")?.trim_ascii();
                if data == b"[DONE]" {
                    return Some(Signal::Done);
                }
                let key = b"\"content\":\"";
                let at = data.windows(key.len()).position(|w| w == key)?;
                (data.get(at + key.len()) != Some(&b'"')).then_some(Signal::Content)
            }
        }
    }
}

/// Reads a streamed answer to its end; returns the time of the first content delta.
async fn read_stream(
    resp: reqwest::Response,
    start: Instant,
    dialect: Dialect,
) -> Result<Option<Duration>, Failure> {
    check_status(&resp)?;
    let mut scanner = SseScanner::new(dialect);
    let mut first = None;
    let mut done = false;
    let mut error = false;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| transport(&e))?;
        scanner.feed(&chunk, |s| match s {
            Signal::Content => {
                first.get_or_insert_with(|| start.elapsed());
            }
            Signal::Done => done = true,
            Signal::Error => error = true,
        });
        if error {
            return Err(Failure::StreamError);
        }
        if done && dialect == Dialect::Gateway {
            // `done` carries its data on the next line; the answer is complete.
            break;
        }
    }
    if done {
        Ok(first)
    } else {
        Err(Failure::Incomplete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_finds_openai_content_and_done_across_chunks() {
        let mut s = SseScanner::new(Dialect::OpenAi);
        let mut seen = Vec::new();
        s.feed(
            b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\nda",
            |x| seen.push(x),
        );
        assert!(seen.is_empty());
        s.feed(
            b"ta: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n",
            |x| seen.push(x),
        );
        assert_eq!(seen, vec![Signal::Content, Signal::Done]);
    }

    #[test]
    fn scanner_reads_gateway_events() {
        let mut s = SseScanner::new(Dialect::Gateway);
        let mut seen = Vec::new();
        s.feed(
            b"event: session_resolved\ndata: {}\n\nevent: content\r\ndata: {}\n\nevent: error\n",
            |x| seen.push(x),
        );
        assert_eq!(seen, vec![Signal::Content, Signal::Error]);
    }
}
