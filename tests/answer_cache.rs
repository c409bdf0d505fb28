//! The published-answer cache, on real servers sharing one database: kept
//! answers are served until published content changes, on the server that
//! made the change at once and on the others within a second.

use std::time::{Duration, Instant};

use beacon::domain::access::Role;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::Process;
use crate::support::workflow::State;

const HITS: &str = "beacon_answer_cache_hits_total";
const TAG_NAMES: &str = "{ tags(first: 100) { nodes { id name } } }";
/// Saves a new name as a draft of the tag: nothing public changes.
const RENAME_DRAFT: &str = "mutation($id: ID!, $v: Int!) { updateTag(id: $id, expectedVersion: $v, input: {name: \"Renamed\"}) { version } }";

/// Asks `query` until the server answers it from memory: its LISTEN
/// connection is up and the answer is kept.
async fn kept(server: &Process, query: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let before = server.metric(HITS).await;
        let answer = server.anonymous(query).await;
        if server.metric(HITS).await > before {
            return answer;
        }
        assert!(Instant::now() < deadline, "never answered from memory");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn name_of(answer: &Value, id: &str) -> String {
    answer["data"]["tags"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tag| tag["id"] == id)
        .map(|tag| tag["name"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_publish_is_seen_at_once_where_it_was_made_and_within_a_second_elsewhere() {
    let app = TestApp::new().await;
    let tag = app.tag_in(State::Published).await;
    let flags = ["--review-required", "false"];
    let here = Process::start(app.database.url(), &flags).await;
    let elsewhere = Process::start(app.database.url(), &flags).await;
    let publisher = app.api_token(Role::Publisher).await;
    let old_name = name_of(&kept(&here, TAG_NAMES).await, &tag.id);
    assert!(old_name.starts_with("Tag "));
    kept(&elsewhere, TAG_NAMES).await;

    // A draft changes nothing public: the kept answers stay.
    let saved = here
        .graphql(
            &publisher,
            RENAME_DRAFT,
            json!({ "id": tag.id, "v": tag.version }),
        )
        .await;
    let version = saved["data"]["updateTag"]["version"]
        .as_i64()
        .unwrap_or_else(|| panic!("{saved}"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = elsewhere.metric(HITS).await;
    assert_eq!(
        name_of(&elsewhere.anonymous(TAG_NAMES).await, &tag.id),
        old_name
    );
    assert_eq!(
        elsewhere.metric(HITS).await,
        before + 1.0,
        "a draft save dropped kept answers"
    );

    let published = here
        .graphql(
            &publisher,
            "mutation($id: ID!, $v: Int!) { publish(id: $id, expectedVersion: $v) { status } }",
            json!({ "id": tag.id, "v": version }),
        )
        .await;
    assert_eq!(
        published["data"]["publish"]["status"], "PUBLISHED",
        "{published}"
    );
    // Read-your-writes where the change was made: the very next request.
    assert_eq!(
        name_of(&here.anonymous(TAG_NAMES).await, &tag.id),
        "Renamed"
    );
    // Elsewhere within a second, through the notification.
    let published_at = Instant::now();
    while name_of(&elsewhere.anonymous(TAG_NAMES).await, &tag.id) != "Renamed" {
        assert!(
            published_at.elapsed() < Duration::from_secs(1),
            "the other server still serves the old answer"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And the new answer is kept in turn.
    assert_eq!(
        name_of(&kept(&elsewhere, TAG_NAMES).await, &tag.id),
        "Renamed"
    );
}

/// Mutations of callers who cannot change what is public (refused ones,
/// an editor's draft) keep the answers even on the server they ran on:
/// otherwise one anonymous request would empty every cache there.
#[tokio::test]
async fn a_mutation_that_cannot_change_public_content_keeps_the_answers() {
    let app = TestApp::new().await;
    let tag = app.tag_in(State::Published).await;
    let server = Process::start(app.database.url(), &[]).await;
    let editor = app.api_token(Role::Editor).await;
    kept(&server, TAG_NAMES).await;

    let refused = server
        .anonymous_with(
            "mutation($id: ID!) { publish(id: $id, expectedVersion: 1) { version } }",
            json!({ "id": tag.id }),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let saved = server
        .graphql(
            &editor,
            RENAME_DRAFT,
            json!({ "id": tag.id, "v": tag.version }),
        )
        .await;
    assert!(saved["data"]["updateTag"]["version"].is_i64(), "{saved}");

    let before = server.metric(HITS).await;
    server.anonymous(TAG_NAMES).await;
    assert_eq!(
        server.metric(HITS).await,
        before + 1.0,
        "a mutation that could not change public content dropped kept answers"
    );
}

#[tokio::test]
async fn a_change_made_while_a_server_was_deaf_is_not_served_stale() {
    let app = TestApp::new().await;
    let tag = app.tag_in(State::Published).await;
    let server = Process::start(app.database.url(), &[]).await;
    kept(&server, TAG_NAMES).await;
    let mut conn = app.database.connection().await.unwrap();
    use diesel_async::RunQueryDsl;
    // Its LISTEN connection dies, and an operator renames the published
    // tag with psql in the meantime. Materialized first: PostgreSQL orders
    // a WHERE clause's conditions by cost, and the cheap termination would
    // otherwise run before the database check, on every test's servers.
    let killed: Vec<Killed> = diesel::sql_query(
        "WITH ours AS MATERIALIZED (
             SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'
         )
         SELECT pid FROM ours WHERE pg_terminate_backend(pid)",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        killed.len(),
        1,
        "the server's LISTEN connection was not found"
    );
    crate::support::run_sql(
        &mut conn,
        "UPDATE tags SET name = 'Renamed by hand' WHERE stage = 'published'",
    )
    .await;
    // Back and listening again long before this (it retries after 100 ms);
    // until it is, it answers uncached. Either way the old name is gone,
    // and the answers are kept again.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hits = server.metric(HITS).await;
        let answer = server.anonymous(TAG_NAMES).await;
        assert_eq!(
            name_of(&answer, &tag.id),
            "Renamed by hand",
            "a change made while deaf was served stale"
        );
        if server.metric(HITS).await > hits {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never answered from memory again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(diesel::QueryableByName)]
struct Killed {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    #[allow(dead_code)]
    pid: i32,
}

#[tokio::test]
async fn previews_failures_and_mutations_are_never_kept() {
    let app = TestApp::new().await;
    app.tag_in(State::Published).await;
    let server = Process::start(app.database.url(), &[]).await;
    kept(&server, TAG_NAMES).await;
    let editor = app.api_token(Role::Editor).await;
    let partner = app.api_token(Role::Partner).await;
    let hits = server.metric(HITS).await;
    let preview = "{ tags(preview: true, first: 100) { nodes { name } } }";
    for _ in 0..3 {
        let answer = server.graphql(&editor, preview, json!({})).await;
        assert!(answer["errors"].is_null(), "{answer}");
        // The same text, published, as an editor: their answers are theirs.
        server.graphql(&editor, TAG_NAMES, json!({})).await;
        // A failed answer, anonymous.
        let failed = server
            .anonymous("{ tags(first: 1000) { nodes { name } } }")
            .await;
        assert!(failed["errors"].is_array(), "{failed}");
        // A refused preview, anonymous.
        let refused = server.anonymous(preview).await;
        assert!(refused["errors"].is_array(), "{refused}");
    }
    assert_eq!(server.metric(HITS).await, hits);
    // A partner's public read is kept, apart from anonymous ones.
    server.graphql(&partner, TAG_NAMES, json!({})).await;
    server.graphql(&partner, TAG_NAMES, json!({})).await;
    assert_eq!(server.metric(HITS).await, hits + 1.0);
}

#[tokio::test]
async fn a_revalidation_is_answered_304_from_memory() {
    let app = TestApp::new().await;
    app.tag_in(State::Published).await;
    let server = Process::start(app.database.url(), &[]).await;
    kept(&server, TAG_NAMES).await;
    let url = format!(
        "{}?query={}",
        server.url("/graphql"),
        url::form_urlencoded::byte_serialize(TAG_NAMES.as_bytes()).collect::<String>()
    );
    let client = reqwest::Client::new();
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    let hits = server.metric(HITS).await;
    let again = client
        .get(&url)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(
        server.metric(HITS).await,
        hits + 1.0,
        "the 304 was not answered from memory"
    );
    let statements = server.metric("beacon_graphql_sql_statements_sum").await;
    client
        .get(&url)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.metric("beacon_graphql_sql_statements_sum").await,
        statements,
        "a kept answer ran SQL"
    );
}

#[tokio::test]
async fn the_cache_can_be_turned_off() {
    let app = TestApp::new().await;
    app.tag_in(State::Published).await;
    let server = Process::start(app.database.url(), &["--response-cache", "off"]).await;
    for _ in 0..5 {
        server.anonymous(TAG_NAMES).await;
    }
    assert_eq!(server.metric(HITS).await, 0.0);
}
