-- A turn's memory context reads the newest chunks of a user in a workspace.
CREATE INDEX memory_chunks_recent ON memory_chunks(user_id, workspace_id, created_at);
