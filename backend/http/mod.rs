//! HTTP wiring: routes, GraphQL over HTTP, health checks, tracing, shutdown.

mod auth;

use auth::PeerAddress;

use std::net::SocketAddr;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;

use crate::db::Database;
use crate::editorial::Editorial;
use crate::graphql::{self, BeaconSchema, Services, build_schema};
use crate::identity::Identity;

#[derive(Clone)]
pub struct AppState {
    pub schema: BeaconSchema,
    pub database: Database,
    pub identity: Identity,
    pub graphiql: bool,
}

impl AppState {
    pub fn new(
        database: Database,
        identity: Identity,
        editorial: Editorial,
        graphiql: bool,
    ) -> Self {
        AppState {
            schema: build_schema(Some(Services {
                pool: database.pool.clone(),
                identity: identity.clone(),
                editorial,
            })),
            database,
            identity,
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

/// Who is asking (from the bearer token), then the request itself. A bad
/// token is refused before anything runs.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    request: async_graphql::Request,
) -> Response {
    let request_id = request_id(headers);
    let mut http = match auth::viewer(state, headers, peer, &request_id).await {
        Ok(viewer) => answer(state, viewer, request).await,
        Err(refusal) => refusal,
    };
    // Refusals too: a client reporting a 401 can quote it.
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        http.headers_mut().insert(REQUEST_ID, value);
    }
    http
}

async fn answer(
    state: &AppState,
    viewer: graphql::Viewer,
    request: async_graphql::Request,
) -> Response {
    let response = graphql::execute(&state.schema, &state.database.pool, viewer, request).await;
    let retry_after = rate_limited(&response);
    let mut http = GraphQLResponse::from(response).into_response();
    if let Some(seconds) = retry_after {
        *http.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        http.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    http
}

const REQUEST_ID: &str = "x-request-id";

/// The caller's request id when it sent a sensible one (a proxy's, say),
/// so logs and the audit trail line up across systems; a new one otherwise.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// A request refused only for its rate (no data at all) answers 429 with
/// `Retry-After`, as clients and proxies expect.
fn rate_limited(response: &async_graphql::Response) -> Option<u64> {
    if !matches!(response.data, async_graphql::Value::Null) {
        return None;
    }
    response.errors.iter().find_map(|error| {
        let extensions = error.extensions.as_ref()?;
        let code = extensions.get("code")?;
        if *code != async_graphql::Value::from("RATE_LIMITED") {
            return None;
        }
        match extensions.get("retryAfter")? {
            async_graphql::Value::Number(seconds) => seconds.as_u64(),
            _ => None,
        }
    })
}

async fn graphql_post(
    State(state): State<AppState>,
    PeerAddress(peer): PeerAddress,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    execute(&state, &headers, peer, request.into_inner()).await
}

/// Browsers get GraphiQL; programs send the query in the URL.
async fn graphql_get(
    State(state): State<AppState>,
    PeerAddress(peer): PeerAddress,
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
        Some(Ok(request)) if is_mutation(&request) => {
            // GET must not change anything: links, prefetchers and caches
            // follow GETs.
            let mut refusal = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "BAD_REQUEST",
                "mutations must be sent with POST",
            );
            refusal
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            refusal
        }
        Some(Ok(request)) => execute(&state, &headers, peer, request).await,
        Some(Err(error)) => bad_request(&format!("malformed GraphQL request: {error}")),
        None => bad_request(
            "send a GraphQL query: GET /graphql?query=… or POST /graphql with a JSON body",
        ),
    }
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
}

/// A GraphQL-shaped error answer for requests refused before execution.
fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    (status, Json(body)).into_response()
}

/// Whether the operation the request would run is a mutation. A document
/// that does not parse is left to execution, which reports it properly.
fn is_mutation(request: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let wanted = request.operation_name.as_deref();
    match &document.operations {
        DocumentOperations::Single(operation) => operation.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(operations) => operations.iter().any(|(name, operation)| {
            wanted.is_none_or(|wanted| name.as_str() == wanted)
                && operation.node.ty == OperationType::Mutation
        }),
    }
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
    // Peer addresses feed sign-in throttling per client.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
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
