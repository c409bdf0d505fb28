//! The editor app reads and writes through the GraphQL schema, in process:
//! the same resolvers, services, permission table and visibility rule as
//! any API client, with the signed-in editor as the viewer. There is no
//! second way to read drafts or change content.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::graphql::{self, Viewer};
use crate::http::AppState;

/// An error the API answered with: its code and its message, for the page.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// Runs `document` as `viewer` and reads its data into `T`.
pub async fn run<T: DeserializeOwned>(
    state: &AppState,
    viewer: Viewer,
    document: &str,
    variables: Value,
) -> Result<T, ApiError> {
    let request = async_graphql::Request::new(document)
        .variables(async_graphql::Variables::from_json(variables));
    let response = graphql::execute(&state.schema, viewer, request).await;
    if let Some(error) = response.errors.first() {
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(|code| match code {
                async_graphql::Value::String(code) => Some(code.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "INTERNAL".to_string());
        return Err(ApiError {
            code,
            message: error.message.clone(),
        });
    }
    let data = response.data.into_json().map_err(|error| ApiError {
        code: "INTERNAL".into(),
        message: error.to_string(),
    })?;
    serde_json::from_value(data).map_err(|error| {
        tracing::error!(%error, "the editor app misread an answer of its own query");
        ApiError {
            code: "INTERNAL".into(),
            message: "internal error".into(),
        }
    })
}
