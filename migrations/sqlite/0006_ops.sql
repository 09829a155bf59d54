-- Operations: full-text search over messages, session listing, cost aggregation, diagnostics.

-- External-content FTS5 index over messages.content, keyed by the messages rowid and kept in
-- sync by triggers (the text is stored once, in messages).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

-- GET /sessions: the caller's sessions, newest activity first.
CREATE INDEX sessions_user_activity ON sessions(user_id, last_active_at);

-- Cost reports scan a workspace's usage over a date range and group by day, provider, model
-- and agent: a covering index answers them from the index alone (no table lookups), which
-- keeps a year of a busy workspace (10^6 rows) to one sequential index range scan.
DROP INDEX usage_records_workspace;
CREATE INDEX usage_records_workspace_cover ON usage_records(
    workspace_id, created_at, provider, model, agent_id, prompt_tokens, completion_tokens, cost_usd
);

-- Diagnostics error rate: recent traces by start time.
CREATE INDEX traces_started ON traces(started_at);

CREATE TABLE diagnostic_runs (
    id TEXT PRIMARY KEY,
    ok BOOLEAN NOT NULL,
    checks TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX diagnostic_runs_created ON diagnostic_runs(created_at);
