-- Background workers: webhooks with their delivery outbox, the job queue, heartbeat monitors.
-- Every worker claims rows atomically (FOR UPDATE SKIP LOCKED here), and a claim is a lease
-- (`locked_until`): a replica that dies mid-item leaves it to be reclaimed once the lease ends.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    events JSONB NOT NULL,
    description TEXT,
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_user ON webhooks(user_id, created_at);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    response_status BIGINT,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, created_at);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    job_type TEXT NOT NULL,
    payload JSONB NOT NULL,
    status TEXT NOT NULL,
    max_retries BIGINT NOT NULL,
    timeout_seconds BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    run_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    result JSONB,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ
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
    interval_minutes BIGINT NOT NULL,
    enabled BOOLEAN NOT NULL,
    config JSONB NOT NULL,
    next_run_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    last_status TEXT,
    last_run_at TIMESTAMPTZ,
    seen JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX heartbeat_monitors_due ON heartbeat_monitors(enabled, next_run_at);
CREATE INDEX heartbeat_monitors_workspace ON heartbeat_monitors(workspace_id, created_at);

CREATE TABLE heartbeat_runs (
    id TEXT PRIMARY KEY,
    monitor_id TEXT NOT NULL REFERENCES heartbeat_monitors(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    latency_ms BIGINT NOT NULL,
    detail JSONB NOT NULL,
    started_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX heartbeat_runs_monitor ON heartbeat_runs(monitor_id, started_at);
