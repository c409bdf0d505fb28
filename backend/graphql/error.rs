//! Errors as clients see them: a message meant for people and a stable
//! `extensions.code` meant for programs. Internal details are logged, never sent.

use async_graphql::{Error, ErrorExtensions};

use crate::domain::access::Forbidden;
use crate::identity::IdentityError;

/// Declares [`ErrorCode`] from one table, so the list of every code
/// ([`ErrorCode::ALL`]), its spelling and its meaning cannot drift apart.
macro_rules! error_codes {
    ($($variant:ident => $code:literal: $meaning:literal,)*) => {
        /// Every `extensions.code` a client can get, in one place: each
        /// refusal, from the HTTP edge to the workflow, names one of these.
        /// docs/partners.md's list is tested against [`ErrorCode::ALL`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// What it means and what to do, for people.
            pub fn description(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)*
                }
            }
        }
    };
}

error_codes! {
    BadUserInput => "BAD_USER_INPUT":
        "An argument is malformed or out of range (a cursor, an id, `first` over 100); the message says which.",
    ValidationFailed => "VALIDATION_FAILED":
        "An input breaks a content rule; `extensions.field` names the field, and `extensions.fields` lists every field that fails.",
    Unauthenticated => "UNAUTHENTICATED":
        "The request needs credentials, or its bearer token is malformed, unknown, expired or revoked (HTTP 401).",
    Forbidden => "FORBIDDEN":
        "The caller's role may not do this.",
    NotFound => "NOT_FOUND":
        "The id names nothing of this kind.",
    Conflict => "CONFLICT":
        "The item changed since the client read it: `extensions.currentVersion` is its version now.",
    InvalidTransition => "INVALID_TRANSITION":
        "The workflow does not allow the action in the item's state: `extensions.status` and `extensions.allowedActions` say what does.",
    RateLimited => "RATE_LIMITED":
        "Too many requests or attempts: wait `extensions.retryAfter` seconds (HTTP 429 with `Retry-After`).",
    Timeout => "TIMEOUT":
        "The request ran longer than the server allows (HTTP 503); ask for less.",
    Internal => "INTERNAL":
        "Something failed on the server; `extensions.reference` finds the log line.",
    BadRequest => "BAD_REQUEST":
        "The HTTP request is not a well-formed GraphQL-over-HTTP request (missing `query`, bad JSON, bad parameters).",
    MethodNotAllowed => "METHOD_NOT_ALLOWED":
        "A mutation sent with GET (HTTP 405): use POST.",
    NotAcceptable => "NOT_ACCEPTABLE":
        "The `Accept` header names no media type the server answers with (HTTP 406).",
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE":
        "The POST body's `Content-Type` is not JSON (HTTP 415).",
    PayloadTooLarge => "PAYLOAD_TOO_LARGE":
        "The request body is larger than `--max-body-bytes`, or an uploaded file larger than `--max-upload-bytes` (HTTP 413).",
    UnsupportedFile => "UNSUPPORTED_FILE":
        "An uploaded file's bytes are not a type Beacon accepts (PNG, JPEG, GIF or WebP images, PDF, MP4 or WebM), are not readable as the type they start as, or are an image with too many pixels; SVG is refused. `extensions.field` is `file`.",
    ResponseTooLarge => "RESPONSE_TOO_LARGE":
        "The answer would be larger than `--max-response-bytes`; ask for fewer items or fields.",
    BatchingDisabled => "BATCHING_DISABLED":
        "A batch (JSON array) was sent to a server with batching off.",
    BatchTooLarge => "BATCH_TOO_LARGE":
        "A batch has more operations than `--max-batch`.",
    GraphqlParseFailed => "GRAPHQL_PARSE_FAILED":
        "The query text is not valid GraphQL syntax.",
    GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED":
        "The query does not validate against the schema (an unknown field, a wrong argument type, an unknown operation name).",
    QueryTooDeep => "QUERY_TOO_DEEP":
        "The query nests fields deeper than `--max-depth`.",
    QueryTooComplex => "QUERY_TOO_COMPLEX":
        "The query's cost (fields times the list sizes they may return) is over `--max-complexity`.",
    TooManyAliases => "TOO_MANY_ALIASES":
        "The query uses more aliases than the server allows.",
    TooManySelections => "TOO_MANY_SELECTIONS":
        "The query selects more fields than the server allows.",
    TooManyDirectives => "TOO_MANY_DIRECTIVES":
        "The query uses more directives than the server allows.",
    InputTooDeep => "INPUT_TOO_DEEP":
        "An argument or variable value nests deeper than the server allows.",
    FragmentCycle => "FRAGMENT_CYCLE":
        "Fragments spread each other in a cycle.",
    IntrospectionDisabled => "INTROSPECTION_DISABLED":
        "Introspection is off for callers without credentials (`--anonymous-introspection false`).",
    OperationNotAllowed => "OPERATION_NOT_ALLOWED":
        "The operation may not run here: not in the allow-list of persisted operations, or not a subscription on a WebSocket.",
    PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND":
        "An automatic persisted query's hash is not known yet: send the query text with it.",
    PersistedQueryNotSupported => "PERSISTED_QUERY_NOT_SUPPORTED":
        "Automatic persisted queries are off on this server (`--apq-cache-size 0`).",
}

pub fn client_error(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::new(message.into()).extend_with(|_, extensions| extensions.set("code", code.as_str()))
}

pub fn bad_input(message: impl Into<String>) -> Error {
    client_error(ErrorCode::BadUserInput, message)
}

/// Logs `error` with a reference and returns an opaque INTERNAL error that
/// carries the same reference, so an operator can find the log line.
pub fn internal(error: impl std::fmt::Display) -> Error {
    let text = error.to_string();
    // PostgreSQL cancelled a statement that ran past `statement_timeout`:
    // the client asked for too much, the server did not fail.
    if text.contains("canceling statement due to statement timeout") {
        tracing::warn!(error = %text, "a statement ran past the statement timeout");
        return client_error(
            ErrorCode::Timeout,
            "the database took too long to answer; ask for less",
        );
    }
    let reference = uuid::Uuid::new_v4();
    tracing::error!(%reference, %error, "internal error while answering a GraphQL request");
    Error::new("internal error").extend_with(|_, extensions| {
        extensions.set("code", ErrorCode::Internal.as_str());
        extensions.set("reference", reference.to_string());
    })
}

/// A resolver panicked: logged with a reference, reported as `INTERNAL`.
pub fn panicked(payload: &(dyn std::any::Any + Send)) -> async_graphql::ServerError {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    let reference = uuid::Uuid::new_v4();
    tracing::error!(%reference, panic = message, "a resolver panicked");
    let mut error = async_graphql::ServerError::new("internal error", None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", ErrorCode::Internal.as_str());
    extensions.set("reference", reference.to_string());
    error.extensions = Some(extensions);
    error
}

pub fn forbidden(error: Forbidden) -> Error {
    client_error(ErrorCode::Forbidden, error.to_string())
}

pub fn unauthenticated(message: impl Into<String>) -> Error {
    client_error(ErrorCode::Unauthenticated, message)
}

pub fn validation_failed(field: &str, message: impl std::fmt::Display) -> Error {
    let field = field.to_string();
    Error::new(message.to_string()).extend_with(move |_, extensions| {
        extensions.set("code", ErrorCode::ValidationFailed.as_str());
        extensions.set("field", field.as_str());
    })
}

/// Every field an input fails on, each with its message: `field` names the
/// first (as for a single problem) and `fields` lists them all, so a form
/// can mark each at once.
pub fn validation_failed_fields(fields: Vec<(String, String)>) -> Error {
    let message = fields
        .iter()
        .map(|(_, message)| message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let first = fields
        .first()
        .map(|(field, _)| field.clone())
        .unwrap_or_else(|| "input".into());
    Error::new(message).extend_with(move |_, extensions| {
        extensions.set("code", ErrorCode::ValidationFailed.as_str());
        extensions.set("field", first.as_str());
        let listed: Vec<async_graphql::Value> = fields
            .iter()
            .map(|(field, message)| {
                let mut entry = async_graphql::indexmap::IndexMap::new();
                entry.insert(async_graphql::Name::new("field"), field.as_str().into());
                entry.insert(async_graphql::Name::new("message"), message.as_str().into());
                async_graphql::Value::Object(entry)
            })
            .collect();
        extensions.set("fields", listed);
    })
}

pub fn identity_error(error: IdentityError) -> Error {
    match error {
        IdentityError::Invalid { field, .. } => validation_failed(field, &error),
        IdentityError::EmailTaken => validation_failed("email", "email: is already in use"),
        IdentityError::InvalidCredentials => unauthenticated(error.to_string()),
        IdentityError::Unauthenticated => unauthenticated(error.to_string()),
        IdentityError::NotFound(_) | IdentityError::NoSuchEmail(_) => {
            client_error(ErrorCode::NotFound, error.to_string())
        }
        IdentityError::Forbidden(_) | IdentityError::NotPermitted(_) => {
            client_error(ErrorCode::Forbidden, error.to_string())
        }
        IdentityError::RateLimited { retry_after } => {
            let seconds = retry_after.as_secs().max(1);
            Error::new(error.to_string()).extend_with(move |_, extensions| {
                extensions.set("code", ErrorCode::RateLimited.as_str());
                extensions.set("retryAfter", seconds);
            })
        }
        IdentityError::Database(error) => internal(error),
    }
}
