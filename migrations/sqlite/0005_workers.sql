-- Background workers: webhooks with their delivery outbox, the job queue, heartbeat monitors.
-- Every worker claims rows atomically (one UPDATE … RETURNING; SQLite has one writer), and a claim is a lease
-- (`locked_until`): a replica that dies mid-item leaves it to be reclaimed once the lease ends.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhooks_user ON webhooks(user_id, created_at);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    locked_until TEXT,
    response_status INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, created_at);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    job_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    max_retries INTEGER NOT NULL,
    timeout_seconds INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    run_at TEXT NOT NULL,
    locked_until TEXT,
    result TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX jobs_due ON jobs(status, run_at);
CREATE INDEX jobs_workspace ON jobs(workspace_id, created_at);

CREATE TABLE heartbeat_monitors (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    monitor_type TEXT NOT NULL,
    url TEXT NOT NULL,
    interval_minutes INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL,
    config TEXT NOT NULL,
    next_run_at TEXT NOT NULL,
    locked_until TEXT,
    last_status TEXT,
    last_run_at TEXT,
    seen TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX heartbeat_monitors_due ON heartbeat_monitors(enabled, next_run_at);
CREATE INDEX heartbeat_monitors_workspace ON heartbeat_monitors(workspace_id, created_at);

CREATE TABLE heartbeat_runs (
    id TEXT PRIMARY KEY,
    monitor_id TEXT NOT NULL REFERENCES heartbeat_monitors(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    latency_ms INTEGER NOT NULL,
    detail TEXT NOT NULL,
    started_at TEXT NOT NULL
);
CREATE INDEX heartbeat_runs_monitor ON heartbeat_runs(monitor_id, started_at);
