//! HTTP wiring: routes, GraphQL over HTTP, health checks, tracing, shutdown.

use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;

use crate::db::Database;
use crate::domain::Stage;
use crate::graphql::{self, BeaconSchema, build_schema};

#[derive(Clone)]
pub struct AppState {
    pub schema: BeaconSchema,
    pub database: Database,
    pub graphiql: bool,
}

impl AppState {
    pub fn new(database: Database, graphiql: bool) -> Self {
        AppState {
            schema: build_schema(Some(database.pool.clone())),
            database,
            graphiql,
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn execute(state: &AppState, request: async_graphql::Request) -> GraphQLResponse {
    // Until identities exist every request is anonymous: published content only.
    let stage = Stage::Published;
    graphql::execute(&state.schema, &state.database.pool, stage, request)
        .await
        .into()
}

async fn graphql_post(State(state): State<AppState>, request: GraphQLRequest) -> GraphQLResponse {
    execute(&state, request.into_inner()).await
}

/// Browsers get GraphiQL; programs send the query in the URL.
async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && state.graphiql {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    let parsed = query
        .as_deref()
        .filter(|query| !query.is_empty())
        .map(async_graphql::http::parse_query_string);
    match parsed {
        Some(Ok(request)) => execute(&state, request).await.into_response(),
        Some(Err(error)) => bad_request(&format!("malformed GraphQL request: {error}")),
        None => bad_request(
            "send a GraphQL query: GET /graphql?query=… or POST /graphql with a JSON body",
        ),
    }
}

fn bad_request(message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": "BAD_REQUEST" } }]
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers and every migration is applied.
async fn readyz(State(state): State<AppState>) -> Response {
    let check = tokio::time::timeout(Duration::from_secs(5), state.database.migrations_applied());
    match check.await {
        Ok(Ok(true)) => (StatusCode::OK, "ready").into_response(),
        Ok(Ok(false)) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending").into_response(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out").into_response(),
    }
}

/// Serves until Ctrl-C or SIGTERM, then finishes in-flight requests.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
