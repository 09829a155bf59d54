-- `webhookUrl` chat replies as outbox rows (issue #12): the row is written in the transaction
-- that records the turn, so a recorded reply is delivered at least once whatever happens to the
-- process; the webhook delivery worker claims it with a lease (`locked_until`) and retries it
-- like a webhook delivery. The id (`whd_…`, made when the turn is planned and answered in the
-- 202) is the `webhook-id` of every attempt. Signed with the owner's reply key, read at send time.
CREATE TABLE reply_deliveries (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    url TEXT NOT NULL,
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
CREATE INDEX reply_deliveries_due ON reply_deliveries(status, next_attempt_at);
CREATE INDEX reply_deliveries_user ON reply_deliveries(user_id, created_at);
