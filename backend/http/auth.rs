//! `Authorization: Bearer <token>` → the request's [`Viewer`].

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

use super::AppState;
use super::protocol::Refusal;
use crate::graphql::Viewer;
use crate::identity::{Authenticated, IdentityError};

/// The viewer, or the answer that refuses the request: 401 for a token
/// that is malformed, unknown, expired or revoked (never a quiet downgrade
/// to anonymous), 503 when the database cannot tell.
pub async fn viewer(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    request_id: &str,
) -> Result<Viewer, Refusal> {
    let request_id = Some(request_id.to_string());
    let client_address = peer.map(|address| address.ip());
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Viewer {
            auth: Authenticated::anonymous(),
            client_address,
            request_id,
        });
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .ok_or_else(|| {
            unauthorized(
                "the Authorization header must be `Bearer <token>`",
                "invalid_request",
            )
        })?;
    let mut conn = state.database.pool.get().await.map_err(|error| {
        tracing::error!(%error, "no database connection to check a bearer token");
        unavailable()
    })?;
    match state.identity.authenticate(&mut conn, token).await {
        Ok(auth) => Ok(Viewer {
            auth,
            client_address,
            request_id,
        }),
        Err(IdentityError::Database(error)) => {
            tracing::error!(%error, "checking a bearer token failed");
            Err(unavailable())
        }
        Err(error) => Err(unauthorized(&error.to_string(), "invalid_token")),
    }
}

fn unavailable() -> Refusal {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "INTERNAL",
        "the server cannot check credentials right now",
    )
}

fn unauthorized(message: &str, reason: &'static str) -> Refusal {
    let challenge = format!("Bearer error=\"{reason}\"");
    Refusal::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message).with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&challenge).expect("ASCII header value"),
    )
}

/// The client's address when the server knows it (it does when serving
/// with connect info; requests handed to the router directly have none).
pub struct PeerAddress(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| *address);
        Ok(PeerAddress(address))
    }
}
