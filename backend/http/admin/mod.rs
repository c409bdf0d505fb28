//! The editor app at `/admin`: pages rendered on the server from compiled
//! templates (askama: checked when Beacon is built, HTML-escaped by
//! default), plain forms that work without scripts (one small script of
//! our own adds the unsaved-changes warning, pickers that search as you
//! type, local times and live updates), and the GraphQL schema underneath
//! (see `api`). Sign-in gives the same session as `login`, kept in an
//! HttpOnly cookie; every form that changes something is checked to come
//! from these pages.

mod api;
mod edit;
mod home;
mod items;
mod manage;
mod session;
mod sign_in;

use askama::Template;
use axum::Router;
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use super::AppState;
use super::assets::{self, Asset};
use super::auth::{PeerAddress, client_address};
use crate::graphql::Viewer;
use crate::identity::IdentityError;

const ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/admin_assets.rs"));
/// Drawn from the files' bytes by `build.rs`; part of every asset's URL.
const TAG: &str = include!(concat!(env!("OUT_DIR"), "/admin_tag.rs"));

/// The pages load nothing but this server's stylesheet and script, talk
/// and post forms only to this server, and cannot be framed (a click
/// stolen from a framed page could publish).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home::home))
        .route("/admin/sign-in", get(sign_in::form).post(sign_in::sign_in))
        .route("/admin/sign-out", post(sign_in::sign_out))
        .route("/admin/lists/{list}", get(home::list))
        .route("/admin/pick/{list}", get(home::pick))
        .route("/admin/new/{kind}", get(edit::new_page).post(edit::create))
        .route("/admin/items/{id}", get(items::item_page))
        .route("/admin/items/{id}/actions", post(items::act))
        .route(
            "/admin/items/{id}/edit",
            get(edit::edit_page).post(edit::save),
        )
        .route("/admin/items/{id}/history", get(items::history))
        .route("/admin/items/{id}/live", get(items::live))
        .route(
            "/admin/people",
            get(manage::people).post(manage::change_people),
        )
        .route(
            "/admin/tokens",
            get(manage::tokens).post(manage::change_tokens),
        )
        .route(
            "/admin/webhooks",
            get(manage::webhooks).post(manage::change_webhooks),
        )
        .route("/admin/seed-runs", get(manage::seed_runs))
        .route("/admin/audit-log", get(manage::audit_log))
        .route("/admin/assets/{tag}/{file}", get(asset))
}

async fn asset(Path((tag, name)): Path<(String, String)>, headers: HeaderMap) -> Response {
    assets::serve(ASSETS, TAG, &tag, &name, &headers)
}

/// A rendered page with the headers every page of the app carries.
fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // Pages show drafts and names: never kept by a shared cache.
                (header::CACHE_CONTROL, "no-store"),
                (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::REFERRER_POLICY, "same-origin"),
            ],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering an editor page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A plain-text answer for what a page cannot show in place.
fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// The signed-in editor of a request: their viewer (for the API) and
/// session token (for form tokens).
#[derive(Clone)]
struct Editor {
    viewer: Viewer,
    token: String,
}

impl Editor {
    /// The form token every form of this editor's pages carries.
    fn form_token(&self, state: &AppState) -> String {
        state.identity.form_token(&self.token)
    }
}

/// The editor a session token belongs to. `None` when the session has
/// ended or expired (or the token is not a session).
async fn editor_of(
    state: &AppState,
    headers: &HeaderMap,
    peer: &PeerAddress,
    token: String,
) -> Result<Option<Editor>, Response> {
    let Ok(mut conn) = state.database.pool.get().await else {
        return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
    };
    match state.identity.authenticate(&mut conn, &token).await {
        // An API token pasted into the cookie is not a session.
        Ok(auth) if auth.session_id.is_some() => Ok(Some(Editor {
            viewer: Viewer {
                auth,
                client_address: client_address(peer.0, headers, &state.settings.trusted_proxies),
                request_id: Some(super::endpoint::request_id(headers)),
            },
            token,
        })),
        Ok(_) => Ok(None),
        Err(IdentityError::Database(error)) => {
            tracing::error!(%error, "checking an editor's session failed");
            Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
        }
        Err(_) => Ok(None),
    }
}

/// The editor the request's cookie names, if any.
async fn signed_in(state: &AppState, parts: &mut Parts) -> Result<Option<Editor>, Response> {
    let Some(token) = session::token(&parts.headers) else {
        return Ok(None);
    };
    let Ok(peer) = PeerAddress::from_request_parts(parts, state).await;
    editor_of(state, &parts.headers, &peer, token).await
}

/// Pages for signed-in editors only: anyone else is sent to sign in.
impl FromRequestParts<AppState> for Editor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        signed_in(state, parts)
            .await?
            .ok_or_else(|| Redirect::to("/admin/sign-in").into_response())
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Editor {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Response> {
        signed_in(state, parts).await
    }
}

/// A form the app posts: it carries the session's form token, and says
/// what becomes of it when the session has ended.
trait PostedForm: DeserializeOwned + Send {
    fn form_token(&self) -> &str;

    /// The answer when the session ended before the form was sent. Forms
    /// with the editor's text keep it (see `edit`).
    fn signed_out(self, _path: &str) -> Response {
        Redirect::to("/admin/sign-in").into_response()
    }
}

/// A state-changing request from one of these pages: its origin is this
/// server, its session is live and its form token is the session's. The
/// three checks are here, so no handler can forget one.
struct Posted<T> {
    editor: Editor,
    form: T,
    /// The file a multipart form carried (the new-asset form's).
    file: Option<api::UploadedFile>,
}

impl<T: PostedForm> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        if !session::same_origin(request.headers()) {
            return Err(refused());
        }
        let (mut parts, body) = request.into_parts();
        let editor = signed_in(state, &mut parts).await?;
        let path = parts.uri.path().to_string();
        let request = Request::from_parts(parts, body);
        let (form, file) = if super::upload::is_multipart(request.headers()) {
            let limit = state.runtime.media.limits.max_bytes;
            let (pairs, file) = api::read_multipart(request, limit).await?;
            let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            let form = serde_urlencoded::from_str::<T>(&encoded).map_err(|_| {
                plain(
                    StatusCode::BAD_REQUEST,
                    "The form is incomplete; open it again.\n",
                )
            })?;
            (form, file)
        } else {
            let Form(form) = Form::<T>::from_request(request, state)
                .await
                .map_err(IntoResponse::into_response)?;
            (form, None)
        };
        let Some(editor) = editor else {
            return Err(form.signed_out(&path));
        };
        if !state
            .identity
            .verify_form_token(&editor.token, form.form_token())
        {
            return Err(refused());
        }
        Ok(Posted { editor, form, file })
    }
}

/// A state-changing request that did not come from these pages.
fn refused() -> Response {
    plain(
        StatusCode::FORBIDDEN,
        "This form was not sent from Beacon's own pages, so nothing was changed.\n",
    )
}

/// An answer for an API error the page cannot show in place.
impl IntoResponse for api::ApiError {
    fn into_response(self) -> Response {
        api_failure(&self)
    }
}

fn api_failure(error: &api::ApiError) -> Response {
    match error.code.as_str() {
        "FORBIDDEN" => plain(
            StatusCode::FORBIDDEN,
            "Your role does not allow this. An admin can give you a role that does.\n",
        ),
        "NOT_FOUND" => no_such_item(),
        "BAD_USER_INPUT" => plain(
            StatusCode::BAD_REQUEST,
            "This address asks for something the app cannot show (an old link?).\n",
        ),
        _ => {
            tracing::error!(code = %error.code, message = %error.message, "an editor page's query failed");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Beacon cannot answer right now; nothing was lost. Try again in a moment.\n",
            )
        }
    }
}

fn no_such_item() -> Response {
    plain(StatusCode::NOT_FOUND, "There is no such item.\n")
}

/// The kinds of content, as the API names them (`__typename`, `ContentKind`),
/// the app's paths and its words.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Resource,
    Module,
    Topic,
    ResourceType,
    Tag,
    Asset,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Resource,
        Kind::Module,
        Kind::Asset,
        Kind::Topic,
        Kind::Tag,
        Kind::ResourceType,
    ];

    fn from_typename(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.typename() == name)
    }

    fn from_path(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.path() == name)
    }

    fn typename(self) -> &'static str {
        match self {
            Kind::Resource => "Resource",
            Kind::Module => "Module",
            Kind::Topic => "Topic",
            Kind::ResourceType => "ResourceType",
            Kind::Tag => "Tag",
            Kind::Asset => "Asset",
        }
    }

    /// The `ContentKind` value.
    fn api_name(self) -> &'static str {
        match self {
            Kind::Resource => "RESOURCE",
            Kind::Module => "MODULE",
            Kind::Topic => "TOPIC",
            Kind::ResourceType => "RESOURCE_TYPE",
            Kind::Tag => "TAG",
            Kind::Asset => "ASSET",
        }
    }

    /// Its lists' and forms' path segment.
    fn path(self) -> &'static str {
        match self {
            Kind::Resource => "resources",
            Kind::Module => "modules",
            Kind::Topic => "topics",
            Kind::ResourceType => "resource-types",
            Kind::Tag => "tags",
            // Not "assets": the app's own files are served under that.
            Kind::Asset => "media",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Resource => "Resource",
            Kind::Module => "Module",
            Kind::Topic => "Topic",
            Kind::ResourceType => "Resource type",
            Kind::Tag => "Tag",
            Kind::Asset => "Image or file",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Resource => "Resources",
            Kind::Module => "Modules",
            Kind::Topic => "Topics",
            Kind::ResourceType => "Resource types",
            Kind::Tag => "Tags",
            Kind::Asset => "Images and files",
        }
    }

    /// Whether the API has mutations for it (resource types come from
    /// seed files only).
    fn editable(self) -> bool {
        self != Kind::ResourceType
    }
}

/// A workflow state's words.
fn status_label(status: &str) -> &'static str {
    match status {
        "DRAFT" => "Draft",
        "IN_REVIEW" => "In review",
        "CHANGES_REQUESTED" => "Changes requested",
        "APPROVED" => "Approved",
        "PUBLISHED" => "Published",
        "ARCHIVED" => "Archived",
        _ => "",
    }
}

/// What every page's header shows: the app's links and the signed-in
/// editor, with the sign-out form.
struct Chrome {
    form_token: String,
    kinds: [Kind; 6],
    /// The admin screens the editor's role may use (the API decides
    /// again on each).
    screens: Vec<manage::Screen>,
}

impl Chrome {
    fn of(state: &AppState, editor: &Editor) -> Chrome {
        let role = editor.viewer.auth.actor.role();
        Chrome {
            form_token: editor.form_token(state),
            kinds: Kind::ALL,
            screens: manage::Screen::ALL
                .into_iter()
                .filter(|screen| crate::domain::access::allows(role, screen.action()))
                .collect(),
        }
    }
}
