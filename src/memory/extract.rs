//! Extraction: after a successful turn, a daily entry summarising the exchange is written in
//! the background, off the request path.

use chrono::{DateTime, Utc};
use tokio_util::task::TaskTracker;

use super::{
    Owner,
    entries::{Source, add_daily},
    shorten,
};
use crate::store::Store;

/// Characters kept from each side of the exchange.
const SIDE_MAX_CHARS: usize = 200;

/// A turn that ended with a reply (the chat module builds it; memory does not know turns).
#[derive(Debug, Clone, Copy)]
pub struct FinishedTurn<'a> {
    /// Whose memory.
    pub owner: Owner<'a>,
    /// The session the exchange happened in.
    pub session_id: &'a str,
    /// When the turn was admitted (the user message carries this time).
    pub started_at: DateTime<Utc>,
    /// The assistant's reply.
    pub reply: &'a str,
}

/// Schedules the daily entry for a turn that ended with a reply on `tasks` (failed or cut-off
/// turns leave none, so callers only pass successful ones).
pub fn remember_turn(store: &Store, tasks: &TaskTracker, turn: FinishedTurn<'_>) {
    let store = store.clone();
    let user_id = turn.owner.user_id.to_string();
    let workspace_id = turn.owner.workspace_id.to_string();
    let session_id = turn.session_id.to_string();
    let started_at = turn.started_at;
    let reply = shorten(turn.reply, SIDE_MAX_CHARS);
    tasks.spawn(async move {
        // The user message was stored when the turn was admitted, at `started_at`.
        let asked = match store
            .memory()
            .turn_user_message(&session_id, started_at)
            .await
        {
            Ok(text) => text
                .map(|t| shorten(&t, SIDE_MAX_CHARS))
                .unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "memory extraction could not read the user message");
                return;
            }
        };
        if asked.is_empty() && reply.is_empty() {
            return;
        }
        let content = format!("User: {asked}\nAssistant: {reply}");
        let owner = Owner {
            user_id: &user_id,
            workspace_id: &workspace_id,
        };
        if let Err(e) = add_daily(&store, owner, &content, Source::Chat, Utc::now()).await {
            tracing::warn!(error = %e, "memory extraction could not write the daily entry");
        }
    });
}
