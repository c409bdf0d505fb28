//! Creating and editing items: one form per kind, every field with the
//! server's own validation message beside it, pickers for linked items,
//! a module's resources in order (add, remove, move), a merge view when
//! someone else saved first, and the editor's text kept through an
//! expired session.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::sign_in::SignInPage;
use super::{
    Chrome, Editor, Kind, Posted, PostedForm, TAG, api, api_failure, no_such_item, page, plain,
};
use crate::http::AppState;

/// How a field is edited.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Widget {
    Line,
    Text,
    Year,
    Url,
    /// One line per entry (a topic's other names).
    Lines,
    /// Several linked items of a kind, in display order.
    Links(Kind),
    /// One linked item of a kind.
    Link(Kind),
    /// A module's resources, in page order, each movable.
    Ordered(Kind),
    /// A point on an image: "across, down" as fractions from the top left.
    Point,
}

/// A field of a kind's form: its name in the API's input (and in a
/// version's JSON), its label and hint, and how it is edited.
struct Spec {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    widget: Widget,
    required: bool,
    /// Whether an empty value clears it (`null`) rather than sets "".
    nullable: bool,
}

const fn spec(name: &'static str, label: &'static str, hint: &'static str, widget: Widget) -> Spec {
    Spec {
        name,
        label,
        hint,
        widget,
        required: false,
        nullable: true,
    }
}

const fn required(spec: Spec) -> Spec {
    Spec {
        required: true,
        nullable: false,
        ..spec
    }
}

const fn not_nullable(spec: Spec) -> Spec {
    Spec {
        nullable: false,
        ..spec
    }
}

const SLUG_HINT: &str = "Its address on partner sites: lowercase words joined by hyphens. Made from the title when left empty.";

const RESOURCE: &[Spec] = &[
    required(spec("title", "Title", "", Widget::Line)),
    not_nullable(spec("slug", "Slug", SLUG_HINT, Widget::Line)),
    required(spec(
        "types",
        "Types",
        "Guidebook, report, video… at least one.",
        Widget::Links(Kind::ResourceType),
    )),
    spec("year", "Year", "The year it was published.", Widget::Year),
    spec(
        "url",
        "Address",
        "Where to read or watch it (http or https).",
        Widget::Url,
    ),
    spec("publisher", "Publisher", "", Widget::Line),
    spec("summary", "Summary", "", Widget::Text),
    not_nullable(spec("topics", "Topics", "", Widget::Links(Kind::Topic))),
    not_nullable(spec("tags", "Tags", "", Widget::Links(Kind::Tag))),
    spec(
        "thumbnail",
        "Thumbnail",
        "An image shown beside it in lists.",
        Widget::Link(Kind::Asset),
    ),
    not_nullable(spec(
        "files",
        "Files",
        "The PDF, video… that holds it, in display order.",
        Widget::Links(Kind::Asset),
    )),
];

const MODULE: &[Spec] = &[
    required(spec("title", "Title", "", Widget::Line)),
    not_nullable(spec("slug", "Slug", SLUG_HINT, Widget::Line)),
    spec(
        "topic",
        "Practice area",
        "The topic this module is the guidance for.",
        Widget::Link(Kind::Topic),
    ),
    not_nullable(spec("intro", "Introduction", "Markdown.", Widget::Text)),
    spec(
        "heroImage",
        "Hero image",
        "The image at the top of the page (upload it under Images and files).",
        Widget::Link(Kind::Asset),
    ),
    spec(
        "heroImageAlt",
        "Hero image text",
        "What the hero image shows, for people who cannot see it.",
        Widget::Line,
    ),
    spec(
        "resourcesHeading",
        "Heading above the resources",
        "",
        Widget::Line,
    ),
    not_nullable(spec(
        "resources",
        "Resources",
        "In page order.",
        Widget::Ordered(Kind::Resource),
    )),
    not_nullable(spec("tags", "Tags", "", Widget::Links(Kind::Tag))),
    spec(
        "disclaimer",
        "Disclaimer",
        "Shown at the end of the page.",
        Widget::Text,
    ),
];

const TOPIC: &[Spec] = &[
    required(spec("name", "Name", "", Widget::Line)),
    not_nullable(spec("slug", "Slug", SLUG_HINT, Widget::Line)),
    not_nullable(spec("description", "Description", "", Widget::Text)),
    not_nullable(spec(
        "aliases",
        "Other names",
        "One per line: seed files and editors may name the topic by any of them.",
        Widget::Lines,
    )),
];

const ASSET: &[Spec] = &[
    // Not required: a new asset takes its file's name.
    not_nullable(spec(
        "title",
        "Title",
        "The file's name when left empty.",
        Widget::Line,
    )),
    not_nullable(spec("slug", "Slug", SLUG_HINT, Widget::Line)),
    spec(
        "alt",
        "Alternative text",
        "What the image shows, for people who cannot see it. An image cannot be published without it.",
        Widget::Line,
    ),
    spec("caption", "Caption", "", Widget::Text),
    spec(
        "credit",
        "Credit",
        "Who made it: photographer, agency, licence.",
        Widget::Line,
    ),
    spec(
        "focalPoint",
        "Focal point",
        "What crops keep in view: across, down, as fractions from the top left (0.5, 0.5 is the centre; 0.3, 0.2 a face in the upper left). Empty for the centre.",
        Widget::Point,
    ),
];

const TAG_FIELDS: &[Spec] = &[
    required(spec("name", "Name", "", Widget::Line)),
    not_nullable(spec("slug", "Slug", SLUG_HINT, Widget::Line)),
];

fn specs(kind: Kind) -> &'static [Spec] {
    match kind {
        Kind::Resource => RESOURCE,
        Kind::Module => MODULE,
        Kind::Topic => TOPIC,
        Kind::Tag | Kind::ResourceType => TAG_FIELDS,
        Kind::Asset => ASSET,
    }
}

/// A field's value as the form holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum FieldValue {
    Text(String),
    /// Linked items' slugs, in order.
    List(Vec<String>),
}

impl FieldValue {
    fn text(&self) -> &str {
        match self {
            FieldValue::Text(text) => text,
            FieldValue::List(_) => "",
        }
    }

    fn list(&self) -> &[String] {
        match self {
            FieldValue::List(list) => list,
            FieldValue::Text(_) => &[],
        }
    }

    /// A value as a version's JSON holds it (diffs give links as slugs).
    fn from_json(widget: Widget, value: Option<&Value>) -> FieldValue {
        let text = |value: &Value| match value {
            Value::String(text) => text.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        match widget {
            Widget::Links(_) | Widget::Ordered(_) => FieldValue::List(
                value
                    .and_then(Value::as_array)
                    .map(|values| values.iter().map(text).collect())
                    .unwrap_or_default(),
            ),
            Widget::Lines => FieldValue::Text(
                value
                    .and_then(Value::as_array)
                    .map(|values| values.iter().map(text).collect::<Vec<_>>().join("\n"))
                    .unwrap_or_default(),
            ),
            Widget::Point => FieldValue::Text(
                value
                    .and_then(|point| Some((point.get("x")?.as_f64()?, point.get("y")?.as_f64()?)))
                    .map(|(x, y)| format!("{x}, {y}"))
                    .unwrap_or_default(),
            ),
            _ => FieldValue::Text(value.map(text).unwrap_or_default()),
        }
    }

    fn shown(&self) -> String {
        match self {
            FieldValue::Text(text) if text.is_empty() => "(empty)".into(),
            FieldValue::Text(text) => text.clone(),
            FieldValue::List(list) if list.is_empty() => "(none)".into(),
            FieldValue::List(list) => list.join(", "),
        }
    }
}

/// A form's posted fields, in the order they came.
#[derive(Deserialize, Clone, Default)]
#[serde(transparent)]
pub(super) struct Pairs(Vec<(String, String)>);

impl Pairs {
    fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }
}

impl PostedForm for Pairs {
    fn form_token(&self) -> &str {
        self.first("_form").unwrap_or_default()
    }

    /// The session ended while the editor typed: nothing is saved, and
    /// nothing is lost. The sign-in page carries the form's fields and
    /// brings the editor back to the form with them.
    fn signed_out(mut self, path: &str) -> Response {
        self.0.retain(|(name, _)| name != "_form");
        let kept = labelled(path, &self);
        let resume = serde_json::to_string(&self.0).unwrap_or_default();
        page(
            StatusCode::UNAUTHORIZED,
            &SignInPage {
                asset_tag: TAG,
                email: String::new(),
                problem: None,
                resume_to: path.to_string(),
                resume,
                kept,
            },
        )
    }
}

/// The form a kept path names: a new item of a kind, or an item's edit.
enum Target {
    New(Kind),
    Existing(String),
}

impl Target {
    fn of_path(path: &str) -> Option<Target> {
        let rest = path.strip_prefix("/admin/")?;
        if let Some(kind) = rest.strip_prefix("new/") {
            return Kind::from_path(kind)
                .filter(|kind| kind.editable())
                .map(Target::New);
        }
        let id = rest.strip_prefix("items/")?.strip_suffix("/edit")?;
        (!id.is_empty() && !id.contains('/')).then(|| Target::Existing(id.to_string()))
    }
}

/// The kept fields with their labels, for the sign-in page.
fn labelled(path: &str, pairs: &Pairs) -> Vec<(String, String)> {
    let kind = match Target::of_path(path) {
        Some(Target::New(kind)) => Some(kind),
        Some(Target::Existing(_)) => pairs.first("_kind").and_then(Kind::from_typename),
        None => None,
    };
    let Some(kind) = kind else {
        return Vec::new();
    };
    let values = read_form(kind, pairs);
    specs(kind)
        .iter()
        .filter_map(|spec| {
            let value = values.get(spec.name)?;
            (value != &FieldValue::Text(String::new()) && value != &FieldValue::List(Vec::new()))
                .then(|| (spec.label.to_string(), value.shown()))
        })
        .collect()
}

/// The kept fields for the sign-in page that failed again.
pub(super) fn kept_text(resume: &str) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> = serde_json::from_str(resume).unwrap_or_default();
    pairs
        .into_iter()
        .filter(|(name, value)| !name.starts_with('_') && !value.is_empty() && name != "version")
        .collect()
}

/// Reads the form's values: text fields as sent; linked items from the
/// entries listed plus what was typed into the field's "add" box (slugs,
/// separated by commas), without repeats.
fn read_form(kind: Kind, pairs: &Pairs) -> HashMap<&'static str, FieldValue> {
    specs(kind)
        .iter()
        .map(|spec| {
            let value = match spec.widget {
                Widget::Links(_) | Widget::Ordered(_) => {
                    let mut list = pairs.all(spec.name);
                    for added in pairs.all(&format!("{}__add", spec.name)) {
                        for slug in added
                            .split(',')
                            .map(str::trim)
                            .filter(|slug| !slug.is_empty())
                        {
                            if !list.iter().any(|listed| listed == slug) {
                                list.push(slug.to_string());
                            }
                        }
                    }
                    FieldValue::List(list)
                }
                _ => FieldValue::Text(pairs.first(spec.name).unwrap_or_default().to_string()),
            };
            (spec.name, value)
        })
        .collect()
}

/// Applies a "move up / move down / remove" button of an ordered list
/// (`field:up:3`): the form comes back with the change, not yet saved.
fn apply_move(values: &mut HashMap<&'static str, FieldValue>, order: &str) -> bool {
    let mut parts = order.splitn(3, ':');
    let (Some(field), Some(how), Some(index)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some(FieldValue::List(list)) = values.get_mut(field) else {
        return false;
    };
    let Ok(index) = index.parse::<usize>() else {
        return false;
    };
    if index >= list.len() {
        return false;
    }
    match how {
        "up" if index > 0 => list.swap(index, index - 1),
        "down" if index + 1 < list.len() => list.swap(index, index + 1),
        "remove" => {
            list.remove(index);
        }
        _ => return false,
    }
    true
}

/// "0.4, 0.3" (or "0.4 0.3"): two fractions.
fn parse_point(text: &str) -> Option<(f64, f64)> {
    let mut numbers = text
        .split([',', ' '])
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<f64>().ok().filter(|n| (0.0..=1.0).contains(n)));
    match (numbers.next(), numbers.next(), numbers.next()) {
        (Some(Some(x)), Some(Some(y)), None) => Some((x, y)),
        _ => None,
    }
}

/// A field's problems found before asking the server: a year that is not
/// a number cannot even be sent.
type Problems = HashMap<String, String>;

/// The API input the form's values make. Creating leaves empty fields
/// out; saving clears them.
fn input(
    kind: Kind,
    values: &HashMap<&'static str, FieldValue>,
    creating: bool,
) -> Result<Value, Problems> {
    let mut input = serde_json::Map::new();
    let mut problems = Problems::new();
    for spec in specs(kind) {
        let Some(value) = values.get(spec.name) else {
            continue;
        };
        let json = match (spec.widget, value) {
            (Widget::Links(_) | Widget::Ordered(_), FieldValue::List(list)) => json!(list),
            (Widget::Lines, value) => json!(
                value
                    .text()
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .collect::<Vec<_>>()
            ),
            (Widget::Point, value) => match value.text().trim() {
                "" => Value::Null,
                point => match parse_point(point) {
                    Some((x, y)) => json!({ "x": x, "y": y }),
                    None => {
                        problems.insert(
                            spec.name.into(),
                            "must be two numbers from 0 to 1, across then down, such as 0.5, 0.3"
                                .into(),
                        );
                        continue;
                    }
                },
            },
            (Widget::Year, value) => match value.text().trim() {
                "" => Value::Null,
                year => match year.parse::<i32>() {
                    Ok(year) => json!(year),
                    Err(_) => {
                        problems.insert(spec.name.into(), "must be a year, such as 2021".into());
                        continue;
                    }
                },
            },
            (_, value) => {
                let text = value.text().trim();
                if text.is_empty() && spec.name == "slug" {
                    continue;
                }
                if text.is_empty() && spec.nullable {
                    Value::Null
                } else {
                    json!(text)
                }
            }
        };
        let empty = json.is_null() || json == json!([]) || json == json!("");
        // Said here too, so one try shows every problem the form can see.
        if spec.required && empty {
            problems.insert(spec.name.into(), "is required".into());
            continue;
        }
        if creating && empty && !spec.required {
            continue;
        }
        input.insert(spec.name.to_string(), json);
    }
    if problems.is_empty() {
        Ok(Value::Object(input))
    } else {
        Err(problems)
    }
}

/// What the editor sees of one field.
struct FieldView {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    widget: &'static str,
    /// The kind a picker suggests, by its list's path.
    picks: &'static str,
    required: bool,
    text: String,
    /// Linked items: slug and name.
    entries: Vec<(String, String)>,
    problem: Option<String>,
    /// Someone else's value, when they changed this field too.
    theirs: Option<Theirs>,
}

struct Theirs {
    shown: String,
    /// Their value as the form sends it back when chosen.
    pairs: Vec<String>,
}

/// A merge with a newer version: what the page says about it.
struct Merge {
    their_version: i32,
    author: String,
    /// Fields they changed that the editor had not touched: taken.
    taken: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    asset_tag: &'static str,
    chrome: Chrome,
    action: String,
    kind: Kind,
    heading: String,
    version: i32,
    fields: Vec<FieldView>,
    problem: Option<String>,
    notice: Option<String>,
    merge: Option<Merge>,
    back: String,
    /// The form carries a file (a new asset's).
    uploading: bool,
    /// Suggestions for the pickers of small vocabularies: list path, slug, name.
    options: Vec<(&'static str, Vec<(String, String)>)>,
}

/// The item's current draft as the form holds it, with the names of its
/// linked items.
struct Loaded {
    kind: Kind,
    heading: String,
    version: i32,
    values: HashMap<&'static str, FieldValue>,
    names: HashMap<String, String>,
}

const LOAD: &str = "query Load($id: ID!) {
  node(id: $id, preview: true) {
    __typename
    ... on Content { version }
    ... on Resource { title slug year url publisher summary types { slug name } topics { slug name } tags { slug name } thumbnail { slug title } files { slug title } }
    ... on Module { title slug intro heroImage { slug title } heroImageAlt resourcesHeading disclaimer topic { slug name } resources { slug title } tags { slug name } }
    ... on Asset { title slug alt caption credit focalPoint { x y } }
    ... on Topic { name slug description aliases }
    ... on Tag { name slug }
    ... on ResourceType { name slug }
  }
}";

async fn load(
    state: &AppState,
    editor: &Editor,
    id: &str,
) -> Result<Option<Loaded>, api::ApiError> {
    #[derive(Deserialize)]
    struct Answer {
        node: Option<serde_json::Map<String, Value>>,
    }
    let answer =
        api::run::<Answer>(state, editor.viewer.clone(), LOAD, json!({ "id": id })).await?;
    let Some(node) = answer.node else {
        return Ok(None);
    };
    let Some(kind) = node
        .get("__typename")
        .and_then(Value::as_str)
        .and_then(Kind::from_typename)
    else {
        return Ok(None);
    };
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    for spec in specs(kind) {
        let value = node.get(spec.name);
        let linked = |value: &Value| -> Option<String> {
            let slug = value.get("slug")?.as_str()?.to_string();
            let name = value
                .get("name")
                .or(value.get("title"))
                .and_then(Value::as_str)
                .unwrap_or(&slug)
                .to_string();
            names.insert(slug.clone(), name);
            Some(slug)
        };
        let field = match spec.widget {
            Widget::Links(_) | Widget::Ordered(_) => FieldValue::List(
                value
                    .and_then(Value::as_array)
                    .map(|values| values.iter().filter_map(linked).collect())
                    .unwrap_or_default(),
            ),
            Widget::Link(_) => FieldValue::Text(value.and_then(linked).unwrap_or_default()),
            widget => FieldValue::from_json(widget, value),
        };
        values.insert(spec.name, field);
    }
    let heading = ["title", "name"]
        .iter()
        .find_map(|field| node.get(*field).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    Ok(Some(Loaded {
        kind,
        heading,
        version: node.get("version").and_then(Value::as_i64).unwrap_or(1) as i32,
        values,
        names,
    }))
}

/// The first hundred items of the small vocabularies a form links to, for
/// the pickers to suggest before the script asks for more.
async fn options(
    state: &AppState,
    editor: &Editor,
    kind: Kind,
) -> Vec<(&'static str, Vec<(String, String)>)> {
    let mut vocabularies: Vec<Kind> = specs(kind)
        .iter()
        .filter_map(|spec| match spec.widget {
            Widget::Links(kind) | Widget::Link(kind) => Some(kind),
            _ => None,
        })
        .collect();
    vocabularies.dedup();
    let mut found = Vec::new();
    for vocabulary in vocabularies {
        #[derive(Deserialize)]
        struct Answer {
            items: super::home::Items,
        }
        let document = format!(
            "query Options($kinds: [ContentKind!]) {{ items(filter: {{ kinds: $kinds }}, order: ALPHABETICAL, first: 100) {{ nodes {{ ...Listed }} }} }}\n{}",
            super::home::LISTED
        );
        let answer = api::run::<Answer>(
            state,
            editor.viewer.clone(),
            &document,
            json!({ "kinds": [vocabulary.api_name()] }),
        )
        .await;
        if let Ok(answer) = answer {
            found.push((
                vocabulary.path(),
                answer
                    .items
                    .nodes
                    .iter()
                    .map(|item| (item.slug.clone(), item.label().to_string()))
                    .collect(),
            ));
        }
    }
    found
}

/// Everything one rendering of the form needs besides the item.
#[derive(Default)]
struct Shown {
    problems: Problems,
    problem: Option<String>,
    notice: Option<String>,
    merge: Option<Merge>,
    theirs: HashMap<&'static str, FieldValue>,
}

#[allow(clippy::too_many_arguments)]
/// A form as the page shows it: what it edits and the values in it.
struct Form<'a> {
    target: &'a Target,
    kind: Kind,
    heading: String,
    version: i32,
    values: &'a HashMap<&'static str, FieldValue>,
    /// Linked items' names by slug, for the pickers.
    names: &'a HashMap<String, String>,
}

impl Form<'_> {
    async fn render(
        &self,
        state: &AppState,
        editor: &Editor,
        status: StatusCode,
        shown: Shown,
    ) -> Response {
        let Form {
            target,
            kind,
            ref heading,
            version,
            values,
            names,
        } = *self;
        let heading = heading.clone();
        let fields = specs(kind)
            .iter()
            .map(|spec| {
                let value = values.get(spec.name);
                let (widget, picks) = match spec.widget {
                    Widget::Line => ("line", ""),
                    Widget::Text => ("text", ""),
                    Widget::Year => ("year", ""),
                    Widget::Url => ("url", ""),
                    Widget::Lines => ("text", ""),
                    Widget::Point => ("line", ""),
                    Widget::Links(kind) => ("links", kind.path()),
                    Widget::Link(kind) => ("link", kind.path()),
                    Widget::Ordered(kind) => ("ordered", kind.path()),
                };
                FieldView {
                    name: spec.name,
                    label: spec.label,
                    hint: spec.hint,
                    widget,
                    picks,
                    required: spec.required,
                    text: value
                        .map(|value| value.text().to_string())
                        .unwrap_or_default(),
                    entries: value
                        .map(|value| {
                            value
                                .list()
                                .iter()
                                .map(|slug| {
                                    let name =
                                        names.get(slug).cloned().unwrap_or_else(|| slug.clone());
                                    (slug.clone(), name)
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    problem: shown.problems.get(spec.name).cloned(),
                    theirs: shown.theirs.get(spec.name).map(|theirs| Theirs {
                        shown: theirs.shown(),
                        pairs: match theirs {
                            FieldValue::Text(text) => vec![text.clone()],
                            FieldValue::List(list) => list.clone(),
                        },
                    }),
                }
            })
            .collect();
        let (action, back) = match target {
            Target::New(kind) => (
                format!("/admin/new/{}", kind.path()),
                format!("/admin/lists/{}", kind.path()),
            ),
            Target::Existing(id) => (
                format!("/admin/items/{id}/edit"),
                format!("/admin/items/{id}"),
            ),
        };
        page(
            status,
            &EditPage {
                asset_tag: TAG,
                chrome: Chrome::of(state, editor),
                action,
                kind,
                heading,
                version,
                fields,
                problem: shown.problem,
                notice: shown.notice,
                merge: shown.merge,
                back,
                uploading: matches!(target, Target::New(Kind::Asset)),
                options: options(state, editor, kind).await,
            },
        )
    }
}

pub(super) async fn new_page(
    State(state): State<AppState>,
    editor: Editor,
    Path(kind): Path<String>,
) -> Response {
    let Some(kind) = Kind::from_path(&kind).filter(|kind| kind.editable()) else {
        return plain(StatusCode::NOT_FOUND, "There is no such kind to create.\n");
    };
    let values = read_form(kind, &Pairs::default());
    let heading = format!("New {}", kind.label().to_lowercase());
    Form {
        target: &Target::New(kind),
        kind,
        heading,
        version: 0,
        values: &values,
        names: &HashMap::new(),
    }
    .render(&state, &editor, StatusCode::OK, Shown::default())
    .await
}

pub(super) async fn edit_page(
    State(state): State<AppState>,
    editor: Editor,
    Path(id): Path<String>,
) -> Response {
    match load(&state, &editor, &id).await {
        Ok(Some(loaded)) if loaded.kind.editable() => {
            let heading = format!("Edit {}", loaded.heading);
            Form {
                target: &Target::Existing(id),
                kind: loaded.kind,
                heading,
                version: loaded.version,
                values: &loaded.values,
                names: &loaded.names,
            }
            .render(&state, &editor, StatusCode::OK, Shown::default())
            .await
        }
        Ok(_) => no_such_item(),
        Err(error) => api_failure(&error),
    }
}

pub(super) async fn create(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Posted { editor, form, file }: Posted<Pairs>,
) -> Response {
    let Some(kind) = Kind::from_path(&kind).filter(|kind| kind.editable()) else {
        return plain(StatusCode::NOT_FOUND, "There is no such kind to create.\n");
    };
    submit(&state, editor, Target::New(kind), kind, form, None, file).await
}

pub(super) async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { editor, form, .. }: Posted<Pairs>,
) -> Response {
    let Some(kind) = form.first("_kind").and_then(Kind::from_typename) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "The form is incomplete; open the item again.\n",
        );
    };
    submit(&state, editor, Target::Existing(id), kind, form, None, None).await
}

/// Back at the form after signing in again, with the kept text.
pub(super) async fn resume(state: &AppState, editor: Editor, path: &str, kept: &str) -> Response {
    let pairs = Pairs(serde_json::from_str(kept).unwrap_or_default());
    let Some(target) = Target::of_path(path) else {
        return Redirect::to("/admin").into_response();
    };
    let kind = match &target {
        Target::New(kind) => Some(*kind),
        Target::Existing(_) => pairs.first("_kind").and_then(Kind::from_typename),
    };
    let Some(kind) = kind.filter(|kind| kind.editable()) else {
        return Redirect::to("/admin").into_response();
    };
    let notice =
        "You are signed in again and your text is back. Nothing was saved yet: check it and save.";
    submit(state, editor, target, kind, pairs, Some(notice), None).await
}

/// Saves the form, or shows it again: after a move button (not saved),
/// with each field's problem, with the merge view after a conflict, or
/// (`notice`) as it was kept through a sign-in.
async fn submit(
    state: &AppState,
    editor: Editor,
    target: Target,
    kind: Kind,
    pairs: Pairs,
    notice: Option<&str>,
    file: Option<api::UploadedFile>,
) -> Response {
    let mut values = read_form(kind, &pairs);
    // Fields the editor chose to take from the other version in a merge.
    for spec in specs(kind) {
        if pairs.first(&format!("_take_{}", spec.name)) == Some("theirs") {
            let theirs = pairs.all(&format!("_theirs_{}", spec.name));
            let value = match spec.widget {
                Widget::Links(_) | Widget::Ordered(_) => FieldValue::List(theirs),
                _ => FieldValue::Text(theirs.into_iter().next().unwrap_or_default()),
            };
            values.insert(spec.name, value);
        }
    }
    let version: i32 = pairs
        .first("version")
        .and_then(|version| version.parse().ok())
        .unwrap_or(0);
    let heading = pairs.first("_heading").unwrap_or_default().to_string();
    // The linked items' names the page showed, so they show again.
    let names: HashMap<String, String> = pairs
        .all("_names")
        .iter()
        .filter_map(|entry| entry.split_once('|'))
        .map(|(slug, name)| (slug.to_string(), name.to_string()))
        .collect();
    let moved = pairs
        .first("_move")
        .is_some_and(|order| apply_move(&mut values, order));
    let form = Form {
        target: &target,
        kind,
        heading,
        version,
        values: &values,
        names: &names,
    };
    if moved || notice.is_some() {
        let shown = Shown {
            notice: notice.map(str::to_string),
            ..Shown::default()
        };
        return form.render(state, &editor, StatusCode::OK, shown).await;
    }
    let creating = matches!(target, Target::New(_));
    // A new asset is its file: without one there is nothing to save.
    if creating && kind == Kind::Asset && file.is_none() {
        let shown = Shown {
            problem: Some("Choose a file to upload; nothing was saved.".into()),
            ..Shown::default()
        };
        return form
            .render(state, &editor, StatusCode::UNPROCESSABLE_ENTITY, shown)
            .await;
    }
    let input = match input(kind, &values, creating) {
        Ok(input) => input,
        Err(problems) => {
            let shown = Shown {
                problem: Some("Some fields need a change; nothing was saved.".into()),
                problems,
                ..Shown::default()
            };
            return form
                .render(state, &editor, StatusCode::UNPROCESSABLE_ENTITY, shown)
                .await;
        }
    };
    let typename = kind.typename();
    let message = pairs.first("_message").unwrap_or_default();
    let (document, variables) = match &target {
        Target::New(Kind::Asset) => (
            "mutation Upload($file: Upload!, $input: AssetInput, $message: String) { done: uploadAsset(file: $file, input: $input, message: $message) { id } }".to_string(),
            json!({ "file": null, "input": input, "message": message }),
        ),
        Target::New(_) => (
            format!(
                "mutation Create($input: {typename}Input!, $message: String) {{ done: create{typename}(input: $input, message: $message) {{ id }} }}"
            ),
            json!({ "input": input, "message": message }),
        ),
        Target::Existing(id) => (
            format!(
                "mutation Save($id: ID!, $version: Int!, $input: {typename}Input!, $message: String) {{ done: update{typename}(id: $id, expectedVersion: $version, input: $input, message: $message) {{ id }} }}"
            ),
            json!({ "id": id, "version": version, "input": input, "message": message }),
        ),
    };
    #[derive(Deserialize)]
    struct Done {
        done: DoneId,
    }
    #[derive(Deserialize)]
    struct DoneId {
        id: String,
    }
    let answer =
        api::run_with_file::<Done>(state, editor.viewer.clone(), &document, variables, file).await;
    let error = match answer {
        Ok(done) => return Redirect::to(&format!("/admin/items/{}", done.done.id)).into_response(),
        Err(error) => error,
    };
    match (error.code.as_str(), &target) {
        ("VALIDATION_FAILED", _) => {
            let mut problems = Problems::new();
            let mut unplaced = Vec::new();
            for (field, message) in &error.fields {
                if specs(kind).iter().any(|spec| spec.name == field) {
                    problems
                        .entry(field.clone())
                        .or_insert_with(|| message.clone());
                } else {
                    unplaced.push(message.clone());
                }
            }
            if error.fields.is_empty() {
                unplaced.push(error.message.clone());
            }
            let problem = if unplaced.is_empty() {
                "Some fields need a change; nothing was saved.".to_string()
            } else {
                format!("Nothing was saved: {}", unplaced.join("; "))
            };
            let shown = Shown {
                problem: Some(problem),
                problems,
                ..Shown::default()
            };
            form.render(state, &editor, StatusCode::UNPROCESSABLE_ENTITY, shown)
                .await
        }
        ("CONFLICT", Target::Existing(id)) => {
            merge(state, editor, &target, id, kind, version, values).await
        }
        (
            "FORBIDDEN" | "INVALID_TRANSITION" | "BAD_USER_INPUT" | "UNSUPPORTED_FILE"
            | "PAYLOAD_TOO_LARGE",
            _,
        ) => {
            let shown = Shown {
                problem: Some(format!("Nothing was saved: {}", error.message)),
                ..Shown::default()
            };
            form.render(state, &editor, StatusCode::UNPROCESSABLE_ENTITY, shown)
                .await
        }
        _ => api_failure(&error),
    }
}

/// Someone saved the item after the editor opened it. Fields only they
/// changed are taken; fields only the editor changed keep the editor's
/// text; fields both changed show theirs beside the editor's, to choose.
/// Saving then applies to their version.
async fn merge(
    state: &AppState,
    editor: Editor,
    target: &Target,
    id: &str,
    kind: Kind,
    base: i32,
    mut mine: HashMap<&'static str, FieldValue>,
) -> Response {
    let loaded = match load(state, &editor, id).await {
        Ok(Some(loaded)) => loaded,
        Ok(None) => return no_such_item(),
        Err(error) => return api_failure(&error),
    };
    #[derive(Deserialize)]
    struct Answer {
        node: Option<DiffNode>,
    }
    #[derive(Deserialize)]
    struct DiffNode {
        diff: Option<Vec<Change>>,
        versions: Option<VersionNodes>,
    }
    #[derive(Deserialize)]
    struct Change {
        field: String,
        from: Option<Value>,
        to: Option<Value>,
    }
    #[derive(Deserialize)]
    struct VersionNodes {
        nodes: Vec<VersionAuthor>,
    }
    #[derive(Deserialize)]
    struct VersionAuthor {
        author: String,
    }
    let typename = kind.typename();
    let document = format!(
        "query Theirs($id: ID!, $from: Int!) {{ node(id: $id, preview: true) {{ ... on {typename} {{ diff(from: $from) {{ field from to }} versions(first: 1) {{ nodes {{ author }} }} }} }} }}"
    );
    let answer = match api::run::<Answer>(
        state,
        editor.viewer.clone(),
        &document,
        json!({ "id": id, "from": base }),
    )
    .await
    {
        Ok(answer) => answer,
        Err(error) => return api_failure(&error),
    };
    let node = answer.node;
    let author = node
        .as_ref()
        .and_then(|node| node.versions.as_ref())
        .and_then(|versions| versions.nodes.first())
        .map(|version| version.author.clone())
        .unwrap_or_else(|| "someone".into());
    let mut taken = Vec::new();
    let mut theirs = HashMap::new();
    for change in node.and_then(|node| node.diff).unwrap_or_default() {
        let Some(spec) = specs(kind).iter().find(|spec| spec.name == change.field) else {
            continue;
        };
        let before = FieldValue::from_json(spec.widget, change.from.as_ref());
        let after = loaded
            .values
            .get(spec.name)
            .cloned()
            .unwrap_or_else(|| FieldValue::from_json(spec.widget, change.to.as_ref()));
        let ours = mine
            .get(spec.name)
            .cloned()
            .unwrap_or(FieldValue::Text(String::new()));
        let untouched = match (&ours, &before) {
            // A text field the form sends trimmed of nothing; compare as typed.
            (FieldValue::Text(ours), FieldValue::Text(before)) => ours.trim() == before.trim(),
            (ours, before) => ours == before,
        };
        if untouched {
            mine.insert(spec.name, after);
            taken.push(spec.label);
        } else if ours != after {
            theirs.insert(spec.name, after);
        }
    }
    let shown = Shown {
        problem: Some(format!(
            "{author} saved this item (v{}) after you opened it. Nothing of yours was lost: your text is below. Check the fields marked as changed by both of you, then save.",
            loaded.version
        )),
        merge: Some(Merge {
            their_version: loaded.version,
            author,
            taken,
        }),
        theirs,
        ..Shown::default()
    };
    let heading = format!("Edit {}", loaded.heading);
    Form {
        target,
        kind,
        heading,
        version: loaded.version,
        values: &mine,
        names: &loaded.names,
    }
    .render(state, &editor, StatusCode::CONFLICT, shown)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Pairs {
        Pairs(
            list.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn linked_items_come_from_the_list_and_the_add_box() {
        let form = pairs(&[
            ("topics", "trust"),
            ("topics__add", "training, trust , ,youth"),
            ("year", "2021"),
        ]);
        let values = read_form(Kind::Resource, &form);
        assert_eq!(
            values["topics"],
            FieldValue::List(vec!["trust".into(), "training".into(), "youth".into()])
        );
        assert_eq!(values["year"], FieldValue::Text("2021".into()));
    }

    #[test]
    fn move_buttons_reorder_and_remove_without_going_out_of_bounds() {
        let mut values = read_form(
            Kind::Module,
            &pairs(&[("resources", "a"), ("resources", "b"), ("resources", "c")]),
        );
        assert!(apply_move(&mut values, "resources:up:2"));
        assert_eq!(values["resources"].list(), ["a", "c", "b"]);
        assert!(apply_move(&mut values, "resources:remove:0"));
        assert_eq!(values["resources"].list(), ["c", "b"]);
        assert!(!apply_move(&mut values, "resources:down:1"));
        assert!(!apply_move(&mut values, "resources:up:7"));
        assert!(!apply_move(&mut values, "title:up:1"));
    }

    #[test]
    fn a_focal_point_is_two_fractions_across_then_down() {
        let point = |text: &str| {
            input(
                Kind::Asset,
                &read_form(Kind::Asset, &pairs(&[("focalPoint", text)])),
                false,
            )
        };
        assert_eq!(
            point("0.3, 0.2").unwrap()["focalPoint"],
            json!({ "x": 0.3, "y": 0.2 })
        );
        assert_eq!(
            point("1 0").unwrap()["focalPoint"],
            json!({ "x": 1.0, "y": 0.0 })
        );
        assert_eq!(point(" ").unwrap()["focalPoint"], Value::Null);
        for wrong in ["0.3", "left, top", "0.3, 1.2", "0.1, 0.2, 0.3"] {
            assert!(
                point(wrong).unwrap_err().contains_key("focalPoint"),
                "{wrong}"
            );
        }
        assert_eq!(
            FieldValue::from_json(Widget::Point, Some(&json!({ "x": 0.3, "y": 0.2 }))),
            FieldValue::Text("0.3, 0.2".into())
        );
    }

    #[test]
    fn creating_leaves_empty_fields_out_and_saving_clears_them() {
        let form = pairs(&[
            ("title", "Guide"),
            ("url", ""),
            ("year", ""),
            ("types", "report"),
        ]);
        let values = read_form(Kind::Resource, &form);
        let created = input(Kind::Resource, &values, true).unwrap();
        assert_eq!(created, json!({ "title": "Guide", "types": ["report"] }));
        let saved = input(Kind::Resource, &values, false).unwrap();
        assert_eq!(saved["url"], Value::Null);
        assert_eq!(saved["year"], Value::Null);
        assert_eq!(saved["topics"], json!([]));
        assert!(saved.get("slug").is_none(), "an empty slug keeps the slug");
        let problems = input(
            Kind::Resource,
            &read_form(Kind::Resource, &pairs(&[("year", "soon")])),
            false,
        )
        .unwrap_err();
        assert!(problems.contains_key("year"));
    }

    #[test]
    fn only_the_apps_own_forms_can_be_resumed() {
        assert!(matches!(
            Target::of_path("/admin/new/resources"),
            Some(Target::New(Kind::Resource))
        ));
        assert!(Target::of_path("/admin/new/resource-types").is_none());
        assert!(
            matches!(Target::of_path("/admin/items/abc/edit"), Some(Target::Existing(id)) if id == "abc")
        );
        assert!(Target::of_path("https://elsewhere.example/admin/items/abc/edit").is_none());
        assert!(Target::of_path("/admin/items/a/b/edit").is_none());
    }
}
