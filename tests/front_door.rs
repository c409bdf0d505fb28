//! What partners' standard tools send on first contact.

use serde_json::{Value, json};

use crate::support::TestApp;

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
            assert!(date_time.as_object().unwrap().contains_key("specifiedByURL"));
            assert!(schema["directives"][0].as_object().unwrap().contains_key("isRepeatable"));
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
