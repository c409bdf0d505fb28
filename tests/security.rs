//! The outside review's attacks, each replayed against a real database (and
//! a real server where the attack needs one). Every test here failed before
//! its fix.

use crate::support::SendAndRead;
use beacon::domain::access::{Actor, Role};
use beacon::domain::patch::{LabelPatch, Patch};
use beacon::domain::workflow::{Policy, WorkflowAction};
use beacon::editorial::{Arguments, Editorial, Who};
use futures::future::join_all;
use serde_json::{Value, json};

use crate::support::TestApp;

/// A resource type slug the seeds made.
async fn some_type(app: &TestApp) -> String {
    let data = app
        .query("{ resourceTypes { nodes { slug } } }", json!({}))
        .await;
    data["resourceTypes"]["nodes"][0]["slug"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Signed-in AUTHOR, EDITOR and PUBLISHER sessions.
async fn newsroom(app: &TestApp) -> (String, String, String) {
    (
        app.sign_in_as(Role::Author).await,
        app.sign_in_as(Role::Editor).await,
        app.sign_in_as(Role::Publisher).await,
    )
}

/// A failing call's first error code.
async fn error_code(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> String {
    let (_, body) = app.post_as(token, query, variables).await;
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {body}"))
        .to_string()
}

const CREATE_TOPIC: &str =
    "mutation($name: String!) { createTopic(input: { name: $name }) { id version slug } }";

const PUBLIC_SEARCH: &str = "query($q: String!) {
    search(query: $q) { totalCount }
    resources(filter: { query: $q }) { totalCount }
}";

/// (search hits, resources matching) for anonymous callers.
async fn public_matches(app: &TestApp, words: &str) -> (i64, i64) {
    let data = app.query(PUBLIC_SEARCH, json!({ "q": words })).await;
    (
        data["search"]["totalCount"].as_i64().unwrap(),
        data["resources"]["totalCount"].as_i64().unwrap(),
    )
}

/// A draft resource of `kind` linked to `topic` (by slug), by `author`.
async fn resource_linking(
    app: &TestApp,
    author: &str,
    title: &str,
    kind: &str,
    topic: &Value,
) -> Value {
    app.query_as(
        author,
        "mutation($title: String!, $t: [String!], $k: [String!]) { createResource(input: { title: $title, types: $k, topics: $t }) { id version } }",
        json!({ "title": title, "t": [topic["slug"]], "k": [kind] }),
    )
    .await["createResource"]
    .clone()
}

/// Publishes any content item through review, as `editor` then `publisher`.
async fn publish(app: &TestApp, editor: &str, publisher: &str, id: &str, version: i64) {
    for (token, action) in [
        (editor, "submitForReview"),
        (editor, "approve"),
        (publisher, "publish"),
    ] {
        app.act(token, action, id, version).await;
    }
}

#[tokio::test]
async fn published_search_text_names_only_published_labels() {
    let app = TestApp::seeded().await;
    let (author, editor, publisher) = newsroom(&app).await;
    let kind = some_type(&app).await;

    let topic = app
        .query_as(
            &author,
            CREATE_TOPIC,
            json!({ "name": "Quokkasecret Initiative" }),
        )
        .await["createTopic"]
        .clone();
    let resource = resource_linking(&app, &author, "Ordinary guide", &kind, &topic).await;
    let module = app
        .query_as(
            &author,
            "mutation($t: String) { createModule(input: { title: \"Ordinary module\", topic: $t }) { id version } }",
            json!({ "t": topic["slug"] }),
        )
        .await["createModule"]
        .clone();
    publish(
        &app,
        &editor,
        &publisher,
        resource["id"].as_str().unwrap(),
        1,
    )
    .await;
    publish(&app, &editor, &publisher, module["id"].as_str().unwrap(), 1).await;
    // The topic is a draft nobody published: its name is not public.
    assert_eq!(public_matches(&app, "quokkasecret").await, (0, 0));

    // Published, it is: the resource and module are found by it.
    publish(&app, &editor, &publisher, topic["id"].as_str().unwrap(), 1).await;
    assert_eq!(public_matches(&app, "quokkasecret").await, (2, 1));

    // Renamed in draft only: the old name stays public, the new one not.
    app.query_as(
        &editor,
        "mutation($id: ID!) { updateTopic(id: $id, expectedVersion: 1, input: { name: \"Wombatsecret Programme\" }) { version } }",
        json!({ "id": topic["id"] }),
    )
    .await;
    assert_eq!(public_matches(&app, "wombatsecret").await, (0, 0));
    assert_eq!(public_matches(&app, "quokkasecret").await, (2, 1));

    // Unpublished: gone from the published search text.
    app.act(&publisher, "unpublish", topic["id"].as_str().unwrap(), 2)
        .await;
    assert_eq!(public_matches(&app, "quokkasecret").await, (0, 0));
    // Editors previewing drafts still find the draft name.
    let preview = app
        .query_as(
            &editor,
            "{ search(query: \"wombatsecret\", preview: true) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(preview["search"]["totalCount"], 2);
}

#[tokio::test]
async fn a_seed_run_publishes_no_draft_label_name_into_search() {
    let (app, editor) = TestApp::seeded_as(Role::Editor).await;
    // A published topic renamed in draft by an editor...
    let data = app
        .query_as(
            &editor,
            "{ topics(preview: true) { nodes { id slug version } } }",
            json!({}),
        )
        .await;
    let topic = data["topics"]["nodes"][0].clone();
    app.query_as(
        &editor,
        "mutation($id: ID!, $v: Int!) { updateTopic(id: $id, expectedVersion: $v, input: { name: \"Numbatsecret Area\" }) { version } }",
        json!({ "id": topic["id"], "v": topic["version"] }),
    )
    .await;
    // ...then a seed job publishing a resource linking to it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("more.toml");
    std::fs::write(
        &file,
        format!(
            "[[resources]]\ntitle = \"A seeded guide\"\nyear = 2024\ntypes = [\"Guidebook/Tool\"]\ntopics = [\"{}\"]\n",
            topic["slug"].as_str().unwrap()
        ),
    )
    .unwrap();
    app.seed(&[file]).await.unwrap();
    assert_eq!(public_matches(&app, "numbatsecret").await, (0, 0));
    assert_eq!(public_matches(&app, "seeded guide").await.1, 1);
}

/// Someone with `role`, acting through the editorial service.
async fn who(app: &TestApp, role: Role) -> Who {
    let mut conn = app.database.connection().await.unwrap();
    let email = format!("{}-{}@example.org", role.as_str(), uuid::Uuid::new_v4());
    let user =
        beacon::identity::create_user(&mut conn, &email, "Someone", role, "a long enough password")
            .await
            .unwrap();
    Who {
        actor: Actor::User { id: user.id, role },
        request_id: None,
    }
}

#[tokio::test]
async fn a_schedule_publishes_only_the_version_the_publisher_scheduled() {
    for review_required in [true, false] {
        let app = TestApp::new().await;
        let editorial = Editorial {
            policy: Policy { review_required },
        };
        let author = who(&app, Role::Author).await;
        let editor = who(&app, Role::Editor).await;
        let publisher = who(&app, Role::Publisher).await;
        let mut conn = app.database.connection().await.unwrap();
        let tag = |name: &str| {
            Patch::Tag(LabelPatch {
                name: Some(name.to_string()),
                slug: None,
            })
        };
        let id = editorial
            .create(&mut conn, &author, &tag("Scheduled tag"), "")
            .await
            .unwrap();
        let act = async |conn: &mut _, who: &Who, version, action, at| {
            editorial
                .act(
                    conn,
                    who,
                    id,
                    Some(version),
                    action,
                    Arguments { at, comment: None },
                )
                .await
                .unwrap()
        };
        if review_required {
            act(&mut conn, &author, 1, WorkflowAction::SubmitForReview, None).await;
            act(&mut conn, &editor, 1, WorkflowAction::Approve, None).await;
        }
        let at = chrono::Utc::now() + chrono::TimeDelta::hours(1);
        act(
            &mut conn,
            &publisher,
            1,
            WorkflowAction::SchedulePublish,
            Some(at),
        )
        .await;
        // Someone else changes the scheduled item; with review, an editor
        // also pushes it back to APPROVED themselves.
        let changer = if review_required { &editor } else { &author };
        editorial
            .update(&mut conn, changer, id, 1, &tag("Swapped in"), "")
            .await
            .unwrap();
        if review_required {
            act(&mut conn, &editor, 2, WorkflowAction::SubmitForReview, None).await;
            act(&mut conn, &editor, 2, WorkflowAction::Approve, None).await;
        }
        let meta = beacon::db::editorial::metas(&mut conn, &[id])
            .await
            .unwrap()
            .remove(0);
        assert_eq!(
            meta.scheduled_publish_at, None,
            "the edit cancelled the schedule"
        );
        let comments = beacon::db::editorial::comments_of(&mut conn, &[id], None, 100)
            .await
            .unwrap();
        let comment = &comments[0].comment;
        assert_eq!(comment.author, "scheduler");
        assert!(
            comment.body.contains("version 1 was scheduled"),
            "{}",
            comment.body
        );

        // The scheduler's own check, should a schedule outlive an edit
        // (set before this rule, or written by hand): it publishes nothing.
        {
            use diesel_async::RunQueryDsl;
            diesel::sql_query(
                "UPDATE documents SET scheduled_publish_at = now() - interval '1 second',
                        scheduled_publish_version = 1 WHERE id = $1",
            )
            .bind::<diesel::sql_types::Uuid, _>(id)
            .execute(&mut conn)
            .await
            .unwrap();
        }
        assert_eq!(editorial.run_due(&mut conn).await.unwrap(), 1);
        let public = app.query("{ tags { nodes { name } } }", json!({})).await;
        assert_eq!(
            public["tags"]["nodes"],
            json!([]),
            "nothing unscheduled reached the public"
        );
        let audit = |action: &str| beacon::db::editorial::AuditFilter {
            action: Some(action.to_string()),
            ..Default::default()
        };
        let skipped =
            beacon::db::editorial::audit_entries(&mut conn, &audit("scheduleSkipped"), None, 10)
                .await
                .unwrap();
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].actor, "scheduler");
        let cancelled =
            beacon::db::editorial::audit_entries(&mut conn, &audit("scheduleCancelled"), None, 10)
                .await
                .unwrap();
        assert_eq!(cancelled.len(), 1);
        assert_eq!(meta.published_version, None);
    }
}

#[tokio::test]
async fn prepared_statements_stay_bounded_under_distinct_query_shapes() {
    use beacon::db::resource_index::{
        CountQuery, Order, OrderField, PageQuery, ResourceFilter, Scope, pages,
    };
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl;
    let app = TestApp::seeded().await;
    // One connection, so every shape lands on it.
    let database = beacon::db::Database::connect(app.database.url().to_string(), None, 1)
        .await
        .unwrap();
    let mut conn = database.connection().await.unwrap();
    let fields = [OrderField::Title, OrderField::Year, OrderField::PublishedAt];
    let mut shapes = Vec::new();
    for mask in 0..64u32 {
        for first in fields {
            for second in fields {
                for (descending, backward) in
                    [(false, false), (false, true), (true, false), (true, true)]
                {
                    let bit = |n: u32| mask & (1 << n) != 0;
                    let filter = ResourceFilter {
                        topics: bit(0).then(|| vec!["use-of-force".to_string()]),
                        types: bit(1).then(|| vec!["guidebook-tool".to_string()]),
                        tags: bit(2).then(|| vec!["x".to_string()]),
                        year: bit(3).then_some(2021),
                        year_from: bit(4).then_some(2000),
                        year_to: bit(5).then_some(2030),
                        query: None,
                        has_year: None,
                    };
                    shapes.push(PageQuery {
                        count: CountQuery {
                            stage: beacon::domain::Stage::Published,
                            scope: Scope::All,
                            filter,
                        },
                        order: vec![
                            Order {
                                field: first,
                                descending,
                            },
                            Order {
                                field: second,
                                descending: !descending,
                            },
                        ],
                        from: None,
                        backward,
                        limit: 3,
                    });
                }
            }
        }
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    // This backend's own memory, as PostgreSQL accounts for it.
    let memory = async |conn: &mut diesel_async::AsyncPgConnection| -> i64 {
        let bytes: Count = diesel::sql_query(
            "SELECT sum(total_bytes)::int8 AS count FROM pg_backend_memory_contexts",
        )
        .get_result(conn)
        .await
        .unwrap();
        bytes.count
    };
    let (warm_up, stream) = shapes.split_at(300);
    for query in warm_up {
        pages(&mut conn, query, &[uuid::Uuid::nil()]).await.unwrap();
    }
    let before = memory(&mut conn).await;
    for query in stream {
        pages(&mut conn, query, &[uuid::Uuid::nil()]).await.unwrap();
    }
    let after = memory(&mut conn).await;
    assert!(stream.len() > 2000);
    assert!(
        after - before < 4 << 20,
        "the backend grew from {before} to {after} bytes over {} more shapes",
        stream.len()
    );
    let prepared: Count = diesel::sql_query("SELECT count(*) AS count FROM pg_prepared_statements")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert!(
        prepared.count <= beacon::db::GENERATED_STATEMENT_SHAPES as i64 + 50,
        "{} statements kept prepared after {} shapes",
        prepared.count,
        shapes.len()
    );
}

#[tokio::test]
async fn events_tell_receivers_only_what_was_public() {
    let app = TestApp::seeded().await;
    let (author, editor, publisher) = newsroom(&app).await;
    let kind = some_type(&app).await;
    // A draft the public never saw, archived: no event at all.
    let secret = app
        .query_as(
            &author,
            "mutation { createTag(input: { name: \"Confidential merger with Acme 2026\" }) { id } }",
            json!({}),
        )
        .await["createTag"]["id"]
        .clone();
    app.act(&publisher, "archive", secret.as_str().unwrap(), 1)
        .await;
    // A published resource linking to a draft-only topic: its snapshot
    // leaves the topic out.
    let topic = app
        .query_as(
            &author,
            CREATE_TOPIC,
            json!({ "name": "Unannounced programme" }),
        )
        .await["createTopic"]
        .clone();
    let resource = resource_linking(&app, &author, "Public guide", &kind, &topic).await;
    publish(
        &app,
        &editor,
        &publisher,
        resource["id"].as_str().unwrap(),
        1,
    )
    .await;

    let mut conn = app.database.connection().await.unwrap();
    let events = beacon::db::outbox::list_events(&mut conn, None, None, 100)
        .await
        .unwrap();
    let text =
        serde_json::to_string(&events.iter().map(|e| &e.payload).collect::<Vec<_>>()).unwrap();
    assert!(!text.contains("confidential-merger"), "{text}");
    assert!(events.iter().all(|event| event.event_type != "ARCHIVED"));
    let published = events
        .iter()
        .find(|event| event.event_type == "PUBLISHED")
        .unwrap();
    let topic_id = beacon::graphql::ids::decode(topic["id"].as_str().unwrap())
        .unwrap()
        .1
        .to_string();
    assert!(
        !published.payload.to_string().contains(&topic_id),
        "{}",
        published.payload
    );
    assert_eq!(published.payload["snapshot"]["topics"], json!([]));
    assert_eq!(
        published.payload["snapshot"]["types"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_api_token_never_outlives_or_outranks_its_creator() {
    let app = TestApp::new().await;
    let creator = app.sign_in_as(Role::Admin).await;
    let other_admin = app.sign_in_as(Role::Admin).await;
    let minted = app
        .query_as(
            &creator,
            "mutation { createApiToken(input: { name: \"automation\", role: ADMIN }) { secret apiToken { id } } }",
            json!({}),
        )
        .await;
    let token = minted["createApiToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let me = app
        .query_as(&creator, "{ me { user { id } } }", json!({}))
        .await;
    let creator_id = me["me"]["user"]["id"].clone();

    // Who made each token is shown.
    let listed = app
        .query_as(
            &other_admin,
            "{ apiTokens { nodes { name createdBy { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["apiTokens"]["nodes"][0]["createdBy"]["id"],
        creator_id
    );

    // The token cannot change its creator's account...
    let code = error_code(
        &app,
        Some(&token),
        "mutation($id: ID!) { setUserRole(id: $id, role: PARTNER) { role } }",
        json!({ "id": creator_id }),
    )
    .await;
    assert_eq!(code, "FORBIDDEN");

    // ...and dies with it: a disabled creator's tokens are refused.
    app.query_as(
        &other_admin,
        "mutation($id: ID!) { setUserDisabled(id: $id, disabled: true) { disabled } }",
        json!({ "id": creator_id }),
    )
    .await;
    let (status, body) = app
        .post_as(Some(&token), "{ users { nodes { id } } }", json!({}))
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    // Re-enabled and demoted: the token holds the creator's role at most.
    app.query_as(
        &other_admin,
        "mutation($id: ID!) { setUserDisabled(id: $id, disabled: false) { disabled } setUserRole(id: $id, role: EDITOR) { role } }",
        json!({ "id": creator_id }),
    )
    .await;
    let me = app.query_as(&token, "{ me { role } }", json!({})).await;
    assert_eq!(me["me"]["role"], "EDITOR");
    let code = error_code(
        &app,
        Some(&token),
        "mutation($id: ID!) { setUserRole(id: $id, role: ADMIN) { role } }",
        json!({ "id": creator_id }),
    )
    .await;
    assert_eq!(code, "FORBIDDEN");

    // A publisher-role token made by an admin cannot mint an admin token.
    let publisher_token = app
        .query_as(
            &other_admin,
            "mutation { createApiToken(input: { name: \"publisher bot\", role: PUBLISHER }) { secret } }",
            json!({}),
        )
        .await["createApiToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let code = error_code(
        &app,
        Some(&publisher_token),
        "mutation { createApiToken(input: { name: \"escalate\", role: ADMIN }) { secret } }",
        json!({}),
    )
    .await;
    assert_eq!(code, "FORBIDDEN");

    // Every privileged change above is in the audit log.
    let audit = app
        .query_as(
            &other_admin,
            "{ auditLog(first: 100) { nodes { action actor { id } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = audit["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    for action in ["createApiToken", "disableUser", "enableUser", "setUserRole"] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

/// A server whose throttle counts 5 failures per account.
async fn user_with_password(app: &TestApp, role: Role) -> (String, String) {
    let email = format!("victim-{}@example.org", uuid::Uuid::new_v4());
    let password = "the right password, long".to_string();
    let mut conn = app.database.connection().await.unwrap();
    beacon::identity::create_user(&mut conn, &email, "Victim", role, &password)
        .await
        .unwrap();
    (email, password)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_get_no_more_checks_than_the_limit() {
    let app = TestApp::new().await.without_limits();
    let (email, _) = user_with_password(&app, Role::Editor).await;
    let address = app.spawn_server().await;
    let client = reqwest::Client::new();
    let attempts = (0..40).map(|_| {
        let client = client.clone();
        let email = email.clone();
        async move {
            let body: Value = client
                .post(format!("http://{address}/graphql"))
                .json(&json!({
                    "query": "mutation($e: String!) { login(email: $e, password: \"wrong guess here\") { token } }",
                    "variables": { "e": email },
                }))
                .answer().await;
            body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap()
                .to_string()
        }
    });
    let codes = join_all(attempts).await;
    let checked = codes
        .iter()
        .filter(|code| *code == "UNAUTHENTICATED")
        .count();
    let refused = codes.iter().filter(|code| *code == "RATE_LIMITED").count();
    assert_eq!(
        (checked, refused),
        (5, 35),
        "only the account's limit of passwords were checked: {codes:?}"
    );
}

#[tokio::test]
async fn change_password_is_throttled_like_sign_in() {
    let app = TestApp::new().await.without_limits();
    let (email, password) = user_with_password(&app, Role::Editor).await;
    let mut conn = app.database.connection().await.unwrap();
    let stolen = app
        .identity
        .login(&mut conn, &email, &password, None)
        .await
        .unwrap()
        .token;
    let change = "mutation($c: String!) { changePassword(currentPassword: $c, newPassword: \"an attacker's new one\") { token } }";
    for _ in 0..5 {
        let code = error_code(&app, Some(&stolen), change, json!({ "c": "a wrong guess" })).await;
        assert_eq!(code, "UNAUTHENTICATED");
    }
    // Past the limit even the right password is not looked at.
    let code = error_code(&app, Some(&stolen), change, json!({ "c": password })).await;
    assert_eq!(code, "RATE_LIMITED");
    // The owner's other sessions survive; sign-in is throttled too.
    let code = error_code(
        &app,
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        json!({ "e": email, "p": password }),
    )
    .await;
    assert_eq!(code, "RATE_LIMITED");
}

#[tokio::test]
async fn a_null_first_beside_last_is_costed_as_the_page_it_returns() {
    let app = TestApp::seeded().await;
    let (status, body) = app
        .post(
            "{ resources(first: null, last: 100) { nodes { topics { resources(first: null, last: 100) { nodes { title } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    let (status, body) = app
        .post(
            "query($f: Int, $l: Int) { resources(first: $f, last: $l) { nodes { topics { resources(first: $f, last: $l) { nodes { title } } } } } }",
            json!({ "f": null, "l": 100 }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn a_cursor_with_a_bad_key_is_bad_input() {
    use base64::Engine;
    let app = TestApp::seeded().await;
    let first = app
        .query(
            "{ resources(first: 1, orderBy: [{ field: YEAR }]) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = first["resources"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap();
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(cursor))
        .unwrap();
    let text = String::from_utf8(decoded).unwrap();
    // Replace the sort key (a number) by a word, keeping the cursor's shape.
    let mut cursor_data: Value = serde_json::from_str(&text).unwrap();
    cursor_data["k"] = json!(["not a year"]);
    let tampered_text = cursor_data.to_string();
    for tampered in [
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tampered_text.as_bytes()),
        base64::engine::general_purpose::STANDARD.encode(tampered_text.as_bytes()),
    ] {
        let code = error_code(
            &app,
            None,
            "query($c: String) { resources(first: 1, after: $c, orderBy: [{ field: YEAR }]) { nodes { title } } }",
            json!({ "c": tampered }),
        )
        .await;
        assert_eq!(code, "BAD_USER_INPUT", "{text} → {tampered_text}");
    }
}

#[tokio::test]
async fn unpaged_lists_are_costed_by_their_measured_lengths() {
    let app = TestApp::new().await;
    app.seed_synthetic(beacon::seed::synthetic::Sizes {
        resources: 3000,
        topics: 20,
        types: 5,
        tags: 30,
        modules: 500,
        resources_per_module: 100,
    })
    .await;
    let state = app.state_with(beacon::http::Runtime::default());
    {
        let mut conn = app.database.connection().await.unwrap();
        beacon::graphql::limits::measure_lists(&mut conn, &state.shape())
            .await
            .unwrap();
    }
    let router = beacon::http::router(state);
    let post = |query: &'static str| {
        let router = router.clone();
        async move {
            use tower::ServiceExt;
            let request = axum::http::Request::post("/graphql")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    json!({ "query": query }).to_string(),
                ))
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    // 500 modules of 100 resources, each resource in several modules: a
    // page of modules, their resources and the modules those are in again
    // is costed by the lists' measured lengths.
    let (status, body) =
        post("{ modules(first: 100) { nodes { slug resources { title modules { slug } } } } }")
            .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{}",
        body["errors"]
    );
    // What is small still runs.
    let (status, body) =
        post("{ topics { nodes { name } } resourceTypes { nodes { name } } }").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_answer_past_the_size_limit_is_refused_with_its_code() {
    let mut app = TestApp::seeded().await;
    app.settings.max_response_bytes = 500;
    let (status, body) = app
        .post(
            "{ resources(first: 100) { nodes { title summary publisher } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "RESPONSE_TOO_LARGE"
    );
    assert!(body.get("data").is_none());
    let (status, _) = app.post("{ topics { nodes { name } } }", json!({})).await;
    assert_eq!(status, 200);
}
