-- Workspace-scoped provider keys. The key is stored only encrypted (AES-256-GCM, see
-- src/credentials/cipher.rs); nothing in this table is ever returned in clear.
CREATE TABLE provider_credentials (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    base_url TEXT,
    secret_ciphertext TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE INDEX provider_credentials_workspace ON provider_credentials(workspace_id, created_at);
