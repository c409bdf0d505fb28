//! How the editorial service's refusals reach clients.

use async_graphql::ErrorExtensions;

use crate::editorial::EditorialError;
use crate::graphql::error::{ErrorCode, client_error, internal};

pub(super) fn editorial_error(error: EditorialError, input_fields: bool) -> async_graphql::Error {
    match error {
        EditorialError::NotFound => client_error(ErrorCode::NotFound, "there is no such item"),
        EditorialError::Forbidden(forbidden) => crate::graphql::error::forbidden(forbidden),
        EditorialError::Conflict { expected, current } => {
            client_error(ErrorCode::Conflict, error.to_string()).extend_with(|_, extensions| {
                extensions.set("currentVersion", current);
                extensions.set("expectedVersion", expected);
            })
        }
        EditorialError::InvalidTransition(refused) => {
            let message = refused.to_string();
            let status = refused.from.as_str().to_ascii_uppercase();
            let allowed: Vec<async_graphql::Value> = refused
                .allowed
                .iter()
                .map(|action| async_graphql::Value::from(action.name()))
                .collect();
            client_error(ErrorCode::InvalidTransition, message).extend_with(move |_, extensions| {
                extensions.set("status", status.as_str());
                extensions.set("allowedActions", allowed.clone());
            })
        }
        EditorialError::Invalid(errors) => {
            let path = |field: &str| {
                let argument = ["at", "comment", "toVersion", "resource", "position", "file"];
                if input_fields && !argument.contains(&field) {
                    format!("input.{field}")
                } else {
                    field.to_string()
                }
            };
            let fields: Vec<(String, String)> = errors
                .iter()
                .map(|error| (path(error.field), error.to_string()))
                .collect();
            crate::graphql::error::validation_failed_fields(fields)
        }
        EditorialError::UnknownStatus { .. } => internal(error),
        EditorialError::Database(error) => internal(error),
    }
}
