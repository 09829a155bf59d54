-- Operations: full-text search over messages, session listing, cost aggregation, diagnostics.

-- Full-text search: a GIN index on the 'simple' configuration (no stemming, language
-- neutral). Queries must repeat this exact expression to use it. The length cap keeps a huge
-- tool result from exceeding the 1 MB tsvector limit and failing the insert.
CREATE INDEX messages_content_fts ON messages
    USING GIN (to_tsvector('simple', left(content, 100000)));

-- GET /sessions: the caller's sessions, newest activity first.
CREATE INDEX sessions_user_activity ON sessions(user_id, last_active_at);

-- Cost reports scan a workspace's usage over a date range and group by day, provider, model
-- and agent: a covering index lets them run as index-only scans over 10^6 rows.
DROP INDEX usage_records_workspace;
CREATE INDEX usage_records_workspace_cover ON usage_records(workspace_id, created_at)
    INCLUDE (provider, model, agent_id, prompt_tokens, completion_tokens, cost_usd);

-- Diagnostics error rate: recent traces by start time.
CREATE INDEX traces_started ON traces(started_at);

CREATE TABLE diagnostic_runs (
    id TEXT PRIMARY KEY,
    ok BOOLEAN NOT NULL,
    checks JSONB NOT NULL,
    duration_ms BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX diagnostic_runs_created ON diagnostic_runs(created_at);
