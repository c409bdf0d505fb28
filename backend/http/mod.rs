//! HTTP wiring: routes, GraphQL over HTTP, health checks, tracing, shutdown.

mod admin;
pub mod answers;
mod assets;
mod auth;
pub mod cache;
mod endpoint;
mod graphiql;
mod media;
mod observe;
pub mod persisted;
pub mod protocol;
pub mod rate_limit;
mod subscriptions;
mod upload;

pub use observe::current_request_id;
pub use subscriptions::{SOCKETS_PER_ADDRESS, SUBSCRIPTIONS_PER_SOCKET};

use crate::graphql::error::ErrorCode;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::db::Database;
use crate::editorial::Editorial;
use crate::graphql::limits::{Limits, SchemaShape};
use crate::graphql::validated::ValidatedRequests;
use crate::graphql::{BeaconSchema, Pools, Services, build_prevalidated_schema, build_schema};
use crate::identity::Identity;
use persisted::PersistedQueries;
use rate_limit::{RateLimiter, RateLimits};

/// Everything the public endpoint enforces and offers. Defaults suit a
/// public API; `beacon serve` exposes each one.
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// Bounds on each request's document.
    pub limits: Limits,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Largest answer a request may get; larger ones are refused.
    pub max_response_bytes: usize,
    /// Largest batch (a JSON array of requests); 0 turns batching off.
    pub max_batch: usize,
    /// Longest a query may run before the client gets `TIMEOUT`.
    pub request_timeout: Duration,
    /// `max-age` of public GET answers.
    pub cache_max_age: Duration,
    /// Whether clients without credentials may introspect the schema.
    pub anonymous_introspection: bool,
    /// Whether clients without credentials get "did you mean" suggestions.
    pub anonymous_suggestions: bool,
    /// Serve GraphiQL to browsers on GET /graphql.
    pub graphiql: bool,
    /// Serve the editor app at /admin.
    pub admin: bool,
    /// Anonymous clients may run only registered operations.
    pub allow_list: bool,
    /// Automatic persisted queries kept per process; 0 turns APQ off.
    pub apq_cache_size: usize,
    /// Origins allowed to call from browsers (`*` for any); none when empty.
    pub cors_origins: Vec<String>,
    pub rate_limits: RateLimits,
    /// Proxies (load balancers, CDNs) whose `X-Forwarded-For` names the
    /// client, for rate limits and sign-in throttling.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Memory for the published-answer cache; 0 turns it off.
    pub response_cache_bytes: usize,
}

impl Default for EdgeSettings {
    fn default() -> Self {
        EdgeSettings {
            limits: Limits::default(),
            max_body_bytes: 1 << 20,
            max_response_bytes: 8 << 20,
            max_batch: 0,
            request_timeout: Duration::from_secs(10),
            cache_max_age: Duration::from_secs(60),
            anonymous_introspection: true,
            anonymous_suggestions: true,
            graphiql: true,
            admin: true,
            allow_list: false,
            apq_cache_size: 1000,
            cors_origins: Vec::new(),
            rate_limits: RateLimits::default(),
            trusted_proxies: Vec::new(),
            response_cache_bytes: answers::DEFAULT_CAPACITY,
        }
    }
}

/// What a server shares with its background work, besides the database.
#[derive(Clone, Default)]
pub struct Runtime {
    /// A replica for published reads.
    pub read_database: Option<Database>,
    /// Notifications from PostgreSQL (live preview).
    pub hub: crate::events::listener::Hub,
    pub metrics: crate::metrics::Metrics,
    /// Webhooks may point at private addresses (development, tests).
    pub allow_private_webhooks: bool,
    /// The published index.
    pub search: crate::search::SearchIndex,
    /// Uploaded files and their renditions.
    pub media: crate::media::Media,
}

#[derive(Clone)]
pub struct AppState {
    pub schema: BeaconSchema,
    /// The same schema without field suggestions, for anonymous clients
    /// when they are not to get them.
    quiet_schema: BeaconSchema,
    /// The same schema checking only what execution needs, for requests
    /// `validated` holds.
    prevalidated_schema: BeaconSchema,
    validated: Arc<ValidatedRequests>,
    /// The schema's shape, for costing requests before they run.
    shape: Arc<SchemaShape>,
    pub database: Database,
    pub identity: Identity,
    settings: Arc<EdgeSettings>,
    rate_limiter: Arc<RateLimiter>,
    persisted: Arc<PersistedQueries>,
    sockets: Arc<subscriptions::OpenSockets>,
    /// Answers to public reads, until published content changes.
    answers: Option<Arc<answers::AnswerCache>>,
    runtime: Runtime,
}

impl AppState {
    pub fn new(
        database: Database,
        identity: Identity,
        editorial: Editorial,
        settings: EdgeSettings,
    ) -> Self {
        Self::with_runtime(database, identity, editorial, settings, Runtime::default())
    }

    pub fn with_runtime(
        database: Database,
        identity: Identity,
        editorial: Editorial,
        settings: EdgeSettings,
        runtime: Runtime,
    ) -> Self {
        let services = || Services {
            pools: Pools {
                primary: database.pool.clone(),
                published: runtime
                    .read_database
                    .as_ref()
                    .map_or_else(|| database.pool.clone(), |replica| replica.pool.clone()),
            },
            identity: identity.clone(),
            editorial,
            hub: runtime.hub.clone(),
            metrics: runtime.metrics.clone(),
            allow_private_webhooks: runtime.allow_private_webhooks,
            search: runtime.search.clone(),
            media: runtime.media.clone(),
        };
        let schema = build_schema(Some(services()), true);
        // A replica does not carry the notifications that keep the cache
        // exact, and replays publishes later than they are announced.
        let answers =
            (settings.response_cache_bytes > 0 && runtime.read_database.is_none()).then(|| {
                Arc::new(answers::AnswerCache::new(
                    settings.response_cache_bytes,
                    runtime.hub.clone(),
                    runtime.metrics.clone(),
                ))
            });
        AppState {
            answers,
            shape: Arc::new(SchemaShape::from_sdl(&schema.sdl())),
            schema,
            quiet_schema: build_schema(Some(services()), false),
            prevalidated_schema: build_prevalidated_schema(services()),
            validated: Arc::default(),
            rate_limiter: Arc::new(RateLimiter::new(settings.rate_limits)),
            persisted: Arc::new(PersistedQueries::new(settings.apq_cache_size)),
            sockets: Arc::default(),
            settings: Arc::new(settings),
            database,
            identity,
            runtime,
        }
    }

    /// The schema's shape, whose list lengths the server measures.
    pub fn shape(&self) -> Arc<SchemaShape> {
        self.shape.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let cors = cors(&state.settings.cors_origins);
    let mut router = Router::new()
        .route("/graphql", get(endpoint::get).post(endpoint::post))
        .route("/media/{asset}/{sha256}/{file}", get(media::serve))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if state.settings.graphiql {
        router = router.route("/graphiql/{tag}/{file}", get(graphiql::asset));
    }
    if state.settings.admin {
        router = router.merge(admin::routes());
    }
    let router = router.with_state(state);
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(CatchPanicLayer::custom(panic_response))
        // Its events belong to the request's own span (request id, method,
        // path); a second span would repeat it with the whole query string.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|_: &axum::http::Request<_>| tracing::Span::none()),
        )
        // Outermost: every log line of a request, and every error in its
        // answer, carries its id.
        .layer(axum::middleware::from_fn(observe::request_context))
}

/// Browsers on the listed origins may call the API; the answer to a
/// preflight is cached by them for an hour.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::IF_NONE_MATCH,
                HeaderName::from_static(REQUEST_ID),
            ])
            .expose_headers([
                header::ETAG,
                header::RETRY_AFTER,
                HeaderName::from_static(REQUEST_ID),
            ])
            .max_age(Duration::from_secs(3600)),
    )
}

/// A panic outside GraphQL execution (which catches its own): the client
/// gets an opaque `INTERNAL` answer and the server keeps serving.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    protocol::Refusal::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Internal,
        "internal error",
    )
    .render(protocol::MediaType::Json)
}

const REQUEST_ID: &str = "x-request-id";

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
    let limiter = state.rate_limiter.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.forget_idle();
        }
    });
    // Peer addresses feed rate limits and sign-in throttling per client.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// `GET /metrics`, on a listener of its own: the figures name editors'
/// operations and the server's state, which are not the public's business.
/// Like other Prometheus exporters, it listens on loopback unless told
/// otherwise (`--metrics-bind`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(observe::metrics))
        .with_state(state)
}

pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(state))
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
