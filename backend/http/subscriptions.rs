//! GraphQL subscriptions over WebSocket (graphql-transport-ws, and the
//! older graphql-ws), on `GET /graphql` with an upgrade.
//!
//! Credentials come with the upgrade request (`Authorization: Bearer …`) or,
//! as browsers cannot set headers on WebSockets, in the `connection_init`
//! payload (`{"Authorization": "Bearer …"}`). Anonymous connections are
//! refused. Only subscriptions run here, under the same document limits as
//! HTTP; queries and mutations belong on HTTP, where rates and caching apply.

use crate::graphql::error::ErrorCode;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Data, Executor, Request, Response, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::WebSocketUpgrade;
use axum::extract::ws::{CloseFrame, Message};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures::SinkExt;
use futures::stream::{self, BoxStream, StreamExt};

use super::AppState;
use super::auth;
use super::protocol::{MediaType, Refusal};
use crate::domain::access::Actor;
use crate::graphql::BeaconSchema;
use crate::graphql::events::SubscriberToken;
use crate::graphql::limits::{Budget, SchemaShape};

/// Subscriptions one socket may run at once: a live-preview screen needs a
/// few, and each costs the server a stream and a share of every change.
pub const SUBSCRIPTIONS_PER_SOCKET: usize = 10;
/// Sockets one client address may hold open at once.
pub const SOCKETS_PER_ADDRESS: usize = 16;

/// Open sockets per client address, shared by a server's connections.
#[derive(Debug, Default)]
pub struct OpenSockets {
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// One open socket; its count is given back when the socket ends.
pub struct SocketSlot {
    sockets: Arc<OpenSockets>,
    address: IpAddr,
}

impl OpenSockets {
    /// A slot for a new socket from `address`; `None` past the limit.
    /// Requests without a peer address (in-process tests) share one slot
    /// count, like their rate allowance.
    pub fn open(self: &Arc<Self>, address: Option<IpAddr>) -> Option<SocketSlot> {
        let address = address.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let mut open = self.by_address.lock().expect("socket counts");
        let count = open.entry(address).or_default();
        if *count >= SOCKETS_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(SocketSlot {
            sockets: self.clone(),
            address,
        })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.sockets.by_address.lock().expect("socket counts");
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

pub async fn upgrade(
    state: AppState,
    upgrade: WebSocketUpgrade,
    protocol: Option<GraphQLProtocol>,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    request_id: &str,
) -> HttpResponse {
    let Some(protocol) = protocol else {
        return Refusal::malformed(
            "WebSockets on /graphql speak graphql-transport-ws: ask for it in Sec-WebSocket-Protocol",
        )
        .render(MediaType::Json);
    };
    let address = auth::client_address(peer, headers, &state.settings.trusted_proxies);
    // Opening a connection costs a request of the client's allowance, and a
    // bad token on the upgrade request is refused like any other.
    if let Some(wait) = state.rate_limiter.credentials_blocked(address) {
        return super::endpoint::rate_limited(wait).render(MediaType::Json);
    }
    let from_header = match auth::viewer(&state, headers, address, request_id).await {
        Ok(viewer) => viewer,
        Err(refusal) => {
            if refusal.status == axum::http::StatusCode::UNAUTHORIZED {
                state.rate_limiter.credentials_failed(address);
            }
            return refusal.render(MediaType::Json);
        }
    };
    if let Err(wait) = state.rate_limiter.check(from_header.actor(), address, 1) {
        return super::endpoint::rate_limited(wait).render(MediaType::Json);
    }
    let Some(slot) = state.sockets.open(address) else {
        return Refusal::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("at most {SOCKETS_PER_ADDRESS} WebSockets may be open from one address; close one first"),
        )
        .render(MediaType::Json);
    };
    let executor = SubscriptionsOnly {
        schema: state.schema.clone(),
        shape: state.shape.clone(),
        limits: state.settings.limits.clone(),
        running: Arc::new(AtomicUsize::new(0)),
    };
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let request_id = request_id.to_string();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            // Held for as long as the socket is served.
            let _slot = slot;
            // async-graphql closes a refused connection_init with 1002
            // (protocol error); graphql-transport-ws clients tell "sign in"
            // from "not allowed" by 4401 and 4403, so the refusal leaves
            // its code here and the outgoing close frame takes it.
            let refusal_code = Arc::new(AtomicU16::new(0));
            let (sink, incoming) = socket.split();
            let sink = sink.with({
                let refusal_code = refusal_code.clone();
                move |message: Message| {
                    let message = with_refusal_code(message, refusal_code.load(Ordering::SeqCst));
                    async move { Ok::<_, axum::Error>(message) }
                }
            });
            let refuse = move |code: u16, message: String| {
                refusal_code.store(code, Ordering::SeqCst);
                async_graphql::Error::new(message)
            };
            GraphQLWebSocket::new_with_pair(sink, incoming, executor, protocol)
                .on_connection_init(move |payload| async move {
                    let authorization = token_in(&payload).or(header_token);
                    let viewer = match token_in(&payload) {
                        Some(authorization) => {
                            // A token tried here counts like one on a request.
                            if state.rate_limiter.credentials_blocked(address).is_some() {
                                return Err(refuse(
                                    CLOSE_TOO_MANY_REQUESTS,
                                    "too many bad credentials from this address; wait before trying again".into(),
                                ));
                            }
                            let mut headers = HeaderMap::new();
                            let value = HeaderValue::from_str(&authorization).map_err(|_| {
                                refuse(CLOSE_UNAUTHORIZED, "malformed Authorization".into())
                            })?;
                            headers.insert(header::AUTHORIZATION, value);
                            match auth::viewer(&state, &headers, address, &request_id).await {
                                Ok(viewer) => viewer,
                                Err(refusal) => {
                                    if refusal.status == StatusCode::UNAUTHORIZED {
                                        state.rate_limiter.credentials_failed(address);
                                    }
                                    return Err(refuse(close_code(refusal.status), refusal.message));
                                }
                            }
                        }
                        None => from_header,
                    };
                    if matches!(viewer.actor(), Actor::Anonymous) {
                        return Err(refuse(
                            CLOSE_UNAUTHORIZED,
                            "subscriptions need credentials: send {\"Authorization\": \"Bearer <token>\"} in connection_init".into(),
                        ));
                    }
                    let mut data = Data::default();
                    data.insert(viewer);
                    if let Some(token) = authorization.as_deref().and_then(bearer_token) {
                        data.insert(SubscriberToken(token.to_string()));
                    }
                    Ok(data)
                })
                .serve()
                .await
        })
        .into_response()
}

/// graphql-transport-ws's close codes for a refused `connection_init`.
const CLOSE_UNAUTHORIZED: u16 = 4401;
const CLOSE_FORBIDDEN: u16 = 4403;
const CLOSE_TOO_MANY_REQUESTS: u16 = 4429;
const CLOSE_INTERNAL: u16 = 4500;

/// The close code for a refused `connection_init`, from the status the same
/// credentials would get on an HTTP request.
fn close_code(status: StatusCode) -> u16 {
    match status {
        StatusCode::UNAUTHORIZED => CLOSE_UNAUTHORIZED,
        StatusCode::TOO_MANY_REQUESTS => CLOSE_TOO_MANY_REQUESTS,
        status if status.is_server_error() => CLOSE_INTERNAL,
        _ => CLOSE_FORBIDDEN,
    }
}

/// The close frame async-graphql sends after a refused `connection_init`
/// (1002) gets the refusal's own code; every other message passes as it is.
fn with_refusal_code(message: Message, refusal_code: u16) -> Message {
    match message {
        Message::Close(Some(CloseFrame { code: 1002, reason })) if refusal_code != 0 => {
            Message::Close(Some(CloseFrame {
                code: refusal_code,
                reason,
            }))
        }
        message => message,
    }
}

fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `Authorization` (any case) or `token` from a `connection_init` payload.
fn token_in(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.as_str().map(str::to_string))
        .or_else(|| {
            object
                .get("token")
                .and_then(|value| value.as_str())
                .map(|token| format!("Bearer {token}"))
        })
}

/// Runs subscriptions only, each checked against the document limits first.
#[derive(Clone)]
struct SubscriptionsOnly {
    schema: BeaconSchema,
    shape: Arc<SchemaShape>,
    limits: crate::graphql::limits::Limits,
    /// Subscriptions running on this socket.
    running: Arc<AtomicUsize>,
}

/// Gives a socket's subscription back when its stream ends or is dropped.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn refused(code: ErrorCode, message: impl Into<String>) -> Response {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code.as_str());
    error.extensions = Some(extensions);
    Response::from_errors(vec![error])
}

impl Executor for SubscriptionsOnly {
    async fn execute(&self, _request: Request) -> Response {
        refused(
            ErrorCode::OperationNotAllowed,
            "only subscriptions run over WebSocket; send queries and mutations over HTTP",
        )
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let variables = match serde_json::to_value(&request.variables) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => None,
        };
        let budget = Budget::new(&self.limits, &self.shape);
        let document = match budget.admit(&request.query, variables.as_ref()) {
            Ok(document) => document,
            Err(error) => {
                return stream::once(async move { refused(error.code, error.message) }).boxed();
            }
        };
        let is_subscription = match (&document.operations, request.operation_name.as_deref()) {
            (DocumentOperations::Single(operation), _) => {
                operation.node.ty == OperationType::Subscription
            }
            (DocumentOperations::Multiple(operations), Some(wanted)) => {
                operations.iter().any(|(name, operation)| {
                    name.as_str() == wanted && operation.node.ty == OperationType::Subscription
                })
            }
            (DocumentOperations::Multiple(operations), None) => {
                operations.len() == 1
                    && operations
                        .values()
                        .all(|operation| operation.node.ty == OperationType::Subscription)
            }
        };
        if !is_subscription {
            return stream::once(async {
                refused(
                    ErrorCode::OperationNotAllowed,
                    "only subscriptions run over WebSocket; send queries and mutations over HTTP",
                )
            })
            .boxed();
        }
        let taken = self
            .running
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |running| {
                (running < SUBSCRIPTIONS_PER_SOCKET).then_some(running + 1)
            });
        if taken.is_err() {
            return stream::once(async {
                refused(
                    ErrorCode::RateLimited,
                    format!(
                        "at most {SUBSCRIPTIONS_PER_SOCKET} subscriptions may run on one socket; complete one first"
                    ),
                )
            })
            .boxed();
        }
        let running = Running(self.running.clone());
        request.set_parsed_query(document);
        Executor::execute_stream(&self.schema, request, session_data)
            .map(move |response| {
                let _held = &running;
                response
            })
            .boxed()
    }
}
