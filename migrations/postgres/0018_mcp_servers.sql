-- Workspace MCP servers (issue #16): remote servers over streamable HTTP whose tools the
-- workspace's agents may call. Headers (authorization and the like) are stored only sealed
-- (AES-256-GCM, src/credentials/cipher.rs) as one JSON object; header_names lists their names
-- so they can be shown without being opened.
CREATE TABLE mcp_servers (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    header_names TEXT NOT NULL,
    headers_ciphertext TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
