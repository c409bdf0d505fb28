//! `/graphql`: from an HTTP request to a GraphQL answer.
//!
//! In order: the media type the client accepts, the request's shape
//! (method, content type, body size, parameters), who is asking, their
//! rate, the query text (possibly persisted), the document's limits, then
//! execution under a timeout, and last the answer's status and caching.
//! Everything refused before execution is refused without touching the
//! database, except credentials and persisted-operation lookups.

use crate::graphql::error::ErrorCode;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql_axum::GraphQLProtocol;
use axum::body::Body;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{RawQuery, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::answers::{self, Lookup};
use super::auth::{self, PeerAddress};
use super::cache::{self, Cacheability};
use super::protocol::{self, MediaType, Outcome, Params, Payload, Refusal, Wanted};
use super::{AppState, REQUEST_ID};
use crate::domain::access::{self, Actor};
use crate::graphql::{self, Viewer, limits::Budget, validated};
use crate::metrics::REQUEST_STATEMENTS;

pub async fn post(
    State(state): State<AppState>,
    PeerAddress(peer): PeerAddress,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request_id = request_id(&headers);
    match protocol::negotiate(&headers, false) {
        Wanted::GraphQL(media) => match read_payload(&state, &headers, body).await {
            Ok(payload) => {
                let request = Incoming {
                    headers: &headers,
                    peer,
                    request_id: &request_id,
                    method: Method::POST,
                    media,
                };
                answer(&state, request, payload).await
            }
            Err(refusal) => refuse_unread(&state, refusal, media),
        },
        Wanted::Html | Wanted::Nothing => refuse_unread(&state, not_acceptable(), MediaType::Json),
    }
}

/// Browsers get GraphiQL; programs send the request in the URL; WebSocket
/// clients upgrade to subscriptions.
pub async fn get(
    State(state): State<AppState>,
    PeerAddress(peer): PeerAddress,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    protocol: Result<GraphQLProtocol, StatusCode>,
) -> Response {
    let request_id = request_id(&headers);
    if let Ok(upgrade) = upgrade {
        return super::subscriptions::upgrade(
            state,
            upgrade,
            protocol.ok(),
            &headers,
            peer,
            &request_id,
        )
        .await;
    }
    let raw = raw.unwrap_or_default();
    match protocol::negotiate(&headers, state.settings.graphiql && raw.is_empty()) {
        Wanted::Html => super::graphiql::page(),
        Wanted::Nothing => refuse_unread(&state, not_acceptable(), MediaType::Json),
        Wanted::GraphQL(media) => match protocol::parse_url(&raw) {
            Ok(params) => {
                let request = Incoming {
                    headers: &headers,
                    peer,
                    request_id: &request_id,
                    method: Method::GET,
                    media,
                };
                answer(&state, request, Payload::Single(params)).await
            }
            Err(refusal) => refuse_unread(&state, refusal, media),
        },
    }
}

/// What the HTTP layer knows of a request once its body is read.
struct Incoming<'a> {
    headers: &'a HeaderMap,
    peer: Option<SocketAddr>,
    request_id: &'a str,
    method: Method,
    media: MediaType,
}

async fn read_payload(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Payload, Refusal> {
    if super::upload::is_multipart(headers) {
        return super::upload::read(
            headers,
            body,
            state.settings.max_body_bytes as u64,
            state.runtime.media.limits.max_bytes,
        )
        .await;
    }
    protocol::check_content_type(headers)?;
    let limit = state.settings.max_body_bytes;
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("request bodies are limited to {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    // Refused before a byte of it is read.
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    // Reading stops at the limit; a body cut short by its client ends here
    // too, and nobody is left to read the answer.
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    protocol::parse_body(&bytes, state.settings.max_batch)
}

async fn answer(state: &AppState, request: Incoming<'_>, payload: Payload) -> Response {
    let media = request.media;
    let address = auth::client_address(
        request.peer,
        request.headers,
        &state.settings.trusted_proxies,
    );
    let started = Instant::now();
    // Refused before any operation was read: counted without a name.
    let refused_early = |refusal: Refusal| {
        state.runtime.metrics.request(
            None,
            outcome_label(&refusal),
            started.elapsed().as_secs_f64(),
            0,
        );
        refuse(refusal, media)
    };
    let presents_credentials = request.headers.contains_key(header::AUTHORIZATION);
    if presents_credentials && let Some(wait) = state.rate_limiter.credentials_blocked(address) {
        return refused_early(rate_limited(wait));
    }
    let viewer = match auth::viewer(state, request.headers, address, request.request_id).await {
        Ok(viewer) => viewer,
        Err(refusal) => {
            if refusal.status == StatusCode::UNAUTHORIZED {
                state.rate_limiter.credentials_failed(address);
            }
            return refused_early(refusal);
        }
    };
    let (items, batch) = match payload {
        Payload::Single(params) => (vec![params], false),
        Payload::Batch(items) => (items, true),
    };
    if let Err(wait) = state
        .rate_limiter
        .check(viewer.actor(), viewer.client_address, items.len())
    {
        return refused_early(rate_limited(wait));
    }

    // One budget for the whole request: a batch may do no more than a
    // single request could.
    let budget = Budget::new(&state.settings.limits, &state.shape);
    let mut rendered = Vec::with_capacity(items.len());
    for params in &items {
        let started = Instant::now();
        let ((outcome, name, pending), statements) = REQUEST_STATEMENTS
            .scope(AtomicU64::new(0), async {
                let result = operation(state, &viewer, params, &budget, &request).await;
                let statements = REQUEST_STATEMENTS.with(|count| count.load(Ordering::Relaxed));
                (result, statements)
            })
            .await;
        let label = match &outcome {
            Outcome::Refused(refusal) => outcome_label(refusal),
            Outcome::Executed(response) => executed_label(response),
            Outcome::Kept(_) => "ok",
        };
        state.runtime.metrics.request(
            Some(name.as_deref().unwrap_or("anonymous")),
            label,
            started.elapsed().as_secs_f64(),
            statements,
        );
        let mut item = outcome.render(media);
        if item.body.len() > state.settings.max_response_bytes {
            // The complexity limit costs lists by their measured lengths;
            // this catches whatever still slips past it.
            item = Outcome::Refused(Refusal::of_document(
                ErrorCode::ResponseTooLarge,
                format!(
                    "the answer would be {} bytes; at most {} are sent. Ask for fewer fields or smaller pages",
                    item.body.len(),
                    state.settings.max_response_bytes
                ),
            ))
            .render(media);
        }
        if let Some((cache, pending)) = state.answers.as_ref().zip(pending)
            && item.clean
            && item.status == StatusCode::OK
            && item.headers.is_empty()
        {
            let answer = answers::Answer {
                body: item.body.clone(),
                name,
            };
            cache.store(pending, answer);
        }
        rendered.push(item);
    }
    let clean = rendered.iter().all(|item| item.clean);
    let (status, extra_headers, bytes) = if batch {
        let mut bytes = Vec::from(b"[".as_slice());
        for (index, item) in rendered.into_iter().enumerate() {
            if index > 0 {
                bytes.push(b',');
            }
            bytes.extend_from_slice(&item.body);
        }
        bytes.push(b']');
        (StatusCode::OK, Vec::new(), axum::body::Bytes::from(bytes))
    } else {
        let single = rendered.pop().expect("one operation");
        (single.status, single.headers, single.body)
    };
    let anonymous = matches!(viewer.actor(), Actor::Anonymous);
    let public = anonymous && request.method == Method::GET && status == StatusCode::OK && clean;
    // Only a public answer is tagged.
    let tag = public.then(|| cache::etag(&bytes));
    let mut response = protocol::bytes_response(status, media, bytes);
    for (name, value) in extra_headers {
        response.headers_mut().insert(name, value);
    }
    if !anonymous {
        return cache::apply(response, Cacheability::Private);
    }
    if let Some(tag) = tag {
        return cache::public_answer(
            request.headers,
            response,
            &tag,
            state.settings.cache_max_age,
        );
    }
    cache::apply(response, Cacheability::NoStore)
}

/// One operation, with its name when it can be told, and where to keep
/// its answer when it is a public read.
async fn operation(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    budget: &Arc<Budget>,
    request: &Incoming<'_>,
) -> (Outcome, Option<String>, Option<answers::Pending>) {
    let mut name = params.operation_name.clone();
    let mut pending = None;
    let outcome = run_operation(
        state,
        viewer,
        params,
        budget,
        request,
        &mut name,
        &mut pending,
    )
    .await;
    (outcome, name, pending)
}

/// One operation: its text, a kept answer, its limits, then its execution.
async fn run_operation(
    state: &AppState,
    viewer: &Viewer,
    params: &Params,
    budget: &Arc<Budget>,
    request: &Incoming<'_>,
    name: &mut Option<String>,
    pending: &mut Option<answers::Pending>,
) -> Outcome {
    let method = &request.method;
    let settings = &state.settings;
    let anonymous = matches!(viewer.actor(), Actor::Anonymous);
    let resolved = match state
        .persisted
        .resolve(
            &state.database.pool,
            params,
            anonymous && settings.allow_list,
        )
        .await
    {
        Ok(resolved) => resolved,
        Err(refusal) => return Outcome::Refused(refusal),
    };
    // After the allow-list and rate checks, before any parsing: a kept
    // answer costs no more than looking it up.
    let mut miss = None;
    if let Some(cache) = &state.answers
        && let Some(key) = answers::Key::of(
            viewer.actor(),
            request.media,
            &resolved.query,
            params.operation_name.as_deref(),
            params.variables.as_ref(),
        )
    {
        match cache.lookup(key) {
            Lookup::Hit(answer) => {
                *name = answer.name;
                return Outcome::Kept(answer.body);
            }
            Lookup::Miss(waiting) => miss = Some(waiting),
            Lookup::Bypass => {}
        }
    }
    let document = match budget.admit(&resolved.query, params.variables.as_ref()) {
        Ok(document) => document,
        Err(error) => return Outcome::Refused(Refusal::of_document(error.code, error.message)),
    };
    if anonymous
        && !settings.anonymous_introspection
        && crate::graphql::limits::asks_for_introspection(&document)
    {
        return Outcome::Refused(Refusal::of_document(
            ErrorCode::IntrospectionDisabled,
            "introspection needs credentials here; the schema is published as schema.graphql",
        ));
    }
    if name.is_none()
        && let DocumentOperations::Multiple(operations) = &document.operations
        && operations.len() == 1
    {
        *name = operations.keys().next().map(|name| name.to_string());
    }
    let kind = operation_type(&document, params.operation_name.as_deref());
    // GET must not change anything: links, prefetchers and caches follow
    // GETs.
    if *method == Method::GET && kind == Some(OperationType::Mutation) {
        return Outcome::Refused(
            Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "mutations must be sent with POST",
            )
            .with_header(header::ALLOW, HeaderValue::from_static("POST")),
        );
    }

    let mut request = async_graphql::Request::new(resolved.query.as_ref());
    if let Some(name) = &params.operation_name {
        request = request.operation_name(name.as_str());
    }
    if let Some(variables) = &params.variables {
        request = request.variables(async_graphql::Variables::from_json(Value::Object(
            variables.clone(),
        )));
    }
    for (path, upload) in params.uploads.0.iter() {
        match upload.try_clone() {
            Ok(upload) => request.set_upload(path, upload),
            Err(error) => {
                return Outcome::Refused(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Internal,
                    format!("the upload cannot be read now ({})", error.kind()),
                ));
            }
        }
    }
    // Only answers to reads are kept.
    if kind == Some(OperationType::Query) && !params.has_uploads() {
        *pending = miss;
    }
    // Mutations run their fields one after another, in order already.
    let asked = (kind != Some(OperationType::Mutation)).then(|| document.clone());
    request.set_parsed_query(document);
    if anonymous && !settings.anonymous_introspection {
        request = request.disable_introspection();
    }
    let validated = (!params.has_uploads())
        .then(|| {
            validated::Key::of(
                &resolved.query,
                params.operation_name.as_deref(),
                params.variables.as_ref(),
            )
        })
        .flatten()
        .map(|key| (state.validated.contains(&key), key));
    let schema = if validated.as_ref().is_some_and(|(known, _)| *known) {
        &state.prevalidated_schema
    } else if anonymous && !settings.anonymous_suggestions {
        &state.quiet_schema
    } else {
        &state.schema
    };
    let execution = graphql::execute(schema, viewer.clone(), request);
    let mut response = if kind == Some(OperationType::Mutation) {
        // A mutation cut off halfway would leave its client unsure what
        // happened; the statement timeout bounds it instead.
        let response = execution.await;
        // Its client reads its own write here next: answers kept before it
        // must not wait for the notification to be dropped.
        if access::may_change_published(viewer.actor()) {
            state.runtime.hub.published_changed();
        }
        response
    } else {
        match tokio::time::timeout(settings.request_timeout, execution).await {
            Ok(response) => response,
            Err(_) => {
                return Outcome::Refused(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Timeout,
                    format!(
                        "the query ran longer than {}; ask for less",
                        humantime::format_duration(settings.request_timeout)
                    ),
                ));
            }
        }
    };
    if let Some(document) = &asked {
        graphql::order::order_as_asked(
            &mut response.data,
            document,
            params.operation_name.as_deref(),
        );
    }
    // Validated, and nothing else went wrong either.
    if let Some((false, key)) = validated
        && response.errors.is_empty()
    {
        state.validated.remember(key);
    }
    if let Some(hash) = resolved.remember
        && response.errors.is_empty()
    {
        state.persisted.remember(hash, resolved.query);
    }
    Outcome::Executed(response)
}

/// The type of the operation the request runs, when it can be told.
fn operation_type(document: &ExecutableDocument, wanted: Option<&str>) -> Option<OperationType> {
    match (&document.operations, wanted) {
        (DocumentOperations::Single(operation), _) => Some(operation.node.ty),
        (DocumentOperations::Multiple(operations), Some(wanted)) => operations
            .iter()
            .find(|(name, _)| name.as_str() == wanted)
            .map(|(_, operation)| operation.node.ty),
        // One named operation and no name asked for: that one runs.
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .values()
            .next()
            .map(|operation| operation.node.ty),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The `outcome` label of a refused operation in the metrics.
fn outcome_label(refusal: &Refusal) -> &'static str {
    match refusal.code {
        ErrorCode::RateLimited => "rate_limited",
        ErrorCode::Timeout => "timeout",
        ErrorCode::Unauthenticated => "unauthenticated",
        _ if refusal.request_error => "request_error",
        _ => "refused",
    }
}

/// The `outcome` label of an executed operation in the metrics.
fn executed_label(response: &async_graphql::Response) -> &'static str {
    if response.errors.is_empty() {
        "ok"
    } else if protocol::is_request_error(response) {
        "request_error"
    } else {
        "field_error"
    }
}

pub(super) fn rate_limited(wait: std::time::Duration) -> Refusal {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    Refusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RateLimited,
        format!("too many requests: try again in {seconds} s"),
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
}

fn refuse(refusal: Refusal, media: MediaType) -> Response {
    cache::apply(refusal.render(media), Cacheability::NoStore)
}

fn not_acceptable() -> Refusal {
    Refusal::new(
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::NotAcceptable,
        "answers are application/graphql-response+json or application/json: accept one of them",
    )
}

/// A request refused before its operation could be read (media type,
/// content type, size, malformed parameters): counted without a name.
fn refuse_unread(state: &AppState, refusal: Refusal, media: MediaType) -> Response {
    state
        .runtime
        .metrics
        .request(None, outcome_label(&refusal), 0.0, 0);
    refuse(refusal, media)
}

/// The request's id, as `observe::request_context` settled it.
pub(super) fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string()
}
