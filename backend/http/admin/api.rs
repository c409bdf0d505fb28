//! The editor app reads and writes through the GraphQL schema, in process:
//! the same resolvers, services, permission table and visibility rule as
//! any API client, with the signed-in editor as the viewer. There is no
//! second way to read drafts or change content.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::access;
use crate::graphql::{self, Viewer};
use crate::http::AppState;

/// An error the API answered with: its code and its message, for the page.
/// Whether a connection has more, and where it goes on.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

/// A page of a connection as the admin screens read it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Nodes<T> {
    pub nodes: Vec<T>,
    pub page_info: Option<PageInfo>,
}

impl<T> Nodes<T> {
    /// The next page's address, when there is one: `path` with the
    /// `query` pairs that are not empty and the cursor as `after`.
    pub fn next(&self, path: &str, mut query: Vec<(&str, String)>) -> Option<String> {
        let cursor = self
            .page_info
            .as_ref()
            .filter(|info| info.has_next_page)?
            .end_cursor
            .clone()?;
        query.retain(|(_, value)| !value.is_empty());
        query.push(("after", cursor));
        Some(format!(
            "{path}?{}",
            serde_urlencoded::to_string(query).unwrap_or_default()
        ))
    }
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    /// For `VALIDATION_FAILED`: each field that fails, with its message.
    pub fields: Vec<(String, String)>,
}

/// A file an editor chose in a form.
pub struct UploadedFile {
    pub filename: String,
    pub content_type: Option<String>,
    pub bytes: bytes::Bytes,
}

/// A multipart form's text fields, in order, and its `file` part (when a
/// file was chosen), cut off at `limit` bytes.
pub async fn read_multipart(
    request: axum::extract::Request,
    limit: u64,
) -> Result<(Vec<(String, String)>, Option<UploadedFile>), axum::response::Response> {
    use axum::http::{StatusCode, header};
    let unreadable = || {
        super::plain(
            StatusCode::BAD_REQUEST,
            "The form could not be read; open it again.\n",
        )
    };
    let too_large = || {
        super::plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The file is larger than this server takes (--max-upload-bytes); nothing was saved.\n",
        )
    };
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let boundary = multer::parse_boundary(&content_type).map_err(|_| unreadable())?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit + (1 << 20))
            .per_field(64 << 10)
            .for_field("file", limit),
    );
    let mut multipart = multer::Multipart::with_constraints(
        request.into_body().into_data_stream(),
        boundary,
        constraints,
    );
    let refused = |error: multer::Error| match error {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            too_large()
        }
        _ => unreadable(),
    };
    let mut pairs = Vec::new();
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(refused)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let filename = field.file_name().unwrap_or_default().to_string();
            let content_type = field.content_type().map(|mime| mime.to_string());
            let bytes = field.bytes().await.map_err(refused)?;
            // A file input left empty still sends an empty part.
            if !filename.is_empty() || !bytes.is_empty() {
                file = Some(UploadedFile {
                    filename,
                    content_type,
                    bytes,
                });
            }
        } else {
            pairs.push((name, field.text().await.map_err(refused)?));
        }
    }
    Ok((pairs, file))
}

/// Runs `document` as `viewer` and reads its data into `T`.
pub async fn run<T: DeserializeOwned>(
    state: &AppState,
    viewer: Viewer,
    document: &str,
    variables: Value,
) -> Result<T, ApiError> {
    run_with_file(state, viewer, document, variables, None).await
}

/// As [`run`], with `file` as the `$file` upload.
pub async fn run_with_file<T: DeserializeOwned>(
    state: &AppState,
    viewer: Viewer,
    document: &str,
    variables: Value,
    file: Option<UploadedFile>,
) -> Result<T, ApiError> {
    let mut request = async_graphql::Request::new(document)
        .variables(async_graphql::Variables::from_json(variables));
    if let Some(file) = file {
        request.set_upload(
            "variables.file",
            async_graphql::UploadValue {
                filename: file.filename,
                content_type: file.content_type,
                content: file.bytes,
            },
        );
    }
    let may_change_published = access::may_change_published(viewer.actor());
    let response = graphql::execute(&state.schema, viewer, request).await;
    if may_change_published && document.trim_start().starts_with("mutation") {
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
