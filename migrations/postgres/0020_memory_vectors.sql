-- Semantic memory: one embedding per memory chunk (compact little-endian f32 bytea with its
-- dimension and the id of the embedder that wrote it), and the queue of chunks waiting for the
-- background batcher. A trigger enqueues every new chunk; deleting a chunk deletes its vector and
-- its queue row (foreign keys).
CREATE TABLE memory_vectors (
    chunk_id BIGINT PRIMARY KEY REFERENCES memory_chunks(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    embedder TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vec BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX memory_vectors_owner ON memory_vectors(user_id, workspace_id, embedder, chunk_id);

CREATE TABLE memory_embed_queue (
    chunk_id BIGINT PRIMARY KEY REFERENCES memory_chunks(id) ON DELETE CASCADE,
    queued_at TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION memory_chunks_embed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO memory_embed_queue (chunk_id, queued_at) VALUES (NEW.id, now());
    RETURN NEW;
END $$;
CREATE TRIGGER memory_chunks_embed AFTER INSERT ON memory_chunks
    FOR EACH ROW EXECUTE FUNCTION memory_chunks_embed();

INSERT INTO memory_embed_queue (chunk_id, queued_at) SELECT id, now() FROM memory_chunks;
