//! The id of the request a task is serving, kept in a task-local.
//!
//! The HTTP middleware (`http::request_id`) opens the scope; error bodies and turn records
//! read it through [`current`]. It sits below `error.rs` so the error type does not depend on
//! the HTTP layer.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served by this task, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `fut` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}
