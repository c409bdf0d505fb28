//! Errors as clients see them: a message meant for people and a stable
//! `extensions.code` meant for programs. Internal details are logged, never sent.

use async_graphql::{Error, ErrorExtensions};

use crate::domain::access::Forbidden;
use crate::identity::IdentityError;

/// Stable error codes (`extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// An argument is malformed or out of range.
    BadUserInput,
    /// An input breaks a rule; `extensions.field` names the field.
    ValidationFailed,
    /// The request needs credentials, or its bearer token is invalid,
    /// expired or revoked.
    Unauthenticated,
    /// The actor's role may not do this.
    Forbidden,
    /// The id names nothing of this kind.
    NotFound,
    /// The item changed since the client read it; `extensions.currentVersion`
    /// is its version now.
    Conflict,
    /// The workflow does not allow the action in the item's state;
    /// `extensions.status` and `extensions.allowedActions` say what does.
    InvalidTransition,
    /// Too many attempts; `extensions.retryAfter` says how many seconds to wait.
    RateLimited,
    /// The request took longer than the server allows; ask for less.
    Timeout,
    /// Something failed on the server; details are in its log.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::ValidationFailed => "VALIDATION_FAILED",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::InvalidTransition => "INVALID_TRANSITION",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Internal => "INTERNAL",
        }
    }
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
