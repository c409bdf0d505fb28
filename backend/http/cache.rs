//! HTTP caching of public answers: `Cache-Control`, a strong `ETag`, and
//! `304 Not Modified`.
//!
//! The tag is a hash of the answer's bytes. It therefore changes exactly
//! when published content that the answer shows changes (a new draft, or a
//! change to content the query does not reach, leaves it alone), and a
//! CDN or browser revalidating gets a bodiless 304.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Who may keep an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cacheability {
    /// A public GET answer without errors: shared caches may keep it.
    Public(Duration),
    /// Anything for a signed-in user or an API token, previews included.
    Private,
    /// POSTs, errors and refusals.
    NoStore,
}

impl Cacheability {
    fn header(self) -> HeaderValue {
        match self {
            Cacheability::Public(max_age) => {
                HeaderValue::from_str(&format!("public, max-age={}", max_age.as_secs()))
                    .expect("ASCII header value")
            }
            Cacheability::Private => HeaderValue::from_static("private, no-store"),
            Cacheability::NoStore => HeaderValue::from_static("no-store"),
        }
    }
}

/// The strong entity tag of `body`.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..18]))
}

/// Whether `If-None-Match` names `tag` (or `*`). The comparison is weak,
/// as RFC 9110 asks for this header: `W/"x"` matches `"x"`.
pub fn matches_if_none_match(request: &HeaderMap, tag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|candidate| candidate.trim())
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
}

/// Sets the caching headers on `response`.
pub fn apply(mut response: Response, cacheability: Cacheability) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, cacheability.header());
    // The answer depends on the media type asked for and on who asks.
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization"),
    );
    response
}

/// A public answer with its tag (from [`etag`]), or 304 when the client
/// holds that tag.
pub fn public_answer(
    request: &HeaderMap,
    mut response: Response,
    tag: &str,
    max_age: Duration,
) -> Response {
    let tag_value = HeaderValue::from_str(tag).expect("base64 is a valid header value");
    if matches_if_none_match(request, tag) {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        not_modified.headers_mut().insert(header::ETAG, tag_value);
        return apply(not_modified, Cacheability::Public(max_age));
    }
    response.headers_mut().insert(header::ETAG, tag_value);
    apply(response, Cacheability::Public(max_age))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_bytes_and_match_weakly() {
        let tag = etag(b"{\"data\":{}}");
        assert_eq!(tag, etag(b"{\"data\":{}}"));
        assert_ne!(tag, etag(b"{\"data\":{\"a\":1}}"));
        assert!(tag.starts_with('"') && tag.ends_with('"'));

        let mut headers = HeaderMap::new();
        assert!(!matches_if_none_match(&headers, &tag));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"other\", W/{tag}")).unwrap(),
        );
        assert!(matches_if_none_match(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches_if_none_match(&headers, &tag));
    }
}
