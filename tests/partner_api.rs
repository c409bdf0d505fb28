//! The delivery API partners query: filters, facets, ordering, cursor
//! pagination, search, global ids, relations, and statement counts.

use serde_json::{Value, json};

use crate::support::{TestApp, repo_path};

fn slugs(nodes: &Value) -> Vec<String> {
    nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["slug"].as_str().unwrap().to_string())
        .collect()
}

/// Every slug of a resource listing, read `size` at a time with `after`.
async fn walk(app: &TestApp, variables: Value, size: i64) -> Vec<String> {
    let mut walked = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut page_variables = variables.clone();
        page_variables["first"] = json!(size);
        page_variables["after"] = after.clone();
        let data = app.query(INDEX, page_variables).await;
        let page = &data["resources"];
        walked.extend(slugs(&page["nodes"]));
        assert_eq!(page["pageInfo"]["hasPreviousPage"], !after.is_null());
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return walked;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

fn facet_counts(facets: &Value, key: &str) -> Vec<(String, i64)> {
    facets
        .as_array()
        .unwrap()
        .iter()
        .map(|facet| {
            let label = match &facet[key] {
                Value::Object(object) => object["slug"].as_str().unwrap().to_string(),
                other => other.to_string(),
            };
            (label, facet["count"].as_i64().unwrap())
        })
        .collect()
}

const INDEX: &str = r#"query ($filter: ResourceFilter, $first: Int, $after: String, $last: Int, $before: String, $orderBy: [ResourceOrder!]) {
  resources(filter: $filter, first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    totalCount
    nodes { slug title year types { slug } topics { slug } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    facets {
      topics { topic { slug } count }
      types { type { slug } count }
      years { year count }
      tags { tag { slug } count }
    }
  }
}"#;

#[tokio::test]
async fn filters_by_topic_type_year_and_unknown_slugs() {
    let app = TestApp::seeded().await;
    let by_topic = app
        .query(INDEX, json!({"filter": {"topics": ["use-of-force"]}}))
        .await;
    let nodes = &by_topic["resources"]["nodes"];
    assert_eq!(by_topic["resources"]["totalCount"], 1);
    assert_eq!(nodes[0]["types"], json!([{"slug": "report"}]));

    let by_type = app
        .query(INDEX, json!({"filter": {"types": ["video"]}}))
        .await;
    assert_eq!(by_type["resources"]["totalCount"], 1);
    assert!(
        by_type["resources"]["nodes"][0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Transforming Dispatch")
    );

    // Values inside a list match any; fields must all match.
    let any = app
        .query(INDEX, json!({"filter": {"types": ["video", "report"]}}))
        .await;
    assert_eq!(any["resources"]["totalCount"], 2);
    let all = app
        .query(
            INDEX,
            json!({"filter": {"types": ["video", "report"], "topics": ["use-of-force"]}}),
        )
        .await;
    assert_eq!(all["resources"]["totalCount"], 1);

    let years = app
        .query(INDEX, json!({"filter": {"yearFrom": 2022}}))
        .await;
    assert_eq!(years["resources"]["totalCount"], 0);
    let years = app
        .query(INDEX, json!({"filter": {"year": 2021, "hasYear": true}}))
        .await;
    assert_eq!(years["resources"]["totalCount"], 8);
    let no_year = app
        .query(INDEX, json!({"filter": {"hasYear": false}}))
        .await;
    assert_eq!(no_year["resources"]["totalCount"], 0);

    let unknown = app
        .query(INDEX, json!({"filter": {"topics": ["no-such-topic"]}}))
        .await;
    assert_eq!(unknown["resources"]["totalCount"], 0);
    assert_eq!(unknown["resources"]["nodes"], json!([]));

    // Strings that look like SQL are only ever data.
    let injected = app
        .query(
            INDEX,
            json!({"filter": {"topics": ["x' OR '1'='1"], "query": "'); DROP TABLE resources; --"}}),
        )
        .await;
    assert_eq!(injected["resources"]["totalCount"], 0);
    assert_eq!(
        app.query(INDEX, json!({})).await["resources"]["totalCount"],
        8
    );
}

#[tokio::test]
async fn facets_are_disjunctive() {
    let app = TestApp::seeded().await;
    let all = app.query(INDEX, json!({})).await;
    let facets = &all["resources"]["facets"];
    let topics = facet_counts(&facets["topics"], "topic");
    assert_eq!(topics[0], ("community-trust-and-partnerships".into(), 8));
    assert_eq!(topics[1], ("mental-health-and-crisis-response".into(), 7));
    assert_eq!(topics.len(), 5);
    assert_eq!(
        facet_counts(&facets["types"], "type"),
        [
            ("guidebook-tool".to_string(), 4),
            ("research-brief".to_string(), 2),
            ("report".to_string(), 1),
            ("video".to_string(), 1)
        ]
    );
    assert_eq!(
        facet_counts(&facets["years"], "year"),
        [("2021".to_string(), 8)]
    );
    assert_eq!(facets["tags"], json!([]));

    // Choosing a type: the type facet still shows every type (its own
    // selection is ignored), the topic facet counts only that type.
    let chosen = app
        .query(INDEX, json!({"filter": {"types": ["video"]}}))
        .await;
    let facets = &chosen["resources"]["facets"];
    assert_eq!(facet_counts(&facets["types"], "type").len(), 4);
    assert_eq!(
        facet_counts(&facets["topics"], "topic"),
        [
            ("community-trust-and-partnerships".to_string(), 1),
            ("mental-health-and-crisis-response".to_string(), 1)
        ]
    );
}

#[tokio::test]
async fn cursors_walk_forward_and_backward_without_repeats() {
    let app = TestApp::seeded().await;
    let forward = walk(&app, json!({}), 3).await;
    assert_eq!(forward.len(), 8);
    let mut sorted = forward.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 8);

    let mut backward = Vec::new();
    let mut before = Value::Null;
    loop {
        let data = app.query(INDEX, json!({"last": 3, "before": before})).await;
        let page = &data["resources"];
        let mut nodes = slugs(&page["nodes"]);
        nodes.extend(backward);
        backward = nodes;
        if !page["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
            break;
        }
        before = page["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(backward, forward, "the same order, read from either end");
}

#[tokio::test]
async fn cursors_are_stable_when_resources_are_added() {
    let app = TestApp::seeded().await;
    let first = app.query(INDEX, json!({"first": 4})).await;
    let cursor = first["resources"]["pageInfo"]["endCursor"].clone();
    let expected_next =
        slugs(&app.query(INDEX, json!({"first": 4, "after": cursor})).await["resources"]["nodes"]);
    // A resource that sorts first by title arrives between two page reads.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.json");
    std::fs::write(
        &file,
        json!({"resources": [{"title": "AAA First Of All", "types": ["Report"], "year": 2024}]})
            .to_string(),
    )
    .unwrap();
    app.seed(&[file]).await.unwrap();
    let next =
        slugs(&app.query(INDEX, json!({"first": 4, "after": cursor})).await["resources"]["nodes"]);
    assert_eq!(next, expected_next);
}

#[tokio::test]
async fn ordering_by_year_and_published_at_with_a_stable_tie_breaker() {
    let app = TestApp::seeded().await;
    app.seed(&[repo_path("tests/pages/use-of-force.txt")])
        .await
        .unwrap();
    let data = app
        .query(
            INDEX,
            json!({"first": 100, "orderBy": [{"field": "YEAR", "direction": "DESC"}]}),
        )
        .await;
    let years: Vec<Value> = data["resources"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["year"].clone())
        .collect();
    assert_eq!(years[0], 2022);
    assert_eq!(
        years.last().unwrap(),
        &Value::Null,
        "no year sorts as oldest"
    );

    // Walking a few at a time gives the same sequence as one page, in one
    // direction (a row comparison) and in mixed directions.
    for (order, size) in [
        (json!([{"field": "YEAR"}]), 3),
        (
            json!([{"field": "YEAR", "direction": "DESC"}, {"field": "TITLE"}]),
            5,
        ),
    ] {
        let whole = slugs(
            &app.query(INDEX, json!({"first": 100, "orderBy": order}))
                .await["resources"]["nodes"],
        );
        assert_eq!(whole.len(), 12);
        assert_eq!(walk(&app, json!({"orderBy": order}), size).await, whole);
    }

    let published = app
        .query(INDEX, json!({"first": 100, "orderBy": [{"field": "PUBLISHED_AT", "direction": "DESC"}, {"field": "TITLE"}]}))
        .await;
    assert_eq!(
        published["resources"]["nodes"].as_array().unwrap().len(),
        12
    );
}

#[tokio::test]
async fn bad_connection_arguments_are_typed_errors() {
    let app = TestApp::seeded().await;
    for (variables, fragment) in [
        (json!({"first": 101}), "between 0 and 100"),
        (json!({"last": -1}), "between 0 and 100"),
        (json!({"first": 2, "last": 2}), "not both"),
        (json!({"after": "not-a-cursor"}), "not a cursor"),
        (
            json!({"orderBy": [{"field": "RELEVANCE"}]}),
            "needs `filter.query`",
        ),
        (json!({"after": "x", "before": "y"}), "not both"),
    ] {
        let error = app.query_error(INDEX, variables.clone()).await;
        assert_eq!(
            error["extensions"]["code"], "BAD_USER_INPUT",
            "{variables}: {error}"
        );
        assert!(
            error["message"].as_str().unwrap().contains(fragment),
            "{variables}: {error}"
        );
    }
    let by_title = app.query(INDEX, json!({"first": 2})).await;
    let cursor = by_title["resources"]["pageInfo"]["endCursor"].clone();
    let error = app
        .query_error(
            INDEX,
            json!({"after": cursor, "orderBy": [{"field": "YEAR"}]}),
        )
        .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("different `orderBy`"),
        "{error}"
    );
}

#[tokio::test]
async fn search_ranks_title_matches_first_and_highlights_them() {
    let app = TestApp::seeded().await;
    let data = app
        .query(
            r#"{ search(query: "crisis") {
                totalCount
                nodes { score snippet node { __typename ... on Resource { title } ... on Module { title } } }
                pageInfo { hasNextPage endCursor }
            } }"#,
            json!({}),
        )
        .await;
    let search = &data["search"];
    let hits = search["nodes"].as_array().unwrap();
    assert!(search["totalCount"].as_i64().unwrap() >= 6, "{search}");
    let titles: Vec<&str> = hits
        .iter()
        .map(|hit| hit["node"]["title"].as_str().unwrap())
        .collect();
    let first_without = titles
        .iter()
        .position(|title| !title.to_lowercase().contains("crisis"))
        .unwrap_or(titles.len());
    assert!(first_without >= 4, "crisis-titled first: {titles:?}");
    assert!(
        titles[..first_without]
            .iter()
            .all(|t| t.to_lowercase().contains("crisis"))
    );
    for hit in &hits[..first_without] {
        assert!(
            hit["snippet"]
                .as_str()
                .unwrap()
                .contains("<mark>Crisis</mark>"),
            "{hit}"
        );
    }
    let scores: Vec<f64> = hits
        .iter()
        .map(|hit| hit["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|pair| pair[0] >= pair[1]),
        "{scores:?}"
    );

    // Paging through search hits: no repeats, and the kinds filter works.
    let page = app
        .query(
            r#"query ($after: String) { search(query: "crisis", first: 2, after: $after, kinds: [RESOURCE]) {
                nodes { node { ... on Resource { slug } } } pageInfo { hasNextPage endCursor } } }"#,
            json!({}),
        )
        .await;
    let cursor = page["search"]["pageInfo"]["endCursor"].clone();
    let next = app
        .query(
            r#"query ($after: String) { search(query: "crisis", first: 2, after: $after, kinds: [RESOURCE]) {
                nodes { node { ... on Resource { slug } } } } }"#,
            json!({"after": cursor}),
        )
        .await;
    let first_page: Vec<&Value> = page["search"]["nodes"].as_array().unwrap().iter().collect();
    for hit in next["search"]["nodes"].as_array().unwrap() {
        assert!(!first_page.contains(&hit));
    }

    let long = "crisis ".repeat(100);
    let error = app
        .query_error(
            "query ($q: String!) { search(query: $q) { totalCount } }",
            json!({"q": long}),
        )
        .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("500 characters"),
        "{error}"
    );
    let error = app
        .query_error(r#"{ search(query: "   ") { totalCount } }"#, json!({}))
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    let none = app
        .query(
            r#"{ search(query: "zebra") { totalCount nodes { snippet } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(none["search"], json!({"totalCount": 0, "nodes": []}));
}

/// `search` pages both ways like `resources`: walking back from the end
/// with `last`/`before` meets the same hits, in the same order, as walking
/// forward with `first`/`after`.
#[tokio::test]
async fn search_pages_backwards_through_the_same_hits() {
    let app = TestApp::seeded().await;
    let walk = |forward: bool| {
        let app = &app;
        async move {
            let query = if forward {
                r#"query ($at: String) { search(query: "community or crisis or police or force or health or trust", first: 3, after: $at) {
                    edges { node { node { __typename ... on Resource { slug } ... on Module { slug } } } }
                    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"#
            } else {
                r#"query ($at: String) { search(query: "community or crisis or police or force or health or trust", last: 3, before: $at) {
                    edges { node { node { __typename ... on Resource { slug } ... on Module { slug } } } }
                    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"#
            };
            let mut pages: Vec<Vec<Value>> = Vec::new();
            let mut at = Value::Null;
            loop {
                let data = app.query(query, json!({ "at": at })).await;
                let search = &data["search"];
                let hits: Vec<Value> = search["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|edge| edge["node"]["node"].clone())
                    .collect();
                let info = &search["pageInfo"];
                // Away from where the walk started there is always more.
                let (onward, behind) = if forward {
                    (&info["hasNextPage"], &info["hasPreviousPage"])
                } else {
                    (&info["hasPreviousPage"], &info["hasNextPage"])
                };
                assert_eq!(*behind, !at.is_null(), "{info}");
                pages.push(hits);
                if *onward == false {
                    break;
                }
                at = if forward {
                    info["endCursor"].clone()
                } else {
                    info["startCursor"].clone()
                };
            }
            if !forward {
                pages.reverse();
            }
            pages.concat()
        }
    };
    let forward = walk(true).await;
    let total = app
        .query(r#"{ search(query: "community or crisis or police or force or health or trust") { totalCount } }"#, json!({}))
        .await["search"]["totalCount"]
        .as_u64()
        .unwrap();
    assert!(total > 6, "enough hits for several pages: {total}");
    assert_eq!(forward.len() as u64, total);
    assert_eq!(walk(false).await, forward);

    for query in [
        r#"{ search(query: "community or crisis or police or force or health or trust", first: 2, last: 2) { totalCount } }"#,
        r#"{ search(query: "community or crisis or police or force or health or trust", last: 101) { totalCount } }"#,
        r#"{ search(query: "community or crisis or police or force or health or trust", before: "bm90IGEgY3Vyc29y") { totalCount } }"#,
    ] {
        let error = app.query_error(query, json!({})).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{query}");
    }
}

#[tokio::test]
async fn every_global_id_round_trips_through_node() {
    let app = TestApp::seeded().await;
    let data = app
        .query(
            "{ modules { nodes { id } } topics { nodes { id } } resourceTypes { nodes { id } } tags { nodes { id } } resources(first: 100) { nodes { id } } }",
            json!({}),
        )
        .await;
    let mut ids: Vec<String> = Vec::new();
    for list in [
        &data["modules"]["nodes"],
        &data["topics"]["nodes"],
        &data["resourceTypes"]["nodes"],
        &data["tags"]["nodes"],
        &data["resources"]["nodes"],
    ] {
        ids.extend(
            list.as_array()
                .unwrap()
                .iter()
                .map(|item| item["id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(ids.len(), 1 + 5 + 4 + 8);
    for id in &ids {
        let node = app
            .query(
                "query ($id: ID!) { node(id: $id) { id __typename } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(node["node"]["id"], id.as_str());
    }
    let mut asked = ids.clone();
    asked.insert(3, "garbage".into());
    let nodes = app
        .query(
            "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({"ids": asked}),
        )
        .await;
    let returned = nodes["nodes"].as_array().unwrap();
    assert_eq!(returned.len(), asked.len());
    assert_eq!(returned[3], Value::Null);
    assert_eq!(returned[4]["id"], asked[4].as_str());
    let too_many: Vec<&str> = std::iter::repeat_n("x", 101).collect();
    let error = app
        .query_error(
            "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({"ids": too_many}),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    for arguments in [r#"(id: "x", slug: "y")"#, ""] {
        let error = app
            .query_error(&format!("{{ resource{arguments} {{ slug }} }}"), json!({}))
            .await;
        assert!(
            error["message"].as_str().unwrap().contains("exactly one"),
            "{error}"
        );
    }
    // A well-formed id of a type that does not match is not found either.
    let resource = app
        .query(
            "query ($id: ID!) { resource(id: $id) { slug } }",
            json!({"id": ids[0]}),
        )
        .await;
    assert_eq!(resource["resource"], Value::Null);
}

#[tokio::test]
async fn relations_work_in_both_directions() {
    let app = TestApp::seeded().await;
    let data = app
        .query(
            r#"{
              topic(slug: "use-of-force") {
                module { slug }
                resources(first: 5) { totalCount nodes { slug modules { slug } } }
              }
              community: topic(slug: "community-trust-and-partnerships") { module { slug } resources { totalCount } }
              resourceTypes { nodes { slug resources(first: 1) { totalCount } } }
              resource(slug: "how-to-successfully-implement-a-mobile-crisis-team") { title modules { title } }
            }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["topic"]["module"], Value::Null);
    assert_eq!(data["topic"]["resources"]["totalCount"], 1);
    assert_eq!(
        data["topic"]["resources"]["nodes"][0]["modules"],
        json!([{"slug": "community-trust-and-partnerships"}])
    );
    assert_eq!(
        data["community"]["module"]["slug"],
        "community-trust-and-partnerships"
    );
    assert_eq!(data["community"]["resources"]["totalCount"], 8);
    let type_totals: Vec<(String, i64)> = data["resourceTypes"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["slug"].as_str().unwrap().to_string(),
                t["resources"]["totalCount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        type_totals,
        [
            ("guidebook-tool".into(), 4),
            ("report".into(), 1),
            ("research-brief".into(), 2),
            ("video".into(), 1)
        ]
    );
    assert_eq!(
        data["resource"]["modules"],
        json!([{"title": "Community Trust and Partnerships"}])
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tags.toml");
    std::fs::write(
        &file,
        "[[tags]]\nname = \"Field Guide\"\n\n[[resources]]\ntitle = \"How to Successfully Implement a Mobile Crisis Team\"\nyear = 2021\ntypes = [\"Guidebook/Tool\"]\ntags = [\"Field Guide\"]\n\n[[modules]]\ntitle = \"Community Trust and Partnerships\"\ntopic = \"community-trust-and-partnerships\"\ntags = [\"field-guide\"]\nresources = [\"how-to-successfully-implement-a-mobile-crisis-team\"]\n",
    )
    .unwrap();
    app.seed(&[file]).await.unwrap();
    let tagged = app
        .query(
            r#"{ tags { nodes { slug resources { nodes { slug } } modules { slug } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        tagged["tags"]["nodes"],
        json!([{
            "slug": "field-guide",
            "resources": {"nodes": [{"slug": "how-to-successfully-implement-a-mobile-crisis-team"}]},
            "modules": [{"slug": "community-trust-and-partnerships"}]
        }])
    );
}

/// Statements one request runs, measured on the test's own pool.
/// Loads synthetic content of these sizes through the seed path.
async fn statements_for(app: &TestApp, query: &str, variables: Value) -> u64 {
    let before = app.database.statements_executed();
    app.query(query, variables).await;
    app.database.statements_executed() - before
}

#[tokio::test]
async fn statement_counts_do_not_grow_with_page_size() {
    let app = TestApp::new().await;
    app.seed_synthetic(beacon::seed::synthetic::Sizes {
        resources: 300,
        topics: 12,
        types: 5,
        tags: 20,
        modules: 4,
        resources_per_module: 100,
    })
    .await;

    let nested = r#"query ($first: Int) {
      resources(first: $first) {
        totalCount
        edges { cursor node { title types { name } topics { name module { title } resources(first: 2) { totalCount nodes { slug } } } tags { name } modules { title } } }
        pageInfo { hasNextPage endCursor }
        facets { topics { topic { slug } count } types { type { slug } count } years { year count } tags { tag { slug } count } }
      }
      modules(first: 4) { nodes { title topic { name } resources { title topics { name } } tags { name } } }
    }"#;
    // Relations are looked up by id, one statement per kind and round of
    // resolution: none when a round has no ids (one resource may have no
    // tags), and lookups of one kind asked for at two depths share a
    // statement when their rounds meet. So the count varies a little with
    // the data and timing, bounded by the query's shape, never with rows.
    for first in [1, 10, 100] {
        let statements = statements_for(&app, nested, json!({ "first": first })).await;
        assert!(
            statements <= 20,
            "bounded by the query's shape: {statements} for {first} rows"
        );
    }

    let data = app.query(nested, json!({"first": 100})).await;
    assert_eq!(data["resources"]["edges"].as_array().unwrap().len(), 100);
    assert_eq!(
        data["modules"]["nodes"][0]["resources"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
}

#[tokio::test]
async fn a_pages_labels_come_from_one_statement_in_each_resources_order() {
    let app = TestApp::new().await;
    app.seed_synthetic(beacon::seed::synthetic::Sizes {
        resources: 60,
        topics: 8,
        types: 4,
        tags: 12,
        modules: 2,
        resources_per_module: 30,
    })
    .await;

    let labels = "slug topics { slug } types { slug } tags { slug }";
    let page = format!("{{ resources(first: 40) {{ nodes {{ {labels} }} }} }}");
    // One statement for the page, one for all its labels.
    assert_eq!(statements_for(&app, &page, json!({})).await, 2);
    let nodes = app.query(&page, json!({})).await["resources"]["nodes"].clone();
    let edges = app
        .query(
            &format!("{{ resources(first: 40) {{ edges {{ node {{ {labels} }} }} }} }}"),
            json!({}),
        )
        .await["resources"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect::<Vec<_>>();
    assert_eq!(nodes.as_array().unwrap(), &edges);

    // A page reads only the kinds its selection names, however they are
    // named there (aliases, fragments, inline fragments), and still gives
    // every kind asked for.
    let only_topics = "{ resources(first: 40) { nodes { slug topics { slug } } } }";
    assert_eq!(statements_for(&app, only_topics, json!({})).await, 2);
    let spelled_otherwise = "{ resources(first: 40) { nodes { slug ...Labels ... on Resource { kinds: types { slug } } } } }
        fragment Labels on Resource { topics { slug } tags { slug } }";
    assert_eq!(statements_for(&app, spelled_otherwise, json!({})).await, 2);
    let spelled = app.query(spelled_otherwise, json!({})).await;
    for (node, other) in nodes
        .as_array()
        .unwrap()
        .iter()
        .zip(spelled["resources"]["nodes"].as_array().unwrap())
    {
        assert_eq!(node["topics"], other["topics"]);
        assert_eq!(node["types"], other["kinds"]);
        assert_eq!(node["tags"], other["tags"]);
    }

    // A resource read alone goes through the request's loader instead; the
    // page must give each resource the same labels in the same order.
    let mut with_several_topics = 0;
    for node in nodes.as_array().unwrap() {
        let alone = app
            .query(
                &format!("query ($slug: String!) {{ resource(slug: $slug) {{ {labels} }} }}"),
                json!({ "slug": node["slug"] }),
            )
            .await;
        assert_eq!(alone["resource"], *node);
        assert!(!node["types"].as_array().unwrap().is_empty());
        if node["topics"].as_array().unwrap().len() > 1 {
            with_several_topics += 1;
        }
    }
    assert!(with_several_topics > 0, "order is only tested with several");

    let module = app
        .query(
            &format!("{{ modules(first: 2) {{ nodes {{ resources {{ {labels} }} }} }} }}"),
            json!({}),
        )
        .await;
    for resource in module["modules"]["nodes"][0]["resources"]
        .as_array()
        .unwrap()
    {
        let alone = app
            .query(
                &format!("query ($slug: String!) {{ resource(slug: $slug) {{ {labels} }} }}"),
                json!({ "slug": resource["slug"] }),
            )
            .await;
        assert_eq!(alone["resource"], *resource);
    }
}

#[tokio::test]
async fn a_pages_failed_label_lookup_is_one_statement_and_an_internal_error() {
    let app = TestApp::new().await;
    app.seed_synthetic(beacon::seed::synthetic::Sizes {
        resources: 40,
        topics: 8,
        types: 4,
        tags: 12,
        modules: 1,
        resources_per_module: 10,
    })
    .await;
    // The label statement reads the tags table: without it, it fails.
    app.sql("ALTER TABLE tags RENAME TO tags_elsewhere").await;

    let page = "{ resources(first: 40) { nodes { slug topics { slug } tags { slug } } } }";
    let before = app.database.statements_executed();
    let (_, body) = app.post(page, json!({})).await;
    let statements = app.database.statements_executed() - before;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INTERNAL",
        "{body}"
    );
    assert!(!body.to_string().contains("tags_elsewhere"), "{body}");
    // The page, then one label lookup for all 40 resources, not one each.
    assert_eq!(statements, 2, "{body}");
}
