//! Memory profiles: reusable settings for how much memory an agent sees, validated here.

use serde::{Deserialize, de::IgnoredAny};
use utoipa::ToSchema;

use crate::{
    error::ApiResult,
    validate::{Problems, length_between},
};

/// Default `maxContextChunks`.
pub const DEFAULT_MAX_CONTEXT_CHUNKS: i64 = 20;

/// A memory profile as submitted (create and full replace); absent fields take defaults.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemoryProfileIn {
    /// 1–100 characters, unique in the workspace.
    pub name: Option<String>,
    /// Up to 1000 characters.
    pub description: Option<String>,
    /// Which memory tiers are used (each defaults to true).
    pub tiers_enabled: Option<TiersIn>,
    /// 1–3650 days, or null for no expiry.
    pub ttl_days: Option<i64>,
    /// 1–100 (default 20).
    pub max_context_chunks: Option<i64>,
    /// 0–1 on normalised scores (default 0).
    pub min_relevance_score: Option<f64>,
    /// Up to 10 000 characters appended to the system prompt.
    pub system_prompt_suffix: Option<String>,
    // Read-only response fields, accepted and ignored so a fetched profile can be sent back.
    #[schema(ignore)]
    #[serde(default)]
    #[allow(dead_code)]
    id: Option<IgnoredAny>,
    #[schema(ignore)]
    #[serde(default)]
    #[allow(dead_code)]
    workspace_id: Option<IgnoredAny>,
    #[schema(ignore)]
    #[serde(default)]
    #[allow(dead_code)]
    created_by: Option<IgnoredAny>,
    #[schema(ignore)]
    #[serde(default)]
    #[allow(dead_code)]
    created_at: Option<IgnoredAny>,
    #[schema(ignore)]
    #[serde(default)]
    #[allow(dead_code)]
    updated_at: Option<IgnoredAny>,
}

/// `tiersEnabled` as submitted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TiersIn {
    /// Current-session messages.
    pub session: Option<bool>,
    /// Daily memory entries.
    pub daily: Option<bool>,
    /// The long-term user profile.
    pub profile: Option<bool>,
    /// Strategic notes.
    pub notes: Option<bool>,
}

/// A validated memory profile (without its identity and timestamps).
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryProfileSpec {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `[session, daily, profile, notes]`.
    pub tiers: [bool; 4],
    /// Expiry in days, `None` = never.
    pub ttl_days: Option<i64>,
    /// Most chunks in context.
    pub max_context_chunks: i64,
    /// Minimum normalised relevance.
    pub min_relevance_score: f64,
    /// Prompt suffix.
    pub system_prompt_suffix: String,
}

impl MemoryProfileIn {
    /// Validates every field and range, applying defaults.
    pub fn validate(self) -> ApiResult<MemoryProfileSpec> {
        let mut p = Problems::new();
        let name = self
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .to_string();
        p.check(
            !length_between(&name, 1, 100),
            "name",
            "must be 1-100 characters",
        );
        let description = self.description.unwrap_or_default();
        p.check(
            !length_between(&description, 0, 1000),
            "description",
            "must be at most 1000 characters",
        );
        let tiers = self.tiers_enabled.unwrap_or_default();
        let tiers =
            [tiers.session, tiers.daily, tiers.profile, tiers.notes].map(|t| t.unwrap_or(true));
        p.check(
            self.ttl_days.is_some_and(|d| !(1..=3650).contains(&d)),
            "ttlDays",
            "must be 1-3650 or null",
        );
        let max_context_chunks = self
            .max_context_chunks
            .unwrap_or(DEFAULT_MAX_CONTEXT_CHUNKS);
        p.check(
            !(1..=100).contains(&max_context_chunks),
            "maxContextChunks",
            "must be 1-100",
        );
        let min_relevance_score = self.min_relevance_score.unwrap_or(0.0);
        p.check(
            !(0.0..=1.0).contains(&min_relevance_score),
            "minRelevanceScore",
            "must be between 0 and 1",
        );
        let system_prompt_suffix = self.system_prompt_suffix.unwrap_or_default();
        p.check(
            !length_between(&system_prompt_suffix, 0, 10_000),
            "systemPromptSuffix",
            "must be at most 10000 characters",
        );
        p.finish()?;
        Ok(MemoryProfileSpec {
            name,
            description,
            tiers,
            ttl_days: self.ttl_days,
            max_context_chunks,
            min_relevance_score,
            system_prompt_suffix,
        })
    }
}
