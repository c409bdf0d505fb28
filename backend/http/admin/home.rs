//! The home page (the editor's own lists), the list of each kind, and
//! the pickers' suggestions.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Chrome, Editor, Kind, TAG, api, api_failure, page, plain, status_label};
use crate::http::AppState;

/// The fields every list shows of an item.
pub(super) const LISTED: &str = "fragment Listed on Content {
  __typename id status version publishedVersion
  ... on Resource { title slug }
  ... on Module { title slug }
  ... on Topic { name slug }
  ... on ResourceType { name slug }
  ... on Tag { name slug }
  ... on Asset { title slug }
}";

/// A content item as lists show it.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct Item {
    #[serde(rename = "__typename")]
    typename: String,
    pub(super) id: String,
    pub(super) status: Option<String>,
    pub(super) version: Option<i32>,
    pub(super) published_version: Option<i32>,
    title: Option<String>,
    name: Option<String>,
    #[serde(default)]
    pub(super) slug: String,
}

impl Item {
    pub(super) fn label(&self) -> &str {
        self.title
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or("(untitled)")
    }

    pub(super) fn kind(&self) -> Option<Kind> {
        Kind::from_typename(&self.typename)
    }

    pub(super) fn kind_label(&self) -> &'static str {
        self.kind().map_or("Item", Kind::label)
    }

    pub(super) fn status_label(&self) -> &'static str {
        status_label(self.status.as_deref().unwrap_or_default())
    }

    /// Whether the public side shows an older version than the draft.
    pub(super) fn has_unpublished_changes(&self) -> bool {
        self.published_version
            .is_some_and(|published| Some(published) != self.version)
    }
}

pub(super) type Items = super::api::Nodes<Item>;

/// The home page's lists, one query.
fn home_query() -> String {
    format!(
        r#"query Home {{
  me {{ role user {{ name }} }}
  drafts: items(filter: {{ mine: true, statuses: [DRAFT] }}, first: 10) {{ nodes {{ ...Listed }} }}
  changesRequested: items(filter: {{ mine: true, statuses: [CHANGES_REQUESTED] }}, first: 10) {{ nodes {{ ...Listed }} }}
  inReview: items(filter: {{ statuses: [IN_REVIEW] }}, first: 10) {{ nodes {{ ...Listed }} }}
  approved: items(filter: {{ statuses: [APPROVED] }}, first: 10) {{ nodes {{ ...Listed }} }}
  scheduled: items(filter: {{ scheduled: true }}, first: 10) {{ nodes {{ ...Listed }} }}
  published: items(filter: {{ statuses: [PUBLISHED] }}, first: 10) {{ nodes {{ ...Listed }} }}
}}
{LISTED}"#
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HomeAnswer {
    me: Option<Me>,
    drafts: Items,
    changes_requested: Items,
    in_review: Items,
    approved: Items,
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
    chrome: Chrome,
    name: String,
    role: String,
    sections: Vec<Section>,
}

pub(super) async fn home(
    State(state): State<AppState>,
    editor: Editor,
) -> Result<Response, api::ApiError> {
    let answer =
        api::run::<HomeAnswer>(&state, editor.viewer.clone(), &home_query(), json!({})).await?;
    let section = |id, title, empty, items: Items| Section {
        id,
        title,
        empty,
        items: items.nodes,
    };
    let sections = vec![
        section("drafts", "My drafts", "No drafts of yours.", answer.drafts),
        section(
            "changes-requested",
            "Changes requested of me",
            "Nothing sent back to you.",
            answer.changes_requested,
        ),
        section(
            "in-review",
            "Waiting for review",
            "Nothing is waiting for review.",
            answer.in_review,
        ),
        section(
            "approved",
            "Approved, waiting to be published",
            "Nothing approved is waiting.",
            answer.approved,
        ),
        section(
            "scheduled",
            "Scheduled",
            "Nothing is scheduled.",
            answer.scheduled,
        ),
        section(
            "published",
            "Recently published",
            "Nothing is published yet.",
            answer.published,
        ),
    ];
    let me = answer.me;
    Ok(page(
        StatusCode::OK,
        &HomePage {
            asset_tag: TAG,
            chrome: Chrome::of(&state, &editor),
            name: me
                .as_ref()
                .and_then(|me| me.user.as_ref())
                .map(|user| user.name.clone())
                .unwrap_or_default(),
            role: me.and_then(|me| me.role).unwrap_or_default(),
            sections,
        },
    ))
}

/// A list's address: what it searches, filters and sorts by, and where
/// its page starts.
#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    after: String,
}

const STATUSES: [&str; 6] = [
    "DRAFT",
    "IN_REVIEW",
    "CHANGES_REQUESTED",
    "APPROVED",
    "PUBLISHED",
    "ARCHIVED",
];

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    asset_tag: &'static str,
    chrome: Chrome,
    kind: Kind,
    q: String,
    status: String,
    alphabetical: bool,
    statuses: Vec<(&'static str, &'static str)>,
    items: Vec<Item>,
    /// The next page's address, when there is one.
    next: Option<String>,
    paged: bool,
}

#[derive(Deserialize)]
struct ListAnswer {
    items: Items,
}

pub(super) async fn list(
    State(state): State<AppState>,
    editor: Editor,
    Path(list): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, api::ApiError> {
    let Some(kind) = Kind::from_path(&list) else {
        return Ok(plain(StatusCode::NOT_FOUND, "There is no such list.\n"));
    };
    let status = match STATUSES.into_iter().find(|status| *status == query.status) {
        Some(status) => status,
        None if query.status.is_empty() => "",
        None => return Ok(plain(StatusCode::BAD_REQUEST, "There is no such status.\n")),
    };
    let alphabetical = query.order == "alphabetical";
    let mut filter = json!({ "kinds": [kind.api_name()], "query": query.q });
    if !status.is_empty() {
        filter["statuses"] = json!([status]);
    }
    let document = format!(
        "query List($filter: ItemFilter, $order: ItemOrder!, $after: String) {{
  items(filter: $filter, order: $order, first: 50, after: $after) {{ nodes {{ ...Listed }} pageInfo {{ hasNextPage endCursor }} }}
}}
{LISTED}"
    );
    let variables = json!({
        "filter": filter,
        "order": if alphabetical { "ALPHABETICAL" } else { "RECENTLY_CHANGED" },
        "after": (!query.after.is_empty()).then_some(&query.after),
    });
    let answer =
        api::run::<ListAnswer>(&state, editor.viewer.clone(), &document, variables).await?;
    let next = answer.items.next(
        &format!("/admin/lists/{}", kind.path()),
        vec![
            ("q", query.q.clone()),
            ("status", status.to_string()),
            (
                "order",
                if alphabetical { "alphabetical" } else { "" }.to_string(),
            ),
        ],
    );
    Ok(page(
        StatusCode::OK,
        &ListPage {
            asset_tag: TAG,
            chrome: Chrome::of(&state, &editor),
            kind,
            q: query.q,
            status: status.to_string(),
            alphabetical,
            statuses: STATUSES
                .into_iter()
                .map(|status| (status, status_label(status)))
                .collect(),
            items: answer.items.nodes,
            next,
            paged: !query.after.is_empty(),
        },
    ))
}

/// A picker's suggestion: what the form sends, and what it shows.
#[derive(serde::Serialize)]
struct Suggestion {
    slug: String,
    label: String,
    status: &'static str,
}

/// Suggestions for a picker as the editor types: items of one kind whose
/// slug holds every word typed, A to Z.
pub(super) async fn pick(
    State(state): State<AppState>,
    editor: Editor,
    Path(list): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(kind) = Kind::from_path(&list) else {
        return plain(StatusCode::NOT_FOUND, "There is no such list.\n");
    };
    let document = format!(
        "query Pick($filter: ItemFilter) {{
  items(filter: $filter, order: ALPHABETICAL, first: 20) {{ nodes {{ ...Listed }} }}
}}
{LISTED}"
    );
    let variables = json!({ "filter": { "kinds": [kind.api_name()], "query": query.q } });
    match api::run::<ListAnswer>(&state, editor.viewer, &document, variables).await {
        Ok(answer) => {
            let suggestions: Vec<Suggestion> = answer
                .items
                .nodes
                .iter()
                .map(|item| Suggestion {
                    slug: item.slug.clone(),
                    label: item.label().to_string(),
                    status: item.status_label(),
                })
                .collect();
            (
                [(axum::http::header::CACHE_CONTROL, "no-store")],
                Json(suggestions),
            )
                .into_response()
        }
        Err(error) => api_failure(&error),
    }
}
