//! One item: its page (fields, state, the actions allowed now, comments,
//! the draft beside what is public), its workflow actions, its history
//! with diffs and revert, and a stream of changes made to it elsewhere.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDateTime, TimeDelta};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::home::Item;
use super::{
    Chrome, Editor, Kind, Posted, PostedForm, TAG, api, api_failure, no_such_item, page, plain,
};
use crate::graphql::events::SubscriberToken;
use crate::http::AppState;

/// What the item page shows: the draft's fields, its state, the actions
/// the viewer may take now, the conversation, and the public version's
/// fields for the side-by-side preview.
fn item_query() -> String {
    let talk = "comments(first: 50) { nodes { author body version createdAt } }";
    let state =
        "status version publishedVersion allowedActions scheduledPublishAt scheduledUnpublishAt";
    let shown = "... on Resource { title slug summary year url publisher types { name } topics { name } tags { name } }
    ... on Module { title slug intro heroImageAlt heroImage { alt picture: image(width: 640, fit: CONTAIN) } resourcesHeading disclaimer topic { name } tags { name }
      resources { title year url types { name } } }
    ... on Topic { name slug description aliases }
    ... on ResourceType { name slug }
    ... on Tag { name slug }
    ... on Asset { title slug alt caption credit focalPoint { x y } mimeType file: url picture: image(width: 640, fit: CONTAIN) }";
    format!(
        r#"query Item($id: ID!) {{
  node(id: $id, preview: true) {{
    __typename id
    ... on Resource {{ {state} {talk} }}
    ... on Module {{ {state} {talk} }}
    ... on Topic {{ {state} {talk} }}
    ... on ResourceType {{ {state} {talk} }}
    ... on Tag {{ {state} {talk} }}
    ... on Asset {{ {state} {talk} }}
    {shown}
  }}
  public: node(id: $id) {{ __typename {shown} }}
}}"#
    )
}

#[derive(Deserialize)]
struct ItemAnswer {
    node: Option<Detail>,
    public: Option<Shown>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    #[serde(flatten)]
    item: Item,
    #[serde(default)]
    allowed_actions: Option<Vec<String>>,
    scheduled_publish_at: Option<String>,
    scheduled_unpublish_at: Option<String>,
    comments: Option<Comments>,
    #[serde(flatten)]
    shown: Shown,
}

/// An item's fields as a partner page would show them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct Shown {
    title: Option<String>,
    name: Option<String>,
    summary: Option<String>,
    year: Option<i32>,
    url: Option<String>,
    publisher: Option<String>,
    intro: Option<String>,
    hero_image_alt: Option<String>,
    resources_heading: Option<String>,
    disclaimer: Option<String>,
    description: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    topic: Option<Named>,
    #[serde(default)]
    types: Vec<Named>,
    #[serde(default)]
    topics: Vec<Named>,
    #[serde(default)]
    tags: Vec<Named>,
    #[serde(default)]
    resources: Vec<Listed>,
    alt: Option<String>,
    caption: Option<String>,
    credit: Option<String>,
    focal_point: Option<Point>,
    mime_type: Option<String>,
    /// An asset's file, and a rendition of an image, to show it.
    file: Option<String>,
    picture: Option<String>,
    /// A module's hero image, as the stage shown has it.
    hero_image: Option<HeroImage>,
}

#[derive(Deserialize)]
struct HeroImage {
    alt: Option<String>,
    picture: Option<String>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

/// A module's resource as its page lists it.
#[derive(Deserialize)]
struct Listed {
    title: String,
    year: Option<i32>,
    url: Option<String>,
    #[serde(default)]
    types: Vec<Named>,
}

/// A group of a module page: resources of one type, in page order.
struct Group {
    heading: String,
    entries: Vec<(String, Option<i32>, Option<String>)>,
}

impl Shown {
    fn heading(&self) -> String {
        self.title.clone().or(self.name.clone()).unwrap_or_default()
    }

    fn fields(&self) -> Vec<Field> {
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
        field("Summary", self.summary.clone());
        field("Year", self.year.map(|year| year.to_string()));
        field("Address", self.url.clone());
        field("Publisher", self.publisher.clone());
        field("Types", Some(names(&self.types)));
        field("Topics", Some(names(&self.topics)));
        field(
            "Practice area",
            self.topic.as_ref().map(|topic| topic.name.clone()),
        );
        field("Tags", Some(names(&self.tags)));
        field("Description", self.description.clone());
        field("Other names", Some(self.aliases.join(", ")));
        field("Alternative text", self.alt.clone());
        field("Caption", self.caption.clone());
        field("Credit", self.credit.clone());
        field(
            "Focal point",
            self.focal_point
                .as_ref()
                .map(|point| format!("{}, {} (across, down)", point.x, point.y)),
        );
        field("File type", self.mime_type.clone());
        fields
    }

    /// The module page's resources, grouped by their first type in the
    /// order the types first appear, as the Knowledge Lab page does.
    fn groups(&self) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        for resource in &self.resources {
            let heading = resource
                .types
                .first()
                .map_or_else(|| "Other".to_string(), |kind| kind.name.clone());
            let entry = (resource.title.clone(), resource.year, resource.url.clone());
            match groups.iter_mut().find(|group| group.heading == heading) {
                Some(group) => group.entries.push(entry),
                None => groups.push(Group {
                    heading,
                    entries: vec![entry],
                }),
            }
        }
        groups
    }
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
/// whether it asks for a comment or a time.
struct ActionButton {
    action: &'static str,
    label: &'static str,
    needs_comment: bool,
    needs_time: bool,
    dangerous: bool,
}

/// The actions the page offers, from the API's `allowedActions`, in the
/// order an item goes through them: (action, label, comment, time, danger).
const ACTIONS: &[(&str, &str, bool, bool, bool)] = &[
    (
        "SUBMIT_FOR_REVIEW",
        "Submit for review",
        false,
        false,
        false,
    ),
    ("APPROVE", "Approve", false, false, false),
    ("REQUEST_CHANGES", "Request changes", true, false, false),
    ("PUBLISH", "Publish now", false, false, false),
    (
        "SCHEDULE_PUBLISH",
        "Schedule publishing",
        false,
        true,
        false,
    ),
    (
        "SCHEDULE_UNPUBLISH",
        "Schedule unpublishing",
        false,
        true,
        false,
    ),
    (
        "CANCEL_SCHEDULE",
        "Cancel the schedule",
        false,
        false,
        false,
    ),
    ("UNPUBLISH", "Unpublish", false, false, true),
    ("ARCHIVE", "Archive", false, false, true),
    ("RESTORE", "Restore", false, false, false),
];

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage {
    asset_tag: &'static str,
    chrome: Chrome,
    id: String,
    title: String,
    kind: &'static str,
    editable: bool,
    status: &'static str,
    version: i32,
    published_version: Option<i32>,
    scheduled_publish_at: Option<String>,
    scheduled_unpublish_at: Option<String>,
    actions: Vec<ActionButton>,
    may_comment: bool,
    comments: Vec<CommentShown>,
    problem: Option<String>,
    draft: Shown,
    public: Option<Shown>,
}

/// Renders the item page, with `problem` said at the top when an action
/// was refused.
async fn render_item(
    state: &AppState,
    editor: &Editor,
    id: &str,
    status: StatusCode,
    problem: Option<String>,
) -> Response {
    let answer = match api::run::<ItemAnswer>(
        state,
        editor.viewer.clone(),
        &item_query(),
        json!({ "id": id }),
    )
    .await
    {
        Ok(answer) => answer,
        Err(error) => return api_failure(&error),
    };
    let Some(detail) = answer.node else {
        return no_such_item();
    };
    let allowed = detail.allowed_actions.clone().unwrap_or_default();
    let actions = ACTIONS
        .iter()
        .filter(|(action, ..)| allowed.iter().any(|allowed| allowed == action))
        .map(
            |(action, label, needs_comment, needs_time, dangerous)| ActionButton {
                action,
                label,
                needs_comment: *needs_comment,
                needs_time: *needs_time,
                dangerous: *dangerous,
            },
        )
        .collect();
    page(
        status,
        &ItemPage {
            asset_tag: TAG,
            chrome: Chrome::of(state, editor),
            id: detail.item.id.clone(),
            title: detail.item.label().to_string(),
            kind: detail.item.kind_label(),
            editable: detail.item.kind().is_some_and(Kind::editable)
                && allowed.iter().any(|action| action == "COMMENT"),
            status: detail.item.status_label(),
            version: detail.item.version.unwrap_or_default(),
            published_version: detail.item.published_version,
            scheduled_publish_at: detail.scheduled_publish_at,
            scheduled_unpublish_at: detail.scheduled_unpublish_at,
            actions,
            may_comment: allowed.iter().any(|action| action == "COMMENT"),
            comments: detail
                .comments
                .map(|comments| comments.nodes)
                .unwrap_or_default(),
            problem,
            draft: detail.shown,
            public: answer.public,
        },
    )
}

pub(super) async fn item_page(
    State(state): State<AppState>,
    editor: Editor,
    Path(id): Path<String>,
) -> Response {
    render_item(&state, &editor, &id, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    #[serde(rename = "_form")]
    form_token: String,
    action: String,
    /// The version the page showed: an action on a newer one is a
    /// conflict, not a surprise.
    version: i32,
    #[serde(default)]
    comment: String,
    /// A schedule's local date and time (`datetime-local`).
    #[serde(default)]
    at: String,
    /// The browser's offset from UTC in minutes, as `getTimezoneOffset`
    /// gives it (UTC minus local); absent without scripts: the time is UTC.
    #[serde(default)]
    offset: String,
    /// The version a revert brings back.
    #[serde(default)]
    to: Option<i32>,
}

impl PostedForm for ActionForm {
    fn form_token(&self) -> &str {
        &self.form_token
    }
}

/// A `datetime-local` value and the browser's offset as a UTC instant.
fn instant(local: &str, offset_minutes: &str) -> Option<String> {
    let local = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    let offset: i64 = match offset_minutes.trim() {
        "" => 0,
        minutes => minutes
            .parse()
            .ok()
            .filter(|minutes: &i64| minutes.abs() <= 18 * 60)?,
    };
    Some(
        (local + TimeDelta::minutes(offset))
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// Carries out one workflow action through its mutation, then shows the
/// item again (after a redirect, so reloading does not repeat it).
pub(super) async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { editor, form, .. }: Posted<ActionForm>,
) -> Response {
    let mutation = match form.action.as_str() {
        "SUBMIT_FOR_REVIEW" => "submitForReview(id: $id, expectedVersion: $version)",
        "APPROVE" => "approve(id: $id, expectedVersion: $version)",
        "REQUEST_CHANGES" => {
            "requestChanges(id: $id, expectedVersion: $version, comment: $comment)"
        }
        "PUBLISH" => "publish(id: $id, expectedVersion: $version)",
        "SCHEDULE_PUBLISH" => "schedulePublish(id: $id, expectedVersion: $version, at: $at)",
        "SCHEDULE_UNPUBLISH" => "scheduleUnpublish(id: $id, expectedVersion: $version, at: $at)",
        "CANCEL_SCHEDULE" => "cancelSchedule(id: $id, expectedVersion: $version)",
        "UNPUBLISH" => "unpublish(id: $id, expectedVersion: $version)",
        "ARCHIVE" => "archive(id: $id, expectedVersion: $version)",
        "RESTORE" => "restore(id: $id, expectedVersion: $version)",
        "REVERT" => "revert(id: $id, expectedVersion: $version, toVersion: $to)",
        "COMMENT" => "addComment(id: $id, body: $comment)",
        _ => return plain(StatusCode::BAD_REQUEST, "There is no such action.\n"),
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
    if mutation.contains("$at") {
        let Some(at) = instant(&form.at, &form.offset) else {
            let problem = "Choose the date and time to schedule it for.".to_string();
            return render_item(
                &state,
                &editor,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(problem),
            )
            .await;
        };
        declared.push("$at: DateTime!");
        variables["at"] = json!(at);
    }
    if mutation.contains("$to") {
        declared.push("$to: Int!");
        variables["to"] = json!(form.to.unwrap_or_default());
    }
    let document = format!(
        "mutation Act({}) {{ done: {mutation} {{ id }} }}",
        declared.join(", ")
    );
    match api::run::<Value>(&state, editor.viewer.clone(), &document, variables).await {
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
                _ => return api_failure(&error),
            };
            render_item(&state, &editor, &id, status, Some(problem)).await
        }
    }
}

/// Which two versions the history page compares.
#[derive(Deserialize, Default)]
pub(super) struct Compare {
    from: Option<i32>,
    to: Option<i32>,
}

#[derive(Deserialize)]
struct HistoryAnswer {
    node: Option<HistoryNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryNode {
    #[serde(flatten)]
    item: Item,
    #[serde(default)]
    allowed_actions: Option<Vec<String>>,
    versions: Option<Versions>,
    diff: Option<Vec<Change>>,
}

#[derive(Deserialize)]
struct Versions {
    nodes: Vec<VersionShown>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionShown {
    number: i32,
    author: String,
    created_at: String,
    message: String,
}

#[derive(Deserialize)]
struct Change {
    field: String,
    from: Option<Value>,
    to: Option<Value>,
}

/// A changed field as the page shows it: the values as text.
struct ChangeShown {
    field: String,
    from: String,
    to: String,
}

fn readable(value: Option<Value>) -> String {
    match value {
        None | Some(Value::Null) => "(empty)".into(),
        Some(Value::String(text)) if text.is_empty() => "(empty)".into(),
        Some(Value::String(text)) => text,
        Some(Value::Array(values)) if values.is_empty() => "(none)".into(),
        Some(Value::Array(values)) => values
            .into_iter()
            .map(|value| match value {
                Value::String(text) => text,
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    asset_tag: &'static str,
    chrome: Chrome,
    id: String,
    title: String,
    version: i32,
    versions: Vec<VersionShown>,
    from: i32,
    to: i32,
    changes: Vec<ChangeShown>,
    may_revert: bool,
}

/// The versions of an item, newest first, and what changed between any
/// two of them (the previous and the current draft by default).
pub(super) async fn history(
    State(state): State<AppState>,
    editor: Editor,
    Path(id): Path<String>,
    Query(compare): Query<Compare>,
) -> Response {
    let document = "query History($id: ID!, $from: Int!, $to: Int) {
  node(id: $id, preview: true) {
    __typename id
    ... on Content { status version publishedVersion allowedActions }
    ... on Resource { title versions(first: 100) { ...Versions } diff(from: $from, to: $to) { field from to } }
    ... on Module { title versions(first: 100) { ...Versions } diff(from: $from, to: $to) { field from to } }
    ... on Topic { name versions(first: 100) { ...Versions } diff(from: $from, to: $to) { field from to } }
    ... on ResourceType { name versions(first: 100) { ...Versions } diff(from: $from, to: $to) { field from to } }
    ... on Tag { name versions(first: 100) { ...Versions } diff(from: $from, to: $to) { field from to } }
  }
}
fragment Versions on VersionConnection { nodes { number author createdAt message } }";
    // The current draft's number is not known before the query: compare
    // with the draft by default, from the one before it.
    let run = async |from: i32, to: Option<i32>| {
        api::run::<HistoryAnswer>(
            &state,
            editor.viewer.clone(),
            document,
            json!({ "id": id, "from": from, "to": to }),
        )
        .await
    };
    let answer = match compare.from {
        Some(from) => run(from, compare.to).await,
        None => match run(1, compare.to).await {
            Ok(HistoryAnswer {
                node: Some(node), ..
            }) if node.item.version.unwrap_or(1) > 1 => {
                run(node.item.version.unwrap_or(1) - 1, compare.to).await
            }
            other => other,
        },
    };
    let node = match answer {
        Ok(HistoryAnswer { node: Some(node) }) => node,
        Ok(HistoryAnswer { node: None }) => return no_such_item(),
        Err(error) => return api_failure(&error),
    };
    let version = node.item.version.unwrap_or(1);
    let to = compare.to.unwrap_or(version);
    let from = compare.from.unwrap_or((version - 1).max(1));
    page(
        StatusCode::OK,
        &HistoryPage {
            asset_tag: TAG,
            chrome: Chrome::of(&state, &editor),
            id: node.item.id.clone(),
            title: node.item.label().to_string(),
            version,
            versions: node
                .versions
                .map(|versions| versions.nodes)
                .unwrap_or_default(),
            from,
            to,
            changes: node
                .diff
                .unwrap_or_default()
                .into_iter()
                .map(|change| ChangeShown {
                    field: change.field,
                    from: readable(change.from),
                    to: readable(change.to),
                })
                .collect(),
            may_revert: node
                .allowed_actions
                .unwrap_or_default()
                .iter()
                .any(|action| action == "COMMENT"),
        },
    )
}

/// Changes made to the item anywhere (another editor, the scheduler, a
/// seed job), as server-sent events: the page's script says so and offers
/// to show them. The API's `contentChanged` subscription, with the
/// editor's session; it ends when the session does.
pub(super) async fn live(
    State(state): State<AppState>,
    editor: Editor,
    Path(id): Path<String>,
) -> Response {
    let request = async_graphql::Request::new(
        "subscription Live($id: ID!) { contentChanged(ids: [$id]) { action version status actor } }",
    )
    .variables(async_graphql::Variables::from_json(json!({ "id": id })))
    .data(editor.viewer)
    .data(SubscriberToken(editor.token));
    let changes = state.schema.execute_stream(request).map(|response| {
        let data = response.data.into_json().unwrap_or_default();
        Ok::<_, std::convert::Infallible>(
            Event::default()
                .event("change")
                .data(data["contentChanged"].to_string()),
        )
    });
    Sse::new(changes)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// An image's focal point, as fractions.
#[derive(Deserialize)]
struct Point {
    x: f64,
    y: f64,
}

#[cfg(test)]
mod tests {
    use super::instant;

    #[test]
    fn a_local_time_and_the_browsers_offset_make_a_utc_instant() {
        // New York in winter: getTimezoneOffset() is 300.
        assert_eq!(
            instant("2027-01-15T09:30", "300").as_deref(),
            Some("2027-01-15T14:30:00Z")
        );
        // Without scripts the time is taken as UTC, as the page says.
        assert_eq!(
            instant("2027-01-15T09:30", "").as_deref(),
            Some("2027-01-15T09:30:00Z")
        );
        assert_eq!(instant("tomorrow", "0"), None);
        assert_eq!(instant("2027-01-15T09:30", "100000"), None);
    }
}
