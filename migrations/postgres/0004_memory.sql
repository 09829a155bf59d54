-- Memory: the long-term profile, daily entries and strategic notes of a user in a workspace, and
-- one searchable chunk table over them and the user's session messages. Triggers keep the chunks
-- in step with their sources; a generated tsvector column with a GIN index makes them searchable.
CREATE TABLE memory_user_profiles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    profile JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, workspace_id)
);

-- Daily entries (tier 'daily', addressed by day + idx) and notes (tier 'note', addressed by idx).
CREATE TABLE memory_entries (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    tier TEXT NOT NULL,
    day TEXT NOT NULL,
    idx BIGINT NOT NULL,
    content TEXT NOT NULL,
    source TEXT NOT NULL,
    tags JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX memory_entries_daily ON memory_entries(user_id, workspace_id, day, idx) WHERE tier = 'daily';
CREATE UNIQUE INDEX memory_entries_note ON memory_entries(user_id, workspace_id, idx) WHERE tier = 'note';
CREATE INDEX memory_entries_age ON memory_entries(workspace_id, tier, created_at);

-- The next index per scope ('note' or 'daily:YYYY-MM-DD'), so indices are never reused.
CREATE TABLE memory_counters (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    next_index BIGINT NOT NULL,
    PRIMARY KEY (user_id, workspace_id, scope)
);

CREATE TABLE memory_chunks (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    tier TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    content TEXT NOT NULL,
    day TEXT,
    idx BIGINT,
    session_id TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED
);
CREATE INDEX memory_chunks_owner ON memory_chunks(user_id, workspace_id, tier);
CREATE INDEX memory_chunks_ref ON memory_chunks(tier, ref_id);
CREATE INDEX memory_chunks_tsv ON memory_chunks USING GIN (tsv);

CREATE FUNCTION memory_entries_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO memory_chunks (user_id, workspace_id, tier, ref_id, content, day, idx, created_at)
        VALUES (NEW.user_id, NEW.workspace_id, NEW.tier, NEW.id, NEW.content,
                CASE WHEN NEW.tier = 'daily' THEN NEW.day END, NEW.idx, NEW.created_at);
        RETURN NEW;
    END IF;
    DELETE FROM memory_chunks WHERE tier = OLD.tier AND ref_id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER memory_entries_sync AFTER INSERT OR DELETE ON memory_entries
    FOR EACH ROW EXECUTE FUNCTION memory_entries_sync();

-- One chunk per top-level profile key: "key: value".
CREATE FUNCTION memory_user_profiles_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM memory_chunks
        WHERE user_id = OLD.user_id AND workspace_id = OLD.workspace_id AND tier = 'profile';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO memory_chunks (user_id, workspace_id, tier, ref_id, content, created_at)
        SELECT NEW.user_id, NEW.workspace_id, 'profile', j.key, j.key || ': ' || j.value, NEW.updated_at
        FROM jsonb_each_text(NEW.profile) j WHERE j.value IS NOT NULL;
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER memory_user_profiles_sync AFTER INSERT OR UPDATE OR DELETE ON memory_user_profiles
    FOR EACH ROW EXECUTE FUNCTION memory_user_profiles_sync();

-- User and assistant text of every session is searchable as the 'session' tier.
CREATE FUNCTION messages_memory_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.role IN ('user', 'assistant') AND NEW.content <> '' THEN
            INSERT INTO memory_chunks (user_id, workspace_id, tier, ref_id, content, session_id, created_at)
            SELECT s.user_id, s.workspace_id, 'session', NEW.id, NEW.content, NEW.session_id, NEW.created_at
            FROM sessions s WHERE s.id = NEW.session_id;
        END IF;
        RETURN NEW;
    END IF;
    DELETE FROM memory_chunks WHERE tier = 'session' AND ref_id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER messages_memory_sync AFTER INSERT OR DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_memory_sync();

INSERT INTO memory_chunks (user_id, workspace_id, tier, ref_id, content, session_id, created_at)
SELECT s.user_id, s.workspace_id, 'session', m.id, m.content, m.session_id, m.created_at
FROM messages m JOIN sessions s ON s.id = m.session_id
WHERE m.role IN ('user', 'assistant') AND m.content <> '';
