//! Errors as clients see them: a message meant for people and a stable
//! `extensions.code` meant for programs. Internal details are logged, never sent.

use async_graphql::{Error, ErrorExtensions};

/// Stable error codes (`extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// An argument is malformed or out of range.
    BadUserInput,
    /// Something failed on the server; details are in its log.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
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
    let reference = uuid::Uuid::new_v4();
    tracing::error!(%reference, %error, "internal error while answering a GraphQL request");
    Error::new("internal error").extend_with(|_, extensions| {
        extensions.set("code", ErrorCode::Internal.as_str());
        extensions.set("reference", reference.to_string());
    })
}
