//! GraphiQL for people who open `/graphql` in a browser, served entirely
//! from the binary: React's and GraphiQL's production files (`vendor/`,
//! pinned, see its README) and `start.js`. Nothing comes from a CDN, so it
//! works offline and a CDN's compromise cannot reach a partner's token.

use axum::extract::Path;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::assets::{self, Asset};

const ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/graphiql_assets.rs"));

/// Drawn from the files' bytes by `build.rs`; part of every asset's URL.
pub const TAG: &str = include!(concat!(env!("OUT_DIR"), "/graphiql_tag.rs"));

/// The page only runs scripts and styles from this server and talks only to
/// it; GraphiQL's stylesheet carries its fonts inline (`data:`), and its
/// editor styles elements as it goes (hence inline styles). No other site
/// may frame it, where a click could be stolen while a token is in the
/// Headers tab.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page for `GET /graphql` from a browser. Asset URLs are relative, so
/// they resolve beside `/graphql` wherever a proxy mounts it.
pub fn page() -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Beacon · GraphiQL</title>
<link rel="stylesheet" href="graphiql/{TAG}/graphiql.min.css">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript. Programs send their queries to this same URL with POST, or with GET and a query parameter.</noscript>
<script src="graphiql/{TAG}/react.production.min.js"></script>
<script src="graphiql/{TAG}/react-dom.production.min.js"></script>
<script src="graphiql/{TAG}/graphiql.min.js"></script>
<script src="graphiql/{TAG}/start.js"></script>
</body>
</html>
"#
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // The page names the assets of this build; a cached page could
            // name ones a newer server no longer has.
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

/// `GET /graphiql/{tag}/{file}`.
pub async fn asset(Path((tag, name)): Path<(String, String)>, headers: HeaderMap) -> Response {
    assets::serve(ASSETS, TAG, &tag, &name, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_page_names_is_embedded_and_its_gzip_unpacks_to_it() {
        let page = String::from_utf8(
            futures::executor::block_on(axum::body::to_bytes(page().into_body(), usize::MAX))
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        let named: Vec<&str> = page
            .split(&format!("graphiql/{TAG}/"))
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        assert_eq!(named.len(), 5, "{page}");
        for name in named {
            let asset = ASSETS.iter().find(|asset| asset.name == name).unwrap();
            let mut unpacked = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(asset.gzipped),
                &mut unpacked,
            )
            .unwrap();
            assert_eq!(unpacked, asset.plain, "{name}");
        }
    }
}
