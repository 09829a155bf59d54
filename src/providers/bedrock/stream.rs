//! `ConverseStream` events → normalised stream events.
//!
//! Each frame carries `:message-type` (`event`, `exception` or `error`) and, for events,
//! `:event-type`: `messageStart`, `contentBlockStart` (a tool use begins), `contentBlockDelta`
//! (text, or a fragment of a tool's JSON input), `contentBlockStop`, `messageStop`
//! (`stopReason`) and `metadata` (usage), which Bedrock sends after `messageStop`.

use std::collections::HashMap;

use serde::Deserialize;

use super::converse::{WireUsage, stop_reason};
use crate::providers::error::ProviderError;
use crate::providers::eventstream::Frame;
use crate::providers::sse::{self, Decoder};
use crate::providers::types::{FinishReason, StreamEvent, Usage};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    content_block_index: u64,
    start: Option<Start>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Start {
    tool_use: Option<ToolUseStart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseStart {
    tool_use_id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    content_block_index: u64,
    delta: Option<Delta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delta {
    text: Option<String>,
    tool_use: Option<ToolUseDelta>,
}

#[derive(Deserialize)]
struct ToolUseDelta {
    #[serde(default)]
    input: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    usage: Option<WireUsage>,
}

/// Tool calls are numbered in order of appearance (block indices also count text blocks).
/// `Finish` waits for `metadata`, so usage goes out first; a body that ends after
/// `messageStop` without `metadata` still finishes, without usage.
#[derive(Default)]
pub(super) struct FrameEvents {
    tool_index: HashMap<u64, usize>,
    stop: Option<FinishReason>,
    usage: Option<Usage>,
    done: bool,
}

impl FrameEvents {
    /// Usage then finish, once both the stop reason and the usage are known.
    fn closing(&mut self) -> Vec<StreamEvent> {
        if self.stop.is_none() || self.usage.is_none() {
            return Vec::new();
        }
        self.done = true;
        let mut out: Vec<StreamEvent> = self
            .usage
            .take()
            .map(StreamEvent::Usage)
            .into_iter()
            .collect();
        if let Some(reason) = self.stop.take() {
            out.push(StreamEvent::Finish { reason });
        }
        out
    }
}

impl Decoder<Frame> for FrameEvents {
    fn event(&mut self, frame: Frame) -> Result<Vec<StreamEvent>, ProviderError> {
        match frame.str_header(":message-type") {
            Some("event") => {}
            Some("exception") => {
                let kind = frame.str_header(":exception-type").unwrap_or_default();
                return Err(exception(kind, &frame.payload));
            }
            Some("error") => {
                let code = frame.str_header(":error-code").unwrap_or_default();
                let message = frame.str_header(":error-message").unwrap_or_default();
                return Err(sse::upstream_error(&format!("{code}: {message}")));
            }
            _ => {
                return Err(ProviderError::Malformed(
                    "event-stream frame has no known :message-type".into(),
                ));
            }
        }
        let payload = &frame.payload;
        Ok(match frame.str_header(":event-type").unwrap_or_default() {
            "contentBlockStart" => {
                let start: BlockStart = sse::json_bytes(payload)?;
                match start.start.and_then(|s| s.tool_use) {
                    Some(tu) => {
                        let index = self.tool_index.len();
                        self.tool_index.insert(start.content_block_index, index);
                        vec![StreamEvent::ToolCallStart {
                            index,
                            id: tu.tool_use_id,
                            name: tu.name,
                        }]
                    }
                    None => vec![],
                }
            }
            "contentBlockDelta" => {
                let delta: BlockDelta = sse::json_bytes(payload)?;
                let Some(d) = delta.delta else {
                    return Ok(vec![]);
                };
                let mut out = Vec::new();
                if let Some(text) = d.text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::TextDelta(text));
                }
                if let Some(tu) = d.tool_use.filter(|tu| !tu.input.is_empty()) {
                    let block = delta.content_block_index;
                    let index = self.tool_index.get(&block).copied().ok_or_else(|| {
                        ProviderError::Malformed(format!("tool input for unknown block {block}"))
                    })?;
                    out.push(StreamEvent::ToolCallDelta {
                        index,
                        arguments: tu.input,
                    });
                }
                out
            }
            "messageStop" => {
                let stop: MessageStop = sse::json_bytes(payload)?;
                self.stop = Some(stop_reason(stop.stop_reason.as_deref()));
                self.closing()
            }
            "metadata" => {
                let meta: Metadata = sse::json_bytes(payload)?;
                self.usage = Some(meta.usage.unwrap_or_default().into());
                self.closing()
            }
            // messageStart, contentBlockStop and events added later carry nothing we use.
            _ => vec![],
        })
    }

    fn done(&self) -> bool {
        self.done
    }

    fn end(&mut self) -> Result<Vec<StreamEvent>, ProviderError> {
        let reason = self
            .stop
            .take()
            .ok_or_else(|| ProviderError::StreamBroken("stream ended before messageStop".into()))?;
        let mut out: Vec<StreamEvent> = self
            .usage
            .take()
            .map(StreamEvent::Usage)
            .into_iter()
            .collect();
        out.push(StreamEvent::Finish { reason });
        Ok(out)
    }
}

/// An exception frame: throttling and unavailability keep their meaning (so the call is
/// retried before any output), anything else breaks the stream. The payload is logged only.
fn exception(kind: &str, payload: &[u8]) -> ProviderError {
    let text = String::from_utf8_lossy(&payload[..payload.len().min(2048)]).into_owned();
    match kind {
        "throttlingException" => {
            tracing::debug!(error = %text, "bedrock throttled the stream");
            ProviderError::RateLimited { retry_after: None }
        }
        "serviceUnavailableException" => {
            tracing::debug!(error = %text, "bedrock unavailable in the stream");
            ProviderError::Upstream { status: 503 }
        }
        "internalServerException" => {
            tracing::debug!(error = %text, "bedrock internal error in the stream");
            ProviderError::Upstream { status: 500 }
        }
        _ => sse::upstream_error(&format!("{kind}: {text}")),
    }
}
