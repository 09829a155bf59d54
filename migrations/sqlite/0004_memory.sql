-- Memory: the long-term profile, daily entries and strategic notes of a user in a workspace, and
-- one searchable chunk table over them and the user's session messages. Triggers keep the chunks
-- in step with their sources and the FTS5 index in step with the chunks.
CREATE TABLE memory_user_profiles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    profile TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, workspace_id)
);

-- Daily entries (tier 'daily', addressed by day + idx) and notes (tier 'note', addressed by idx).
CREATE TABLE memory_entries (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    tier TEXT NOT NULL,
    day TEXT NOT NULL,
    idx INTEGER NOT NULL,
    content TEXT NOT NULL,
    source TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX memory_entries_daily ON memory_entries(user_id, workspace_id, day, idx) WHERE tier = 'daily';
CREATE UNIQUE INDEX memory_entries_note ON memory_entries(user_id, workspace_id, idx) WHERE tier = 'note';
CREATE INDEX memory_entries_age ON memory_entries(workspace_id, tier, created_at);

-- The next index per scope ('note' or 'daily:YYYY-MM-DD'), so indices are never reused.
CREATE TABLE memory_counters (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    next_index INTEGER NOT NULL,
    PRIMARY KEY (user_id, workspace_id, scope)
);

CREATE TABLE memory_chunks (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    tier TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    content TEXT NOT NULL,
    day TEXT,
    idx INTEGER,
    session_id TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX memory_chunks_owner ON memory_chunks(user_id, workspace_id, tier);
CREATE INDEX memory_chunks_ref ON memory_chunks(tier, ref_id);

CREATE VIRTUAL TABLE memory_chunks_fts USING fts5(
    content, content = 'memory_chunks', content_rowid = 'id', tokenize = 'porter unicode61'
);

CREATE TRIGGER memory_chunks_ai AFTER INSERT ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER memory_chunks_ad AFTER DELETE ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (memory_chunks_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER memory_chunks_au AFTER UPDATE ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (memory_chunks_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO memory_chunks_fts (rowid, content) VALUES (new.id, new.content);
END;

CREATE TRIGGER memory_entries_ai AFTER INSERT ON memory_entries BEGIN
    INSERT INTO memory_chunks (user_id, workspace_id, tier, ref_id, content, day, idx, created_at)
    VALUES (new.user_id, new.workspace_id, new.tier, new.id, new.content,
            CASE WHEN new.tier = 'daily' THEN new.day END, new.idx, new.created_at);
END;
CREATE TRIGGER memory_entries_ad AFTER DELETE ON memory_entries BEGIN
    DELETE FROM memory_chunks WHERE tier = old.tier AND ref_id = old.id;
END;

-- One chunk per top-level profile key: "key: value".
CREATE TRIGGER memory_user_profiles_ai AFTER INSERT ON memory_user_profiles BEGIN
    INSERT INTO memory_chunks (user_id, workspace_id, tier, ref_id, content, created_at)
    SELECT new.user_id, new.workspace_id, 'profile', j.key,
           j.key || ': ' || CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                                        ELSE CAST(j.value AS TEXT) END,
           new.updated_at
    FROM json_each(new.profile) j WHERE j.type <> 'null';
END;
CREATE TRIGGER memory_user_profiles_au AFTER UPDATE ON memory_user_profiles BEGIN
    DELETE FROM memory_chunks WHERE user_id = old.user_id AND workspace_id = old.workspace_id AND tier = 'profile';
    INSERT INTO memory_chunks (user_id, workspace_id, tier, ref_id, content, created_at)
    SELECT new.user_id, new.workspace_id, 'profile', j.key,
           j.key || ': ' || CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                                        ELSE CAST(j.value AS TEXT) END,
           new.updated_at
    FROM json_each(new.profile) j WHERE j.type <> 'null';
END;
CREATE TRIGGER memory_user_profiles_ad AFTER DELETE ON memory_user_profiles BEGIN
    DELETE FROM memory_chunks WHERE user_id = old.user_id AND workspace_id = old.workspace_id AND tier = 'profile';
END;

-- User and assistant text of every session is searchable as the 'session' tier.
CREATE TRIGGER messages_memory_ai AFTER INSERT ON messages
WHEN new.role IN ('user', 'assistant') AND new.content <> '' BEGIN
    INSERT INTO memory_chunks (user_id, workspace_id, tier, ref_id, content, session_id, created_at)
    SELECT s.user_id, s.workspace_id, 'session', new.id, new.content, new.session_id, new.created_at
    FROM sessions s WHERE s.id = new.session_id;
END;
CREATE TRIGGER messages_memory_ad AFTER DELETE ON messages BEGIN
    DELETE FROM memory_chunks WHERE tier = 'session' AND ref_id = old.id;
END;

INSERT INTO memory_chunks (user_id, workspace_id, tier, ref_id, content, session_id, created_at)
SELECT s.user_id, s.workspace_id, 'session', m.id, m.content, m.session_id, m.created_at
FROM messages m JOIN sessions s ON s.id = m.session_id
WHERE m.role IN ('user', 'assistant') AND m.content <> '';
