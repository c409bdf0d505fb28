//! Operations: metrics, read-replica routing, logs that share the request
//! id with the audit log, and the server key.

use crate::support::SendAndRead;
use std::time::Duration;

use beacon::graphql::ids;
use serde_json::{Value, json};

use crate::support::process::Process;
use crate::support::workflow::State;
use crate::support::{TestApp, assert_failed_saying};

#[tokio::test]
async fn metrics_report_requests_statements_pool_and_the_outbox() {
    let app = TestApp::new().await;
    // Every request executed, so each runs its statement (the cache's own
    // figures are tested in `answer_cache`).
    let server = Process::start(app.database.url(), &["--response-cache", "off"]).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = client
            .post(server.url("/graphql"))
            .json(&json!({ "query": "query TopicList { topics { nodes { name } } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    client
        .post(server.url("/graphql"))
        .json(&json!({ "query": "{ nope }" }))
        .send()
        .await
        .unwrap();
    // Refused before any operation was read: a form post.
    let form = client
        .post(server.url("/graphql"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=%7Btopics%7Bname%7D%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    // Not on the API's listener: the figures name editors' operations.
    let public = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let text = client
        .get(format!("http://127.0.0.1:{}/metrics", server.metrics_port))
        .text_answer()
        .await;
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    };
    assert_eq!(
        value("beacon_graphql_requests_total{operation=\"TopicList\",outcome=\"ok\"}"),
        3.0
    );
    assert_eq!(
        value("beacon_graphql_requests_total{operation=\"anonymous\",outcome=\"request_error\"}"),
        1.0
    );
    assert_eq!(
        value("beacon_graphql_requests_total{operation=\"unread\",outcome=\"refused\"}"),
        1.0
    );
    assert_eq!(
        value("beacon_graphql_request_duration_seconds_count{operation=\"TopicList\"}"),
        3.0
    );
    // One statement per `topics` request.
    assert_eq!(value("beacon_graphql_sql_statements_sum"), 3.0);
    assert!(value("beacon_db_pool_connections") >= 1.0);
    assert_eq!(value("beacon_webhook_deliveries_pending"), 0.0);
    assert!(text.contains("beacon_scheduler_runs_total{outcome=\"ok\"}"));
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test]
async fn published_reads_go_to_the_replica_and_everything_else_to_the_primary() {
    // A different database stands in for the replica, so the test can tell
    // which one answered.
    let primary = TestApp::new().await;
    let replica = TestApp::new().await;
    let on_primary = primary.tag_in(State::Published).await;
    let on_replica = replica.tag_in(State::Published).await;
    let server = Process::start(
        primary.database.url(),
        &["--read-database-url", replica.database.url()],
    )
    .await;
    let editor = primary
        .api_token(beacon::domain::access::Role::Editor)
        .await;
    let client = reqwest::Client::new();
    let anonymous: Value = client
        .post(server.url("/graphql"))
        .json(&json!({
            "query": "query($id: ID!) { tags { nodes { id } } node(id: $id) { id } }",
            "variables": { "id": on_replica.id },
        }))
        .answer()
        .await;
    assert_eq!(
        anonymous["data"],
        json!({ "tags": { "nodes": [{ "id": on_replica.id }] }, "node": { "id": on_replica.id } }),
        "{anonymous}"
    );
    // Credentials are checked on the primary; previews read it.
    let preview = server
        .graphql(
            &editor,
            "{ tags(preview: true) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        preview["data"]["tags"]["nodes"],
        json!([{ "id": on_primary.id }])
    );
    // Writes land on the primary.
    let created = server
        .graphql(
            &editor,
            "mutation { createTag(input: { name: \"Written\" }) { id } }",
            json!({}),
        )
        .await;
    let id = created["data"]["createTag"]["id"].as_str().unwrap();
    let (_, uuid) = ids::decode(id).unwrap();
    let mut conn = primary.database.connection().await.unwrap();
    assert!(
        beacon::db::editorial::lock(&mut conn, uuid)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn json_logs_errors_and_the_audit_log_share_the_request_id() {
    let app = TestApp::new().await;
    let mut server = Process::start_with(
        app.database.url(),
        &["--log-format", "json", "--log", "info,tower_http=debug"],
        std::process::Stdio::piped(),
    )
    .await;
    let editor = app.api_token(beacon::domain::access::Role::Editor).await;
    let client = reqwest::Client::new();
    let send = |query: &'static str| {
        client
            .post(server.url("/graphql"))
            .bearer_auth(&editor)
            .header("x-request-id", "trace-me-42")
            .json(&json!({ "query": query }))
            .send()
    };
    let refused: Value = send("mutation { createTag(input: { name: \"\" }) { id } }")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        refused["errors"][0]["extensions"]["requestId"],
        "trace-me-42"
    );
    let response = send("mutation { createTag(input: { name: \"Traced\" }) { id } }")
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    let mut conn = app.database.connection().await.unwrap();
    let entries = beacon::db::editorial::audit_entries(&mut conn, &Default::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(entries[0].request_id.as_deref(), Some("trace-me-42"));

    server.child.start_kill().unwrap();
    let mut stderr = String::new();
    use tokio::io::AsyncReadExt;
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|line| line["span"]["request_id"] == "trace-me-42"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_server_with_another_key_than_the_database_refuses_to_start() {
    let app = TestApp::new().await;
    let editor = app.api_token(beacon::domain::access::Role::Editor).await;
    drop(Process::start(app.database.url(), &[]).await);
    const OTHER: &str = "another server key, long enough to use";
    let refused = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_beacon"))
            .current_dir(crate::support::repo_path(""))
            .env("DATABASE_URL", app.database.url())
            .env("BEACON_SECRET", OTHER)
            .args(["serve", "--no-seed", "--bind", "127.0.0.1:0"])
            .output(),
    )
    .await
    .expect("it exits")
    .unwrap();
    assert_failed_saying(&refused, "same BEACON_SECRET");

    // Tokens made with the first key work on a server with it...
    let same = Process::start(app.database.url(), &[]).await;
    let me = same.graphql(&editor, "{ me { role } }", json!({})).await;
    assert_eq!(me["data"]["me"]["role"], "EDITOR");
    drop(same);
    // ...and stop working once a new key is accepted on purpose.
    let rekeyed = Process::start(
        app.database.url(),
        &["--secret", OTHER, "--accept-new-secret"],
    )
    .await;
    let status = reqwest::Client::new()
        .post(rekeyed.url("/graphql"))
        .bearer_auth(&editor)
        .json(&json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
}
