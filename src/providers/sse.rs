//! Server-sent-events parsing shared by the streaming adapters, and the driver that turns
//! an HTTP body into an [`EventStream`] through a per-format [`Decoder`].

use std::collections::VecDeque;

use futures_util::{Stream, StreamExt, stream};

use super::error::ProviderError;
use super::types::{EventStream, StreamEvent};

/// One dispatched SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental SSE parser: feed it body chunks, get complete events back.
///
/// Bytes are buffered until a full line is available, so multi-byte UTF-8 characters and
/// lines split across chunks are handled.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    /// A parser with empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if let Some(ev) = self.line(line) {
                out.push(ev);
            }
        }
        out
    }

    /// Flush at end of input: a last event not followed by a blank line is still delivered.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let line = String::from_utf8_lossy(&rest)
                .trim_end_matches('\r')
                .to_string();
            if let Some(ev) = self.line(&line) {
                return Some(ev);
            }
        }
        self.dispatch()
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => self.data.push(value.to_string()),
            "event" => self.event = Some(value.to_string()),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        if self.data.is_empty() {
            self.event = None;
            return None;
        }
        Some(SseEvent {
            event: self.event.take(),
            data: std::mem::take(&mut self.data).join("\n"),
        })
    }
}

/// Per-wire-format state machine turning SSE events into normalised events.
pub(crate) trait Decoder: Send + 'static {
    /// Handle one SSE event.
    fn event(&mut self, ev: SseEvent) -> Result<Vec<StreamEvent>, ProviderError>;
    /// True once the provider's terminal marker was seen; reading stops there.
    fn done(&self) -> bool;
    /// Called at end of body when `done()` is false: final events, or `StreamBroken`.
    fn end(&mut self) -> Result<Vec<StreamEvent>, ProviderError>;
}

struct Driver<S, D> {
    body: std::pin::Pin<Box<S>>,
    parser: SseParser,
    decoder: D,
    queue: VecDeque<Result<StreamEvent, ProviderError>>,
    ended: bool,
}

impl<S, D: Decoder> Driver<S, D> {
    fn feed(&mut self, events: Vec<SseEvent>) {
        for ev in events {
            if self.ended {
                return;
            }
            match self.decoder.event(ev) {
                Ok(items) => self.queue.extend(items.into_iter().map(Ok)),
                Err(e) => self.fail(e),
            }
            if self.decoder.done() {
                self.ended = true;
            }
        }
    }

    fn fail(&mut self, e: ProviderError) {
        self.queue.push_back(Err(e));
        self.ended = true;
    }
}

/// Drive `body` (an HTTP response body) through `decoder`. The stream stops after the first
/// error item, and a body that ends before the decoder is done yields `StreamBroken`.
pub(crate) fn decode<S, B, D>(body: S, decoder: D) -> EventStream
where
    S: Stream<Item = Result<B, reqwest::Error>> + Send + 'static,
    B: AsRef<[u8]>,
    D: Decoder,
{
    let driver = Driver {
        body: Box::pin(body),
        parser: SseParser::new(),
        decoder,
        queue: VecDeque::new(),
        ended: false,
    };
    Box::pin(stream::unfold(driver, |mut d| async move {
        loop {
            if let Some(item) = d.queue.pop_front() {
                return Some((item, d));
            }
            if d.ended {
                return None;
            }
            match d.body.next().await {
                Some(Ok(chunk)) => {
                    let events = d.parser.push(chunk.as_ref());
                    d.feed(events);
                }
                Some(Err(e)) => d.fail(ProviderError::from_reqwest(&e, true)),
                None => {
                    let last = d.parser.finish();
                    d.feed(last.into_iter().collect());
                    if !d.ended {
                        match d.decoder.end() {
                            Ok(items) => d.queue.extend(items.into_iter().map(Ok)),
                            Err(e) => d.queue.push_back(Err(e)),
                        }
                        d.ended = true;
                    }
                }
            }
        }
    }))
}

/// Parse one SSE `data` payload as JSON, mapping failures to `Malformed`.
pub(crate) fn json<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, ProviderError> {
    serde_json::from_str(data).map_err(|e| {
        let snippet: String = data.chars().take(200).collect();
        ProviderError::Malformed(format!("{e} in {snippet:?}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_chunks_and_crlf() {
        let mut p = SseParser::new();
        assert!(p.push(b"event: a\r\nda").is_empty());
        let evs = p.push(b"ta: {\"x\":1}\r\n\r\n: comment\ndata: one\ndata: two\n\n");
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].event.as_deref(), Some("a"));
        assert_eq!(evs[0].data, "{\"x\":1}");
        assert_eq!(evs[1].event, None);
        assert_eq!(evs[1].data, "one\ntwo");
    }

    #[test]
    fn flushes_unterminated_last_event() {
        let mut p = SseParser::new();
        assert!(p.push("data: é".as_bytes()).is_empty());
        assert_eq!(p.finish().map(|e| e.data), Some("é".to_string()));
    }
}
