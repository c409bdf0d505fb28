//! What partners' standard tools send on first contact.

use serde_json::{Value, json};

use crate::support::{SendAndRead, TestApp};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(crate::support::repo_path(&format!(
        "tests/fixtures/introspection/{name}"
    )))
    .unwrap()
}

/// The introspection queries graphql-js 16 writes (`getIntrospectionQuery`,
/// as GraphiQL, graphql-codegen and graphql-inspector send it), with its
/// default options and with every option on, are answered in full.
#[tokio::test]
async fn standard_introspection_queries_are_answered() {
    let app = TestApp::new().await;
    for name in [
        "graphql-js-16-default.graphql",
        "graphql-js-16-every-option.graphql",
    ] {
        let (status, body) = app.post(&fixture(name), json!({})).await;
        assert_eq!(status, 200, "{name}: {}", body["errors"]);
        assert!(body.get("errors").is_none(), "{name}: {}", body["errors"]);
        let schema = &body["data"]["__schema"];
        assert_eq!(schema["queryType"]["name"], "Query");
        let types = schema["types"].as_array().unwrap();
        let resource = types
            .iter()
            .find(|ty| ty["name"] == "Resource")
            .expect("Resource is introspected");
        assert!(resource["fields"].as_array().unwrap().len() > 5);
        let date_time = types.iter().find(|ty| ty["name"] == "DateTime").unwrap();
        if name.contains("every-option") {
            assert!(resource["description"].is_string());
            assert_eq!(
                date_time["specifiedByURL"],
                "https://datatracker.ietf.org/doc/html/rfc3339"
            );
            assert!(
                !date_time["description"].as_str().unwrap().contains("Utc>"),
                "no Rust type names: {date_time}"
            );
            assert!(
                schema["directives"][0]
                    .as_object()
                    .unwrap()
                    .contains_key("isRepeatable")
            );
        }
    }
}

#[tokio::test]
async fn hostile_introspection_is_still_bounded() {
    let app = TestApp::new().await;
    let nested_fields = format!(
        "{{ __schema {{ types {}name{} }} }}",
        "{ fields { type ".repeat(7),
        " }".repeat(14)
    );
    let nested_of_type = format!(
        "{{ __type(name: \"Resource\") {{ {}name{} }} }}",
        "ofType { ".repeat(13),
        " }".repeat(13)
    );
    for query in [nested_fields, nested_of_type] {
        let (status, body): (_, Value) = app.post(&query, json!({})).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP",
            "{query}"
        );
    }
}

/// Identical requests over unchanged content get byte-identical answers,
/// fields in the order asked, so ETags match and revalidation works.
#[tokio::test]
async fn identical_requests_get_one_etag() {
    let app = TestApp::seeded().await;
    let address = app.spawn_server().await;
    let client = reqwest::Client::new();
    let queries = [
        "{ topics { nodes { name slug } } modules { nodes { slug title } } resourceTypes { nodes { name } } tags { nodes { name } } }",
        "{ resources(first: 5) { totalCount facets { topics { count topic { name } } types { count type { name } } years { year count } } pageInfo { hasNextPage endCursor } nodes { title year topics { name } } } }",
        "{ b: resources(first: 2) { nodes { title } totalCount } a: topics { nodes { slug } } search(query: \"crisis\") { totalCount nodes { score } } }",
    ];
    for query in queries {
        let mut tags = std::collections::BTreeSet::new();
        let mut bodies = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let response = client
                .get(format!("http://{address}/graphql"))
                .query(&[("query", query)])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            tags.insert(response.headers()["etag"].to_str().unwrap().to_string());
            bodies.insert(response.text().await.unwrap());
        }
        assert_eq!(tags.len(), 1, "{query}: {bodies:#?}");
    }
    // Fields come in the order they were asked for, at the root and below.
    let body = app_get(
        &client,
        address,
        "{ tags { nodes { name } } topics { nodes { slug name } } b: modules { nodes { slug } } a: resourceTypes { nodes { name } } }",
    )
    .await;
    let at = |key: &str| body.find(key).unwrap_or_else(|| panic!("{key} in {body}"));
    assert!(at("\"tags\"") < at("\"topics\""));
    assert!(at("\"topics\"") < at("\"b\""));
    assert!(at("\"b\"") < at("\"a\""));
    assert!(at("\"slug\"") < at("\"name\":\"Community"), "{body}");
}

async fn app_get(client: &reqwest::Client, address: std::net::SocketAddr, query: &str) -> String {
    client
        .get(format!("http://{address}/graphql"))
        .query(&[("query", query)])
        .text_answer()
        .await
}
