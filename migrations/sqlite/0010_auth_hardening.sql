-- Refresh-token families revoked by a replay or a logout. Checked on every refresh, so a token
-- issued into a family concurrently with its revocation is still unusable.
CREATE TABLE revoked_token_families (
    family_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    revoked_at TEXT NOT NULL
);
CREATE INDEX revoked_token_families_at ON revoked_token_families(revoked_at);

-- Old failed logins are pruned by time.
CREATE INDEX login_failures_at ON login_failures(failed_at);
