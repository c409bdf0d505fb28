//! `/media/{asset}/{sha256}/{original | rendition}`: an asset's bytes.
//!
//! Who may see them is decided as for every read, by stage: a URL without
//! an expiry serves the asset's published version only, and only while it
//! names these exact bytes, so an asset that is unpublished (or whose
//! file was replaced) is gone from its public URLs at once. A preview URL
//! (an editor's, for a draft) carries an expiry under the server's
//! signature. Renditions are made only for URLs the server signed.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use crate::db::content::{AssetRow, ContentReader};
use crate::domain::Stage;
use crate::domain::content::AssetFile;
use crate::domain::media::Rendition;

#[derive(Deserialize)]
pub struct Signature {
    sig: Option<String>,
    exp: Option<i64>,
}

/// A year: the bytes behind a URL never change (the URL names their hash).
const PUBLIC_CACHE: &str = "public, max-age=31536000, immutable";
/// A preview's bytes stay in the editor's browser only.
const PREVIEW_CACHE: &str = "private, max-age=3600";

pub async fn serve(
    State(state): State<AppState>,
    Path((asset, sha256, segment)): Path<(String, String, String)>,
    Query(signature): Query<Signature>,
    headers: HeaderMap,
) -> Response {
    let not_found = || StatusCode::NOT_FOUND.into_response();
    let Ok(asset) = Uuid::parse_str(&asset) else {
        return not_found();
    };
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return not_found();
    }
    let media = &state.runtime.media;
    let rendition = match segment.as_str() {
        "original" => None,
        other => match Rendition::parse(other) {
            Some(rendition) => Some(rendition),
            None => return not_found(),
        },
    };
    let signed = signature
        .sig
        .as_deref()
        .is_some_and(|sig| media.verify(asset, &sha256, &segment, signature.exp, sig));
    // A rendition costs a decode and an encode: only URLs the server
    // handed out are made. A preview is honoured only under its signature.
    if (rendition.is_some() || signature.exp.is_some()) && !signed {
        return StatusCode::FORBIDDEN.into_response();
    }
    let stage = if signature.exp.is_some() {
        Stage::Draft
    } else {
        Stage::Published
    };
    let row = match visible(&state, stage, asset).await {
        Ok(Some(row)) if row.file_sha256 == sha256 => row,
        Ok(_) => return not_found(),
        Err(error) => {
            tracing::error!(%error, "media: reading the asset");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let cache = if stage == Stage::Published {
        PUBLIC_CACHE
    } else {
        PREVIEW_CACHE
    };
    let tag = match &rendition {
        None => format!("\"{sha256}\""),
        Some(rendition) => format!("\"{sha256}-{}\"", rendition.segment()),
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|candidate| candidate.trim() == tag || candidate.trim() == "*")
        })
    {
        return finish(StatusCode::NOT_MODIFIED, Body::empty(), None, cache, &tag);
    }
    match rendition {
        None => original(&state, &row, &headers, cache, &tag).await,
        Some(rendition) => {
            if !row.mime_type.starts_with("image/") {
                return not_found();
            }
            let file = file_of(&row);
            let focal = row
                .focal_x
                .zip(row.focal_y)
                .map(|(x, y)| (x as u16, y as u16));
            match media.rendition(&file, &rendition, focal).await {
                Ok(Some(bytes)) => finish(
                    StatusCode::OK,
                    Body::from(bytes),
                    Some(rendition.format.mime_type()),
                    cache,
                    &tag,
                ),
                Ok(None) => not_found(),
                Err(error) => {
                    tracing::error!(%error, asset = %row.id, "media: making a rendition");
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                }
            }
        }
    }
}

async fn visible(state: &AppState, stage: Stage, asset: Uuid) -> Result<Option<AssetRow>, String> {
    let mut conn = state
        .database
        .pool
        .get()
        .await
        .map_err(|error| error.to_string())?;
    let rows = ContentReader::new(stage)
        .assets_by_id(&mut conn, &[asset])
        .await
        .map_err(|error| error.to_string())?;
    Ok(rows.into_iter().next())
}

fn file_of(row: &AssetRow) -> AssetFile {
    AssetFile {
        sha256: row.file_sha256.clone(),
        mime_type: row.mime_type.clone(),
        size: row.size,
        width: row.width,
        height: row.height,
        blurhash: row.blurhash.clone(),
        filename: row.filename.clone(),
    }
}

/// The stored file, or the one range of it asked for (videos and PDFs are
/// read in pieces).
async fn original(
    state: &AppState,
    row: &AssetRow,
    headers: &HeaderMap,
    cache: &str,
    tag: &str,
) -> Response {
    let size = row.size.max(0) as u64;
    let range = match headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
    {
        None => None,
        Some(value) => match http_range_header::parse_range_header(value)
            .and_then(|ranges| ranges.validate(size))
        {
            // One range is served as asked; several (rare, and costly to
            // assemble) get the whole file, as the standard allows.
            Ok(ranges) if ranges.len() == 1 => Some(ranges[0].clone()),
            Ok(_) => None,
            Err(_) => {
                let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return response;
            }
        },
    };
    let fetched = state
        .runtime
        .media
        .store
        .file(
            &row.file_sha256,
            range.as_ref().map(|range| *range.start()..*range.end() + 1),
        )
        .await;
    let fetched = match fetched {
        Ok(Some(fetched)) => fetched,
        Ok(None) => {
            tracing::error!(asset = %row.id, sha256 = %row.file_sha256, "media: a published file is missing from the store");
            return StatusCode::NOT_FOUND.into_response();
        }
        Err(error) => {
            tracing::error!(%error, "media: reading a file");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let status = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response = finish(
        status,
        Body::from(fetched.bytes),
        Some(&row.mime_type),
        cache,
        tag,
    );
    let headers = response.headers_mut();
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(range) = range
        && let Ok(value) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{}",
            range.start(),
            range.end(),
            fetched.size
        ))
    {
        headers.insert(header::CONTENT_RANGE, value);
    }
    if let Some(filename) = &row.filename {
        let ascii: String = filename
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .filter(|c| *c != '"' && *c != '\\')
            .collect();
        if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{ascii}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

fn finish(status: StatusCode, body: Body, mime: Option<&str>, cache: &str, tag: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    if let Some(mime) = mime.and_then(|mime| HeaderValue::from_str(mime).ok()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    if let Ok(value) = HeaderValue::from_str(cache) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    if let Ok(value) = HeaderValue::from_str(tag) {
        headers.insert(header::ETAG, value);
    }
    // Served from the API's own origin: the browser must take the bytes
    // for what the server says they are, and nothing in them may run.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    response
}
