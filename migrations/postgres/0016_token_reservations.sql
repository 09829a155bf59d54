-- Budget reservations (issue #12): a turn reserves an estimate of its tokens before it runs and
-- the reservation is removed in the turn's own transaction, which adds the real tokens to
-- user_monthly_tokens. Live reservations count against the budget, so concurrent turns cannot
-- all pass the check; one left by a crashed process stops counting at expires_at.
CREATE TABLE token_reservations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    tokens BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX token_reservations_user ON token_reservations(user_id, expires_at);
