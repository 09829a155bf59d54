-- Agents with their version history, memory profiles, onboarding runs and skill metrics.
CREATE TABLE memory_profiles (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    tier_session BOOLEAN NOT NULL,
    tier_daily BOOLEAN NOT NULL,
    tier_profile BOOLEAN NOT NULL,
    tier_notes BOOLEAN NOT NULL,
    ttl_days BIGINT,
    max_context_chunks BIGINT NOT NULL,
    min_relevance_score DOUBLE PRECISION NOT NULL,
    system_prompt_suffix TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE INDEX memory_profiles_workspace ON memory_profiles(workspace_id, created_at);

CREATE TABLE agents (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    config JSONB NOT NULL,
    version BIGINT NOT NULL,
    memory_profile_id TEXT REFERENCES memory_profiles(id),
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX agents_id ON agents(id);
CREATE INDEX agents_memory_profile ON agents(memory_profile_id);

CREATE TABLE agent_versions (
    workspace_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    config JSONB NOT NULL,
    label TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, agent_id, version),
    FOREIGN KEY (workspace_id, agent_id) REFERENCES agents(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE onboarding_runs (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE skill_metrics (
    id TEXT PRIMARY KEY,
    skill_id TEXT NOT NULL,
    tool_name TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    error BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX skill_metrics_skill ON skill_metrics(skill_id, created_at);
