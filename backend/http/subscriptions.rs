//! GraphQL subscriptions over WebSocket (graphql-transport-ws, and the
//! older graphql-ws), on `GET /graphql` with an upgrade.
//!
//! Credentials come with the upgrade request (`Authorization: Bearer …`) or,
//! as browsers cannot set headers on WebSockets, in the `connection_init`
//! payload (`{"Authorization": "Bearer …"}`). Anonymous connections are
//! refused. Only subscriptions run here, under the same document limits as
//! HTTP; queries and mutations belong on HTTP, where rates and caching apply.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Data, Executor, Request, Response, ServerError};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::WebSocketUpgrade;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures::stream::{self, BoxStream, StreamExt};

use super::AppState;
use super::auth;
use super::protocol::{MediaType, Refusal};
use crate::domain::access::Actor;
use crate::graphql::BeaconSchema;
use crate::graphql::events::SubscriberToken;
use crate::graphql::limits::{Budget, SchemaShape};

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
    let executor = SubscriptionsOnly {
        schema: state.schema.clone(),
        shape: state.shape.clone(),
        limits: state.settings.limits.clone(),
    };
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let request_id = request_id.to_string();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, executor, protocol)
                .on_connection_init(move |payload| async move {
                    let authorization = token_in(&payload).or(header_token);
                    let viewer = match token_in(&payload) {
                        Some(authorization) => {
                            let mut headers = HeaderMap::new();
                            let value = HeaderValue::from_str(&authorization)
                                .map_err(|_| async_graphql::Error::new("malformed Authorization"))?;
                            headers.insert(header::AUTHORIZATION, value);
                            auth::viewer(&state, &headers, address, &request_id)
                                .await
                                .map_err(|refusal| async_graphql::Error::new(refusal.message))?
                        }
                        None => from_header,
                    };
                    if matches!(viewer.actor(), Actor::Anonymous) {
                        return Err(async_graphql::Error::new(
                            "subscriptions need credentials: send {\"Authorization\": \"Bearer <token>\"} in connection_init",
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
        })
        .into_response()
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
}

fn refused(code: &'static str, message: impl Into<String>) -> Response {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    Response::from_errors(vec![error])
}

impl Executor for SubscriptionsOnly {
    async fn execute(&self, _request: Request) -> Response {
        refused(
            "OPERATION_NOT_ALLOWED",
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
                    "OPERATION_NOT_ALLOWED",
                    "only subscriptions run over WebSocket; send queries and mutations over HTTP",
                )
            })
            .boxed();
        }
        request.set_parsed_query(document);
        Executor::execute_stream(&self.schema, request, session_data)
    }
}
