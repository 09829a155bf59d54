//! Reads behind the `/traces*` routes: a workspace's recorded agent turns, as summaries, in
//! full, or as OTLP spans ([`spans`], [`otlp`]); and the OTLP/HTTP exporter ([`export`]) that
//! sends the same spans of every finished turn to a collector. Traces are written by the turn
//! itself (`chat::record`).

mod detail;
pub mod export;
pub mod otlp;
pub mod spans;

use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    store::{Store, TraceRow},
};

/// One page of the workspace's traces (without `detail`) (of one agent when given), newest first;
/// with the total.
pub async fn list(
    store: &Store,
    workspace_id: &str,
    agent_id: Option<&str>,
    page: Page,
) -> ApiResult<(Vec<TraceRow>, i64)> {
    Ok(store
        .traces()
        .list_traces(workspace_id, agent_id, page.limit, page.offset)
        .await?)
}

/// A trace of the workspace in full; traces of other workspaces are not found.
pub async fn get(store: &Store, workspace_id: &str, id: &str) -> ApiResult<TraceRow> {
    store
        .traces()
        .trace_in(workspace_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Trace"))
}

/// A trace of the workspace as an OTLP/JSON export request (the same spans the exporter
/// sends); traces of other workspaces are not found.
pub async fn get_otlp(
    store: &Store,
    workspace_id: &str,
    id: &str,
) -> ApiResult<otlp::ExportTraceServiceRequest> {
    let trace = get(store, workspace_id, id).await?;
    Ok(otlp::ExportTraceServiceRequest::of(spans::of(&trace)))
}
