//! The files pages load (GraphiQL's, the editor app's), built into the
//! binary by `build.rs`: served under a tag drawn from their bytes, cached
//! for good, gzipped to clients that take it.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A file and its gzipped bytes, as `build.rs` lists them.
pub struct Asset {
    pub name: &'static str,
    pub media_type: &'static str,
    pub plain: &'static [u8],
    pub gzipped: &'static [u8],
}

/// One of a page's files `asked` for under `asked_tag`. A tag other than
/// this build's is not found: its file may differ, and caching it for good
/// would be wrong.
pub fn serve(
    assets: &[Asset],
    tag: &str,
    asked_tag: &str,
    asked: &str,
    headers: &HeaderMap,
) -> Response {
    let Some(asset) = assets.iter().find(|asset| asset.name == asked) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if asked_tag != tag {
        return StatusCode::NOT_FOUND.into_response();
    }
    let gzip = accepts_gzip(headers);
    let mut response = if gzip {
        asset.gzipped.into_response()
    } else {
        asset.plain.into_response()
    };
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.media_type),
    );
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response_headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response_headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if gzip {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// `gzip` listed in `Accept-Encoding` without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|parameter| {
                parameter
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_encoding(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_take_it() {
        assert!(accepts_gzip(&with_encoding("gzip, deflate, br")));
        assert!(accepts_gzip(&with_encoding("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&with_encoding("*")));
        assert!(!accepts_gzip(&with_encoding("br")));
        assert!(!accepts_gzip(&with_encoding("gzip;q=0, br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
