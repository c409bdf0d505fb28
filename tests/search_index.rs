//! The published index (resource index, facets and search answered from
//! memory) against the database it replaces: on the same data the two
//! give the same answers, byte for byte — members, counts, order, scores
//! and cursors, which either may continue — and a publish is seen by the
//! index where it was made at once and on another server within a second.

use std::time::{Duration, Instant};

use beacon::domain::access::Role;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::Process;

const CURRENT: &str = "beacon_search_index_reads_total{outcome=\"current\"}";

/// Synthetic content big enough for every facet and order to matter.
async fn synthetic_app() -> TestApp {
    let app = TestApp::new().await;
    app.seed_synthetic(beacon::seed::synthetic::Sizes {
        resources: 1500,
        topics: 12,
        types: 5,
        tags: 15,
        modules: 12,
        resources_per_module: 20,
    })
    .await;
    app
}

/// A server with the index and one without, on the same database.
async fn indexed_and_plain(app: &TestApp) -> (Process, Process) {
    let flags = ["--response-cache", "off", "--review-required", "false"];
    let indexed = Process::start(app.database.url(), &flags).await;
    let plain = Process::start(
        app.database.url(),
        &[&flags[..], &["--search-index", "false"]].concat(),
    )
    .await;
    wait_for_index(&indexed).await;
    (indexed, plain)
}

async fn wait_for_index(server: &Process) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.metric("beacon_search_index_resources").await == 0.0 {
        assert!(Instant::now() < deadline, "the index was never built");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ask(server: &Process, query: &str, variables: &Value) -> Value {
    let answer = server.anonymous_with(query, variables.clone()).await;
    assert!(answer["errors"].is_null(), "{query}: {answer}");
    answer
}

/// Asks both servers; the index must have answered, and the same. Every
/// mutation moves the server's published generation at once (its client
/// reads its own write next) and a publish moves it again when the
/// notification arrives, each time retiring the picture until it has
/// caught up: meanwhile the database answers, as it should, and the index
/// is asked again.
async fn same_answer(indexed: &Process, plain: &Process, query: &str, variables: Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(from_index) = ask_index(indexed, query, &variables).await {
            return as_the_database_answers(plain, query, &variables, from_index).await;
        }
        assert!(
            Instant::now() < deadline,
            "the index did not answer {query}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What `server` answers, if its index answered it (was current).
async fn ask_index(server: &Process, query: &str, variables: &Value) -> Option<Value> {
    let before = server.metric(CURRENT).await;
    let answer = ask(server, query, variables).await;
    (server.metric(CURRENT).await > before).then_some(answer)
}

/// `from_index`, once the database has given the same answer.
async fn as_the_database_answers(
    plain: &Process,
    query: &str,
    variables: &Value,
    from_index: Value,
) -> Value {
    let from_database = ask(plain, query, variables).await;
    if let Some(difference) = first_difference(&from_index, &from_database, String::new()) {
        panic!("{query} {variables}: {difference}");
    }
    from_index
}

/// Where two answers first differ, to read in a failure.
fn first_difference(index: &Value, database: &Value, at: String) -> Option<String> {
    match (index, database) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|key| {
                first_difference(
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                    format!("{at}.{key}"),
                )
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (a, b))| first_difference(a, b, format!("{at}[{i}]"))),
        _ if index == database => None,
        _ => Some(format!("at {at}: index {index}, database {database}")),
    }
}

/// A first page, the next one and the one before that agree on both;
/// cursors of either continue on either.
async fn pages_agree(indexed: &Process, plain: &Process, query: &str, list: &str, base: Value) {
    let with = |extra: Value| {
        let mut variables = base.clone();
        variables
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        variables
    };
    let first = same_answer(indexed, plain, query, with(json!({ "first": 6 }))).await;
    let page = &first["data"][list]["pageInfo"];
    if page["hasNextPage"] != true {
        return;
    }
    let after = with(json!({ "first": 6, "after": page["endCursor"] }));
    let second = same_answer(indexed, plain, query, after).await;
    let start = &second["data"][list]["pageInfo"]["startCursor"];
    let before = with(json!({ "last": 4, "before": start }));
    same_answer(indexed, plain, query, before).await;
}

const INDEX: &str = "query($filter: ResourceFilter, $order: [ResourceOrder!], $first: Int, \
    $after: String, $last: Int, $before: String) {
  resources(filter: $filter, orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id title year } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    facets {
      topics { topic { slug name } count }
      types { type { slug } count }
      tags { tag { slug } count }
      years { year count }
    }
  }
}";

async fn slugs(server: &Process, list: &str) -> Vec<String> {
    let answer = ask(
        server,
        &format!("{{ {list}(first: 100) {{ nodes {{ slug }} }} }}"),
        &json!({}),
    )
    .await;
    answer["data"][list]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["slug"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_index_answers_lists_facets_and_orders_as_the_database_does() {
    let app = synthetic_app().await;
    let (indexed, plain) = indexed_and_plain(&app).await;
    index_and_database_agree(&indexed, &plain).await;
}

/// Every filter, order and page of the resource index, on both servers.
async fn index_and_database_agree(indexed: &Process, plain: &Process) {
    let topics = slugs(plain, "topics").await;
    let types = slugs(plain, "resourceTypes").await;
    let tags = slugs(plain, "tags").await;
    let filters = [
        json!({}),
        json!({ "topics": [topics[0]], "yearFrom": 2010 }),
        json!({ "topics": [topics[1], topics[2]], "types": [types[0]] }),
        json!({ "tags": [tags[0], tags[3]], "yearTo": 2005 }),
        json!({ "year": 2012 }),
        json!({ "hasYear": false }),
        json!({ "hasYear": true, "yearFrom": 2030 }),
        json!({ "topics": ["no-such-topic"] }),
        json!({ "query": "community" }),
        json!({ "query": "\"community policing\" -trust", "types": [types[1]] }),
        json!({ "query": "policing or youth", "yearFrom": 2000 }),
        json!({ "query": "commun* trust" }),
    ];
    let orders = [
        json!(null),
        json!([{ "field": "YEAR", "direction": "DESC" }]),
        json!([{ "field": "TITLE" }]),
        json!([{ "field": "PUBLISHED_AT", "direction": "DESC" }]),
        json!([{ "field": "YEAR" }, { "field": "TITLE", "direction": "DESC" }]),
        json!([{ "field": "RELEVANCE", "direction": "DESC" }, { "field": "TITLE" }]),
    ];
    for filter in &filters {
        for order in &orders {
            if order.to_string().contains("RELEVANCE") && filter["query"].is_null() {
                continue;
            }
            let variables = json!({ "filter": filter, "order": order });
            pages_agree(indexed, plain, INDEX, "resources", variables).await;
        }
    }
    // Many owners at once: every topic's own page, total and facets.
    same_answer(
        indexed,
        plain,
        "query($filter: ResourceFilter) { topics(first: 20) { nodes { slug
            resources(first: 3, filter: $filter, orderBy: [{field: TITLE, direction: DESC}]) {
              totalCount nodes { id } facets { types { type { slug } count } years { year count } } } } } }",
        json!({ "filter": { "yearFrom": 2000 } }),
    )
    .await;
}

/// Facet lists are written straight into the answer when their selection
/// asks only for what an entry holds, and resolved field by field
/// otherwise. A label's workflow `status` (null for the anonymous) is
/// resolved only the second way, so each shape is asked without and with
/// it, on both servers, and the bytes compared once it is taken out.
/// (`@skip` and `@include` cannot serve: async-graphql removes them before
/// execution.)
#[tokio::test]
async fn facet_lists_written_directly_read_as_resolved_ones() {
    let app = synthetic_app().await;
    let (indexed, plain) = indexed_and_plain(&app).await;
    let tag = &slugs(&plain, "tags").await[2];
    // (selection of a result, fragments); SLOW marks where `status` goes.
    let shapes = [
        (
            "facets { topics { topic { slug SLOW } count } types { type { slug SLOW } count }
               tags { tag { slug SLOW } count } }",
            "",
        ),
        (
            "facets { topics { n: count __typename topic { __typename id name s: slug SLOW } }
               types { kind: type { name id SLOW } } tags { count tag { id SLOW } } }",
            "",
        ),
        (
            "facets { topics { topic { slug } count topic { name slug SLOW } count } }",
            "",
        ),
        (
            "facets { topics { ...Entry }
               tags { ... on TagFacet { tag { ... on Node { id } name SLOW } } } }",
            "fragment Entry on TopicFacet { count topic { ...Label } }
             fragment Label on Topic { slug ... on Node { id } SLOW }",
        ),
        // Shapes only async-graphql resolves: relations.
        (
            "facets { types { type { slug resources(first: 1) { totalCount } SLOW } }
               topics { topic { slug module { slug } SLOW } } }",
            "",
        ),
    ];
    for filter in [json!({}), json!({ "tags": [tag], "yearFrom": 2000 })] {
        for (selection, fragments) in shapes {
            let query = |slow: &str| {
                format!(
                    "query($filter: ResourceFilter) {{ resources(first: 5, filter: $filter) {{ \
                     totalCount {selection} }} }} {fragments}"
                )
                .replace("SLOW", slow)
            };
            for server in [&indexed, &plain] {
                let direct = raw_answer(server, &query(""), &filter).await;
                let resolved = raw_answer(server, &query("zz: status"), &filter).await;
                let resolved = resolved
                    .replace(",\"zz\":null", "")
                    .replace("\"zz\":null", "");
                assert!(direct.contains("\"facets\""), "{direct}");
                assert_eq!(direct, resolved, "{selection} {filter}");
            }
        }
    }
}

#[tokio::test]
async fn resource_lists_written_directly_read_as_resolved_ones() {
    let app = synthetic_app().await;
    let (indexed, plain) = indexed_and_plain(&app).await;
    let publisher = app.api_token(Role::Publisher).await;
    let topic = &slugs(&plain, "topics").await[1];
    // (a resource's selection, fragments); SLOW marks where `status` goes.
    let shapes = [
        ("id title year SLOW", ""),
        (
            "__typename id slug title year url publisher summary publishedAt
             topics { id slug name __typename SLOW } types { name SLOW } tags { slug SLOW }",
            "",
        ),
        (
            "t: title title topics { name } topics { slug SLOW } y: year kinds: types { id }",
            "",
        ),
        (
            "...Item ... on Node { id } ... on Content { id SLOW }",
            "fragment Item on Resource { title tags { ...Label } types { ... on Node { id } } }
             fragment Label on Tag { name ... on Node { id } SLOW }",
        ),
        // Shapes only async-graphql resolves: relations beyond labels.
        ("title modules { slug } SLOW", ""),
        ("slug thumbnail { id } topics { module { slug } SLOW }", ""),
    ];
    // Every list of resources: a page of the root connection, filtered;
    // pages inside a list of topics; a module's resources. PREVIEW marks
    // the root fields that may read drafts.
    let lists = [
        "query($topic: String!) { resources(PREVIEW first: 7, filter: { topics: [$topic] }, \
         orderBy: [{ field: YEAR, direction: DESC }]) { totalCount nodes { RESOURCE } } }",
        "query($topic: String!) { topics(PREVIEW first: 3) { nodes { slug \
         resources(first: 4, filter: { yearFrom: 2000 }) { nodes { RESOURCE } } } } \
         resources(PREVIEW first: 2, filter: { topics: [$topic] }) { nodes { RESOURCE } } }",
        "{ modules(PREVIEW first: 2) { nodes { slug resources { RESOURCE } } } }",
    ];
    let variables = json!({ "topic": topic });
    for list in lists {
        for (selection, fragments) in shapes {
            let query = |slow: &str, preview: &str| {
                format!("{} {fragments}", list.replace("RESOURCE", selection))
                    .replace("SLOW", slow)
                    .replace("PREVIEW", preview)
            };
            for server in [&indexed, &plain] {
                let direct = raw_answer(server, &query("", ""), &variables).await;
                let resolved = raw_answer(server, &query("zz: status", ""), &variables).await;
                let resolved = resolved
                    .replace(",\"zz\":null", "")
                    .replace("\"zz\":null", "");
                assert!(direct.contains("\"nodes\":[{"), "{direct}");
                assert_eq!(direct, resolved, "{selection} in {list}");
            }
            // Drafts, for an editor who may preview: `status` has a value
            // there, so the answers are compared without it.
            let preview = "preview: true,";
            let direct = plain
                .graphql(&publisher, &query("", preview), variables.clone())
                .await;
            let mut resolved = plain
                .graphql(&publisher, &query("zz: status", preview), variables.clone())
                .await;
            assert!(direct["errors"].is_null(), "{direct}");
            drop_key(&mut resolved, "zz");
            assert_eq!(direct, resolved, "{selection} in {list}, drafts");
        }
    }
}

/// `value` without any member named `key`, at any depth.
fn drop_key(value: &mut Value, key: &str) {
    match value {
        Value::Object(members) => {
            members.remove(key);
            members
                .values_mut()
                .for_each(|member| drop_key(member, key));
        }
        Value::Array(items) => items.iter_mut().for_each(|item| drop_key(item, key)),
        _ => {}
    }
}

/// The answer's bytes, as a partner receives them.
async fn raw_answer(server: &Process, query: &str, variables: &Value) -> String {
    let response = reqwest::Client::new()
        .post(server.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{query}");
    let text = response.text().await.unwrap();
    assert!(!text.contains("\"errors\""), "{query}: {text}");
    text
}

const SEARCH: &str = "query($q: String!, $kinds: [SearchKind!], $first: Int, $after: String, \
    $last: Int, $before: String) {
  search(query: $q, kinds: $kinds, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { score snippet node { ... on Resource { id } ... on Module { id } } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

const UPDATED: &str = "beacon_search_index_updates_total{outcome=\"patched\"}";
const BUILT: &str = "beacon_search_index_updates_total{outcome=\"built\"}";

/// Saves `input` over a resource's draft and publishes it.
async fn edit_and_publish(server: &Process, token: &str, id: &str, input: Value) {
    let saved = server
        .graphql(
            token,
            "mutation($id: ID!, $input: ResourceInput!) {
                updateResource(id: $id, expectedVersion: 1, input: $input) { version } }",
            json!({ "id": id, "input": input }),
        )
        .await;
    let version = &saved["data"]["updateResource"]["version"];
    assert!(version.is_i64(), "{saved}");
    publish(server, token, "publish", id, version).await;
}

async fn publish(server: &Process, token: &str, action: &str, id: &str, version: &Value) {
    let done = server
        .graphql(
            token,
            &format!(
                "mutation($id: ID!, $v: Int!) {{ {action}(id: $id, expectedVersion: $v) {{ version }} }}"
            ),
            json!({ "id": id, "v": version }),
        )
        .await;
    assert!(done["errors"].is_null(), "{done}");
}

#[tokio::test]
async fn a_patched_index_answers_as_the_database_does() {
    let app = synthetic_app().await;
    let (indexed, plain) = indexed_and_plain(&app).await;
    let publisher = app.api_token(Role::Publisher).await;
    let listed = ask(
        &plain,
        "{ resources(first: 6, orderBy: [{field: TITLE}]) { nodes { id title } } }",
        &json!({}),
    )
    .await;
    let nodes = listed["data"]["resources"]["nodes"].as_array().unwrap();
    let id = |i: usize| nodes[i]["id"].as_str().unwrap();
    let topics = slugs(&plain, "topics").await;
    let types = slugs(&plain, "resourceTypes").await;
    assert_eq!(indexed.metric(BUILT).await, 1.0);
    // The first picture keeps these rows: the next one must not show them.
    let first_by_title = "{ resources(first: 10, orderBy: [{field: TITLE}]) {
        nodes { id title year summary topics { slug } types { slug } tags { slug } } } }";
    same_answer(&indexed, &plain, first_by_title, json!({})).await;

    // Changes of every kind a patch meets: a title no resource had (placed
    // among the others by the database's collation), another resource's
    // title (two share it), new labels and years, one taken away and one
    // published for the first time; the words of titles come and go.
    let quiet = indexed.metric(UPDATED).await;
    edit_and_publish(
        &indexed,
        &publisher,
        id(0),
        json!({ "title": "aardvark Patrols at dawn", "year": 1990, "topics": [topics[3]] }),
    )
    .await;
    edit_and_publish(
        &indexed,
        &publisher,
        id(1),
        json!({ "title": nodes[5]["title"], "types": [types[2]], "tags": [] }),
    )
    .await;
    edit_and_publish(
        &indexed,
        &publisher,
        id(2),
        json!({ "title": "Zebra crossings and community policing", "year": 2031 }),
    )
    .await;
    publish(&indexed, &publisher, "unpublish", id(3), &json!(1)).await;
    let created = indexed
        .graphql(
            &publisher,
            "mutation($input: ResourceInput!) { createResource(input: $input) { id version } }",
            json!({ "input": {
                "title": "Xenial community policing: a field guide",
                "types": [types[0]], "topics": [topics[0], topics[1]], "year": 2012,
                "summary": "Trust and youth programmes",
            } }),
        )
        .await;
    let new = &created["data"]["createResource"];
    publish(
        &indexed,
        &publisher,
        "publish",
        new["id"].as_str().unwrap(),
        &new["version"],
    )
    .await;

    let deadline = Instant::now() + Duration::from_secs(10);
    while found_by_index(&indexed, "xenial").await != (1, 1) {
        assert!(Instant::now() < deadline, "the patch never showed");
    }
    assert!(indexed.metric(UPDATED).await > quiet, "not patched");
    assert_eq!(indexed.metric(BUILT).await, 1.0, "built again, not patched");
    assert_eq!(found_by_index(&indexed, "aardvark").await, (1, 1));
    let answer = same_answer(&indexed, &plain, first_by_title, json!({})).await;
    let retyped = answer["data"]["resources"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["id"] == id(1))
        .expect("the retitled resource among the first");
    assert_eq!(retyped["types"], json!([{ "slug": types[2] }]));
    index_and_database_agree(&indexed, &plain).await;
    for text in [
        "zebra",
        "community policing",
        "aardvark* or dawn",
        "xenial -youth",
    ] {
        for kinds in [json!(null), json!(["RESOURCE"])] {
            let variables = json!({ "q": text, "kinds": kinds });
            pages_agree(&indexed, &plain, SEARCH, "search", variables).await;
        }
    }
    // A new title's words are suggestions at once.
    let answer = ask(
        &indexed,
        "query($q: String!) { search(query: $q, correct: false) { suggestion } }",
        &json!({ "q": "aardvak" }),
    )
    .await;
    assert_eq!(answer["data"]["search"]["suggestion"], "aardvark");

    // Snippets are kept for repeated searches, with the picture: the next
    // picture shows a changed summary in the same search's snippet.
    assert!(first_snippet(&indexed, "xenial").await.contains("youth"));
    edit_and_publish(
        &indexed,
        &publisher,
        new["id"].as_str().unwrap(),
        json!({ "summary": "Dawn patrols with neighbours" }),
    )
    .await;
    // Once the picture holds the new summary, its snippet shows it too.
    let deadline = Instant::now() + Duration::from_secs(10);
    while found_by_index(&indexed, "neighbours").await != (1, 1) {
        assert!(Instant::now() < deadline, "the patch never showed");
    }
    let shown = first_snippet(&indexed, "xenial").await;
    assert!(
        shown.contains("Dawn patrols"),
        "a kept snippet outlived its picture: {shown}"
    );
    assert_eq!(shown, first_snippet(&plain, "xenial").await);
}

#[tokio::test]
async fn a_renamed_label_rebuilds_the_index_rather_than_patching_it() {
    let app = synthetic_app().await;
    let (indexed, plain) = indexed_and_plain(&app).await;
    let publisher = app.api_token(Role::Publisher).await;
    let tag = ask(
        &plain,
        "{ tags(first: 1) { nodes { id slug } } }",
        &json!({}),
    )
    .await;
    let id = tag["data"]["tags"]["nodes"][0]["id"].as_str().unwrap();
    // Pages name their labels from the picture: the next one must name
    // the tag anew.
    let tagged = "query($tag: String!) { resources(first: 5, filter: {tags: [$tag]}) {
        nodes { slug tags { id slug name } } } }";
    let variables = json!({ "tag": tag["data"]["tags"]["nodes"][0]["slug"] });
    same_answer(&indexed, &plain, tagged, variables.clone()).await;
    // A tag's name is in no search text: no resource row changes, only
    // the label, which only the labels' comparison notices.
    let saved = indexed
        .graphql(
            &publisher,
            "mutation($id: ID!) { updateTag(id: $id, expectedVersion: 1,
                input: {name: \"Aardvark husbandry\"}) { version } }",
            json!({ "id": id }),
        )
        .await;
    let version = &saved["data"]["updateTag"]["version"];
    assert!(version.is_i64(), "{saved}");
    // The draft save moved the generation too (see `same_answer`); the
    // picture has caught up with it, by a patch, before builds are counted.
    same_answer(&indexed, &plain, tagged, variables.clone()).await;
    let built = indexed.metric(BUILT).await;
    publish(&indexed, &publisher, "publish", id, version).await;

    let facets = "{ resources(first: 1) { facets { tags { tag { name } count } } } }";
    let answer = same_answer(&indexed, &plain, facets, json!({})).await;
    assert!(
        answer.to_string().contains("Aardvark husbandry"),
        "{answer}"
    );
    let answer = same_answer(&indexed, &plain, tagged, variables).await;
    assert!(
        answer.to_string().contains("Aardvark husbandry"),
        "{answer}"
    );
    // A patch keeps the labels it started from: only a build can name
    // the tag anew, so the picture that answered was built.
    assert!(
        indexed.metric(BUILT).await > built,
        "the new name was patched in"
    );
}

#[tokio::test]
async fn search_from_the_index_ranks_and_counts_as_postgresql_does() {
    let app = synthetic_app().await;
    app.seed(&[crate::support::repo_path("seeds")])
        .await
        .unwrap();
    let (indexed, plain) = indexed_and_plain(&app).await;
    let texts = [
        "community",
        "community policing",
        "Community Trust and Partnerships",
        "\"community policing\"",
        "\"trust and partnerships\" -youth",
        "police or officers",
        "youth -community",
        "the",
        "zzzyx",
        "officer-involved",
        // As a search box sends them while its user types: the last word
        // (or any) a prefix of the words it finds.
        "commun*",
        "community polic*",
        "\"community policing\" yo*",
        "co*",
        // One letter is a word, not a prefix of most of the corpus.
        "p*",
        "the*",
    ];
    for text in texts {
        for kinds in [json!(null), json!(["MODULE"]), json!(["RESOURCE"])] {
            let variables = json!({ "q": text, "kinds": kinds });
            pages_agree(&indexed, &plain, SEARCH, "search", variables).await;
        }
    }
    // Broad words rank thousands of hits; the best are the same.
    let broad = same_answer(
        &indexed,
        &plain,
        SEARCH,
        json!({ "q": "community", "first": 3 }),
    )
    .await;
    assert!(broad["data"]["search"]["totalCount"].as_i64().unwrap() > 20);
}

/// What `server` finds once its index (caught up with the latest change)
/// answers, not the database in its stead.
async fn first_snippet(server: &Process, text: &str) -> String {
    let answer = ask(
        server,
        "query($q: String!) { search(query: $q) { nodes { snippet } } }",
        &json!({ "q": text }),
    )
    .await;
    answer["data"]["search"]["nodes"][0]["snippet"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn found_by_index(server: &Process, text: &str) -> (i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let before = server.metric(CURRENT).await;
        let answer = found(server, text).await;
        if server.metric(CURRENT).await > before {
            return answer;
        }
        assert!(Instant::now() < deadline, "the index never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const FIND: &str = "query($q: String!) { search(query: $q) { totalCount } \
    resources(filter: { query: $q }) { totalCount } }";

async fn found(server: &Process, text: &str) -> (i64, i64) {
    let answer = ask(server, FIND, &json!({ "q": text })).await;
    (
        answer["data"]["search"]["totalCount"].as_i64().unwrap(),
        answer["data"]["resources"]["totalCount"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_publish_is_found_at_once_where_it_was_made_and_within_a_second_elsewhere() {
    let app = TestApp::seeded().await;
    let flags = ["--review-required", "false", "--response-cache", "off"];
    let here = Process::start(app.database.url(), &flags).await;
    let elsewhere = Process::start(app.database.url(), &flags).await;
    wait_for_index(&here).await;
    wait_for_index(&elsewhere).await;
    let publisher = app.api_token(Role::Publisher).await;
    assert_eq!(found(&here, "xylophone").await, (0, 0));
    let resource = ask(
        &here,
        r#"{ resource(slug: "how-to-successfully-implement-a-mobile-crisis-team") { id } }"#,
        &json!({}),
    )
    .await;
    let id = resource["data"]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let saved = here
        .graphql(
            &publisher,
            "mutation($id: ID!) { updateResource(id: $id, expectedVersion: 1, input: {title: \"The xylophone guide\", types: [\"guidebook-tool\"]}) { version } }",
            json!({ "id": id }),
        )
        .await;
    let version = saved["data"]["updateResource"]["version"]
        .as_i64()
        .unwrap_or_else(|| panic!("{saved}"));
    // A draft is not public: neither index finds it.
    assert_eq!(found(&here, "xylophone").await, (0, 0));
    assert_eq!(found(&elsewhere, "xylophone").await, (0, 0));

    let published = here
        .graphql(
            &publisher,
            "mutation($id: ID!, $v: Int!) { publish(id: $id, expectedVersion: $v) { version } }",
            json!({ "id": id, "v": version }),
        )
        .await;
    assert!(published["errors"].is_null(), "{published}");
    let version = published["data"]["publish"]["version"].as_i64().unwrap();
    assert_eq!(
        found(&here, "xylophone").await,
        (1, 1),
        "not found where published"
    );
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        if found(&elsewhere, "xylophone").await == (1, 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not found elsewhere within a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And the caught-up index, not only the database, finds it.
    assert_eq!(found_by_index(&elsewhere, "xylophone").await, (1, 1));

    // Unpublished: gone at once, from the index too.
    let unpublished = here
        .graphql(
            &publisher,
            "mutation($id: ID!, $v: Int!) { unpublish(id: $id, expectedVersion: $v) { version } }",
            json!({ "id": id, "v": version }),
        )
        .await;
    assert!(unpublished["errors"].is_null(), "{unpublished}");
    assert_eq!(found(&here, "xylophone").await, (0, 0));
    assert_eq!(found_by_index(&here, "xylophone").await, (0, 0));
    assert_eq!(found_by_index(&elsewhere, "xylophone").await, (0, 0));
}

#[derive(serde::Deserialize)]
struct Judged {
    judged: Vec<Judgement>,
}

#[derive(serde::Deserialize)]
struct Judgement {
    query: String,
    want: String,
}

const TOP_TEN: &str = "query($q: String!) { search(query: $q, first: 10) { nodes { node {
    ... on Resource { slug } ... on Module { slug } } } } }";

/// Mean reciprocal rank of the wanted result in the top ten, and how many
/// judged searches found it first.
async fn relevance(server: &Process, judged: &[Judgement]) -> (f64, usize) {
    let mut sum = 0.0;
    let mut first = 0;
    for judgement in judged {
        let answer = ask(server, TOP_TEN, &json!({ "q": judgement.query })).await;
        let place = answer["data"]["search"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .position(|hit| hit["node"]["slug"] == judgement.want.as_str());
        if let Some(place) = place {
            sum += 1.0 / (place + 1) as f64;
            first += usize::from(place == 0);
        }
    }
    (sum / judged.len() as f64, first)
}

#[tokio::test]
async fn judged_searches_find_what_was_asked_for() {
    let app = synthetic_app().await;
    app.seed(&[crate::support::repo_path("seeds")])
        .await
        .unwrap();
    let (indexed, plain) = indexed_and_plain(&app).await;
    let judged: Judged = toml::from_str(
        &std::fs::read_to_string(crate::support::repo_path("tests/fixtures/relevance.toml"))
            .unwrap(),
    )
    .unwrap();
    let from_index = relevance(&indexed, &judged.judged).await;
    let from_database = relevance(&plain, &judged.judged).await;
    println!(
        "relevance: MRR@10 {:.3}, first {}/{} (the database: {:.3}, {}/{})",
        from_index.0,
        from_index.1,
        judged.judged.len(),
        from_database.0,
        from_database.1,
        judged.judged.len()
    );
    assert_eq!(from_index, from_database, "the index ranks differently");
    assert!(from_index.0 >= 0.9, "relevance fell: {from_index:?}");
}

const SUGGEST: &str =
    "query($q: String!) { search(query: $q, correct: false) { totalCount suggestion } }";

/// What `server` suggests for `text`, once its index answers.
async fn suggestion(server: &Process, text: &str) -> (i64, Value) {
    let answer = ask(server, SUGGEST, &json!({ "q": text })).await;
    let search = &answer["data"]["search"];
    (
        search["totalCount"].as_i64().unwrap(),
        search["suggestion"].clone(),
    )
}

/// A search that finds nothing because of a typo gets a "did you mean"
/// made of published words only: a word that only a draft holds is never
/// suggested (nor revealed), and a search that finds something gets none.
#[tokio::test]
async fn a_misspelt_search_suggests_the_published_words_it_meant() {
    let app = TestApp::seeded().await;
    let (indexed, _plain) = indexed_and_plain(&app).await;
    assert_eq!(
        suggestion(&indexed, "mobil crsis").await,
        (0, json!("mobile crisis"))
    );
    assert_eq!(
        suggestion(&indexed, "\"comunity trust\"").await,
        (0, json!("\"community trust\""))
    );
    assert_eq!(suggestion(&indexed, "mobile crisis").await.1, Value::Null);
    assert_eq!(suggestion(&indexed, "zzzyxq").await, (0, Value::Null));

    // A draft's title is no source of suggestions.
    let editor = app.api_token(Role::Editor).await;
    let created = indexed
        .graphql(
            &editor,
            "mutation { createResource(input: {title: \"Xylophonics for Officers\", types: [\"guidebook-tool\"]}) { id } }",
            json!({}),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    // Asked of the index once it answers again (any change retires the
    // picture until it has caught up).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let before = indexed.metric(CURRENT).await;
        let answer = suggestion(&indexed, "xylophonicss").await;
        if indexed.metric(CURRENT).await > before {
            assert_eq!(answer, (0, Value::Null));
            break;
        }
        assert!(Instant::now() < deadline, "the index never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        suggestion(&indexed, "mobil crsis").await.1,
        json!("mobile crisis")
    );
}

const CORRECTED: &str =
    "query($q: String!, $first: Int, $after: String, $correct: Boolean! = true) {
  search(query: $q, first: $first, after: $after, correct: $correct) {
    totalCount searchedFor suggestion
    pageInfo { endCursor hasNextPage }
    nodes { snippet node { ... on Resource { slug } ... on Module { slug } } }
  }
}";

/// A search that finds nothing because of a typo is answered for the
/// nearest published spelling, hits, totals, snippets and pages alike, and
/// says so; one that finds anything as typed is left alone; `correct:
/// false` keeps the words as sent.
#[tokio::test]
async fn a_search_that_finds_nothing_for_a_typo_is_answered_for_its_correction() {
    let app = TestApp::seeded().await;
    let (indexed, plain) = indexed_and_plain(&app).await;
    let search = |server, q: &str, variables: Value| {
        let mut variables = variables;
        variables["q"] = json!(q);
        async move { ask(server, CORRECTED, &variables).await["data"]["search"].clone() }
    };

    let meant = search(&indexed, "community trust", json!({ "first": 2 })).await;
    assert!(meant["totalCount"].as_i64().unwrap() > 2, "{meant}");
    let corrected = search(&indexed, "comunity trusst", json!({ "first": 2 })).await;
    assert_eq!(corrected["searchedFor"], json!("community trust"));
    assert_eq!(corrected["suggestion"], json!("community trust"));
    assert_eq!(corrected["totalCount"], meant["totalCount"]);
    assert_eq!(corrected["nodes"], meant["nodes"], "hits and snippets");
    assert!(
        corrected["nodes"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>"),
        "{corrected}"
    );
    // The next page follows the correction too.
    let after = json!({ "first": 2, "after": corrected["pageInfo"]["endCursor"] });
    assert_eq!(
        search(&indexed, "comunity trusst", after.clone()).await["nodes"],
        search(&indexed, "community trust", after).await["nodes"]
    );

    // Words that find something as typed are what is searched.
    let exact = search(&indexed, "community trust", json!({})).await;
    assert_eq!(exact["searchedFor"], json!("community trust"));
    assert_eq!(exact["suggestion"], Value::Null);

    // Asked not to correct: nothing, and the suggestion for a link.
    let literal = search(&indexed, "comunity trusst", json!({ "correct": false })).await;
    assert_eq!(literal["totalCount"], json!(0));
    assert_eq!(literal["searchedFor"], json!("comunity trusst"));
    assert_eq!(literal["suggestion"], json!("community trust"));
    assert_eq!(literal["nodes"], json!([]));

    // Nonsense stays nonsense.
    let nonsense = search(&indexed, "zzzyxq", json!({})).await;
    assert_eq!(
        (
            nonsense["totalCount"].clone(),
            nonsense["searchedFor"].clone()
        ),
        (json!(0), json!("zzzyxq"))
    );

    // Without the index (the database answers), words are searched as sent.
    let unindexed = search(&plain, "comunity trusst", json!({})).await;
    assert_eq!(unindexed["searchedFor"], json!("comunity trusst"));
    assert_eq!(unindexed["totalCount"], json!(0));
}
