-- Grants need the receiving workspace's consent: pending → active (accepted) or declined.
-- Rows created before this migration were made under the old rules (effective at once), so
-- they stay in effect as `active`; new grants are written `pending` by the gateway.
ALTER TABLE agent_grants ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('pending', 'active', 'declined'));
ALTER TABLE agent_grants ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE agent_grants ADD COLUMN responded_by TEXT;
ALTER TABLE agent_grants ADD COLUMN responded_at TIMESTAMPTZ;
CREATE INDEX agent_grants_incoming ON agent_grants(receiving_workspace_id, status, created_at);
