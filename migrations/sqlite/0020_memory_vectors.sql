-- Semantic memory: one embedding per memory chunk (compact little-endian f32 BLOB with its
-- dimension and the id of the embedder that wrote it), and the queue of chunks waiting for the
-- background batcher. A trigger enqueues every new chunk; deleting a chunk deletes its vector and
-- its queue row (foreign keys).
CREATE TABLE memory_vectors (
    chunk_id INTEGER PRIMARY KEY REFERENCES memory_chunks(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    embedder TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vec BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX memory_vectors_owner ON memory_vectors(user_id, workspace_id, embedder, chunk_id);

CREATE TABLE memory_embed_queue (
    chunk_id INTEGER PRIMARY KEY REFERENCES memory_chunks(id) ON DELETE CASCADE,
    queued_at TEXT NOT NULL
);

CREATE TRIGGER memory_chunks_embed AFTER INSERT ON memory_chunks BEGIN
    INSERT INTO memory_embed_queue (chunk_id, queued_at)
    VALUES (new.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;

INSERT INTO memory_embed_queue (chunk_id, queued_at)
SELECT id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM memory_chunks;
