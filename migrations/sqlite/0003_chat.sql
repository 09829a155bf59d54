-- Chat: session summaries (compaction), traces, idempotency keys, monthly token counters.
ALTER TABLE sessions ADD COLUMN summary_until TEXT;

CREATE TABLE traces (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT,
    request_id TEXT,
    status TEXT NOT NULL,
    error TEXT,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    duration_ms INTEGER NOT NULL,
    detail TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL
);
CREATE INDEX traces_workspace ON traces(workspace_id, started_at);
CREATE INDEX traces_agent ON traces(workspace_id, agent_id, started_at);

CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);

CREATE TABLE user_monthly_tokens (
    user_id TEXT NOT NULL,
    month TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    PRIMARY KEY (user_id, month)
);
