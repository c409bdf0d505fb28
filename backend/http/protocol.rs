//! GraphQL over HTTP (graphql.github.io/graphql-over-http): what a request
//! must look like, which media type an answer takes, and which status code
//! goes with it.

use crate::graphql::error::ErrorCode;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The media types a GraphQL answer can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// `application/graphql-response+json`: status codes tell request
    /// errors (4xx) from executed operations (200).
    GraphQLResponse,
    /// `application/json`, for clients older than the specification: every
    /// answer to a well-formed request is 200.
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphQLResponse => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// What the client's `Accept` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    GraphQL(MediaType),
    Html,
    Nothing,
}

/// The client's most preferred type Beacon can produce. No `Accept` (or a
/// wildcard) gets `application/graphql-response+json`, as the specification
/// asks of servers since 2025.
pub fn negotiate(headers: &HeaderMap, html: bool) -> Wanted {
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.trim().is_empty())
    else {
        return Wanted::GraphQL(MediaType::GraphQLResponse);
    };
    let mut ranges: Vec<(f32, &str)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim();
            let quality = parts
                .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (quality > 0.0).then_some((quality, media))
        })
        .collect();
    // Stable: among equal qualities the client's order stands.
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, media) in ranges {
        let wanted = match media.to_ascii_lowercase().as_str() {
            "application/graphql-response+json" | "application/*" | "*/*" => {
                Wanted::GraphQL(MediaType::GraphQLResponse)
            }
            "application/json" => Wanted::GraphQL(MediaType::Json),
            "text/html" | "text/*" if html => Wanted::Html,
            _ => continue,
        };
        return wanted;
    }
    Wanted::Nothing
}

/// The parameters of one GraphQL-over-HTTP request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
    pub extensions: Option<Map<String, Value>>,
    /// Files a multipart request carried.
    pub uploads: Uploads,
}

/// Files sent with a multipart request (the GraphQL multipart request
/// spec), each with the variable it fills (`variables.file`).
#[derive(Clone, Default)]
pub struct Uploads(pub std::sync::Arc<Vec<(String, async_graphql::UploadValue)>>);

impl std::fmt::Debug for Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(path, upload)| (path, &upload.filename)))
            .finish()
    }
}

impl PartialEq for Uploads {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A POST body: one request, or a batch of them.
#[derive(Debug)]
pub enum Payload {
    Single(Params),
    Batch(Vec<Params>),
}

/// A request refused before (or instead of) execution.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The status under `application/graphql-response+json`.
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    /// A GraphQL request error (the document or its variables), which
    /// `application/json` clients get with status 200; anything else (the
    /// HTTP request itself, credentials, rates) keeps its status.
    pub request_error: bool,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Refusal {
    /// The HTTP request is not a well-formed GraphQL-over-HTTP request.
    pub fn malformed(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
            request_error: false,
            headers: Vec::new(),
        }
    }

    /// A refusal of the document, reported like a validation error.
    pub fn of_document(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            request_error: true,
            ..Refusal::new(StatusCode::BAD_REQUEST, code, message)
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn to_json(&self) -> Value {
        let mut extensions = serde_json::json!({ "code": self.code.as_str() });
        if let Some(request_id) = crate::http::current_request_id() {
            extensions["requestId"] = request_id.into();
        }
        serde_json::json!({
            "errors": [{ "message": self.message, "extensions": extensions }]
        })
    }

    pub fn status(&self, media: MediaType) -> StatusCode {
        if self.request_error && media == MediaType::Json {
            StatusCode::OK
        } else {
            self.status
        }
    }

    pub fn render(self, media: MediaType) -> Response {
        let status = self.status(media);
        let mut response = json_response(status, media, &self.to_json());
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// What one operation came to.
pub enum Outcome {
    Executed(async_graphql::Response),
    Refused(Refusal),
    /// A published answer kept from an earlier execution.
    Kept(Bytes),
}

/// An outcome as the client gets it: body, status, extra headers.
pub struct Rendered {
    /// The JSON text of the answer.
    pub body: Bytes,
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Executed without a single error: the only kind of answer a shared
    /// cache may keep.
    pub clean: bool,
}

impl Outcome {
    pub fn render(self, media: MediaType) -> Rendered {
        match self {
            Outcome::Kept(body) => Rendered {
                body,
                status: StatusCode::OK,
                headers: Vec::new(),
                clean: true,
            },
            Outcome::Refused(refusal) => Rendered {
                body: Bytes::from(refusal.to_json().to_string()),
                status: refusal.status(media),
                headers: refusal.headers,
                clean: false,
            },
            Outcome::Executed(response) => render_executed(response, media),
        }
    }
}

fn render_executed(response: async_graphql::Response, media: MediaType) -> Rendered {
    let clean = response.errors.is_empty();
    let request_error = is_request_error(&response);
    let mut response = response;
    if let Some(request_id) = crate::http::current_request_id() {
        for error in &mut response.errors {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("requestId", request_id.as_str());
        }
    }
    let retry_after = rate_limited(&response);
    let mut status = StatusCode::OK;
    let mut headers = Vec::new();
    let body = if request_error {
        if media == MediaType::GraphQLResponse {
            status = StatusCode::BAD_REQUEST;
        }
        let mut body = serde_json::to_value(&response).unwrap_or(Value::Null);
        if let Some(object) = body.as_object_mut() {
            object.remove("data");
        }
        label_request_errors(&mut body);
        serde_json::to_vec(&body)
    } else {
        // Straight to text: no intermediate JSON tree for every answer.
        serde_json::to_vec(&response)
    };
    let body = body.unwrap_or_else(|error| {
        tracing::error!(%error, "a GraphQL response did not serialize");
        br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#.to_vec()
    });
    // Sign-in refused for its rate alone answers 429 with `Retry-After`,
    // as clients and proxies expect.
    if let Some(seconds) = retry_after {
        status = StatusCode::TOO_MANY_REQUESTS;
        headers.push((header::RETRY_AFTER, HeaderValue::from(seconds)));
    }
    Rendered {
        body: Bytes::from(body),
        status,
        headers,
        clean,
    }
}

/// Errors without a path, and no data: the operation never ran (its
/// document failed validation, or its variables could not be used).
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    matches!(response.data, async_graphql::Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// Validation errors from async-graphql carry no code; give them one.
fn label_request_errors(body: &mut Value) {
    let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) else {
        return;
    };
    for error in errors {
        let Some(error) = error.as_object_mut() else {
            continue;
        };
        let extensions = error
            .entry("extensions")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(extensions) = extensions.as_object_mut() {
            extensions
                .entry("code")
                .or_insert_with(|| Value::from(ErrorCode::GraphqlValidationFailed.as_str()));
        }
    }
}

/// Seconds to wait when the operation was refused only for its rate.
fn rate_limited(response: &async_graphql::Response) -> Option<u64> {
    if !matches!(response.data, async_graphql::Value::Null) {
        return None;
    }
    response.errors.iter().find_map(|error| {
        let extensions = error.extensions.as_ref()?;
        if *extensions.get("code")? != async_graphql::Value::from(ErrorCode::RateLimited.as_str()) {
            return None;
        }
        match extensions.get("retryAfter")? {
            async_graphql::Value::Number(seconds) => seconds.as_u64(),
            _ => None,
        }
    })
}

pub fn json_response(status: StatusCode, media: MediaType, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    bytes_response(status, media, bytes)
}

pub fn bytes_response(status: StatusCode, media: MediaType, bytes: impl Into<Body>) -> Response {
    let mut response = (status, bytes.into()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    response
}

/// A POST must say its body is JSON (and UTF-8): anything else is refused
/// with 415 before it is read. This is also what keeps HTML forms and
/// other "simple" cross-site requests from reaching GraphQL at all.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    let unsupported = |message: &str| {
        Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            message,
        )
        .with_header(
            HeaderName::from_static("accept-post"),
            HeaderValue::from_static("application/json"),
        )
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("a POST needs `Content-Type: application/json`"));
    };
    let value = value.to_str().unwrap_or_default();
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return Err(unsupported(&format!(
            "`{media}` bodies are not accepted: send `application/json`"
        )));
    }
    for parameter in parts {
        if let Some((name, value)) = parameter.split_once('=')
            && name.trim().eq_ignore_ascii_case("charset")
            && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err(unsupported("request bodies must be UTF-8"));
        }
    }
    Ok(())
}

/// A JSON body: one request object, or (when batching is on) an array of
/// at most `max_batch` of them.
pub fn parse_body(bytes: &[u8], max_batch: usize) -> Result<Payload, Refusal> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| Refusal::malformed(format!("the body is not valid JSON: {error}")))?;
    match value {
        Value::Object(object) => Ok(Payload::Single(params_from_object(object)?)),
        Value::Array(items) => {
            if max_batch == 0 {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BatchingDisabled,
                    "this server does not take batches: send one request object",
                ));
            }
            if items.is_empty() || items.len() > max_batch {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BatchTooLarge,
                    format!(
                        "a batch holds 1 to {max_batch} requests; this one holds {}",
                        items.len()
                    ),
                ));
            }
            items
                .into_iter()
                .map(|item| match item {
                    Value::Object(object) => params_from_object(object),
                    _ => Err(Refusal::malformed(
                        "every batch entry must be a JSON object",
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Payload::Batch)
        }
        _ => Err(Refusal::malformed(
            "the body must be a JSON object with a `query`",
        )),
    }
}

fn params_from_object(mut object: Map<String, Value>) -> Result<Params, Refusal> {
    let query = match object.remove("query") {
        None | Some(Value::Null) => None,
        Some(Value::String(query)) => Some(query),
        Some(_) => return Err(Refusal::malformed("`query` must be a string")),
    };
    let operation_name = match object.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name).filter(|name| !name.is_empty()),
        Some(_) => return Err(Refusal::malformed("`operationName` must be a string")),
    };
    Ok(Params {
        query,
        operation_name,
        variables: map_parameter(object.remove("variables"), "variables")?,
        extensions: map_parameter(object.remove("extensions"), "extensions")?,
        uploads: Uploads::default(),
    })
}

fn map_parameter(value: Option<Value>, name: &str) -> Result<Option<Map<String, Value>>, Refusal> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(Refusal::malformed(format!(
            "`{name}` must be a JSON object"
        ))),
    }
}

/// GET parameters: `query`, `operationName`, and `variables` and
/// `extensions` as JSON text.
pub fn parse_url(raw: &str) -> Result<Params, Refusal> {
    let mut seen = std::collections::HashSet::new();
    let mut params = Params::default();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        if !seen.insert(name.clone()) {
            return Err(Refusal::malformed(format!(
                "`{name}` is given more than once"
            )));
        }
        match name.as_ref() {
            "query" => params.query = Some(value.into_owned()),
            "operationName" => {
                params.operation_name = Some(value.into_owned()).filter(|name| !name.is_empty())
            }
            "variables" | "extensions" => {
                let parsed = if value.is_empty() {
                    None
                } else {
                    let json: Value = serde_json::from_str(&value).map_err(|error| {
                        Refusal::malformed(format!("`{name}` is not valid JSON: {error}"))
                    })?;
                    map_parameter(Some(json), &name)?
                };
                if name == "variables" {
                    params.variables = parsed;
                } else {
                    params.extensions = parsed;
                }
            }
            // Cache busters and the like are the client's business.
            _ => {}
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_most_preferred_supported_type_wins() {
        use MediaType::*;
        assert_eq!(
            negotiate(&HeaderMap::new(), true),
            Wanted::GraphQL(GraphQLResponse)
        );
        assert_eq!(
            negotiate(&accept("application/json"), true),
            Wanted::GraphQL(Json)
        );
        assert_eq!(
            negotiate(
                &accept("application/graphql-response+json, application/json;q=0.9"),
                true
            ),
            Wanted::GraphQL(GraphQLResponse)
        );
        assert_eq!(
            negotiate(
                &accept("application/graphql-response+json;q=0.5, application/json"),
                true
            ),
            Wanted::GraphQL(Json)
        );
        assert_eq!(
            negotiate(&accept("*/*"), true),
            Wanted::GraphQL(GraphQLResponse)
        );
        assert_eq!(
            negotiate(&accept("text/html,application/xhtml+xml,*/*;q=0.8"), true),
            Wanted::Html
        );
        assert_eq!(
            negotiate(&accept("text/html,*/*;q=0.8"), false),
            Wanted::GraphQL(GraphQLResponse)
        );
        assert_eq!(negotiate(&accept("text/html"), false), Wanted::Nothing);
        assert_eq!(negotiate(&accept("application/xml"), true), Wanted::Nothing);
        assert_eq!(
            negotiate(&accept("application/json;q=0"), true),
            Wanted::Nothing
        );
    }

    #[test]
    fn bodies_must_be_well_formed_requests() {
        let single = |body: &str| parse_body(body.as_bytes(), 0);
        assert!(matches!(
            single(r#"{"query":"{a}"}"#),
            Ok(Payload::Single(_))
        ));
        for (body, needle) in [
            ("NONSENSE", "not valid JSON"),
            (r#"{"query":1}"#, "`query` must be a string"),
            (
                r#"{"query":"{a}","variables":[7]}"#,
                "`variables` must be a JSON object",
            ),
            (
                r#"{"query":"{a}","operationName":3}"#,
                "`operationName` must be a string",
            ),
            (
                r#"{"query":"{a}","extensions":"x"}"#,
                "`extensions` must be a JSON object",
            ),
            ("\"{a}\"", "JSON object"),
        ] {
            let refusal = single(body).unwrap_err();
            assert_eq!(refusal.status, StatusCode::BAD_REQUEST, "{body}");
            assert!(
                refusal.message.contains(needle),
                "{body}: {}",
                refusal.message
            );
        }
        assert_eq!(
            single(r#"[{"query":"{a}"}]"#).unwrap_err().code,
            ErrorCode::BatchingDisabled
        );
        assert!(matches!(
            parse_body(br#"[{"query":"{a}"},{"query":"{b}"}]"#, 2),
            Ok(Payload::Batch(items)) if items.len() == 2
        ));
        assert_eq!(
            parse_body(br#"[{"query":"{a}"},{"query":"{b}"},{"query":"{c}"}]"#, 2)
                .unwrap_err()
                .code,
            ErrorCode::BatchTooLarge
        );
    }

    #[test]
    fn url_parameters_decode_and_json_parameters_must_be_objects() {
        let params = parse_url(
            "query=query%20Q(%24id%3AID!)%7Bnode(id%3A%24id)%7Bid%7D%7D&variables=%7B%22id%22%3A%22x%22%7D&operationName=Q",
        )
        .unwrap();
        assert_eq!(
            params.query.as_deref(),
            Some("query Q($id:ID!){node(id:$id){id}}")
        );
        assert_eq!(params.operation_name.as_deref(), Some("Q"));
        assert_eq!(params.variables.unwrap()["id"], "x");
        assert!(parse_url("query=%7Ba%7D&variables=%5B1%5D").is_err());
        assert!(parse_url("query=%7Ba%7D&variables=%7B").is_err());
        assert!(parse_url("query=%7Ba%7D&query=%7Bb%7D").is_err());
        assert_eq!(
            parse_url("query=%7Ba%7D&operationName=")
                .unwrap()
                .operation_name,
            None
        );
    }

    #[test]
    fn only_json_bodies_are_read() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
            check_content_type(&headers)
        };
        assert!(with("application/json").is_ok());
        assert!(with("application/json; charset=utf-8").is_ok());
        assert!(with("Application/JSON;charset=\"UTF-8\"").is_ok());
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/graphql",
            "application/json; charset=latin1",
        ] {
            assert_eq!(
                with(bad).unwrap_err().status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{bad}"
            );
        }
        assert!(check_content_type(&HeaderMap::new()).is_err());
    }
}
