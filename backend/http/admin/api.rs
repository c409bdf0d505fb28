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
    /// For `VALIDATION_FAILED`: each field that fails, with its message.
    pub fields: Vec<(String, String)>,
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
    if document.trim_start().starts_with("mutation") {
        // The editor's next page reads what they just did; public answers
        // kept before it must not wait for the notification.
        state.runtime.hub.published_changed();
    }
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
        let extension = |name: &str| {
            error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get(name))
                .and_then(|value| value.clone().into_json().ok())
        };
        // One problem comes as `field`, several as `fields`.
        let problems = extension("fields")
            .and_then(|fields| serde_json::from_value::<Vec<FieldProblem>>(fields).ok())
            .or_else(|| {
                let field = extension("field")?.as_str()?.to_string();
                Some(vec![FieldProblem {
                    field,
                    message: error.message.clone(),
                }])
            })
            .unwrap_or_default();
        let fields = problems
            .into_iter()
            .map(FieldProblem::into_form_names)
            .collect();
        return Err(ApiError {
            code,
            message: error.message.clone(),
            fields,
        });
    }
    let data = response.data.into_json().map_err(|error| ApiError {
        code: "INTERNAL".into(),
        message: error.to_string(),
        fields: Vec::new(),
    })?;
    serde_json::from_value(data).map_err(|error| {
        tracing::error!(%error, "the editor app misread an answer of its own query");
        ApiError {
            code: "INTERNAL".into(),
            message: "internal error".into(),
            fields: Vec::new(),
        }
    })
}

#[derive(serde::Deserialize)]
struct FieldProblem {
    field: String,
    message: String,
}

impl FieldProblem {
    /// The field as the form names it (`input.url` is `url`) and the
    /// message without the field's name in front, which the form shows
    /// as the field's label.
    fn into_form_names(self) -> (String, String) {
        let field = self
            .field
            .strip_prefix("input.")
            .unwrap_or(&self.field)
            .to_string();
        let message = self
            .message
            .strip_prefix(&format!("{field}: "))
            .unwrap_or(&self.message)
            .to_string();
        (field, message)
    }
}
