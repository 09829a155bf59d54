//! Server-sent-events parsing shared by the streaming adapters, and the driver that turns
//! an HTTP body into an [`EventStream`] through a [`Framer`] (SSE events, or the binary
//! frames of [`super::eventstream`]) and a per-format [`Decoder`].

use std::collections::VecDeque;

use futures_util::{Stream, StreamExt, stream};

use super::error::ProviderError;
use super::eventstream::{Frame, FrameDecoder};
use super::types::{EventStream, StreamEvent};

/// One dispatched SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Longest SSE line accepted. Providers send small deltas; a longer line is an error, not a
/// reason to buffer without end.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Largest SSE event (its `data:` lines together).
pub const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// Incremental SSE parser: feed it body chunks, get complete events back.
///
/// Bytes are buffered until a full line is available, so multi-byte UTF-8 characters and
/// lines split across chunks are handled. Scanning is linear: each byte is searched for a
/// newline once (the parser remembers how far the pending line was already scanned), and
/// the buffer is compacted once per chunk. Lines above [`MAX_LINE_BYTES`] and events above
/// [`MAX_EVENT_BYTES`] end parsing with [`ProviderError::TooLarge`].
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// Bytes of `buf` already known to hold no newline.
    scanned: usize,
    event: Option<String>,
    data: Vec<String>,
    data_bytes: usize,
}

impl SseParser {
    /// A parser with empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed a chunk; returns the events it completed, or the cap it broke.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, ProviderError> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut line_start = 0;
        let mut from = self.scanned;
        while let Some(offset) = self.buf[from..].iter().position(|b| *b == b'\n') {
            let end = from + offset;
            if end - line_start > MAX_LINE_BYTES {
                return Err(line_too_large());
            }
            let line = String::from_utf8_lossy(&self.buf[line_start..end]).into_owned();
            if let Some(ev) = self.line(line.trim_end_matches('\r'))? {
                out.push(ev);
            }
            line_start = end + 1;
            from = line_start;
        }
        // One compaction per chunk: what remains is the pending line's tail.
        self.buf.drain(..line_start);
        self.scanned = self.buf.len();
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(line_too_large());
        }
        Ok(out)
    }

    /// Flush at end of input: a last event not followed by a blank line is still delivered.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, ProviderError> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.scanned = 0;
            let line = String::from_utf8_lossy(&rest)
                .trim_end_matches('\r')
                .to_string();
            if let Some(ev) = self.line(&line)? {
                return Ok(Some(ev));
            }
        }
        Ok(self.dispatch())
    }

    fn line(&mut self, line: &str) -> Result<Option<SseEvent>, ProviderError> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                self.data_bytes += value.len() + 1;
                if self.data_bytes > MAX_EVENT_BYTES {
                    return Err(ProviderError::TooLarge {
                        what: "SSE event",
                        limit: MAX_EVENT_BYTES,
                    });
                }
                self.data.push(value.to_string());
            }
            "event" => self.event = Some(value.to_string()),
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        self.data_bytes = 0;
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

fn line_too_large() -> ProviderError {
    ProviderError::TooLarge {
        what: "SSE line",
        limit: MAX_LINE_BYTES,
    }
}

/// Cuts an HTTP body into the units a [`Decoder`] reads: SSE events, or binary frames.
pub(crate) trait Framer: Send + 'static {
    /// One unit (an event, a frame).
    type Item: Send;
    /// Feed a chunk; returns the units it completed.
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Self::Item>, ProviderError>;
    /// End of input: a last unit, or an error if the body stopped inside one.
    fn finish(&mut self) -> Result<Option<Self::Item>, ProviderError>;
}

impl Framer for SseParser {
    type Item = SseEvent;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, ProviderError> {
        SseParser::push(self, chunk)
    }
    fn finish(&mut self) -> Result<Option<SseEvent>, ProviderError> {
        SseParser::finish(self)
    }
}

impl Framer for FrameDecoder {
    type Item = Frame;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Frame>, ProviderError> {
        FrameDecoder::push(self, chunk)
    }
    fn finish(&mut self) -> Result<Option<Frame>, ProviderError> {
        FrameDecoder::finish(self).map(|()| None)
    }
}

/// Per-wire-format state machine turning units (SSE events by default) into normalised
/// events.
pub(crate) trait Decoder<E = SseEvent>: Send + 'static {
    /// Handle one unit.
    fn event(&mut self, ev: E) -> Result<Vec<StreamEvent>, ProviderError>;
    /// True once the provider's terminal marker was seen; reading stops there.
    fn done(&self) -> bool;
    /// Called at end of body when `done()` is false: final events, or `StreamBroken`.
    fn end(&mut self) -> Result<Vec<StreamEvent>, ProviderError>;
}

struct Driver<S, F, D> {
    body: std::pin::Pin<Box<S>>,
    framer: F,
    decoder: D,
    queue: VecDeque<Result<StreamEvent, ProviderError>>,
    ended: bool,
}

impl<S, F: Framer, D: Decoder<F::Item>> Driver<S, F, D> {
    fn feed(&mut self, units: Vec<F::Item>) {
        for unit in units {
            if self.ended {
                return;
            }
            match self.decoder.event(unit) {
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

/// Drive `body` (an HTTP response body of server-sent events) through `decoder`.
pub(crate) fn decode<S, B, D>(body: S, decoder: D) -> EventStream
where
    S: Stream<Item = Result<B, reqwest::Error>> + Send + 'static,
    B: AsRef<[u8]>,
    D: Decoder,
{
    decode_with(body, SseParser::new(), decoder)
}

/// Drive `body` through `framer` and `decoder`. The stream stops after the first error
/// item, and a body that ends before the decoder is done yields `StreamBroken`.
pub(crate) fn decode_with<S, B, F, D>(body: S, framer: F, decoder: D) -> EventStream
where
    S: Stream<Item = Result<B, reqwest::Error>> + Send + 'static,
    B: AsRef<[u8]>,
    F: Framer,
    D: Decoder<F::Item>,
{
    let driver = Driver {
        body: Box::pin(body),
        framer,
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
                Some(Ok(chunk)) => match d.framer.push(chunk.as_ref()) {
                    Ok(units) => d.feed(units),
                    Err(e) => d.fail(e),
                },
                Some(Err(e)) => d.fail(ProviderError::from_reqwest(&e, true)),
                None => {
                    match d.framer.finish() {
                        Ok(last) => d.feed(last.into_iter().collect()),
                        Err(e) => d.fail(e),
                    }
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

/// The error for an error event inside a stream: its text is the provider's (or whoever
/// answered), so it is logged at debug and the client gets the gateway's words.
pub(crate) fn upstream_error(err: &dyn std::fmt::Display) -> ProviderError {
    let text: String = err.to_string().chars().take(500).collect();
    tracing::debug!(error = %text, "provider reported an error in its stream");
    ProviderError::StreamBroken("the provider reported an error in the stream".into())
}

/// Parse one SSE `data` payload as JSON, mapping failures to `Malformed`.
///
/// The upstream text stays out of the error (it reaches clients); it is logged at debug.
pub(crate) fn json<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, ProviderError> {
    json_bytes(data.as_bytes())
}

/// [`json`] over raw bytes (a binary frame's payload).
pub(crate) fn json_bytes<T: serde::de::DeserializeOwned>(data: &[u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(data).map_err(|e| {
        let head = &data[..data.len().min(800)];
        let snippet: String = String::from_utf8_lossy(head).chars().take(200).collect();
        tracing::debug!(error = %e, data = %snippet, "provider stream event did not decode");
        ProviderError::Malformed("stream event is not the expected JSON".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_chunks_and_crlf() {
        let mut p = SseParser::new();
        assert!(p.push(b"event: a\r\nda").unwrap().is_empty());
        let evs = p
            .push(b"ta: {\"x\":1}\r\n\r\n: comment\ndata: one\ndata: two\n\n")
            .unwrap();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].event.as_deref(), Some("a"));
        assert_eq!(evs[0].data, "{\"x\":1}");
        assert_eq!(evs[1].event, None);
        assert_eq!(evs[1].data, "one\ntwo");
    }

    #[test]
    fn flushes_unterminated_last_event() {
        let mut p = SseParser::new();
        assert!(p.push("data: é".as_bytes()).unwrap().is_empty());
        assert_eq!(p.finish().unwrap().map(|e| e.data), Some("é".to_string()));
    }

    #[test]
    fn caps_line_and_event_sizes() {
        let mut p = SseParser::new();
        let chunk = vec![b'x'; 64 * 1024];
        let mut result = Ok(Vec::new());
        for _ in 0..(MAX_LINE_BYTES / chunk.len() + 2) {
            result = p.push(&chunk);
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(
            result,
            Err(ProviderError::TooLarge {
                what: "SSE line",
                ..
            })
        ));
        let mut p = SseParser::new();
        let line = format!("data: {}\n", "y".repeat(MAX_LINE_BYTES / 2));
        let mut result = Ok(Vec::new());
        for _ in 0..(MAX_EVENT_BYTES / line.len() + 2) {
            result = p.push(line.as_bytes());
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(
            result,
            Err(ProviderError::TooLarge {
                what: "SSE event",
                ..
            })
        ));
    }

    #[test]
    fn byte_by_byte_feeding_finds_every_line() {
        let mut p = SseParser::new();
        let mut events = Vec::new();
        for b in b"data: a\n\ndata: b\r\n\r\n" {
            events.extend(p.push(std::slice::from_ref(b)).unwrap());
        }
        let data: Vec<_> = events.into_iter().map(|e| e.data).collect();
        assert_eq!(data, ["a", "b"]);
    }
}
