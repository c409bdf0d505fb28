//! The admins' screens: people and their roles, API tokens (the secret
//! shown once), webhooks with their deliveries, seed runs and the audit
//! log. Like every page of the app they read and write through the GraphQL
//! schema as the signed-in person, so the API's permission table decides
//! who sees and changes what; the bar shows each screen only to the roles
//! it would answer.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::api::Nodes;
use super::{Chrome, Editor, Posted, PostedForm, TAG, api, page, plain};
use crate::domain::access::Action;
use crate::http::AppState;

/// An admin screen: its address, its name in the bar, and the permission
/// the API asks for it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Screen {
    People,
    Tokens,
    Webhooks,
    SeedRuns,
    AuditLog,
}

impl Screen {
    pub(super) const ALL: [Screen; 5] = [
        Screen::People,
        Screen::Tokens,
        Screen::Webhooks,
        Screen::SeedRuns,
        Screen::AuditLog,
    ];

    pub(super) fn path(self) -> &'static str {
        match self {
            Screen::People => "/admin/people",
            Screen::Tokens => "/admin/tokens",
            Screen::Webhooks => "/admin/webhooks",
            Screen::SeedRuns => "/admin/seed-runs",
            Screen::AuditLog => "/admin/audit-log",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Screen::People => "People",
            Screen::Tokens => "API tokens",
            Screen::Webhooks => "Webhooks",
            Screen::SeedRuns => "Seed runs",
            Screen::AuditLog => "Audit log",
        }
    }

    pub(super) fn action(self) -> Action {
        match self {
            Screen::People => Action::ManageUsers,
            Screen::Tokens => Action::ManageApiTokens,
            Screen::Webhooks => Action::ManageWebhooks,
            Screen::SeedRuns => Action::RunSeedJobs,
            Screen::AuditLog => Action::ReadAuditLog,
        }
    }
}

const ROLES: [&str; 5] = ["PARTNER", "AUTHOR", "EDITOR", "PUBLISHER", "ADMIN"];
const EVENT_TYPES: [&str; 4] = ["PUBLISHED", "UNPUBLISHED", "ARCHIVED", "SEED_RUN"];

/// Where a page of a list starts.
#[derive(Deserialize, Default)]
pub(super) struct PageQuery {
    #[serde(default)]
    after: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    item: String,
}

/// Every admin form: its token, what to do and to what. Read from the
/// posted pairs, as checkboxes repeat a name (`events`).
#[derive(Deserialize, Default)]
#[serde(from = "Vec<(String, String)>")]
pub(super) struct ManageForm {
    form_token: String,
    action: String,
    id: String,
    email: String,
    name: String,
    role: String,
    password: String,
    expires: String,
    url: String,
    description: String,
    secret: String,
    events: Vec<String>,
    event: String,
}

impl From<Vec<(String, String)>> for ManageForm {
    fn from(pairs: Vec<(String, String)>) -> ManageForm {
        let mut form = ManageForm::default();
        for (name, value) in pairs {
            let field = match name.as_str() {
                "_form" => &mut form.form_token,
                "action" => &mut form.action,
                "id" => &mut form.id,
                "email" => &mut form.email,
                "name" => &mut form.name,
                "role" => &mut form.role,
                "password" => &mut form.password,
                "expires" => &mut form.expires,
                "url" => &mut form.url,
                "description" => &mut form.description,
                "secret" => &mut form.secret,
                "event" => &mut form.event,
                "events" => {
                    form.events.push(value);
                    continue;
                }
                _ => continue,
            };
            *field = value;
        }
        form
    }
}

impl PostedForm for ManageForm {
    fn form_token(&self) -> &str {
        &self.form_token
    }
}

/// A refusal from the API, in words for the page.
fn problem_of(error: &api::ApiError) -> String {
    if error.fields.is_empty() {
        error.message.clone()
    } else {
        error
            .fields
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Errors a form can show in place; anything else is the app's failure page.
fn shown_in_place(error: &api::ApiError) -> bool {
    matches!(
        error.code.as_str(),
        "VALIDATION_FAILED" | "BAD_USER_INPUT" | "FORBIDDEN" | "NOT_FOUND"
    )
}

/// What an admin page shows besides its list: where the list starts, and
/// the outcome of the form just sent.
struct Shown {
    after: String,
    status: StatusCode,
    problem: Option<String>,
    done: Option<String>,
    minted: Option<Minted>,
}

impl Shown {
    /// A list from `after` on, with no form just sent.
    fn at(after: String) -> Shown {
        Shown {
            after,
            ..Shown::default()
        }
    }

    /// A change went through; the page says what it did.
    fn done(what: impl Into<String>) -> Shown {
        Shown {
            done: Some(what.into()),
            ..Shown::default()
        }
    }

    /// What the page shows after a change: its outcome, or why the API
    /// refused it; a failure the page cannot show in place is the answer.
    fn after(outcome: Result<Shown, api::ApiError>) -> Result<Shown, api::ApiError> {
        match outcome {
            Err(error) if shown_in_place(&error) => Ok(Shown::refused(&error)),
            outcome => outcome,
        }
    }

    /// The API refused the form: nothing changed, and the page says why.
    fn refused(error: &api::ApiError) -> Shown {
        Shown {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            problem: Some(format!("Nothing was changed: {}", problem_of(error))),
            ..Shown::default()
        }
    }
}

impl Default for Shown {
    fn default() -> Self {
        Shown {
            after: String::new(),
            status: StatusCode::OK,
            problem: None,
            done: None,
            minted: None,
        }
    }
}

/// One page of a screen's list, from the cursor `after`. Every screen's
/// document names its connection `list` and takes `$after`, so one answer
/// type reads them all.
async fn list_page<T: DeserializeOwned>(
    state: &AppState,
    editor: &Editor,
    screen: Screen,
    document: &str,
    after: &str,
) -> Result<(Vec<T>, Option<String>), api::ApiError> {
    filtered_list_page(
        state,
        editor,
        screen,
        document,
        json!({}),
        after,
        Vec::new(),
    )
    .await
}

/// As [`list_page`], with the filter's `variables`; `keep` are the query
/// pairs the next page's address carries on.
async fn filtered_list_page<T: DeserializeOwned>(
    state: &AppState,
    editor: &Editor,
    screen: Screen,
    document: &str,
    mut variables: Value,
    after: &str,
    keep: Vec<(&str, String)>,
) -> Result<(Vec<T>, Option<String>), api::ApiError> {
    #[derive(Deserialize)]
    struct Answer<T> {
        list: Nodes<T>,
    }
    let after = after.trim();
    variables["after"] = json!((!after.is_empty()).then_some(after));
    let answer = api::run::<Answer<T>>(state, editor.viewer.clone(), document, variables).await?;
    let next = answer.list.next(screen.path(), keep);
    Ok((answer.list.nodes, next))
}

// People ------------------------------------------------------------------

#[derive(Deserialize)]
struct Person {
    id: String,
    email: String,
    name: String,
    role: String,
    disabled: bool,
    #[serde(rename = "createdAt")]
    created_at: String,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    asset_tag: &'static str,
    chrome: Chrome,
    people: Vec<Person>,
    roles: [&'static str; 5],
    next: Option<String>,
    problem: Option<String>,
    done: Option<String>,
}

async fn people_page(
    state: &AppState,
    editor: &Editor,
    shown: Shown,
) -> Result<Response, api::ApiError> {
    let document = "query People($after: String) { list: users(first: 50, after: $after) {
        nodes { id email name role disabled createdAt } pageInfo { hasNextPage endCursor } } }";
    let (people, next) = list_page(state, editor, Screen::People, document, &shown.after).await?;
    Ok(page(
        shown.status,
        &PeoplePage {
            asset_tag: TAG,
            chrome: Chrome::of(state, editor),
            people,
            roles: ROLES,
            next,
            problem: shown.problem,
            done: shown.done,
        },
    ))
}

pub(super) async fn people(
    State(state): State<AppState>,
    editor: Editor,
    Query(query): Query<PageQuery>,
) -> Result<Response, api::ApiError> {
    people_page(&state, &editor, Shown::at(query.after)).await
}

pub(super) async fn change_people(
    State(state): State<AppState>,
    Posted { editor, form, .. }: Posted<ManageForm>,
) -> Result<Response, api::ApiError> {
    let (document, variables, done) = match form.action.as_str() {
        "create" => (
            "mutation Create($input: CreateUserInput!) { done: createUser(input: $input) { id } }",
            json!({ "input": { "email": form.email.trim(), "name": form.name.trim(),
                               "role": form.role, "password": form.password } }),
            format!("{} can now sign in.", form.email.trim()),
        ),
        "role" => (
            "mutation Role($id: ID!, $role: Role!) { done: setUserRole(id: $id, role: $role) { id } }",
            json!({ "id": form.id, "role": form.role }),
            "The role is changed.".to_string(),
        ),
        "disable" | "enable" => (
            "mutation Disable($id: ID!, $disabled: Boolean!) { done: setUserDisabled(id: $id, disabled: $disabled) { id } }",
            json!({ "id": form.id, "disabled": form.action == "disable" }),
            if form.action == "disable" {
                "The account is disabled and its sessions ended.".to_string()
            } else {
                "The account is enabled.".to_string()
            },
        ),
        _ => return Ok(plain(StatusCode::BAD_REQUEST, "There is no such change.\n")),
    };
    let outcome = api::run::<Value>(&state, editor.viewer.clone(), document, variables)
        .await
        .map(|_| Shown::done(done));
    people_page(&state, &editor, Shown::after(outcome)?).await
}

// API tokens ---------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Token {
    id: String,
    name: String,
    role: String,
    prefix: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
    created_by: Option<TokenCreator>,
    active: bool,
}

#[derive(Deserialize)]
struct TokenCreator {
    name: String,
}

impl Token {
    fn creator(&self) -> &str {
        self.created_by
            .as_ref()
            .map(|creator| creator.name.as_str())
            .unwrap_or("the command line")
    }
}

/// A token just made: the only time its secret is shown.
struct Minted {
    name: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    asset_tag: &'static str,
    chrome: Chrome,
    tokens: Vec<Token>,
    roles: [&'static str; 5],
    next: Option<String>,
    problem: Option<String>,
    minted: Option<Minted>,
}

async fn tokens_page(
    state: &AppState,
    editor: &Editor,
    shown: Shown,
) -> Result<Response, api::ApiError> {
    let document = "query Tokens($after: String) { list: apiTokens(first: 50, after: $after) {
        nodes { id name role prefix createdAt expiresAt lastUsedAt revokedAt createdBy { name } active }
        pageInfo { hasNextPage endCursor } } }";
    let (tokens, next) = list_page(state, editor, Screen::Tokens, document, &shown.after).await?;
    Ok(page(
        shown.status,
        &TokensPage {
            asset_tag: TAG,
            chrome: Chrome::of(state, editor),
            tokens,
            roles: ROLES,
            next,
            problem: shown.problem,
            minted: shown.minted,
        },
    ))
}

pub(super) async fn tokens(
    State(state): State<AppState>,
    editor: Editor,
    Query(query): Query<PageQuery>,
) -> Result<Response, api::ApiError> {
    tokens_page(&state, &editor, Shown::at(query.after)).await
}

pub(super) async fn change_tokens(
    State(state): State<AppState>,
    Posted { editor, form, .. }: Posted<ManageForm>,
) -> Result<Response, api::ApiError> {
    let outcome = match form.action.as_str() {
        "create" => {
            // A date without a time: the token works to the end of that day, UTC.
            let expires = (!form.expires.trim().is_empty())
                .then(|| format!("{}T23:59:59Z", form.expires.trim()));
            #[derive(Deserialize)]
            struct Answer {
                done: Created,
            }
            #[derive(Deserialize)]
            struct Created {
                secret: String,
            }
            let document = "mutation Create($input: CreateApiTokenInput!) { done: createApiToken(input: $input) { secret } }";
            let variables = json!({ "input": {
                "name": form.name.trim(),
                "role": (!form.role.is_empty()).then_some(&form.role),
                "expiresAt": expires,
            } });
            api::run::<Answer>(&state, editor.viewer.clone(), document, variables)
                .await
                .map(|answer| Shown {
                    status: StatusCode::CREATED,
                    minted: Some(Minted {
                        name: form.name.trim().to_string(),
                        secret: answer.done.secret,
                    }),
                    ..Shown::default()
                })
        }
        "revoke" => {
            let document = "mutation Revoke($id: ID!) { done: revokeApiToken(id: $id) { id } }";
            let revoked = api::run::<Value>(
                &state,
                editor.viewer.clone(),
                document,
                json!({ "id": form.id }),
            )
            .await;
            if revoked.is_ok() {
                return Ok(Redirect::to(Screen::Tokens.path()).into_response());
            }
            revoked.map(|_| Shown::default())
        }
        _ => return Ok(plain(StatusCode::BAD_REQUEST, "There is no such change.\n")),
    };
    tokens_page(&state, &editor, Shown::after(outcome)?).await
}

// Webhooks -----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Hook {
    id: String,
    url: String,
    events: Vec<String>,
    description: String,
    enabled: bool,
    created_by: String,
    deliveries: Nodes<Delivery>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    event_id: String,
    state: String,
    reason: String,
    attempt_count: i32,
    next_attempt_at: Option<String>,
    created_at: String,
    attempts: Vec<Attempt>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attempt {
    status_code: Option<i32>,
    error: Option<String>,
}

impl Delivery {
    /// What the last attempt got, in words.
    fn last_answer(&self) -> String {
        match self.attempts.last() {
            None => "not tried yet".into(),
            Some(Attempt {
                status_code: Some(code),
                ..
            }) => format!("HTTP {code}"),
            Some(Attempt {
                error: Some(error), ..
            }) => error.clone(),
            Some(_) => "no answer".into(),
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    asset_tag: &'static str,
    chrome: Chrome,
    hooks: Vec<Hook>,
    event_types: [&'static str; 4],
    next: Option<String>,
    problem: Option<String>,
    done: Option<String>,
    minted: Option<Minted>,
}

async fn webhooks_page(
    state: &AppState,
    editor: &Editor,
    shown: Shown,
) -> Result<Response, api::ApiError> {
    let document = "query Webhooks($after: String) { list: webhooks(first: 20, after: $after) {
        nodes { id url events description enabled createdBy
          deliveries(first: 10) { nodes { eventId state reason attemptCount nextAttemptAt createdAt
            attempts { statusCode error } } } }
        pageInfo { hasNextPage endCursor } } }";
    let (hooks, next) = list_page(state, editor, Screen::Webhooks, document, &shown.after).await?;
    Ok(page(
        shown.status,
        &WebhooksPage {
            asset_tag: TAG,
            chrome: Chrome::of(state, editor),
            hooks,
            event_types: EVENT_TYPES,
            next,
            problem: shown.problem,
            done: shown.done,
            minted: shown.minted,
        },
    ))
}

pub(super) async fn webhooks(
    State(state): State<AppState>,
    editor: Editor,
    Query(query): Query<PageQuery>,
) -> Result<Response, api::ApiError> {
    webhooks_page(&state, &editor, Shown::at(query.after)).await
}

pub(super) async fn change_webhooks(
    State(state): State<AppState>,
    Posted { editor, form, .. }: Posted<ManageForm>,
) -> Result<Response, api::ApiError> {
    let (document, variables, done) = match form.action.as_str() {
        "create" => (
            "mutation Create($url: String!, $events: [EventType!]!, $secret: String, $description: String) {
               done: createWebhook(url: $url, events: $events, secret: $secret, description: $description) { secret } }",
            json!({ "url": form.url.trim(), "events": form.events,
                    "secret": (!form.secret.is_empty()).then_some(&form.secret),
                    "description": form.description.trim() }),
            "The webhook is registered.",
        ),
        "enable" | "disable" => (
            "mutation Enable($id: ID!, $enabled: Boolean!) { done: setWebhookEnabled(id: $id, enabled: $enabled) { id } }",
            json!({ "id": form.id, "enabled": form.action == "enable" }),
            if form.action == "enable" {
                "The webhook is on."
            } else {
                "The webhook is off: nothing is sent to it until it is on again."
            },
        ),
        "delete" => (
            "mutation Delete($id: ID!) { done: deleteWebhook(id: $id) }",
            json!({ "id": form.id }),
            "The webhook is deleted.",
        ),
        "redeliver" => (
            "mutation Again($event: ID!, $id: ID) { done: redeliver(eventId: $event, webhookId: $id) }",
            json!({ "event": form.event, "id": form.id }),
            "The event will be sent again.",
        ),
        _ => return Ok(plain(StatusCode::BAD_REQUEST, "There is no such change.\n")),
    };
    let outcome = api::run::<Value>(&state, editor.viewer.clone(), document, variables)
        .await
        .map(|answer| Shown {
            // The signing secret of a new webhook, shown this once.
            minted: answer["done"]["secret"].as_str().map(|secret| Minted {
                name: form.url.trim().to_string(),
                secret: secret.to_string(),
            }),
            ..Shown::done(done)
        });
    webhooks_page(&state, &editor, Shown::after(outcome)?).await
}

// Seed runs ----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedRun {
    id: String,
    started_at: String,
    finished_at: Option<String>,
    outcome: String,
    files: Vec<SeedFile>,
    counts: Vec<SeedCount>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SeedFile {
    path: String,
}

#[derive(Deserialize)]
struct SeedCount {
    kind: String,
    created: u64,
    updated: u64,
    unchanged: u64,
}

#[derive(Template)]
#[template(path = "seed_runs.html")]
struct SeedRunsPage {
    asset_tag: &'static str,
    chrome: Chrome,
    runs: Vec<SeedRun>,
    next: Option<String>,
}

pub(super) async fn seed_runs(
    State(state): State<AppState>,
    editor: Editor,
    Query(query): Query<PageQuery>,
) -> Result<Response, api::ApiError> {
    let document = "query Runs($after: String) { list: seedRuns(first: 50, after: $after) {
        nodes { id startedAt finishedAt outcome files { path } counts { kind created updated unchanged } error }
        pageInfo { hasNextPage endCursor } } }";
    let (runs, next) = list_page(&state, &editor, Screen::SeedRuns, document, &query.after).await?;
    Ok(page(
        StatusCode::OK,
        &SeedRunsPage {
            asset_tag: TAG,
            chrome: Chrome::of(&state, &editor),
            runs,
            next,
        },
    ))
}

// Audit log ----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    at: String,
    actor: EntryActor,
    action: String,
    item_id: Option<String>,
    from_status: Option<String>,
    to_status: Option<String>,
    detail: Value,
}

#[derive(Deserialize)]
struct EntryActor {
    id: String,
    name: Option<String>,
}

impl Entry {
    fn who(&self) -> &str {
        self.actor.name.as_deref().unwrap_or(&self.actor.id)
    }

    fn change(&self) -> String {
        match (&self.from_status, &self.to_status) {
            (Some(from), Some(to)) if from != to => {
                format!(
                    "{} → {}",
                    super::status_label(from),
                    super::status_label(to)
                )
            }
            (None, Some(to)) => super::status_label(to).to_string(),
            _ => String::new(),
        }
    }

    /// The entry's particulars, compact, or nothing when there are none.
    fn particulars(&self) -> String {
        match &self.detail {
            Value::Object(map) if map.is_empty() => String::new(),
            Value::Null => String::new(),
            detail => detail.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "audit_log.html")]
struct AuditLogPage {
    asset_tag: &'static str,
    chrome: Chrome,
    entries: Vec<Entry>,
    actor: String,
    action: String,
    item: String,
    next: Option<String>,
}

pub(super) async fn audit_log(
    State(state): State<AppState>,
    editor: Editor,
    Query(query): Query<PageQuery>,
) -> Result<Response, api::ApiError> {
    let document = "query Log($filter: AuditLogFilter, $after: String) { list: auditLog(filter: $filter, first: 50, after: $after) {
        nodes { at actor { id name } action itemId fromStatus toStatus detail }
        pageInfo { hasNextPage endCursor } } }";
    let given = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_string());
    let filter = json!({
        "filter": {
            "actor": given(&query.actor),
            "action": given(&query.action),
            "itemId": given(&query.item),
        },
    });
    let (entries, next) = filtered_list_page(
        &state,
        &editor,
        Screen::AuditLog,
        document,
        filter,
        &query.after,
        vec![
            ("actor", query.actor.clone()),
            ("action", query.action.clone()),
            ("item", query.item.clone()),
        ],
    )
    .await?;
    Ok(page(
        StatusCode::OK,
        &AuditLogPage {
            asset_tag: TAG,
            chrome: Chrome::of(&state, &editor),
            entries,
            actor: query.actor,
            action: query.action,
            item: query.item,
            next,
        },
    ))
}
