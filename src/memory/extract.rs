//! Extraction: after a successful turn, a daily entry summarising the exchange is written in
//! the background, off the request path.

use chrono::Utc;

use super::{
    Owner,
    entries::{Source, add_daily},
    shorten,
};
use crate::{
    app::AppState,
    chat::{plan::TurnPlan, runner::Stop},
};

/// Characters kept from each side of the exchange.
const SIDE_MAX_CHARS: usize = 200;

/// Schedules the daily entry for a finished turn; failed or cut-off turns leave none.
pub fn remember_turn(state: &AppState, plan: &TurnPlan, outcome: &Result<String, Stop>) {
    let Ok(reply) = outcome else {
        return;
    };
    let store = state.store.clone();
    let user_id = plan.user_id.clone();
    let workspace_id = plan.workspace_id.clone();
    let session_id = plan.session.id.clone();
    let started_at = plan.started_at;
    let reply = shorten(reply, SIDE_MAX_CHARS);
    state.tasks.spawn(async move {
        // The user message was stored when the turn was admitted, at `started_at`.
        let asked = match store.turn_user_message(&session_id, started_at).await {
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
