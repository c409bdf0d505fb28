//! The read API over the seeded Knowledge Lab content.

use crate::support::SendAndRead;
use serde_json::{Value, json};

use crate::support::TestApp;

#[tokio::test]
async fn the_seeded_module_is_served_with_its_resources_in_page_order() {
    let app = TestApp::seeded().await;
    let data = app
        .query(
            r#"query ($slug: String!) {
              module(slug: $slug) {
                id slug title intro heroImageAlt resourcesHeading disclaimer
                topic { slug name }
                tags { slug }
                resources { id slug title year url publisher summary types { slug name } topics { name } tags { slug } }
              }
            }"#,
            json!({ "slug": "community-trust-and-partnerships" }),
        )
        .await;
    let module = &data["module"];
    assert_eq!(module["title"], "Community Trust and Partnerships");
    assert!(
        module["intro"]
            .as_str()
            .unwrap()
            .starts_with("There is almost no aspect")
    );
    assert_eq!(
        module["heroImageAlt"],
        "homeowner pointing out an issue to a police officer"
    );
    assert_eq!(
        module["resourcesHeading"],
        "Resources Related to Community Trust and Partnerships"
    );
    assert!(
        module["disclaimer"]
            .as_str()
            .unwrap()
            .contains("Constitutional policing")
    );
    assert_eq!(module["topic"]["slug"], "community-trust-and-partnerships");
    assert_eq!(module["tags"], json!([]));
    let resources = module["resources"].as_array().unwrap();
    let expected = [
        (
            "Choosing the Right Data Strategy for Behavioral Health and Criminal Justice Initiatives",
            "guidebook-tool",
        ),
        (
            "How to Successfully Implement a Mobile Crisis Team",
            "guidebook-tool",
        ),
        (
            "Law Enforcement-Based Case Management Services: A Review of Research",
            "guidebook-tool",
        ),
        (
            "Tips for Successfully Implementing a 911 Dispatch Diversion Program",
            "guidebook-tool",
        ),
        (
            "Transforming Dispatch and Crisis Response Services: Meeting Challenges with Innovation",
            "video",
        ),
        (
            "A Crisis of Trust: A National Policing Institute Report to the Los Angeles Board of Police Commissioners on the Los Angeles Police Department Response to First Amendment Assemblies and Protests Occurring May 27 – June 7, 2020",
            "report",
        ),
        (
            "A Matter of Public Health and Safety: How States Can Support Local Crisis",
            "research-brief",
        ),
        (
            "Building a Comprehensive and Coordinated Crisis Response",
            "research-brief",
        ),
    ];
    assert_eq!(resources.len(), expected.len());
    for (resource, (title, type_slug)) in resources.iter().zip(expected) {
        assert_eq!(resource["title"], title);
        assert_eq!(resource["year"], 2021);
        assert_eq!(resource["types"][0]["slug"], type_slug);
        assert_eq!(resource["url"], Value::Null);
    }
    assert_eq!(
        resources[5]["topics"],
        json!([
            {"name": "Crime and Violence Response"},
            {"name": "Community Trust and Partnerships"},
            {"name": "Response to Mass Demonstrations"},
            {"name": "Use of Force"}
        ])
    );
    assert_eq!(resources[0]["topics"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_vocabularies_are_listed_with_descriptions_and_aliases() {
    let app = TestApp::seeded().await;
    let data = app
        .query(
            "{ topics { nodes { slug name description aliases } } resourceTypes { nodes { slug name } } tags { nodes { slug } } modules { nodes { slug } } }",
            json!({}),
        )
        .await;
    let topics = data["topics"]["nodes"].as_array().unwrap();
    assert_eq!(topics.len(), 5);
    let crime = topics
        .iter()
        .find(|t| t["slug"] == "crime-and-violence-response")
        .unwrap();
    assert_eq!(crime["aliases"], json!(["Crime and Violence Reduction"]));
    assert!(!crime["description"].as_str().unwrap().is_empty());
    assert_eq!(
        data["resourceTypes"]["nodes"],
        json!([
            {"slug": "guidebook-tool", "name": "Guidebook/Tool"},
            {"slug": "report", "name": "Report"},
            {"slug": "research-brief", "name": "Research Brief"},
            {"slug": "video", "name": "Video"}
        ])
    );
    assert_eq!(data["tags"]["nodes"], json!([]));
    assert_eq!(
        data["modules"]["nodes"],
        json!([{"slug": "community-trust-and-partnerships"}])
    );
    let topic = app
        .query(
            r#"{ topic(slug: "use-of-force") { name } missing: topic(slug: "nope") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        topic,
        json!({"topic": {"name": "Use of Force"}, "missing": null})
    );
}

#[tokio::test]
async fn resources_page_through_every_item_once() {
    let app = TestApp::seeded().await;
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .query(
                "query ($after: String) { resources(first: 3, after: $after) {
                    totalCount nodes { slug } edges { cursor } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await;
        let page = &data["resources"];
        assert_eq!(page["totalCount"], 8);
        seen.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["slug"].as_str().unwrap().to_string()),
        );
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 8);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 8, "no repeats: {seen:?}");
}

#[tokio::test]
async fn bad_pagination_arguments_are_typed_errors() {
    let app = TestApp::seeded().await;
    let error = app
        .query_error("{ resources(first: 101) { totalCount } }", json!({}))
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert!(error["message"].as_str().unwrap().contains("100"));
    let error = app
        .query_error(
            r#"{ resources(after: "'; DROP TABLE resources; --") { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert!(!error.to_string().to_lowercase().contains("sql"));
}

#[tokio::test]
async fn ids_are_opaque_and_distinct_per_type() {
    let app = TestApp::seeded().await;
    let data = app
        .query(
            r#"{ module(slug: "community-trust-and-partnerships") { id topic { id } resources { id types { id } } } }"#,
            json!({}),
        )
        .await;
    let module_id = data["module"]["id"].as_str().unwrap();
    let resource_id = data["module"]["resources"][0]["id"].as_str().unwrap();
    assert!(!module_id.contains('-'), "not a bare UUID: {module_id}");
    assert_ne!(module_id, resource_id);
}

#[tokio::test]
async fn the_api_answers_over_a_real_socket() {
    let app = TestApp::seeded().await;
    let address = app.spawn_server().await;
    let client = reqwest::Client::new();
    let body: Value = client
        .post(format!("http://{address}/graphql"))
        .json(&json!({ "query": "{ modules { nodes { title } } }" }))
        .answer()
        .await;
    assert_eq!(
        body,
        json!({"data": {"modules": {"nodes": [{"title": "Community Trust and Partnerships"}]}}})
    );
    let get = |path: &'static str, accept: &'static str| {
        client
            .get(format!("http://{address}{path}"))
            .header("accept", accept)
            .send()
    };
    let typename: Value = get("/graphql?query=%7B__typename%7D", "application/json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(typename, json!({"data": {"__typename": "Query"}}));
    assert_eq!(get("/healthz", "*/*").await.unwrap().status(), 200);
    assert_eq!(get("/readyz", "*/*").await.unwrap().status(), 200);
    let graphiql = get("/graphql", "text/html").await.unwrap();
    assert!(graphiql.text().await.unwrap().contains("graphiql"));
    let bare = get("/graphql", "application/json").await.unwrap();
    assert_eq!(bare.status(), 400);
    let body: Value = bare.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn readiness_fails_until_migrations_are_applied() {
    use tower::ServiceExt;
    let url = crate::support::empty_database_url().await;
    let database = beacon::db::Database::connect(url, None, 2).await.unwrap();
    let ready = |database: &beacon::db::Database| {
        let router = beacon::http::router(beacon::http::AppState::new(
            database.clone(),
            crate::support::test_identity(),
            beacon::editorial::Editorial::default(),
            beacon::http::EdgeSettings::default(),
        ));
        let request = axum::http::Request::get("/readyz")
            .body(axum::body::Body::empty())
            .unwrap();
        async move { router.oneshot(request).await.unwrap().status() }
    };
    assert_eq!(ready(&database).await, 503);
    database.migrate().await.unwrap();
    assert_eq!(ready(&database).await, 200);
}

/// The vocabularies page like every list that grows: keyset cursors that
/// name their list, pages that neither skip nor repeat, a bounded size.
#[tokio::test]
async fn vocabularies_page_with_cursors_of_their_own() {
    let app = TestApp::seeded().await;
    let page = "query($after: String) { topics(first: 2, after: $after) { nodes { slug } pageInfo { hasNextPage hasPreviousPage endCursor } } }";
    let mut slugs = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let data = app.query(page, json!({ "after": after })).await;
        let topics = &data["topics"];
        assert_eq!(topics["pageInfo"]["hasPreviousPage"], !after.is_null());
        for node in topics["nodes"].as_array().unwrap() {
            slugs.push(node["slug"].as_str().unwrap().to_string());
        }
        pages += 1;
        if topics["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = topics["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    let all = app
        .query("{ topics(first: 100) { nodes { slug } } }", json!({}))
        .await;
    let expected: Vec<String> = all["topics"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["slug"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(slugs, expected);

    // A cursor belongs to its list; sizes are bounded.
    let types = app
        .query(
            "{ resourceTypes(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let foreign = types["resourceTypes"]["pageInfo"]["endCursor"].clone();
    for (query, variables) in [
        (page, json!({ "after": foreign })),
        (page, json!({ "after": "not a cursor" })),
        ("{ tags(first: 101) { nodes { slug } } }", json!({})),
        ("{ modules(first: -1) { nodes { slug } } }", json!({})),
    ] {
        let (_, body) = app.post(query, variables).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{query}: {body}"
        );
    }
}
