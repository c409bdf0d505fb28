//! GraphQL multipart requests (github.com/jaydenseric/graphql-multipart-request-spec):
//! an `operations` part (the JSON body), a `map` part (which file fills
//! which variable), then the files, each cut off at the upload limit.
//!
//! Only requests with credentials may send one. A multipart POST is one an
//! HTML form on any site can make without asking the browser first; an
//! `Authorization` header is one no form can add, so demanding it keeps
//! cross-site forms away from GraphQL as the JSON-only rule always has
//! (and uploading needs credentials anyway).

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use futures::StreamExt;

use super::protocol::{Params, Payload, Refusal, Uploads, parse_body};
use crate::graphql::error::ErrorCode;

/// Most files one request may carry.
pub const MAX_FILES: usize = 10;
/// Largest `map` part.
const MAX_MAP_BYTES: u64 = 64 << 10;

/// Whether the request is a multipart request, the one kind of non-JSON
/// POST taken (with credentials).
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("multipart/form-data"))
        })
}

/// The request's operation and its files. `max_body` bounds the
/// operations part, `max_file` each file.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    max_body: u64,
    max_file: u64,
) -> Result<Payload, Refusal> {
    if !headers.contains_key(header::AUTHORIZATION) {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "uploads need credentials: send the request with an Authorization header",
        ));
    }
    let too_large = |what: &str| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("{what}; uploads are limited to {max_file} bytes a file"),
        )
    };
    let whole = max_body + MAX_MAP_BYTES + max_file * MAX_FILES as u64;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    // A 1 GB upload is refused before a byte of it is read.
    if declared.is_some_and(|length| length > whole) {
        return Err(too_large("the request is larger than its files may be"));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| Refusal::malformed("a multipart request needs a boundary"))?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(whole)
            .per_field(max_file)
            .for_field("operations", max_body)
            .for_field("map", MAX_MAP_BYTES),
    );
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let read_error = |error: multer::Error| match error {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            too_large("a part of the request is too large")
        }
        other => Refusal::malformed(format!("the multipart body cannot be read: {other}")),
    };

    let mut next = async || multipart.next_field().await.map_err(read_error);
    let spec = "send `operations`, then `map`, then the files";
    let operations = match next().await? {
        Some(field) if field.name() == Some("operations") => {
            field.bytes().await.map_err(read_error)?
        }
        _ => {
            return Err(Refusal::malformed(format!(
                "the first part must be `operations`: {spec}"
            )));
        }
    };
    let mut params = match parse_body(&operations, 0)? {
        Payload::Single(params) => params,
        Payload::Batch(_) => unreachable!("batches are refused with max_batch 0"),
    };
    let map: HashMap<String, Vec<String>> = match next().await? {
        Some(field) if field.name() == Some("map") => {
            let bytes = field.bytes().await.map_err(read_error)?;
            serde_json::from_slice(&bytes).map_err(|_| {
                Refusal::malformed("`map` must be a JSON object of file names to variable paths")
            })?
        }
        _ => {
            return Err(Refusal::malformed(format!(
                "the second part must be `map`: {spec}"
            )));
        }
    };
    if map.len() > MAX_FILES {
        return Err(Refusal::malformed(format!(
            "a request carries at most {MAX_FILES} files"
        )));
    }
    let mut uploads = Vec::new();
    while let Some(mut field) = next().await? {
        let Some(paths) = field.name().and_then(|name| map.get(name)).cloned() else {
            return Err(Refusal::malformed(format!(
                "the part {:?} is not named in `map`",
                field.name().unwrap_or_default()
            )));
        };
        let filename = field.file_name().unwrap_or_default().to_string();
        let content_type = field.content_type().map(|mime| mime.to_string());
        // Collected in memory (at most the upload limit): intake decodes
        // the whole file anyway.
        let mut content = bytes::BytesMut::new();
        while let Some(chunk) = field.next().await {
            content.extend_from_slice(&chunk.map_err(read_error)?);
        }
        let content = content.freeze();
        for path in paths {
            uploads.push((
                path,
                async_graphql::UploadValue {
                    filename: filename.clone(),
                    content_type: content_type.clone(),
                    content: content.clone(),
                },
            ));
        }
    }
    params.uploads = Uploads(std::sync::Arc::new(uploads));
    Ok(Payload::Single(params))
}

impl Params {
    /// Whether the request carried files.
    pub fn has_uploads(&self) -> bool {
        !self.uploads.0.is_empty()
    }
}
