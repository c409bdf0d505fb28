//! Who sees what. The leak suite puts canaries into every kind of content
//! that is not public and proves that no public query path shows them or
//! betrays them through a count; the matrix proves every role × operation
//! cell over HTTP. Both walk the schema, so new fields are covered without
//! being listed here.

use std::collections::BTreeSet;

use beacon::db::{content, documents};
use beacon::domain::access::Role;
use beacon::domain::content::{LabelContent, ModuleContent, ResourceContent, TopicContent};
use beacon::domain::{Content, Kind};
use beacon::graphql::ids::{NodeType, encode};
use diesel_async::AsyncConnection;
use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::TestApp;
use crate::support::generate::{Generated, Probe, introspect};
use crate::support::workflow::State;

/// Every canary's text carries this word; inputs never do (they are
/// lowercase), so finding it in an answer is a leak.
const MARKER: &str = "Zebrafish";

struct Canaries {
    /// Every canary document, for `node` and `resource(id:)`.
    ids: Vec<(NodeType, Uuid)>,
    slugs: Vec<String>,
    /// The text markers, each of which preview must show.
    markers: Vec<String>,
}

fn node_type(kind: Kind) -> NodeType {
    match kind {
        Kind::Topic => NodeType::Topic,
        Kind::ResourceType => NodeType::ResourceType,
        Kind::Tag => NodeType::Tag,
        Kind::Resource => NodeType::Resource,
        Kind::Module => NodeType::Module,
        Kind::Asset => NodeType::Asset,
    }
}

fn label(name: &str, slug: &str) -> LabelContent {
    LabelContent {
        name: name.into(),
        slug: slug.into(),
    }
}

fn resource(
    title: &str,
    slug: &str,
    year: i32,
    types: Vec<Uuid>,
    topics: Vec<Uuid>,
    tags: Vec<Uuid>,
) -> Content {
    Content::Resource(ResourceContent {
        title: title.into(),
        slug: slug.into(),
        types,
        year: Some(year),
        url: Some("https://example.org/zebrafish".into()),
        publisher: Some(format!("{title} Publisher")),
        summary: Some(format!("{title} summary")),
        topics,
        tags,
        thumbnail: None,
        files: vec![],
    })
}

/// Ids for the canaries, fixed before they exist so queries can name them
/// while the database is still clean.
struct CanaryIds {
    topic: Uuid,
    resource_type: Uuid,
    tag: Uuid,
    draft_resource: Uuid,
    archived_resource: Uuid,
    unpublished_resource: Uuid,
    draft_module: Uuid,
    /// An image never published, linked from published content.
    draft_asset: Uuid,
}

impl CanaryIds {
    fn new() -> Self {
        CanaryIds {
            topic: Uuid::now_v7(),
            resource_type: Uuid::now_v7(),
            tag: Uuid::now_v7(),
            draft_resource: Uuid::now_v7(),
            archived_resource: Uuid::now_v7(),
            unpublished_resource: Uuid::now_v7(),
            draft_module: Uuid::now_v7(),
            draft_asset: Uuid::now_v7(),
        }
    }

    fn describe(&self, published: &[(Kind, Uuid)]) -> Canaries {
        let mut ids = vec![
            (NodeType::Topic, self.topic),
            (NodeType::ResourceType, self.resource_type),
            (NodeType::Tag, self.tag),
            (NodeType::Resource, self.draft_resource),
            (NodeType::Resource, self.archived_resource),
            (NodeType::Resource, self.unpublished_resource),
            (NodeType::Module, self.draft_module),
            (NodeType::Asset, self.draft_asset),
            // A guess at an id that was never used.
            (NodeType::Resource, Uuid::now_v7()),
        ];
        ids.extend(published.iter().map(|(kind, id)| (node_type(*kind), *id)));
        Canaries {
            ids,
            slugs: [
                "canary-topic",
                "canary-type",
                "canary-tag",
                "canary-draft-resource",
                "canary-archived-resource",
                "canary-unpublished-resource",
                "canary-module",
                "canary-asset",
                "canary-mutation-draft",
                "canary-mutation-archived",
                "canary-mutation-unpublished",
            ]
            .map(String::from)
            .to_vec(),
            markers: [
                "Zebrafish Topic",
                "Zebrafish Type",
                "Zebrafish Tag",
                "Zebrafish Draft Resource",
                "Zebrafish Archived Resource",
                "Zebrafish Unpublished Resource",
                "Zebrafish Draft Module",
                "Zebrafish Draft Image",
                "Zebrafish Changed Title",
                "Zebrafish Changed Module",
                "Zebrafish Renamed Topic",
                "Zebrafish Mutation Draft",
                "Zebrafish Mutation Archived",
                "Zebrafish Mutation Unpublished",
                "Zebrafish Mutation Change",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// Drafts, archived, unpublished and draft changes of published content,
/// written through the data layer (the editorial mutations build on it).
async fn plant_canaries(app: &TestApp, ids: &CanaryIds) {
    let mut conn = app.database.connection().await.unwrap();
    let current = content::load_current_documents(&mut conn).await.unwrap();
    drop(conn);
    let first = |kind: Kind| current.iter().find(|doc| doc.kind == kind).unwrap().clone();
    let (topic, resource_type, published_resource, module) = (
        first(Kind::Topic),
        first(Kind::ResourceType),
        first(Kind::Resource),
        first(Kind::Module),
    );
    let mut conn = app.database.connection().await.unwrap();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        {
            let author = documents::Author {
                label: "test:canaries",
                user_id: None,
            };
            let new = |id, content: Content| (id, content);
            let drafts = [
                new(
                    ids.topic,
                    Content::Topic(TopicContent {
                        name: "Zebrafish Topic".into(),
                        slug: "canary-topic".into(),
                        description: "Zebrafish Topic description".into(),
                        aliases: vec!["Zebrafish Topic alias".into()],
                    }),
                ),
                new(
                    ids.resource_type,
                    Content::ResourceType(label("Zebrafish Type", "canary-type")),
                ),
                new(ids.tag, Content::Tag(label("Zebrafish Tag", "canary-tag"))),
                new(
                    ids.draft_resource,
                    resource(
                        "Zebrafish Draft Resource",
                        "canary-draft-resource",
                        1899,
                        vec![ids.resource_type, resource_type.id],
                        vec![ids.topic, topic.id],
                        vec![ids.tag],
                    ),
                ),
                new(
                    ids.archived_resource,
                    resource(
                        "Zebrafish Archived Resource",
                        "canary-archived-resource",
                        1898,
                        vec![resource_type.id],
                        vec![topic.id],
                        vec![],
                    ),
                ),
                new(
                    ids.unpublished_resource,
                    resource(
                        "Zebrafish Unpublished Resource",
                        "canary-unpublished-resource",
                        1897,
                        vec![resource_type.id],
                        vec![topic.id],
                        vec![],
                    ),
                ),
                new(
                    ids.draft_module,
                    Content::Module(ModuleContent {
                        title: "Zebrafish Draft Module".into(),
                        slug: "canary-module".into(),
                        topic: Some(ids.topic),
                        intro: "Zebrafish Draft Module intro".into(),
                        hero_image_alt: None,
                        hero_image: None,
                        resources_heading: None,
                        resources: vec![ids.draft_resource, published_resource.id],
                        tags: vec![ids.tag],
                        disclaimer: None,
                        source: None,
                    }),
                ),
            ];
            for (id, content) in &drafts {
                documents::create_draft(conn, *id, content, author, "canary").await?;
            }
            let image = Content::Asset(beacon::domain::content::AssetContent {
                title: "Zebrafish Draft Image".into(),
                slug: "canary-asset".into(),
                alt: Some("Zebrafish Draft Image alt".into()),
                caption: Some("Zebrafish Draft Image caption".into()),
                credit: None,
                focal_point: None,
                file: beacon::domain::content::AssetFile {
                    sha256: "0".repeat(64),
                    mime_type: "image/png".into(),
                    size: 1,
                    width: Some(1),
                    height: Some(1),
                    blurhash: None,
                    filename: Some("zebrafish.png".into()),
                },
            });
            documents::create_draft(conn, ids.draft_asset, &image, author, "canary").await?;
            // Published content linking to the image, which the public
            // must not see until the image itself is published.
            let Content::Module(mut linking) = module.content.clone() else {
                unreachable!()
            };
            linking.hero_image = Some(ids.draft_asset);
            let linking = Content::Module(linking);
            documents::save_draft(conn, module.id, &linking, author, "canary").await?;
            documents::publish(conn, module.id, &linking).await?;
            let Content::Resource(mut linking) = published_resource.content.clone() else {
                unreachable!()
            };
            linking.thumbnail = Some(ids.draft_asset);
            linking.files = vec![ids.draft_asset];
            let linking = Content::Resource(linking);
            documents::save_draft(conn, published_resource.id, &linking, author, "canary").await?;
            documents::publish(conn, published_resource.id, &linking).await?;
            // Published for a while, then taken down again.
            for (id, status) in [
                (ids.archived_resource, "archived"),
                (ids.unpublished_resource, "draft"),
            ] {
                let content = &drafts.iter().find(|(draft, _)| *draft == id).unwrap().1;
                documents::publish(conn, id, content).await?;
                documents::withdraw(conn, id, content, status).await?;
            }

            // Draft changes of published content.
            let Content::Resource(mut changed) = published_resource.content.clone() else {
                unreachable!()
            };
            changed.title = "Zebrafish Changed Title".into();
            changed.summary = Some("Zebrafish changed summary".into());
            changed.year = Some(1896);
            changed.topics.push(ids.topic);
            changed.types.push(ids.resource_type);
            changed.tags.push(ids.tag);
            documents::save_draft(
                conn,
                published_resource.id,
                &Content::Resource(changed),
                author,
                "canary",
            )
            .await?;
            let Content::Module(mut changed) = module.content.clone() else {
                unreachable!()
            };
            changed.title = "Zebrafish Changed Module".into();
            changed.intro = "Zebrafish changed intro".into();
            changed.resources.insert(0, ids.draft_resource);
            changed.tags.push(ids.tag);
            documents::save_draft(conn, module.id, &Content::Module(changed), author, "canary")
                .await?;
            let Content::Topic(mut changed) = topic.content.clone() else {
                unreachable!()
            };
            changed.name = "Zebrafish Renamed Topic".into();
            documents::save_draft(conn, topic.id, &Content::Topic(changed), author, "canary")
                .await?;
            Ok(())
        }
    })
    .await
    .unwrap();
}

/// More canaries, made the way editors make them: through the GraphQL
/// mutations, with review, publishing, unpublishing and archiving.
async fn plant_canaries_through_mutations(app: &TestApp) {
    let author = app.sign_in_as(Role::Author).await;
    let publisher = app.sign_in_as(Role::Publisher).await;
    let create = |slug: &str, title: &str| {
        format!(
            r#"mutation {{ createResource(input: {{ title: "{title}", slug: "{slug}", types: ["guidebook-tool"],
                 topics: ["community-trust-and-partnerships"], year: 1895, summary: "{title}" }}) {{ id }} }}"#
        )
    };
    let mut ids = Vec::new();
    for (slug, title) in [
        ("canary-mutation-draft", "Zebrafish Mutation Draft"),
        ("canary-mutation-archived", "Zebrafish Mutation Archived"),
        (
            "canary-mutation-unpublished",
            "Zebrafish Mutation Unpublished",
        ),
    ] {
        let created = app.query_as(&author, &create(slug, title), json!({})).await;
        ids.push(
            created["createResource"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    for id in &ids[1..] {
        app.act(&author, "submitForReview", id, 1).await;
        app.act(&publisher, "approve", id, 1).await;
        app.act(&publisher, "publish", id, 1).await;
    }
    app.act(&publisher, "archive", &ids[1], 1).await;
    app.act(&publisher, "unpublish", &ids[2], 1).await;
    // A draft change of a published seed resource, by its publisher.
    let published = app
        .query("{ resources(first: 1) { nodes { id } } }", json!({}))
        .await;
    let id = published["resources"]["nodes"][0]["id"].as_str().unwrap();
    let current = app
        .preview_node(&publisher, id, "... on Resource { version }")
        .await;
    app.query_as(
        &publisher,
        "mutation($id: ID!, $v: Int!) { updateResource(id: $id, expectedVersion: $v, input: { summary: \"Zebrafish Mutation Change\", year: 1894 }) { id } }",
        json!({ "id": id, "v": current["version"] }),
    )
    .await;
}

/// Published documents whose drafts the canaries change, so `node` asks
/// for them too.
async fn published_ids(app: &TestApp) -> Vec<(Kind, Uuid)> {
    let mut conn = app.database.connection().await.unwrap();
    let documents = content::load_current_documents(&mut conn).await.unwrap();
    // The first of each kind: the ones `plant_canaries` changes.
    Kind::ALL
        .into_iter()
        .filter_map(|kind| documents.iter().find(|doc| doc.kind == kind))
        .map(|doc| (doc.kind, doc.id))
        .collect()
}

fn probe(canaries: &Canaries) -> Probe {
    let mut slugs = canaries.slugs.clone();
    slugs.extend(
        [
            "community-trust-and-partnerships",
            "community-trust-and-partnerships-topic",
        ]
        .map(String::from),
    );
    Probe {
        slugs,
        ids: canaries
            .ids
            .iter()
            .map(|(node_type, id)| encode(*node_type, *id).to_string())
            .collect(),
        search_terms: [
            "zebrafish",
            "zebrafish changed title",
            "zebrafish mutation",
            "community",
        ]
        .map(String::from)
        .to_vec(),
        filters: vec![
            json!({ "topics": ["canary-topic"] }),
            json!({ "types": ["canary-type"] }),
            json!({ "tags": ["canary-tag"] }),
            json!({ "year": 1899 }),
            json!({ "year": 1895 }),
            json!({ "yearFrom": 1890, "yearTo": 1899 }),
            json!({ "query": "zebrafish" }),
        ],
        filter_type: "ResourceFilter".into(),
    }
}

/// Answers that may legitimately differ between two runs: when a token
/// was last used, and each request's own id in its errors.
fn normalize(mut value: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("lastUsedAt");
                map.remove("requestId");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

async fn run_all(app: &TestApp, token: Option<&str>, queries: &[Generated]) -> Vec<Value> {
    futures::stream::iter(queries)
        .map(|generated| async move {
            let (_, body) = app.post_as(token, &generated.query, json!({})).await;
            normalize(body)
        })
        .buffered(4)
        .collect()
        .await
}

fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| {
                    error["extensions"]["code"]
                        .as_str()
                        .unwrap_or("NONE")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn nothing_unpublished_reaches_anonymous_or_partner_clients_by_any_path() {
    // The generated queries ask for every field four levels deep: far more
    // than a public client may, and beside the point here.
    let app = TestApp::seeded().await.without_limits();
    let ids = CanaryIds::new();
    let canaries = ids.describe(&published_ids(&app).await);
    let mut schema = introspect(&app).await;
    let queries = schema.queries(&probe(&canaries));
    assert!(
        queries.len() > 100,
        "only {} queries generated",
        queries.len()
    );
    let partner = app.api_token(Role::Partner).await;
    let editor = app.sign_in_as(Role::Editor).await;

    let before_anonymous = run_all(&app, None, &queries).await;
    let before_partner = run_all(&app, Some(&partner), &queries).await;
    // The generated queries are valid and mostly succeed: a suite of
    // rejected queries would prove nothing.
    let mut succeeded = 0;
    for (generated, body) in queries.iter().zip(&before_anonymous) {
        for code in error_codes(body) {
            assert!(
                ["FORBIDDEN", "BAD_USER_INPUT"].contains(&code.as_str()),
                "{code} for {}: {body}",
                generated.query
            );
        }
        if body.get("errors").is_none() {
            succeeded += 1;
        }
        if generated.preview {
            assert_eq!(error_codes(body), ["FORBIDDEN"], "{}", generated.query);
        }
    }
    assert!(
        succeeded * 2 > queries.len(),
        "{succeeded} of {} succeeded",
        queries.len()
    );

    plant_canaries(&app, &ids).await;
    plant_canaries_through_mutations(&app).await;

    let after_anonymous = run_all(&app, None, &queries).await;
    let after_partner = run_all(&app, Some(&partner), &queries).await;
    for (index, generated) in queries.iter().enumerate() {
        for (who, before, after) in [
            (
                "anonymous",
                &before_anonymous[index],
                &after_anonymous[index],
            ),
            ("partner", &before_partner[index], &after_partner[index]),
        ] {
            let text = after.to_string();
            assert!(
                !text.contains(MARKER),
                "{who} saw a canary through {}: {text}",
                generated.query
            );
            // Equal answers: no canary shows through a count, a facet, an
            // order or a null either.
            assert_eq!(
                before, after,
                "{who}'s answer changed for {}",
                generated.query
            );
        }
    }

    // The same queries in preview find every canary: the suite reaches them.
    let preview: Vec<Generated> = queries.iter().filter(|q| q.preview).cloned().collect();
    let mut previewed = String::new();
    for body in run_all(&app, Some(&editor), &preview).await {
        assert!(body.get("errors").is_none(), "{body}");
        previewed.push_str(&body.to_string());
    }
    let missing: BTreeSet<&String> = canaries
        .markers
        .iter()
        .filter(|marker| !previewed.contains(marker.as_str()))
        .collect();
    assert!(missing.is_empty(), "preview does not show {missing:?}");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Forbidden,
    Unauthenticated,
    NotFound,
}

use Outcome::{Allowed, Forbidden, NotFound, Unauthenticated};
const A: Outcome = Allowed;
const F: Outcome = Forbidden;
const U: Outcome = Unauthenticated;
const N: Outcome = NotFound;

/// Columns of the matrix.
const ROLES: [&str; 6] = [
    "anonymous",
    "PARTNER",
    "AUTHOR",
    "EDITOR",
    "PUBLISHER",
    "ADMIN",
];

/// One operation: its root field, how to ask for it and the expected
/// outcome per role. Targets (users, tokens) are made fresh per call by
/// `prepare`, so a cell never depends on another.
struct Operation {
    root_field: String,
    query: String,
    target: Target,
    expected: [Outcome; 6],
}

#[derive(Clone, Copy)]
enum Target {
    None,
    User,
    ApiToken,
    /// An unknown email, new each time, so sign-in throttling stays out of it.
    UnknownEmail,
    /// A name no item has yet.
    UniqueName,
    /// A tag owned by someone else, in this state (`$id`, `$v`).
    Item(State),
    /// A registered webhook.
    Webhook,
    /// An event (a tag was published).
    Event,
}

fn operation(root_field: &str, query: &str, target: Target, expected: [Outcome; 6]) -> Operation {
    Operation {
        root_field: root_field.into(),
        query: query.into(),
        target,
        expected,
    }
}

async fn credentials_for(app: &TestApp, column: usize) -> Option<String> {
    match column {
        0 => None,
        1 => Some(app.api_token(Role::Partner).await),
        _ => Some(app.sign_in_as(Role::ALL[column - 1]).await),
    }
}

async fn target_variables(app: &TestApp, target: Target) -> Value {
    let mut conn = app.database.connection().await.unwrap();
    let id = match target {
        Target::None => return json!({}),
        Target::UnknownEmail => {
            return json!({ "email": format!("nobody-{}@example.org", Uuid::new_v4()) });
        }
        Target::UniqueName => return json!({ "name": format!("Made {}", Uuid::new_v4()) }),
        Target::Item(state) => {
            let item = app.tag_in(state).await;
            let at = (chrono::Utc::now() + chrono::TimeDelta::hours(2)).to_rfc3339();
            return json!({ "id": item.id, "v": item.version, "at": at });
        }
        Target::User => {
            let email = format!("target-{}@example.org", Uuid::new_v4());
            let user = beacon::identity::create_user(
                &mut conn,
                &email,
                "Target",
                Role::Author,
                "a long enough password",
            )
            .await
            .unwrap();
            json!(user.id.to_string())
        }
        Target::Webhook => {
            let webhook = beacon::events::webhooks::create(
                &mut conn,
                beacon::identity::Caller::operator(),
                &beacon::events::webhooks::NewWebhook {
                    url: "https://hooks.example.org/matrix",
                    events: &[beacon::domain::webhook::EventType::Published],
                    secret: "a matrix webhook secret",
                    description: "",
                },
                false,
            )
            .await
            .unwrap();
            json!(webhook.id.to_string())
        }
        Target::Event => {
            app.tag_in(State::Published).await;
            let events = beacon::db::outbox::list_events(&mut conn, None, None, 1)
                .await
                .unwrap();
            json!(events[0].id.to_string())
        }
        Target::ApiToken => {
            let (token, _) = app
                .identity
                .create_api_token(&mut conn, "target", Role::Partner, None, None)
                .await
                .unwrap();
            json!(token.id.to_string())
        }
    };
    json!({ "id": id })
}

#[tokio::test]
async fn every_role_may_do_exactly_what_the_matrix_says_over_http() {
    let app = TestApp::seeded().await.without_limits();
    let mut schema = introspect(&app).await;
    let admin_only = [F, F, F, F, F, A];
    let mut operations = vec![
        operation("me", "{ me { role } }", Target::None, [A; 6]),
        operation(
            "items",
            "{ items { nodes { id } } }",
            Target::None,
            [F, F, A, A, A, A],
        ),
        operation(
            "users",
            "{ users { nodes { id } } }",
            Target::None,
            admin_only,
        ),
        operation(
            "apiTokens",
            "{ apiTokens { nodes { id } } }",
            Target::None,
            admin_only,
        ),
        operation(
            "createUser",
            "mutation { createUser(input: { email: \"new-USER@example.org\", name: \"New\", role: AUTHOR, password: \"a long enough password\" }) { id } }",
            Target::None,
            admin_only,
        ),
        operation(
            "setUserRole",
            "mutation($id: ID!) { setUserRole(id: $id, role: EDITOR) { role } }",
            Target::User,
            admin_only,
        ),
        operation(
            "setUserDisabled",
            "mutation($id: ID!) { setUserDisabled(id: $id, disabled: true) { disabled } }",
            Target::User,
            admin_only,
        ),
        operation(
            "createApiToken",
            "mutation { createApiToken(input: { name: \"made in the matrix\" }) { secret } }",
            Target::None,
            admin_only,
        ),
        operation(
            "revokeApiToken",
            "mutation($id: ID!) { revokeApiToken(id: $id) { active } }",
            Target::ApiToken,
            admin_only,
        ),
        // Anyone may try to sign in; only a session can end or re-key itself.
        operation(
            "login",
            "mutation($email: String!) { login(email: $email, password: \"whatever it is\") { token } }",
            Target::UnknownEmail,
            [U; 6],
        ),
        operation(
            "logout",
            "mutation { logout }",
            Target::None,
            [U, U, A, A, A, A],
        ),
        operation(
            "changePassword",
            "mutation { changePassword(currentPassword: \"a long enough password\", newPassword: \"another long password\") { token } }",
            Target::None,
            [U, U, A, A, A, A],
        ),
    ];
    operations.push(operation(
        "auditLog",
        "{ auditLog { nodes { id } } }",
        Target::None,
        admin_only,
    ));
    operations.push(operation(
        "seedRuns",
        "{ seedRuns { nodes { id outcome } } }",
        Target::None,
        admin_only,
    ));
    // Webhooks and their events.
    for (field, query, target) in [
        ("webhooks", "{ webhooks { nodes { id } } }", Target::None),
        ("events", "{ events { nodes { id } } }", Target::None),
        (
            "createWebhook",
            "mutation { createWebhook(url: \"https://hooks.example.org/in\", events: [PUBLISHED]) { secret } }",
            Target::None,
        ),
        (
            "setWebhookEnabled",
            "mutation($id: ID!) { setWebhookEnabled(id: $id, enabled: false) { enabled } }",
            Target::Webhook,
        ),
        (
            "deleteWebhook",
            "mutation($id: ID!) { deleteWebhook(id: $id) }",
            Target::Webhook,
        ),
        (
            "redeliver",
            "mutation($id: ID!) { redeliver(eventId: $id) }",
            Target::Event,
        ),
    ] {
        operations.push(operation(field, query, target, admin_only));
    }
    // The editorial workflow. Targets belong to another user, so AUTHOR
    // (who may touch only their own drafts) is refused edits and submits.
    let author_up = [F, F, A, A, A, A];
    let editor_up = [F, F, F, A, A, A];
    let publisher_up = [F, F, F, F, A, A];
    for kind in ["Resource", "Module", "Topic", "Tag"] {
        let input = match kind {
            "Resource" => "{ title: $name, types: [\"guidebook-tool\"] }",
            "Module" => "{ title: $name }",
            _ => "{ name: $name }",
        };
        operations.push(operation(
            &format!("create{kind}"),
            &format!("mutation($name: String!) {{ create{kind}(input: {input}) {{ id status version }} }}"),
            Target::UniqueName,
            author_up,
        ));
    }
    let workflow = [
        (
            "updateTag",
            ", input: { name: \"Renamed\" }",
            State::Draft,
            editor_up,
        ),
        ("submitForReview", "", State::Draft, editor_up),
        (
            "requestChanges",
            ", comment: \"Please fix\"",
            State::InReview,
            editor_up,
        ),
        ("approve", "", State::InReview, editor_up),
        ("publish", "", State::Approved, publisher_up),
        ("unpublish", "", State::Published, publisher_up),
        ("archive", "", State::Draft, publisher_up),
        ("restore", "", State::Archived, publisher_up),
        (
            "schedulePublish",
            ", at: $at",
            State::Approved,
            publisher_up,
        ),
        (
            "scheduleUnpublish",
            ", at: $at",
            State::Published,
            publisher_up,
        ),
        ("cancelSchedule", "", State::Scheduled, publisher_up),
        ("revert", ", toVersion: 1", State::TwoVersions, editor_up),
    ];
    for (field, extra, state, expected) in workflow {
        operations.push(operation(
            field,
            &format!(
                "mutation($id: ID!, $v: Int!{}) {{ {field}(id: $id, expectedVersion: $v{extra}) {{ id status }} }}",
                if extra.contains("$at") { ", $at: DateTime!" } else { "" }
            ),
            Target::Item(state),
            expected,
        ));
    }
    operations.push(operation(
        "uploadAsset",
        "mutation($file: Upload!, $name: String!) { uploadAsset(file: $file, input: { title: $name }) { id status version } }",
        Target::UniqueName,
        [U, F, A, A, A, A],
    ));
    // A tag's id given to another kind's update names nothing of that kind.
    for kind in ["Resource", "Module", "Topic", "Asset"] {
        operations.push(operation(
            &format!("update{kind}"),
            &format!("mutation($id: ID!, $v: Int!) {{ update{kind}(id: $id, expectedVersion: $v, input: {{}}) {{ id }} }}"),
            Target::Item(State::Draft),
            [N; 6],
        ));
    }
    for (field, arguments) in [
        ("addModuleResource", ", resource: \"any\""),
        ("removeModuleResource", ", resource: \"any\""),
        ("moveModuleResource", ", resource: \"any\", position: 0"),
    ] {
        operations.push(operation(
            field,
            &format!("mutation($id: ID!, $v: Int!) {{ {field}(id: $id, expectedVersion: $v{arguments}) {{ id }} }}"),
            Target::Item(State::Draft),
            [N; 6],
        ));
    }
    operations.push(operation(
        "addComment",
        "mutation($id: ID!) { addComment(id: $id, body: \"Looks good\") { id } }",
        Target::Item(State::Draft),
        author_up,
    ));
    // Every content root field, read published and in preview, from the
    // generated queries.
    let generated = schema.queries(&Probe {
        slugs: vec!["community-trust-and-partnerships".into()],
        search_terms: vec!["community".into()],
        ..Probe::default()
    });
    let content_fields: BTreeSet<String> = generated
        .iter()
        .filter(|generated| generated.preview)
        .map(|generated| generated.root_field.clone())
        .collect();
    for field in &content_fields {
        for preview in [false, true] {
            let query = generated
                .iter()
                .find(|g| &g.root_field == field && g.preview == preview)
                .unwrap();
            let expected = if preview { [F, F, A, A, A, A] } else { [A; 6] };
            operations.push(operation(field, &query.query, Target::None, expected));
        }
    }
    let covered: BTreeSet<&str> = operations.iter().map(|op| op.root_field.as_str()).collect();
    for root in ["Query", "Mutation"] {
        for field in schema.root_fields(root) {
            assert!(
                covered.contains(field.name.as_str()),
                "{root}.{} is missing from the matrix",
                field.name
            );
        }
    }

    for op in &operations {
        for (column, expected) in op.expected.iter().enumerate() {
            // Fresh credentials per cell: logout and changePassword end them.
            let token = credentials_for(&app, column).await;
            let variables = target_variables(&app, op.target).await;
            let (status, body) = if op.query.contains("Upload!") {
                let mut png = std::io::Cursor::new(Vec::new());
                image::RgbaImage::new(2, 2)
                    .write_to(&mut png, image::ImageFormat::Png)
                    .unwrap();
                let png = png.into_inner();
                app.post_upload_as(token.as_deref(), &op.query, variables, &png)
                    .await
            } else {
                app.post_as(token.as_deref(), &op.query, variables).await
            };
            let codes = error_codes(&body);
            let outcome = match codes.first().map(String::as_str) {
                None => Allowed,
                Some("FORBIDDEN") => Forbidden,
                Some("UNAUTHENTICATED") => Unauthenticated,
                Some("NOT_FOUND") => NotFound,
                Some(other) => panic!(
                    "{} as {}: unexpected {other}: {body}",
                    op.root_field, ROLES[column]
                ),
            };
            assert_eq!(
                outcome, *expected,
                "{} as {} ({status}): {body}",
                op.root_field, ROLES[column]
            );
            if outcome == Forbidden {
                assert!(
                    body["data"].is_null() || body["data"][&op.root_field].is_null(),
                    "a refused operation returns nothing: {body}"
                );
            }
        }
    }
}
