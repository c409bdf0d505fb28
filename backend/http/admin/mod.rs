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
        .route("/admin/items/{id}", get(item_page))
        .route("/admin/items/{id}/actions", post(item_action))
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
    id: String,
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

/// What the item page shows: the draft's fields, its state, the actions
/// the viewer may take now, and the conversation.
fn item_query() -> String {
    let talk = "comments(first: 50) { nodes { author body version createdAt } }";
    format!(
        r#"query Item($id: ID!) {{
  node(id: $id, preview: true) {{
    __typename id
    ... on Content {{ status version publishedVersion allowedActions }}
    ... on Resource {{ title summary year url publisher types {{ name }} topics {{ name }} tags {{ name }} {talk} }}
    ... on Module {{ title intro heroImageAlt {talk} }}
    ... on Topic {{ name description {talk} }}
    ... on ResourceType {{ name {talk} }}
    ... on Tag {{ name {talk} }}
  }}
}}"#
    )
}

#[derive(Deserialize)]
struct ItemAnswer {
    node: Option<ItemDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemDetail {
    #[serde(flatten)]
    item: Item,
    published_version: Option<i32>,
    #[serde(default)]
    allowed_actions: Option<Vec<String>>,
    summary: Option<String>,
    year: Option<i32>,
    url: Option<String>,
    publisher: Option<String>,
    intro: Option<String>,
    hero_image_alt: Option<String>,
    description: Option<String>,
    #[serde(default)]
    types: Vec<Named>,
    #[serde(default)]
    topics: Vec<Named>,
    #[serde(default)]
    tags: Vec<Named>,
    comments: Option<Comments>,
}

#[derive(Deserialize)]
struct Comments {
    nodes: Vec<CommentShown>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentShown {
    author: String,
    body: String,
    version: i32,
    created_at: String,
}

/// A field of the item page: its label and value.
struct Field {
    label: &'static str,
    value: String,
}

/// An action button: what the form sends, what the button says, and
/// whether it asks for a comment.
struct ActionButton {
    action: &'static str,
    label: &'static str,
    needs_comment: bool,
    dangerous: bool,
}

/// The actions the page offers, from the API's `allowedActions`, in the
/// order an item goes through them. Editing has its own page, and
/// scheduling (which needs a time) is still the API's.
const ACTIONS: &[(&str, &str, bool, bool)] = &[
    ("SUBMIT_FOR_REVIEW", "Submit for review", false, false),
    ("APPROVE", "Approve", false, false),
    ("REQUEST_CHANGES", "Request changes", true, false),
    ("PUBLISH", "Publish now", false, false),
    ("CANCEL_SCHEDULE", "Cancel the schedule", false, false),
    ("UNPUBLISH", "Unpublish", false, true),
    ("ARCHIVE", "Archive", false, true),
    ("RESTORE", "Restore", false, false),
];

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage {
    asset_tag: &'static str,
    form_token: String,
    id: String,
    title: String,
    kind: &'static str,
    status: &'static str,
    version: i32,
    published_version: Option<i32>,
    fields: Vec<Field>,
    actions: Vec<ActionButton>,
    may_comment: bool,
    comments: Vec<CommentShown>,
    problem: Option<String>,
}

/// Renders the item page, with `problem` said at the top when an action
/// was refused.
async fn render_item(
    state: &AppState,
    viewer: Viewer,
    token: &str,
    id: &str,
    status: StatusCode,
    problem: Option<String>,
) -> Response {
    let answer =
        match api::run::<ItemAnswer>(state, viewer, &item_query(), json!({ "id": id })).await {
            Ok(answer) => answer,
            Err(error) => return api_failure(&error),
        };
    let Some(detail) = answer.node else {
        return (StatusCode::NOT_FOUND, "There is no such item.\n").into_response();
    };
    let names = |list: &[Named]| {
        list.iter()
            .map(|named| named.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut fields = Vec::new();
    let mut field = |label: &'static str, value: Option<String>| {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            fields.push(Field { label, value });
        }
    };
    field("Summary", detail.summary.clone());
    field("Year", detail.year.map(|year| year.to_string()));
    field("Address", detail.url.clone());
    field("Publisher", detail.publisher.clone());
    field("Types", Some(names(&detail.types)));
    field("Topics", Some(names(&detail.topics)));
    field("Tags", Some(names(&detail.tags)));
    field("Introduction", detail.intro.clone());
    field("Hero image text", detail.hero_image_alt.clone());
    field("Description", detail.description.clone());
    let allowed = detail.allowed_actions.clone().unwrap_or_default();
    let actions = ACTIONS
        .iter()
        .filter(|(action, ..)| allowed.iter().any(|allowed| allowed == action))
        .map(|(action, label, needs_comment, dangerous)| ActionButton {
            action,
            label,
            needs_comment: *needs_comment,
            dangerous: *dangerous,
        })
        .collect();
    page(
        status,
        &ItemPage {
            asset_tag: TAG,
            form_token: state.identity.form_token(token),
            id: detail.item.id.clone(),
            title: detail.item.label().to_string(),
            kind: detail.item.kind_label(),
            status: detail.item.status_label(),
            version: detail.item.version.unwrap_or_default(),
            published_version: detail.published_version,
            fields,
            actions,
            may_comment: allowed.iter().any(|action| action == "COMMENT"),
            comments: detail
                .comments
                .map(|comments| comments.nodes)
                .unwrap_or_default(),
            problem,
        },
    )
}

/// An answer for an API error the page cannot show in place.
fn api_failure(error: &api::ApiError) -> Response {
    match error.code.as_str() {
        "FORBIDDEN" => (
            StatusCode::FORBIDDEN,
            "Your account may not edit content. Ask an admin for the AUTHOR role or above.\n",
        )
            .into_response(),
        _ => {
            tracing::error!(code = %error.code, message = %error.message, "an editor page's query failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn item_page(
    State(state): State<AppState>,
    peer: PeerAddress,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (viewer, token) = match signed_in(&state, &headers, &peer).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return to_sign_in(),
        Err(response) => return response,
    };
    render_item(&state, viewer, &token, &id, StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(rename = "_form")]
    form_token: String,
    action: String,
    /// The version the page showed: an action on a newer one is a
    /// conflict, not a surprise.
    version: i32,
    #[serde(default)]
    comment: String,
}

/// Carries out one workflow action through its mutation, then shows the
/// item again (after a redirect, so reloading does not repeat it).
async fn item_action(
    State(state): State<AppState>,
    peer: PeerAddress,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
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
    let mutation = match form.action.as_str() {
        "SUBMIT_FOR_REVIEW" => "submitForReview(id: $id, expectedVersion: $version)",
        "APPROVE" => "approve(id: $id, expectedVersion: $version)",
        "REQUEST_CHANGES" => {
            "requestChanges(id: $id, expectedVersion: $version, comment: $comment)"
        }
        "PUBLISH" => "publish(id: $id, expectedVersion: $version)",
        "CANCEL_SCHEDULE" => "cancelSchedule(id: $id, expectedVersion: $version)",
        "UNPUBLISH" => "unpublish(id: $id, expectedVersion: $version)",
        "ARCHIVE" => "archive(id: $id, expectedVersion: $version)",
        "RESTORE" => "restore(id: $id, expectedVersion: $version)",
        "COMMENT" => "addComment(id: $id, body: $comment)",
        _ => return (StatusCode::BAD_REQUEST, "There is no such action.\n").into_response(),
    };
    // Declare only the variables the mutation uses: GraphQL refuses others.
    let mut declared = vec!["$id: ID!"];
    let mut variables = json!({ "id": id });
    if mutation.contains("$version") {
        declared.push("$version: Int!");
        variables["version"] = json!(form.version);
    }
    if mutation.contains("$comment") {
        declared.push("$comment: String!");
        variables["comment"] = json!(form.comment);
    }
    let document = format!(
        "mutation Act({}) {{ done: {mutation} {{ id }} }}",
        declared.join(", ")
    );
    match api::run::<serde_json::Value>(&state, viewer.clone(), &document, variables).await {
        Ok(_) => Redirect::to(&format!("/admin/items/{id}")).into_response(),
        Err(error) => {
            let (status, problem) = match error.code.as_str() {
                "CONFLICT" => (
                    StatusCode::CONFLICT,
                    "Someone changed this item after you opened it; nothing was done. Here it is as it is now: look again before you act.".to_string(),
                ),
                "VALIDATION_FAILED" | "INVALID_TRANSITION" | "BAD_USER_INPUT" => {
                    (StatusCode::UNPROCESSABLE_ENTITY, error.message)
                }
                "FORBIDDEN" => (StatusCode::FORBIDDEN, error.message),
                "NOT_FOUND" => {
                    return (StatusCode::NOT_FOUND, "There is no such item.\n").into_response();
                }
                _ => return api_failure(&error),
            };
            render_item(&state, viewer, &token, &id, status, Some(problem)).await
        }
    }
}
