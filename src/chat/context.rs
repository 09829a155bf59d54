//! Context assembly: the system prompt, the compaction summary and the session history,
//! trimmed to the model's context window.

use std::borrow::Borrow;

use crate::{
    providers::{Message, Role, ToolCall},
    store::MessageRow,
};

/// Share of the context window above which older history is summarised.
pub const COMPACTION_THRESHOLD: f64 = 0.85;
/// Context window assumed when an agent does not state one.
pub const DEFAULT_CONTEXT_TOKENS: u32 = 128_000;
/// Messages kept verbatim when older ones are summarised.
pub const KEEP_RECENT: usize = 6;

/// A rough token estimate (4 characters per token plus framing), good enough to budget.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4) + 4
}

/// Estimated tokens of a message list.
pub fn estimate_messages(messages: &[Message]) -> u64 {
    messages
        .iter()
        .map(|m| {
            estimate_tokens(&m.content)
                + m.tool_calls
                    .iter()
                    .map(|c| estimate_tokens(&c.arguments) + estimate_tokens(&c.name))
                    .sum::<u64>()
        })
        .sum()
}

/// Converts stored messages to the provider model, dropping tool results whose call is not
/// in the window (providers reject orphans).
pub fn history_messages<R: Borrow<MessageRow>>(rows: &[R]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(rows.len());
    let mut open_calls: Vec<String> = Vec::new();
    for row in rows.iter().map(Borrow::borrow) {
        match row.role.as_str() {
            "user" => out.push(Message::text(Role::User, row.content.clone())),
            "assistant" => {
                let calls: Vec<ToolCall> = row
                    .tool_calls
                    .as_ref()
                    .and_then(|j| serde_json::from_value(j.0.clone()).ok())
                    .unwrap_or_default();
                open_calls = calls.iter().map(|c| c.id.clone()).collect();
                let mut m = Message::text(Role::Assistant, row.content.clone());
                m.tool_calls = calls;
                out.push(m);
            }
            "tool" => {
                let id = row.tool_call_id.clone().unwrap_or_default();
                if open_calls.contains(&id) {
                    let name = row.name.clone().unwrap_or_default();
                    out.push(Message::tool_result(id, name, row.content.clone()));
                }
            }
            _ => {}
        }
    }
    // An assistant turn whose tool results were never saved (cut off) cannot be replayed as
    // a pending call: keep its text only.
    let answered: Vec<String> = out.iter().filter_map(|m| m.tool_call_id.clone()).collect();
    for m in &mut out {
        if m.role == Role::Assistant && m.tool_calls.iter().any(|c| !answered.contains(&c.id)) {
            m.tool_calls.clear();
        }
    }
    out.retain(|m| m.role != Role::Assistant || !m.content.is_empty() || !m.tool_calls.is_empty());
    out
}

/// The system message: template output, then the summary of older history.
pub fn system_message(prompt: &str, summary: Option<&str>) -> Message {
    let mut text = prompt.to_string();
    if let Some(summary) = summary.filter(|s| !s.is_empty()) {
        text.push_str("\n\nSummary of the earlier conversation:\n");
        text.push_str(summary);
    }
    Message::text(Role::System, text)
}

/// Drops the oldest history until the estimate fits `budget` (keeps at least the last one).
pub fn trim_to_budget(history: &mut Vec<Message>, budget: u64) {
    while history.len() > 1 && estimate_messages(history) > budget {
        history.remove(0);
        // Never start with tool results whose call was trimmed away.
        while history.first().is_some_and(|m| m.role == Role::Tool) {
            history.remove(0);
        }
    }
}

/// The prompt asking the model to summarise older messages.
pub fn compaction_request(previous: Option<&str>, older: &[Message]) -> Vec<Message> {
    let mut transcript = String::new();
    if let Some(prev) = previous {
        transcript.push_str("Earlier summary: ");
        transcript.push_str(prev);
        transcript.push('\n');
    }
    for m in older {
        let who = match m.role {
            Role::User => "User",
            Role::Assistant => "Assistant",
            Role::Tool => "Tool",
            Role::System => continue,
        };
        transcript.push_str(who);
        transcript.push_str(": ");
        transcript.push_str(&m.content);
        transcript.push('\n');
    }
    vec![
        Message::text(
            Role::System,
            "You compress conversations. Summarise the transcript in a few sentences, keeping \
             facts, decisions, names, numbers and open questions. Answer with the summary only.",
        ),
        Message::text(Role::User, transcript),
    ]
}
