-- Long-lived API keys for servers and SDKs. Only the SHA-256 of a key is stored (keys are 256
-- random bits, so a fast hash is enough); `prefix` is the first characters, shown to tell keys
-- apart. A revoked key's row is deleted, so a lookup by hash finds nothing.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
