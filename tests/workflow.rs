//! The editorial workflow end to end: real tokens over HTTP, concurrent
//! editors, readers during publishing, links published in any order, the
//! scheduler.

use crate::support::SendAndRead;
use std::time::Duration;

use beacon::domain::access::Role;
use beacon::domain::patch::Patch;
use beacon::domain::workflow::WorkflowAction;
use beacon::editorial::{Arguments, Editorial};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::workflow::State;

/// POSTs to a running server; the JSON body.
async fn call(
    address: std::net::SocketAddr,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("http://{address}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.answer().await
}

fn data(body: Value) -> Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

const PUBLIC_TITLE: &str = "{ resource(slug: \"community-policing-playbook\") { title } }";

#[tokio::test]
async fn an_item_goes_from_author_to_public_with_every_step_audited() {
    let app = TestApp::seeded().await;
    let address = app.spawn_server().await;
    beacon::editorial::scheduler::spawn(
        app.database.pool.clone(),
        Editorial::default(),
        Duration::from_millis(200),
        beacon::metrics::Metrics::default(),
    );
    let author = app.sign_in_as(Role::Author).await;
    let editor = app.sign_in_as(Role::Editor).await;
    let publisher = app.sign_in_as(Role::Publisher).await;
    let admin = app.sign_in_as(Role::Admin).await;

    let created = data(
        call(
            address,
            Some(&author),
            r#"
        mutation { createResource(input: {
            title: "Community Policing Playbook", types: ["guidebook-tool"],
            topics: ["community-trust-and-partnerships"], year: 2024,
            url: "https://example.org/playbook" }, message: "First draft") {
          id slug status version publishedVersion hasUnpublishedChanges
        } }"#,
            json!({}),
        )
        .await,
    );
    let resource = &created["createResource"];
    assert_eq!(resource["slug"], "community-policing-playbook");
    assert_eq!(resource["status"], "DRAFT");
    assert_eq!(resource["version"], 1);
    assert_eq!(resource["publishedVersion"], Value::Null);
    let id = resource["id"].as_str().unwrap().to_string();
    assert_eq!(
        data(call(address, None, PUBLIC_TITLE, json!({})).await)["resource"],
        Value::Null
    );

    let step = |token: &str, mutation: &str, version: i64| {
        let query = format!("mutation($id: ID!, $v: Int!) {{ {mutation} {{ status version }} }}");
        let token = token.to_string();
        let id = id.clone();
        async move {
            call(
                address,
                Some(&token),
                &query,
                json!({ "id": id, "v": version }),
            )
            .await
        }
    };
    let submitted = data(step(&author, "submitForReview(id: $id, expectedVersion: $v)", 1).await);
    assert_eq!(submitted["submitForReview"]["status"], "IN_REVIEW");
    // An editor may not publish; a publisher may not publish before approval.
    let refused = step(&editor, "publish(id: $id, expectedVersion: $v)", 1).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let refused = step(&publisher, "publish(id: $id, expectedVersion: $v)", 1).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        "INVALID_TRANSITION"
    );
    assert_eq!(refused["errors"][0]["extensions"]["status"], "IN_REVIEW");
    assert!(
        refused["errors"][0]["extensions"]["allowedActions"]
            .as_array()
            .unwrap()
            .contains(&json!("approve"))
    );
    data(step(&editor, "approve(id: $id, expectedVersion: $v)", 1).await);
    let published = data(step(&publisher, "publish(id: $id, expectedVersion: $v)", 1).await);
    assert_eq!(published["publish"]["status"], "PUBLISHED");
    assert_eq!(
        data(call(address, None, PUBLIC_TITLE, json!({})).await)["resource"]["title"],
        "Community Policing Playbook"
    );

    // Editing the published item keeps the old title public.
    let edit = "mutation($id: ID!, $v: Int!, $t: String!) { updateResource(id: $id, expectedVersion: $v, input: { title: $t }) { title status version publishedVersion hasUnpublishedChanges } }";
    let edited = data(
        call(
            address,
            Some(&author),
            edit,
            json!({ "id": id, "v": 1, "t": "Playbook, Second Edition" }),
        )
        .await,
    );
    assert_eq!(edited["updateResource"]["version"], 2);
    assert_eq!(edited["updateResource"]["publishedVersion"], 1);
    assert_eq!(edited["updateResource"]["hasUnpublishedChanges"], true);
    assert_eq!(edited["updateResource"]["status"], "DRAFT");
    assert_eq!(
        data(call(address, None, PUBLIC_TITLE, json!({})).await)["resource"]["title"],
        "Community Policing Playbook"
    );
    // A stale version changes nothing and says what is current.
    let stale = call(
        address,
        Some(&editor),
        edit,
        json!({ "id": id, "v": 1, "t": "Lost?" }),
    )
    .await;
    assert_eq!(stale["errors"][0]["extensions"]["code"], "CONFLICT");
    assert_eq!(stale["errors"][0]["extensions"]["currentVersion"], 2);

    // Scheduled two seconds ahead, published by the scheduler.
    data(step(&author, "submitForReview(id: $id, expectedVersion: $v)", 2).await);
    data(step(&editor, "approve(id: $id, expectedVersion: $v)", 2).await);
    let at = (chrono::Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let scheduled = data(call(address, Some(&publisher),
        "mutation($id: ID!, $at: DateTime!) { schedulePublish(id: $id, expectedVersion: 2, at: $at) { ... on Resource { scheduledPublishAt } } }",
        json!({ "id": id, "at": at })).await);
    assert_ne!(
        scheduled["schedulePublish"]["scheduledPublishAt"],
        Value::Null
    );
    crate::support::wait::until_true(
        "the scheduler to publish the second edition",
        Duration::from_secs(60),
        || async {
            data(call(address, None, PUBLIC_TITLE, json!({})).await)["resource"]["title"]
                == "Playbook, Second Edition"
        },
    )
    .await;

    // Revert brings the first title back as a new draft.
    let reverted = data(call(address, Some(&editor),
        "mutation($id: ID!) { revert(id: $id, expectedVersion: 2, toVersion: 1) { version ... on Resource { title diff(from: 2) { field from to } versions { nodes { number author message } } } } }",
        json!({ "id": id })).await);
    let reverted = &reverted["revert"];
    assert_eq!(reverted["version"], 3);
    assert_eq!(reverted["title"], "Community Policing Playbook");
    assert_eq!(reverted["diff"][0]["field"], "title");
    // Values are JSON, not JSON encoded in a string.
    assert_eq!(reverted["diff"][0]["to"], "Community Policing Playbook");
    let versions = &reverted["versions"]["nodes"];
    assert_eq!(versions[0]["message"], "Reverted to version 1");
    assert_eq!(versions[2]["message"], "First draft");
    assert_eq!(versions[2]["author"], "Test User");

    // The audit log has every step, with its actor.
    let log = data(call(address, Some(&admin),
        "query($id: ID!) { auditLog(filter: { itemId: $id }) { nodes { actor { id kind name email } action fromStatus toStatus requestId } } }",
        json!({ "id": id })).await);
    let actions: Vec<&str> = log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "submitForReview",
            "approve",
            "publish",
            "update",
            "submitForReview",
            "approve",
            "schedulePublish",
            "publish",
            "revert"
        ]
    );
    let entries = log["auditLog"]["nodes"].as_array().unwrap();
    assert_eq!(
        entries[1]["actor"],
        json!({ "id": "scheduler", "kind": "SCHEDULER", "name": "Scheduler", "email": null })
    );
    // People are named, and admins (who read the log) see their email.
    for entry in entries.iter().filter(|e| e["actor"]["kind"] != "SCHEDULER") {
        let actor = &entry["actor"];
        assert_eq!(actor["kind"], "USER", "{entry}");
        assert!(
            actor["id"].as_str().unwrap().starts_with("user:"),
            "{entry}"
        );
        assert_eq!(actor["name"], "Test User", "{entry}");
        assert!(
            actor["email"].as_str().unwrap().ends_with("@example.org"),
            "{entry}"
        );
        assert!(entry["requestId"].is_string(), "{entry}");
    }
    // An item's history names them too, without emails for non-admins.
    let history = data(call(address, Some(&editor),
        "query($id: ID!) { node(id: $id, preview: true) { ... on Resource { history { nodes { actor { kind name email } } } } } }",
        json!({ "id": id })).await);
    let history = history["node"]["history"]["nodes"].as_array().unwrap();
    assert!(
        history.iter().any(|e| e["actor"]["name"] == "Test User"),
        "{history:?}"
    );
    assert!(
        history.iter().all(|e| e["actor"]["email"].is_null()),
        "{history:?}"
    );
    // A page at a time, the same entries in the same order as the log.
    let mut paged = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = data(call(address, Some(&editor),
            "query($id: ID!, $after: String) { node(id: $id, preview: true) { ... on Resource { history(first: 4, after: $after) { nodes { action } pageInfo { hasNextPage endCursor } } } } }",
            json!({ "id": id, "after": after })).await);
        let history = &page["node"]["history"];
        for entry in history["nodes"].as_array().unwrap() {
            paged.push(entry["action"].as_str().unwrap().to_string());
        }
        if history["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = history["pageInfo"]["endCursor"].clone();
    }
    paged.reverse();
    assert_eq!(paged, actions);
    let forbidden = call(
        address,
        Some(&editor),
        "{ auditLog { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(forbidden["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

#[tokio::test]
async fn concurrent_editors_never_lose_an_acknowledged_write() {
    let app = TestApp::new().await;
    let item = app.tag_in(State::Draft).await;
    let editors: Vec<String> =
        futures::future::join_all((0..6).map(|_| app.sign_in_as(Role::Editor))).await;
    let read = "query($id: ID!) { node(id: $id, preview: true) { ... on Tag { version } } }";
    let write = "mutation($id: ID!, $v: Int!, $n: String!, $m: String!) { updateTag(id: $id, expectedVersion: $v, input: { name: $n }, message: $m) { version } }";
    let clients = editors.iter().enumerate().map(|(client, token)| {
        let app = &app;
        let id = item.id.clone();
        async move {
            let mut acknowledged = Vec::new();
            let mut conflicts = 0;
            for round in 0..6 {
                let version =
                    app.query_as(token, read, json!({ "id": id })).await["node"]["version"]
                        .as_i64()
                        .unwrap();
                let message = format!("client {client} round {round}");
                let (_, body) = app
                    .post_as(
                        Some(token),
                        write,
                        json!({ "id": id, "v": version, "n": message, "m": message }),
                    )
                    .await;
                match body["errors"][0]["extensions"]["code"].as_str() {
                    None => acknowledged.push(message),
                    Some("CONFLICT") => conflicts += 1,
                    Some(other) => panic!("{other}: {body}"),
                }
            }
            (acknowledged, conflicts)
        }
    });
    let results = futures::future::join_all(clients).await;
    let acknowledged: Vec<String> = results.iter().flat_map(|(acks, _)| acks.clone()).collect();
    let conflicts: usize = results.iter().map(|(_, conflicts)| conflicts).sum();
    assert_eq!(acknowledged.len() + conflicts, 36);
    assert!(!acknowledged.is_empty());

    let admin = app.sign_in_as(Role::Admin).await;
    let history = app
        .preview_node(
            &admin,
            &item.id,
            "... on Tag { version versions(first: 100) { nodes { number message } } }",
        )
        .await;
    let versions = history["versions"]["nodes"].as_array().unwrap();
    assert_eq!(
        versions.len(),
        acknowledged.len() + 1,
        "one version per acknowledged write, plus the first"
    );
    assert_eq!(history["version"], versions.len());
    for message in &acknowledged {
        assert!(
            versions.iter().any(|v| v["message"] == message.as_str()),
            "{message} vanished"
        );
    }
}

#[tokio::test]
async fn readers_during_publishing_see_one_whole_version() {
    let app = TestApp::seeded().await;
    let editorial = Editorial {
        policy: beacon::domain::workflow::Policy {
            review_required: false,
        },
    };
    let publisher = app.sign_in_as(Role::Publisher).await;
    let created = app
        .query_as(&publisher, r#"mutation { createResource(input: { title: "Atomic", slug: "atomic", types: ["guidebook-tool"], year: 2000, summary: "0" }) { id } }"#, json!({}))
        .await;
    let id = created["createResource"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, uuid) = beacon::graphql::ids::decode(&id).unwrap();
    let who = app.admin_who().await;
    let mut conn = app.database.connection().await.unwrap();
    editorial
        .act(
            &mut conn,
            &who,
            uuid,
            Some(1),
            WorkflowAction::Publish,
            Arguments::default(),
        )
        .await
        .unwrap();

    let done = std::sync::atomic::AtomicBool::new(false);
    let writer = async {
        for n in 1..=25 {
            let patch = Patch::Resource(beacon::domain::patch::ResourcePatch {
                summary: Some(Some(n.to_string())),
                year: Some(Some(2000 + n)),
                ..Default::default()
            });
            editorial
                .update(&mut conn, &who, uuid, n, &patch, "")
                .await
                .unwrap();
            editorial
                .act(
                    &mut conn,
                    &who,
                    uuid,
                    Some(n + 1),
                    WorkflowAction::Publish,
                    Arguments::default(),
                )
                .await
                .unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let reader = async {
        let mut seen = std::collections::BTreeSet::new();
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let data = app
                .query(
                    "{ resource(slug: \"atomic\") { year summary topics { id } } }",
                    json!({}),
                )
                .await;
            let year = data["resource"]["year"].as_i64().unwrap();
            let summary: i64 = data["resource"]["summary"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(year - 2000, summary, "a mix of two versions: {data}");
            seen.insert(summary);
        }
        seen
    };
    let ((), seen) = tokio::join!(writer, reader);
    assert!(!seen.is_empty());
}

#[tokio::test]
async fn linked_drafts_published_in_either_order_keep_their_link() {
    let (app, publisher) = TestApp::seeded_as(Role::Publisher).await;
    for (name, order) in [
        ("first", ["topic", "resource"]),
        ("second", ["resource", "topic"]),
    ] {
        let topic = app
            .query_as(&publisher, &format!(r#"mutation {{ createTopic(input: {{ name: "Topic {name}" }}) {{ id version }} }}"#), json!({}))
            .await["createTopic"]["id"]
            .clone();
        let resource = app
            .query_as(&publisher, &format!(r#"mutation {{ createResource(input: {{ title: "Linked {name}", types: ["guidebook-tool"], topics: ["topic-{name}"] }}) {{ id }} }}"#), json!({}))
            .await["createResource"]["id"]
            .clone();
        let ids = [("topic", topic), ("resource", resource)];
        for which in order {
            let id = &ids.iter().find(|(kind, _)| *kind == which).unwrap().1;
            for action in ["submitForReview", "approve", "publish"] {
                app.query_as(
                    &publisher,
                    &format!(
                        "mutation($id: ID!) {{ {action}(id: $id, expectedVersion: 1) {{ id }} }}"
                    ),
                    json!({ "id": id }),
                )
                .await;
            }
        }
        let public = app
            .query(&format!(r#"{{ resource(slug: "linked-{name}") {{ topics {{ name }} }} topic(slug: "topic-{name}") {{ resources {{ nodes {{ slug }} }} }} }}"#), json!({}))
            .await;
        assert_eq!(
            public["resource"]["topics"],
            json!([{ "name": format!("Topic {name}") }]),
            "{order:?}"
        );
        assert_eq!(
            public["topic"]["resources"]["nodes"],
            json!([{ "slug": format!("linked-{name}") }])
        );
    }
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field_and_writes_nothing() {
    let (app, author) = TestApp::seeded_as(Role::Author).await;
    for (input, field) in [
        (r#"{ types: ["guidebook-tool"] }"#, "input.title"),
        (r#"{ title: "T", types: ["no-such-type"] }"#, "input.types"),
        (
            r#"{ title: "T", types: ["guidebook-tool"], year: 1066 }"#,
            "input.year",
        ),
        (
            r#"{ title: "T", types: ["guidebook-tool"], url: "javascript:alert(1)" }"#,
            "input.url",
        ),
        (
            r#"{ title: "T", types: ["guidebook-tool"], slug: "Not A Slug" }"#,
            "input.slug",
        ),
        (r#"{ title: "Building Trust", types: [] }"#, "input.types"),
    ] {
        let (_, body) = app
            .post_as(
                Some(&author),
                &format!("mutation {{ createResource(input: {input}) {{ id }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "VALIDATION_FAILED",
            "{input}: {body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{input}: {body}"
        );
        assert!(!body.to_string().contains("SQL") && !body.to_string().contains("diesel"));
    }
    // Several problems at once: each field is named, with its own message.
    let (_, body) = app
        .post_as(
            Some(&author),
            r#"mutation { createResource(input: { title: "  ", types: [], year: 1066, url: "ftp://x" }) { id } }"#,
            json!({}),
        )
        .await;
    let extensions = &body["errors"][0]["extensions"];
    assert_eq!(extensions["code"], "VALIDATION_FAILED", "{body}");
    let fields: Vec<&str> = extensions["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|entry| entry["field"].as_str().unwrap())
        .collect();
    for field in ["input.title", "input.types", "input.year", "input.url"] {
        assert!(fields.contains(&field), "{field} in {body}");
    }
    assert_eq!(extensions["field"], fields[0]);
    for entry in extensions["fields"].as_array().unwrap() {
        assert!(!entry["message"].as_str().unwrap().is_empty(), "{body}");
    }
    let taken = app
        .error_as(&author, r#"mutation { createTopic(input: { name: "Community Trust and Partnerships" }) { id } }"#, json!({}))
        .await;
    assert_eq!(taken["extensions"]["field"], "input.slug", "{taken}");
    let total = app
        .query("{ resources(preview: false) { totalCount } }", json!({}))
        .await;
    assert_eq!(total["resources"]["totalCount"], 8);
    let mut conn = app.database.connection().await.unwrap();
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let audit: Count =
        diesel::sql_query("SELECT count(*) AS count FROM audit_log WHERE action <> 'seedRun'")
            .get_result(&mut conn)
            .await
            .unwrap();
    assert_eq!(audit.count, 0, "refused changes leave no trace");
}

#[tokio::test]
async fn two_schedulers_publish_each_due_item_exactly_once() {
    let app = TestApp::new().await;
    let mut items = Vec::new();
    for _ in 0..12 {
        items.push(app.tag_in(State::Scheduled).await);
    }
    // Make them due now.
    app.make_schedules_due().await;
    let editorial = Editorial::default();
    let run = || async {
        let mut conn = app.database.connection().await.unwrap();
        editorial.run_due(&mut conn).await.unwrap()
    };
    let (first, second) = tokio::join!(run(), run());
    assert_eq!(
        first + second,
        12,
        "every item handled by exactly one of them"
    );
    let admin = app.sign_in_as(Role::Admin).await;
    let log = app
        .query_as(
            &admin,
            "{ auditLog(filter: { action: \"publish\" }, first: 100) { nodes { actor { id } itemId } } }",
            json!({}),
        )
        .await;
    let published: Vec<&Value> = log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"]["id"] == "scheduler")
        .collect();
    assert_eq!(published.len(), 12);
    let again = {
        let mut conn = app.database.connection().await.unwrap();
        editorial.run_due(&mut conn).await.unwrap()
    };
    assert_eq!(again, 0);
    let public = app.query("{ tags { nodes { slug } } }", json!({})).await;
    assert_eq!(public["tags"]["nodes"].as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn a_schedule_made_stale_by_an_edit_is_cancelled_and_explained() {
    let app = TestApp::new().await;
    let item = app.tag_in(State::Scheduled).await;
    let editor = app.sign_in_as(Role::Editor).await;
    let edited = app.query_as(&editor, "mutation($id: ID!) { updateTag(id: $id, expectedVersion: 1, input: { name: \"Changed after approval\" }) { status scheduledPublishAt comments { nodes { author body } } } }", json!({ "id": item.id }))
        .await;
    assert_eq!(edited["updateTag"]["scheduledPublishAt"], Value::Null);
    assert_eq!(
        edited["updateTag"]["comments"]["nodes"][0]["author"],
        "scheduler"
    );
    app.make_schedules_due().await;
    let mut conn = app.database.connection().await.unwrap();
    assert_eq!(Editorial::default().run_due(&mut conn).await.unwrap(), 0);
    let admin = app.sign_in_as(Role::Admin).await;
    let log = app
        .query_as(
            &admin,
            "{ auditLog(first: 2) { nodes { action detail } } }",
            json!({}),
        )
        .await;
    let log = &log["auditLog"]["nodes"];
    assert_eq!(log[0]["action"], "update");
    assert_eq!(log[1]["action"], "scheduleCancelled");
    // The detail is a JSON object, not JSON encoded in a string.
    assert!(log[1]["detail"].is_object(), "{}", log[1]["detail"]);
    assert!(
        log[1]["detail"]
            .to_string()
            .contains("version 1 was scheduled"),
        "{}",
        log[1]["detail"]
    );
    assert_eq!(
        app.query("{ tags { nodes { slug } } }", json!({})).await["tags"]["nodes"],
        json!([])
    );
}

#[tokio::test]
async fn a_seed_run_keeps_what_editors_changed_and_is_audited() {
    let (app, publisher) = TestApp::seeded_as(Role::Publisher).await;
    // The content as the seed files will have it, before editors act.
    let export = {
        let mut conn = app.database.connection().await.unwrap();
        beacon::seed::export::build(
            beacon::db::content::load_published_documents(&mut conn)
                .await
                .unwrap(),
            true,
        )
        .0
    };
    let nodes = app
        .query_as(
            &publisher,
            "{ resources(first: 2, preview: true) { nodes { id slug version } } }",
            json!({}),
        )
        .await;
    let edited = nodes["resources"]["nodes"][0].clone();
    let archived = nodes["resources"]["nodes"][1].clone();
    app.query_as(
        &publisher,
        "mutation($id: ID!, $v: Int!) { updateResource(id: $id, expectedVersion: $v, input: { title: \"Edited in Beacon\" }) { id } }",
        json!({ "id": edited["id"], "v": edited["version"] }),
    )
    .await;
    app.act(
        &publisher,
        "archive",
        archived["id"].as_str().unwrap(),
        archived["version"].as_i64().unwrap(),
    )
    .await;

    // The seed files now say something else about both.
    let mut file = serde_json::to_value(&export).unwrap();
    for resource in file["resources"].as_array_mut().unwrap() {
        resource["summary"] = json!("Changed by the seed files");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("content.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let report = app.seed(std::slice::from_ref(&path)).await.unwrap();
    let text = report.to_string();
    assert!(
        report
            .kept
            .iter()
            .any(|kept| kept.ends_with(edited["slug"].as_str().unwrap())),
        "{text}"
    );
    assert!(text.contains("Kept"), "{text}");

    let editor = app.sign_in_as(Role::Editor).await;
    let after = app
        .query_as(
            &editor,
            "query($a: ID!, $b: ID!) { a: node(id: $a, preview: true) { ... on Resource { title summary status } } b: node(id: $b, preview: true) { ... on Resource { status } } }",
            json!({ "a": edited["id"], "b": archived["id"] }),
        )
        .await;
    assert_eq!(after["a"]["title"], "Edited in Beacon");
    assert_ne!(after["a"]["summary"], "Changed by the seed files");
    assert_eq!(
        after["b"]["status"], "ARCHIVED",
        "a seed run does not bring back what was archived"
    );
    let untouched = app
        .query("{ resources(first: 100) { nodes { summary } } }", json!({}))
        .await;
    assert!(
        untouched["resources"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["summary"] == "Changed by the seed files"),
        "the rest was updated"
    );
    let admin = app.sign_in_as(Role::Admin).await;
    let log = app
        .query_as(
            &admin,
            "{ auditLog(filter: { action: \"seedRun\" }) { nodes { actor { id kind } detail } } }",
            json!({}),
        )
        .await;
    let log = &log["auditLog"]["nodes"];
    assert_eq!(
        log.as_array().unwrap().len(),
        2,
        "one per seed run that wrote"
    );
    assert!(log[0]["actor"]["id"].as_str().unwrap().starts_with("seed:"));
    assert_eq!(log[0]["actor"]["kind"], "SEED_RUN");
}

#[tokio::test]
async fn renaming_a_topic_is_searchable_once_published_and_not_before() {
    let (app, publisher) = TestApp::seeded_as(Role::Publisher).await;
    let topic = app
        .query_as(
            &publisher,
            "{ topic(slug: \"community-trust-and-partnerships\", preview: true) { id version } }",
            json!({}),
        )
        .await["topic"]
        .clone();
    app.query_as(
        &publisher,
        "mutation($id: ID!, $v: Int!) { updateTopic(id: $id, expectedVersion: $v, input: { name: \"Quokka Relations\" }) { id } }",
        json!({ "id": topic["id"], "v": topic["version"] }),
    )
    .await;
    let search = "query($p: Boolean!) { search(query: \"quokka\", kinds: [RESOURCE], preview: $p) { totalCount } }";
    assert_eq!(
        app.query(search, json!({ "p": false })).await["search"]["totalCount"],
        0
    );
    let previewed = app.query_as(&publisher, search, json!({ "p": true })).await;
    assert_eq!(
        previewed["search"]["totalCount"], 8,
        "drafts find the new name"
    );
    let version = topic["version"].as_i64().unwrap() + 1;
    for action in ["submitForReview", "approve", "publish"] {
        app.act(&publisher, action, topic["id"].as_str().unwrap(), version)
            .await;
    }
    assert_eq!(
        app.query(search, json!({ "p": false })).await["search"]["totalCount"],
        8
    );
}

#[tokio::test]
async fn editor_fields_cost_the_same_statements_for_any_page_size() {
    let (app, editor) = TestApp::seeded_as(Role::Editor).await;
    // Every resource gets a comment and a second version by a user.
    let page = app
        .query_as(
            &editor,
            "{ resources(preview: true, first: 100) { nodes { id version } } }",
            json!({}),
        )
        .await;
    for node in page["resources"]["nodes"].as_array().unwrap() {
        app.query_as(
            &editor,
            "mutation($id: ID!, $v: Int!) { updateResource(id: $id, expectedVersion: $v, input: { summary: \"Edited\" }) { id } addComment(id: $id, body: \"Checked\") { id } }",
            json!({ "id": node["id"], "v": node["version"] }),
        )
        .await;
    }
    let query = "query($n: Int!) { resources(preview: true, first: $n) { nodes { status version publishedVersion hasUnpublishedChanges versions { nodes { number author } } comments { nodes { author body } } history { nodes { action } } } } }";
    let statements = |n: i64| {
        let app = &app;
        async move {
            // A fresh session each time: its first use records "last used"
            // (one write), which an older session does only once a minute,
            // and the counts must not depend on when that falls.
            let reader = app.sign_in_as(Role::Editor).await;
            let before = app.database.statements_executed();
            let data = app.query_as(&reader, query, json!({ "n": n })).await;
            let nodes = data["resources"]["nodes"].as_array().unwrap().clone();
            assert_eq!(nodes.len() as i64, n);
            assert_eq!(nodes[0]["comments"]["nodes"][0]["author"], "Test User");
            assert_eq!(nodes[0]["versions"]["nodes"][0]["author"], "Test User");
            app.database.statements_executed() - before
        }
    };
    let (two, eight) = (statements(2).await, statements(8).await);
    assert_eq!(
        two, eight,
        "statements per request must not grow with the page"
    );
}

#[tokio::test]
async fn requested_changes_come_back_with_their_comment_and_go_round_again() {
    let app = TestApp::new().await;
    let author = app.sign_in_as(Role::Author).await;
    let editor = app.sign_in_as(Role::Editor).await;
    let created = app
        .query_as(
            &author,
            r#"mutation { createTag(input: { name: "Use of force" }) { id } }"#,
            json!({}),
        )
        .await;
    let id = created["createTag"]["id"].clone();
    let run = |token: &str, mutation: &str| {
        let query = format!(
            "mutation($id: ID!) {{ {mutation} {{ status ... on Tag {{ comments {{ nodes {{ author body version }} }} }} }} }}"
        );
        let token = token.to_string();
        let app = &app;
        let id = id.clone();
        async move { app.query_as(&token, &query, json!({ "id": id })).await }
    };
    run(&author, "submitForReview(id: $id, expectedVersion: 1)").await;
    let sent_back = run(
        &editor,
        "requestChanges(id: $id, expectedVersion: 1, comment: \"Name the policy\")",
    )
    .await;
    let sent_back = &sent_back["requestChanges"];
    assert_eq!(sent_back["status"], "CHANGES_REQUESTED");
    assert_eq!(
        sent_back["comments"]["nodes"],
        json!([{ "author": "Test User", "body": "Name the policy", "version": 1 }])
    );
    let edited = run(
        &author,
        "updateTag(id: $id, expectedVersion: 1, input: { name: \"Use of force policy\" })",
    )
    .await;
    assert_eq!(
        edited["updateTag"]["status"], "CHANGES_REQUESTED",
        "editing keeps it with the author"
    );
    let again = run(&author, "submitForReview(id: $id, expectedVersion: 2)").await;
    assert_eq!(again["submitForReview"]["status"], "IN_REVIEW");
    let blank = app
        .error_as(&editor, "mutation($id: ID!) { requestChanges(id: $id, expectedVersion: 2, comment: \"  \") { status } }", json!({ "id": id }))
        .await;
    assert_eq!(blank["extensions"]["code"], "VALIDATION_FAILED");
    assert_eq!(blank["extensions"]["field"], "comment");
    let still = run(&editor, "approve(id: $id, expectedVersion: 2)").await;
    assert_eq!(
        still["approve"]["status"], "APPROVED",
        "the refused request changed nothing"
    );
}

/// One resource of a module's ordered list is added, moved and removed
/// without resending the others, each guarded by `expectedVersion`; a bad
/// edit is a typed error naming its argument and changes nothing.
#[tokio::test]
async fn a_modules_resources_are_edited_one_at_a_time() {
    let (app, editor) = TestApp::seeded_as(Role::Editor).await;
    let module = "{ module(slug: \"community-trust-and-partnerships\", preview: true) { id version resources { slug } } }";
    let read = || async {
        let data = app.query_as(&editor, module, json!({})).await;
        let module = &data["module"];
        let slugs: Vec<String> = module["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|resource| resource["slug"].as_str().unwrap().to_string())
            .collect();
        (
            module["id"].as_str().unwrap().to_string(),
            module["version"].as_i64().unwrap(),
            slugs,
        )
    };
    let (id, version, original) = read().await;
    let created = app
        .query_as(
            &editor,
            r#"mutation { createResource(input: { title: "Outside the Module", types: ["report"] }) { slug } }"#,
            json!({}),
        )
        .await;
    let outsider = created["createResource"]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!original.contains(&outsider));
    let edit = |mutation: &str, version: i64, resource: &str, position: Option<i64>| {
        let query = format!(
            "mutation($id: ID!, $v: Int!, $r: String!{}) {{ {mutation}(id: $id, expectedVersion: $v, resource: $r{}) {{ version }} }}",
            if position.is_some() { ", $p: Int!" } else { "" },
            if position.is_some() {
                ", position: $p"
            } else {
                ""
            },
        );
        let variables = json!({ "id": id, "v": version, "r": resource, "p": position });
        let editor = editor.clone();
        let app = &app;
        async move { app.post_as(Some(&editor), &query, variables).await.1 }
    };

    let added = edit("addModuleResource", version, &outsider, Some(0)).await;
    assert!(added.get("errors").is_none(), "{added}");
    let (_, version, listed) = read().await;
    assert_eq!(listed[0], outsider);
    assert_eq!(listed[1..], original[..]);

    let last = original.len() as i64;
    let moved = edit("moveModuleResource", version, &outsider, Some(last)).await;
    assert!(moved.get("errors").is_none(), "{moved}");
    let (_, version, listed) = read().await;
    assert_eq!(listed[..original.len()], original[..]);
    assert_eq!(listed[original.len()], outsider);

    // Refused edits: each names its argument, and the list stays.
    for (mutation, resource, position, code, field) in [
        (
            "addModuleResource",
            original[0].as_str(),
            None,
            "VALIDATION_FAILED",
            "resource",
        ),
        (
            "addModuleResource",
            "no-such-resource",
            None,
            "VALIDATION_FAILED",
            "resource",
        ),
        (
            "moveModuleResource",
            outsider.as_str(),
            Some(last + 1),
            "VALIDATION_FAILED",
            "position",
        ),
        (
            "moveModuleResource",
            outsider.as_str(),
            Some(-1),
            "BAD_USER_INPUT",
            "",
        ),
    ] {
        let refused = edit(mutation, version, resource, position).await;
        let extensions = &refused["errors"][0]["extensions"];
        assert_eq!(extensions["code"], code, "{refused}");
        if !field.is_empty() {
            assert_eq!(extensions["field"], field, "{refused}");
        }
    }
    let stale = edit("removeModuleResource", version - 1, &outsider, None).await;
    assert_eq!(
        stale["errors"][0]["extensions"]["code"], "CONFLICT",
        "{stale}"
    );
    let (_, unchanged_version, unchanged) = read().await;
    assert_eq!((unchanged_version, &unchanged), (version, &listed));

    let removed = edit("removeModuleResource", version, &outsider, None).await;
    assert!(removed.get("errors").is_none(), "{removed}");
    let (_, _, listed) = read().await;
    assert_eq!(listed, original);
}
