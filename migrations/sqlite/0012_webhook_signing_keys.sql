-- The key each user's `webhookUrl` chat replies are signed with (one per user, created on first
-- need, replaced on rotation). A signing key must be readable to sign, so it is stored as is,
-- like the per-webhook secrets.
CREATE TABLE webhook_signing_keys (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);
