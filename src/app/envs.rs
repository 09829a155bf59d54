//! The narrow environments features take, built from the [`AppState`] (and the store's
//! connection options from the [`Config`]). They live here, at the composition root, so the
//! features need not import `app`, and `python3 .ci/module_cycles.py --check` keeps them acyclic.

use sqlx::sqlite::SqliteSynchronous;

use super::AppState;
use crate::{
    admin::HealthEnv,
    agents::AgentEnv,
    chat::turn::TurnEnv,
    config::{Config, SqliteSync},
    diagnostics::DiagnosticsEnv,
    store::ConnectOptions,
};

impl<'a> From<&'a AppState> for HealthEnv<'a> {
    fn from(state: &'a AppState) -> Self {
        Self {
            store: &state.store,
            started_at: state.started_at,
            presence: &state.presence,
            open_streams: &state.open_streams,
            tools: &state.tools,
            skills: &state.skills,
            globals: &state.global_agents,
            replica_id: &state.config.cluster.replica_id,
            redis: state.redis.as_deref(),
        }
    }
}

impl<'a> From<&'a AppState> for AgentEnv<'a> {
    fn from(state: &'a AppState) -> Self {
        Self {
            store: &state.store,
            globals: &state.global_agents,
            skills: &state.skills,
            tools: &state.tools,
            providers: &state.providers,
            mcp: &state.mcp,
        }
    }
}

impl<'a> From<&'a AppState> for TurnEnv<'a> {
    fn from(state: &'a AppState) -> Self {
        Self {
            store: &state.store,
            config: &state.config,
            globals: &state.global_agents,
            skills: &state.skills,
            tools: &state.tools,
            cipher: &state.cipher,
            ip_limiter: &state.ip_limiter,
            user_limiter: &state.user_limiter,
            providers: &state.providers,
            pricing: &state.pricing,
            tool_cache: &state.tool_cache,
            presence: &state.presence,
            tasks: &state.tasks,
            in_flight: &state.in_flight,
            shutdown: &state.shutdown,
            otlp: &state.otlp,
            mcp: &state.mcp,
        }
    }
}

impl From<&Config> for ConnectOptions {
    fn from(config: &Config) -> Self {
        Self {
            url: config.database_url.clone(),
            sqlite_path: config.sqlite_path(),
            max_connections: config.db_max_connections,
            acquire_timeout: config.db_acquire_timeout,
            sqlite_synchronous: match config.sqlite_synchronous {
                SqliteSync::Off => SqliteSynchronous::Off,
                SqliteSync::Normal => SqliteSynchronous::Normal,
                SqliteSync::Full => SqliteSynchronous::Full,
                SqliteSync::Extra => SqliteSynchronous::Extra,
            },
            turn_batch: config.turn_writer_batch,
        }
    }
}

impl<'a> From<&'a AppState> for DiagnosticsEnv<'a> {
    fn from(state: &'a AppState) -> Self {
        Self {
            store: &state.store,
            providers: &state.providers,
            tools: &state.tools,
            skills: &state.skills,
            default_provider: &state.config.default_provider,
            data_dir: &state.config.data_dir,
        }
    }
}
