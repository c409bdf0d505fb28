//! The editor app at `/admin`: pages rendered on the server from compiled
//! templates (askama: checked when Beacon is built, HTML-escaped by
//! default), plain forms that work without scripts, and the GraphQL schema
//! underneath (see `api`). Sign-in gives the same session as `login`, kept
//! in an HttpOnly cookie; every form that changes something is checked to
//! come from these pages.

mod api;
mod session;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::assets::{self, Asset};
use super::auth::{PeerAddress, client_address};
use crate::graphql::Viewer;
use crate::identity::IdentityError;

const ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/admin_assets.rs"));
/// Drawn from the files' bytes by `build.rs`; part of every asset's URL.
const TAG: &str = include!(concat!(env!("OUT_DIR"), "/admin_tag.rs"));

/// The pages load nothing but this server's stylesheet, post forms only
/// to this server, and cannot be framed (a click stolen from a framed
/// page could publish).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/sign-in", get(sign_in_page).post(sign_in))
        .route("/admin/sign-out", post(sign_out))
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

/// The signed-in editor: their viewer and session token. `None` when the
/// cookie is missing, or names a session that has ended or expired.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    peer: &PeerAddress,
) -> Result<Option<(Viewer, String)>, Response> {
    let Some(token) = session::token(headers) else {
        return Ok(None);
    };
    let Ok(mut conn) = state.database.pool.get().await else {
        return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
    };
    match state.identity.authenticate(&mut conn, &token).await {
        // An API token pasted into the cookie is not a session.
        Ok(auth) if auth.session_id.is_some() => Ok(Some((
            Viewer {
                auth,
                client_address: client_address(peer.0, headers, &state.settings.trusted_proxies),
                request_id: Some(super::endpoint::request_id(headers)),
            },
            token,
        ))),
        Ok(_) => Ok(None),
        Err(IdentityError::Database(error)) => {
            tracing::error!(%error, "checking an editor's session failed");
            Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
        }
        Err(_) => Ok(None),
    }
}

fn to_sign_in() -> Response {
    Redirect::to("/admin/sign-in").into_response()
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    asset_tag: &'static str,
    email: String,
    problem: Option<String>,
}

async fn sign_in_page(
    State(state): State<AppState>,
    peer: PeerAddress,
    headers: HeaderMap,
) -> Response {
    match signed_in(&state, &headers, &peer).await {
        Ok(Some(_)) => Redirect::to("/admin").into_response(),
        Ok(None) => page(
            StatusCode::OK,
            &SignInPage {
                asset_tag: TAG,
                email: String::new(),
                problem: None,
            },
        ),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct LoginAnswer {
    login: LoginGrant,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginGrant {
    token: String,
}

/// Signs in through the API's `login`: the same password check, throttling
/// and session lifetime.
async fn sign_in(
    State(state): State<AppState>,
    peer: PeerAddress,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !session::same_origin(&headers) {
        return refused();
    }
    let viewer = Viewer {
        auth: crate::identity::Authenticated::anonymous(),
        client_address: client_address(peer.0, &headers, &state.settings.trusted_proxies),
        request_id: Some(super::endpoint::request_id(&headers)),
    };
    let answer = api::run::<LoginAnswer>(
        &state,
        viewer,
        "mutation SignIn($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
        json!({ "email": form.email, "password": form.password }),
    )
    .await;
    match answer {
        Ok(answer) => {
            let cookie = session::set(
                &headers,
                &answer.login.token,
                state.identity.settings.session_ttl,
            );
            let mut response = Redirect::to("/admin").into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(error) => {
            let (status, problem) = match error.code.as_str() {
                "UNAUTHENTICATED" => (
                    StatusCode::UNAUTHORIZED,
                    "That email and password do not match an account that may sign in.".to_string(),
                ),
                "RATE_LIMITED" => (StatusCode::TOO_MANY_REQUESTS, error.message),
                _ => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Signing in is not possible right now; try again in a moment.".to_string(),
                ),
            };
            page(
                status,
                &SignInPage {
                    asset_tag: TAG,
                    email: form.email,
                    problem: Some(problem),
                },
            )
        }
    }
}

/// A state-changing request that did not come from these pages.
fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        "This form was not sent from Beacon's own pages, so nothing was changed.\n",
    )
        .into_response()
}

#[derive(Deserialize)]
struct SignOutForm {
    #[serde(rename = "_form")]
    form_token: String,
}

async fn sign_out(
    State(state): State<AppState>,
    peer: PeerAddress,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Response {
    if !session::same_origin(&headers) {
        return refused();
    }
    let (viewer, token) = match signed_in(&state, &headers, &peer).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return to_sign_in(),
        Err(response) => return response,
    };
    if !state.identity.verify_form_token(&token, &form.form_token) {
        return refused();
    }
    if let Err(error) =
        api::run::<serde_json::Value>(&state, viewer, "mutation SignOut { logout }", json!({}))
            .await
    {
        tracing::error!(code = %error.code, "signing out failed");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let mut response = to_sign_in();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session::clear(&headers));
    response
}

/// The home page's lists, one query.
const HOME: &str = r#"query Home {
  me { role user { name } }
  drafts: items(filter: { mine: true, statuses: [DRAFT] }, first: 10) { nodes { ...Listed } }
  changesRequested: items(filter: { mine: true, statuses: [CHANGES_REQUESTED] }, first: 10) { nodes { ...Listed } }
  inReview: items(filter: { statuses: [IN_REVIEW] }, first: 10) { nodes { ...Listed } }
  scheduled: items(filter: { scheduled: true }, first: 10) { nodes { ...Listed } }
  published: items(filter: { statuses: [PUBLISHED] }, first: 10) { nodes { ...Listed } }
}
fragment Listed on Content {
  __typename id status version
  ... on Resource { title }
  ... on Module { title }
  ... on Topic { name }
  ... on ResourceType { name }
  ... on Tag { name }
}"#;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HomeAnswer {
    me: Option<Me>,
    drafts: Items,
    changes_requested: Items,
    in_review: Items,
    scheduled: Items,
    published: Items,
}

#[derive(Deserialize)]
struct Me {
    role: Option<String>,
    user: Option<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct Items {
    nodes: Vec<Item>,
}

/// A content item as lists show it.
#[derive(Deserialize)]
struct Item {
    #[serde(rename = "__typename")]
    kind: String,
    status: Option<String>,
    version: Option<i32>,
    title: Option<String>,
    name: Option<String>,
}

impl Item {
    fn label(&self) -> &str {
        self.title
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or("(untitled)")
    }

    fn kind_label(&self) -> &'static str {
        match self.kind.as_str() {
            "Resource" => "Resource",
            "Module" => "Module",
            "Topic" => "Topic",
            "ResourceType" => "Resource type",
            "Tag" => "Tag",
            _ => "Item",
        }
    }

    fn status_label(&self) -> &'static str {
        match self.status.as_deref() {
            Some("DRAFT") => "Draft",
            Some("IN_REVIEW") => "In review",
            Some("CHANGES_REQUESTED") => "Changes requested",
            Some("APPROVED") => "Approved",
            Some("PUBLISHED") => "Published",
            Some("ARCHIVED") => "Archived",
            _ => "",
        }
    }
}

/// One list of the home page.
struct Section {
    id: &'static str,
    title: &'static str,
    empty: &'static str,
    items: Vec<Item>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    asset_tag: &'static str,
    name: String,
    role: String,
    form_token: String,
    sections: Vec<Section>,
}

async fn home(State(state): State<AppState>, peer: PeerAddress, headers: HeaderMap) -> Response {
    let (viewer, token) = match signed_in(&state, &headers, &peer).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return to_sign_in(),
        Err(response) => return response,
    };
    let answer = match api::run::<HomeAnswer>(&state, viewer, HOME, json!({})).await {
        Ok(answer) => answer,
        // A role without PREVIEW (a partner account) has nothing to edit.
        Err(error) if error.code == "FORBIDDEN" => {
            return (
                StatusCode::FORBIDDEN,
                "Your account may not edit content. Ask an admin for the AUTHOR role or above.\n",
            )
                .into_response();
        }
        Err(error) => {
            tracing::error!(code = %error.code, message = %error.message, "the home page's query failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let me = answer.me;
    let sections = vec![
        Section {
            id: "drafts",
            title: "My drafts",
            empty: "No drafts of yours.",
            items: answer.drafts.nodes,
        },
        Section {
            id: "changes-requested",
            title: "Changes requested of me",
            empty: "Nothing sent back to you.",
            items: answer.changes_requested.nodes,
        },
        Section {
            id: "in-review",
            title: "Waiting for review",
            empty: "Nothing is waiting for review.",
            items: answer.in_review.nodes,
        },
        Section {
            id: "scheduled",
            title: "Scheduled",
            empty: "Nothing is scheduled.",
            items: answer.scheduled.nodes,
        },
        Section {
            id: "published",
            title: "Recently published",
            empty: "Nothing is published yet.",
            items: answer.published.nodes,
        },
    ];
    page(
        StatusCode::OK,
        &HomePage {
            asset_tag: TAG,
            name: me
                .as_ref()
                .and_then(|me| me.user.as_ref())
                .map(|user| user.name.clone())
                .unwrap_or_default(),
            role: me.and_then(|me| me.role).unwrap_or_default(),
            form_token: state.identity.form_token(&token),
            sections,
        },
    )
}
