//! Seeing what the server does: the request id every log line, audit
//! entry and error carries, and `GET /metrics`.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::{AppState, REQUEST_ID};

tokio::task_local! {
    static CURRENT_REQUEST_ID: String;
}

/// The id of the request being answered on this task, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok()
}

/// Gives every request an id (the caller's when it sent a sensible one,
/// say a proxy's, so logs line up across systems), runs it inside a span
/// carrying the id, and returns the id in `x-request-id`.
pub async fn request_context(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let value = HeaderValue::from_str(&id).expect("checked to be visible ASCII");
    request.headers_mut().insert(REQUEST_ID, value.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut response = CURRENT_REQUEST_ID
        .scope(id, next.run(request).instrument(span))
        .await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

/// Prometheus text format: this server's figures, its pool, and the
/// cluster-wide outbox backlog and seed runs read from PostgreSQL.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = &state.runtime.metrics;
    let status = state.database.pool.status();
    metrics.set_pool(status.size, status.available, status.waiting);
    let cluster = tokio::time::timeout(Duration::from_secs(2), cluster_figures(&state));
    match cluster.await {
        Ok(Ok((pending, seed_runs))) => metrics.set_cluster_figures(pending, &seed_runs),
        Ok(Err(error)) => tracing::warn!(%error, "metrics: cluster figures unavailable"),
        Err(_) => tracing::warn!("metrics: cluster figures timed out"),
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

async fn cluster_figures(state: &AppState) -> anyhow::Result<(i64, Vec<(String, i64)>)> {
    let mut conn = state.database.connection().await?;
    let pending = crate::db::outbox::pending_deliveries(&mut conn).await?;
    let seed_runs = crate::db::seed_runs::count_by_outcome(&mut conn).await?;
    Ok((pending, seed_runs))
}
