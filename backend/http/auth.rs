//! `Authorization: Bearer <token>` → the request's [`Viewer`].

use crate::graphql::error::ErrorCode;
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
    client_address: Option<std::net::IpAddr>,
    request_id: &str,
) -> Result<Viewer, Refusal> {
    let request_id = Some(request_id.to_string());
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
        ErrorCode::Internal,
        "the server cannot check credentials right now",
    )
}

fn unauthorized(message: &str, reason: &'static str) -> Refusal {
    let challenge = format!("Bearer error=\"{reason}\"");
    Refusal::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
        message,
    )
    .with_header(
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

/// The client's address: the peer's, unless the peer is a trusted proxy
/// (a load balancer, a CDN), in which case the nearest address in
/// `X-Forwarded-For` that is not itself a trusted proxy. Addresses a client
/// wrote into the header itself sit further left and are never reached.
pub fn client_address(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let peer = peer?.ip();
    let is_trusted = |address: &std::net::IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        let Ok(address) = hop.trim().parse::<std::net::IpAddr>() else {
            break;
        };
        client = address;
        if !is_trusted(&address) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_trusted_proxies_may_name_the_client() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7, 10.0.0.2"),
        );
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let stranger: SocketAddr = "198.51.100.1:5000".parse().unwrap();
        // Through two trusted hops, the client is the first untrusted one;
        // what it claimed itself (6.6.6.6) is ignored.
        assert_eq!(
            client_address(Some(proxy), &headers, &trusted),
            Some("203.0.113.7".parse().unwrap())
        );
        // A peer that is no proxy of ours cannot name anyone.
        assert_eq!(
            client_address(Some(stranger), &headers, &trusted),
            Some(stranger.ip())
        );
        assert_eq!(client_address(Some(proxy), &headers, &[]), Some(proxy.ip()));
        assert_eq!(
            client_address(Some(proxy), &HeaderMap::new(), &trusted),
            Some(proxy.ip())
        );
    }
}
