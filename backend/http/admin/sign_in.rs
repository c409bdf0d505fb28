//! Signing in and out. Sign-in goes through the API's `login`: the same
//! password check, throttling and session lifetime.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Editor, Posted, PostedForm, TAG, api, edit, editor_of, refused, session};
use crate::http::AppState;
use crate::http::auth::{PeerAddress, client_address};

#[derive(Template)]
#[template(path = "sign_in.html")]
pub(super) struct SignInPage {
    pub(super) asset_tag: &'static str,
    pub(super) email: String,
    pub(super) problem: Option<String>,
    /// An unsaved form to bring back after signing in: where it was
    /// posted, and its fields as JSON.
    pub(super) resume_to: String,
    pub(super) resume: String,
    /// The unsaved text, shown so the editor sees it is kept.
    pub(super) kept: Vec<(String, String)>,
}

pub(super) async fn form(editor: Option<Editor>) -> Response {
    match editor {
        Some(_) => Redirect::to("/admin").into_response(),
        None => super::page(
            StatusCode::OK,
            &SignInPage {
                asset_tag: TAG,
                email: String::new(),
                problem: None,
                resume_to: String::new(),
                resume: String::new(),
                kept: Vec::new(),
            },
        ),
    }
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    resume_to: String,
    #[serde(default)]
    resume: String,
}

#[derive(Deserialize)]
struct LoginAnswer {
    login: LoginGrant,
}

#[derive(Deserialize)]
struct LoginGrant {
    token: String,
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    peer: PeerAddress,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !session::same_origin(&headers) {
        return refused();
    }
    let viewer = crate::graphql::Viewer {
        auth: crate::identity::Authenticated::anonymous(),
        client_address: client_address(peer.0, &headers, &state.settings.trusted_proxies),
        request_id: Some(crate::http::endpoint::request_id(&headers)),
    };
    let answer = api::run::<LoginAnswer>(
        &state,
        viewer,
        "mutation SignIn($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
        json!({ "email": form.email, "password": form.password }),
    )
    .await;
    let token = match answer {
        Ok(answer) => answer.login.token,
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
            let kept = edit::kept_text(&form.resume);
            return super::page(
                status,
                &SignInPage {
                    asset_tag: TAG,
                    email: form.email,
                    problem: Some(problem),
                    resume_to: form.resume_to,
                    resume: form.resume,
                    kept,
                },
            );
        }
    };
    let cookie = session::set(&headers, &token, state.identity.settings.session_ttl);
    let mut response = if form.resume_to.is_empty() {
        Redirect::to("/admin").into_response()
    } else {
        // Back to the form the session ended under, with the editor's text
        // in it, not yet saved: they look again and save.
        match editor_of(&state, &headers, &peer, token).await {
            Ok(Some(editor)) => edit::resume(&state, editor, &form.resume_to, &form.resume).await,
            Ok(None) => Redirect::to("/admin").into_response(),
            Err(response) => response,
        }
    };
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

#[derive(Deserialize)]
pub(super) struct SignOutForm {
    #[serde(rename = "_form")]
    form_token: String,
}

impl PostedForm for SignOutForm {
    fn form_token(&self) -> &str {
        &self.form_token
    }
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted { editor, .. }: Posted<SignOutForm>,
) -> Response {
    if let Err(error) = api::run::<serde_json::Value>(
        &state,
        editor.viewer,
        "mutation SignOut { logout }",
        json!({}),
    )
    .await
    {
        tracing::error!(code = %error.code, "signing out failed");
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let mut response = Redirect::to("/admin/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session::clear(&headers));
    response
}
