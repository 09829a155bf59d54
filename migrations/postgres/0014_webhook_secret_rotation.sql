-- Standard Webhooks secret rotation: the secret replaced by the last rotation keeps signing (next
-- to the new one) until `secret_rotated_at` + the overlap window (24 h by default).
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN secret_rotated_at TIMESTAMPTZ;
