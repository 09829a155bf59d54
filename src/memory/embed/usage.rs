//! Embedding usage as billing rows: what an HTTP embedder was billed for one call becomes
//! `usage_records` rows (provider, embeddings model, input tokens, cost from the price table;
//! a model the table lacks costs 0) under the agent id [`EMBEDDINGS_AGENT`]. A batch of the
//! indexer mixes the chunks of several users: its tokens are shared among them in proportion
//! to the characters each had embedded, so the rows add up to exactly what was billed.

use chrono::{DateTime, Utc};

use super::Billed;
use crate::providers::{Pricing, Usage};
use crate::store::{UsageRow, ids::new_id};

/// The agent id of embedding usage rows (they belong to no agent's turn).
pub const EMBEDDINGS_AGENT: &str = "memory-embeddings";

/// Whose text a share of a billed call was: user, workspace, characters embedded.
#[derive(Debug, Clone, Copy)]
pub struct Share<'a> {
    /// The user billed.
    pub user_id: &'a str,
    /// The workspace billed.
    pub workspace_id: &'a str,
    /// Characters of theirs in the call.
    pub chars: usize,
}

/// The usage rows of one billed call: one per distinct (user, workspace) among `shares`, in
/// first-seen order, with the billed tokens split by characters (largest share rounding, so
/// the tokens add up to the bill) and each share costed by `pricing` (0 without it).
pub fn rows(
    billed: &Billed,
    pricing: Option<&Pricing>,
    shares: &[Share<'_>],
    now: DateTime<Utc>,
) -> Vec<UsageRow> {
    let mut owners: Vec<Share<'_>> = Vec::new();
    for s in shares {
        match owners
            .iter_mut()
            .find(|o| o.user_id == s.user_id && o.workspace_id == s.workspace_id)
        {
            Some(o) => o.chars += s.chars,
            None => owners.push(*s),
        }
    }
    let total_chars: u128 = owners.iter().map(|o| o.chars as u128).sum::<u128>().max(1);
    let total_tokens = u128::from(billed.prompt_tokens);
    let (mut cum_chars, mut given) = (0u128, 0u128);
    owners
        .iter()
        .enumerate()
        .map(|(i, o)| {
            cum_chars += o.chars as u128;
            // Cumulative rounding: the last owner gets what is left, so the sum is exact.
            let upto = if i + 1 == owners.len() {
                total_tokens
            } else {
                total_tokens * cum_chars / total_chars
            };
            let tokens = u64::try_from(upto - given).unwrap_or(u64::MAX);
            given = upto;
            let usage = Usage::reported(tokens, 0, 0);
            let cost = pricing.map_or(0.0, |p| p.cost(&billed.provider, &billed.model, &usage));
            UsageRow {
                id: new_id("use"),
                user_id: o.user_id.to_string(),
                workspace_id: o.workspace_id.to_string(),
                agent_id: EMBEDDINGS_AGENT.to_string(),
                session_id: None,
                provider: billed.provider.clone(),
                model: billed.model.clone(),
                prompt_tokens: i64::try_from(usage.prompt_tokens).unwrap_or(i64::MAX),
                completion_tokens: 0,
                cached_tokens: 0,
                cost_usd: cost,
                created_at: now,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn billed(model: &str, tokens: u64) -> Billed {
        Billed {
            provider: "openai".into(),
            model: model.into(),
            prompt_tokens: tokens,
        }
    }

    fn share<'a>(user_id: &'a str, chars: usize) -> Share<'a> {
        Share {
            user_id,
            workspace_id: "ws",
            chars,
        }
    }

    #[test]
    fn tokens_are_shared_by_characters_and_add_up_to_the_bill() {
        let pricing = Pricing::new(None).expect("built-in prices");
        let shares = [share("a", 10), share("b", 10), share("a", 10)];
        let out = rows(
            &billed("text-embedding-3-small", 1001),
            Some(&pricing),
            &shares,
            Utc::now(),
        );
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].user_id.as_str(), out[0].prompt_tokens), ("a", 667));
        assert_eq!((out[1].user_id.as_str(), out[1].prompt_tokens), ("b", 334));
        assert!(out.iter().all(|r| r.agent_id == EMBEDDINGS_AGENT));
        // text-embedding-3-small: $0.02 per million input tokens.
        assert!((out[0].cost_usd - 667.0 * 0.02 / 1e6).abs() < 1e-12);
        // A model the table lacks costs 0.
        let free = rows(
            &billed("my-embedder", 50),
            Some(&pricing),
            &shares,
            Utc::now(),
        );
        assert!(free.iter().all(|r| r.cost_usd == 0.0));
        assert_eq!(free.iter().map(|r| r.prompt_tokens).sum::<i64>(), 50);
    }
}
