-- Retention: the periodic prune deletes old rows in bounded batches by these timestamps.
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys(created_at);
CREATE INDEX IF NOT EXISTS refresh_tokens_expires ON refresh_tokens(expires_at);
CREATE INDEX IF NOT EXISTS heartbeat_runs_started ON heartbeat_runs(started_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_created ON webhook_deliveries(created_at);
CREATE INDEX IF NOT EXISTS login_failures_failed ON login_failures(failed_at);
CREATE INDEX IF NOT EXISTS audit_log_created ON audit_log(created_at);
