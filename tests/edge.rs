//! The public edge over a real socket: GraphQL-over-HTTP compliance, the
//! attack suite, caching, persisted queries, CORS, rates and timeouts.

use std::time::{Duration, Instant};

use beacon::domain::access::Role;
use beacon::http::rate_limit::parse_rate;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::workflow::State;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// A served app and a client for it.
struct Edge {
    base: String,
    client: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    fn code(&self) -> Value {
        self.json()["errors"][0]["extensions"]["code"].clone()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }
}

impl Edge {
    async fn serve(app: &TestApp) -> Edge {
        let address = app.spawn_server().await;
        Edge {
            base: format!("http://{address}"),
            client: reqwest::Client::new(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the server answers");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap_or_default(),
        }
    }

    fn get(&self, query: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}/graphql", self.base))
            .query(&[("query", query)])
    }

    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}/graphql", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    async fn healthy(&self) -> bool {
        let response = self
            .client
            .get(format!("{}/healthz", self.base))
            .send()
            .await;
        response.is_ok_and(|response| response.status() == 200)
    }
}

/// The rules of graphql.github.io/graphql-over-http, one by one.
#[tokio::test]
async fn the_endpoint_follows_the_graphql_over_http_specification() {
    let app = TestApp::seeded().await;
    let edge = Edge::serve(&app).await;
    let typename = json!({ "query": "{ __typename }" });

    // A server MUST support POST requests encoded with application/json.
    let answer = edge.send(edge.post(&typename)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!({ "data": { "__typename": "Query" } }));
    // Without Accept, the answer is application/graphql-response+json
    // (the legacy watershed has passed); the type is always stated.
    assert_eq!(answer.header("content-type"), GRAPHQL_RESPONSE);
    // A server MUST respect Accept and use the most preferred type it has.
    let json_answer = edge
        .send(edge.post(&typename).header("accept", "application/json"))
        .await;
    assert_eq!(json_answer.header("content-type"), JSON);
    let preferred = edge
        .send(edge.post(&typename).header(
            "accept",
            "application/json;q=0.5, application/graphql-response+json",
        ))
        .await;
    assert_eq!(preferred.header("content-type"), GRAPHQL_RESPONSE);
    // No supported type accepted: 406.
    let refused = edge
        .send(edge.post(&typename).header("accept", "application/xml"))
        .await;
    assert_eq!(refused.status, 406);
    assert_eq!(refused.code(), "NOT_ACCEPTABLE");

    // GET executes queries, with variables as JSON text.
    let answer = edge
        .send(
            edge.get("query Q($slug: String!) { topic(slug: $slug) { name } }")
                .query(&[
                    ("variables", r#"{"slug":"use-of-force"}"#),
                    ("operationName", "Q"),
                ]),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["data"]["topic"]["name"], "Use of Force");
    // GET MUST NOT run a mutation: 405 naming POST.
    let answer = edge
        .send(
            edge.get("mutation { logout }")
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), "POST");
    // ... also when the mutation is picked by operationName.
    let answer = edge
        .send(
            edge.get("query A { __typename } mutation B { logout }")
                .query(&[("operationName", "B")]),
        )
        .await;
    assert_eq!(answer.status, 405);
    // ... and when the document's one operation is a named mutation, with
    // no operationName: `login` that way would leave a password in every
    // access log on the way.
    let answer = edge
        .send(edge.get(
            "mutation SignIn { login(email: \"a@example.org\", password: \"secret\") { token } }",
        ))
        .await;
    assert_eq!(answer.status, 405, "{}", answer.text);

    // A POST without Content-Type, or with another type, is refused (415).
    let answer = edge
        .send(
            edge.client
                .post(format!("{}/graphql", edge.base))
                .body(typename.to_string()),
        )
        .await;
    assert_eq!(answer.status, 415);
    assert_eq!(answer.code(), "UNSUPPORTED_MEDIA_TYPE");

    // Not a well-formed request: 400 whatever the media type.
    for accept in ["application/json", "application/graphql-response+json"] {
        for body in [
            "NONSENSE",
            r#"{"qeury": "{ __typename }"}"#,
            r#"{"query": "{ __typename }", "variables": [7]}"#,
            r#"{"query": "{ __typename }", "operationName": 7}"#,
            r#"{"query": 7}"#,
        ] {
            let answer = edge
                .send(
                    edge.client
                        .post(format!("{}/graphql", edge.base))
                        .header("content-type", "application/json")
                        .header("accept", accept)
                        .body(body),
                )
                .await;
            assert_eq!(answer.status, 400, "{body} as {accept}: {}", answer.text);
            assert!(answer.json()["errors"][0]["message"].is_string());
        }
    }

    // Request errors (parse, validation, unknown operation, bad variables):
    // application/graphql-response+json answers 4xx without `data`...
    for body in [
        json!({ "query": "{" }),
        json!({ "query": "{ noSuchField }" }),
        json!({ "query": "query A { __typename }", "operationName": "B" }),
        json!({ "query": "query($n: Int!) { resources(first: $n) { totalCount } }", "variables": { "n": "x" } }),
    ] {
        let answer = edge.send(edge.post(&body)).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        let json = answer.json();
        assert!(json.get("data").is_none(), "{body}: {json}");
        assert!(answer.code().is_string(), "{body}: {json}");
        // ... and application/json answers 200, also without `data`.
        let answer = edge
            .send(edge.post(&body).header("accept", "application/json"))
            .await;
        assert_eq!(answer.status, 200, "{body}: {}", answer.text);
        assert!(answer.json().get("data").is_none());
    }
    // A field error with non-null data is 200 under both types.
    let partial = json!({ "query": "{ __typename resources(first: -1) { totalCount } }" });
    let answer = edge.send(edge.post(&partial)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.code(), "BAD_USER_INPUT");
    // The empty operationName is the same as none.
    let answer = edge
        .send(edge.post(&json!({ "query": "{ __typename }", "operationName": "" })))
        .await;
    assert_eq!(answer.status, 200);
}

/// A hostile client's requests are refused quickly, with the right status
/// and code, and the server stays healthy.
#[tokio::test]
async fn the_attack_suite_is_refused() {
    let app = TestApp::seeded().await;
    let edge = Edge::serve(&app).await;
    let rss_before = resident_memory_kib();

    let deep = format!(
        "{{ topics {{ nodes {{ {} name {} }} }} }}",
        "resources { nodes { topics { ".repeat(4),
        "} } } ".repeat(4)
    );
    let aliases: String = (0..1000).map(|i| format!("a{i}: __typename ")).collect();
    let duplicates = "__typename ".repeat(1000);
    let directives = "@include(if: true) ".repeat(3000);
    let mut fan_out = String::from("query { ...F0 }\n");
    for level in 0..30 {
        fan_out.push_str(&format!(
            "fragment F{level} on Query {{ ...F{next} ...F{next} }}\n",
            next = level + 1
        ));
    }
    fan_out.push_str("fragment F30 on Query { __typename }\n");
    let nested_literal = format!(
        "{{ resources(filter: {{ topics: {}\"x\"{} }}) {{ totalCount }} }}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let attacks: Vec<(&str, Value, u16, &str)> = vec![
        (
            "an over-deep query",
            json!({ "query": deep }),
            400,
            "QUERY_TOO_DEEP",
        ),
        (
            "1,000 aliases",
            json!({ "query": format!("{{ {aliases} }}") }),
            400,
            "TOO_MANY_ALIASES",
        ),
        (
            "1,000 duplicate fields",
            json!({ "query": format!("{{ {duplicates} }}") }),
            400,
            "TOO_MANY_SELECTIONS",
        ),
        (
            "3,000 directives on a field",
            json!({ "query": format!("{{ __typename {directives} }}") }),
            400,
            "TOO_MANY_DIRECTIVES",
        ),
        (
            "circular fragments",
            json!({ "query": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }" }),
            400,
            "FRAGMENT_CYCLE",
        ),
        (
            "fragment fan-out 30 levels deep",
            json!({ "query": fan_out }),
            400,
            "TOO_MANY_SELECTIONS",
        ),
        (
            "a 50,000-level nested literal",
            json!({ "query": nested_literal }),
            400,
            "INPUT_TOO_DEEP",
        ),
        (
            "a page of a million",
            json!({ "query": "{ resources(first: 100) { nodes { topics { resources(first: 100) { nodes { title } } } } } }" }),
            400,
            "QUERY_TOO_COMPLEX",
        ),
        (
            "a 500-element batch",
            Value::Array(vec![json!({ "query": "{ __typename }" }); 500]),
            400,
            "BATCHING_DISABLED",
        ),
    ];
    for (name, body, status, code) in attacks {
        let started = Instant::now();
        let answer = edge.send(edge.post(&body)).await;
        let elapsed = started.elapsed();
        println!("{name}: {} {} in {elapsed:?}", answer.status, answer.code());
        assert_eq!(answer.status, status, "{name}: {}", answer.text);
        assert_eq!(answer.code(), code, "{name}");
        assert!(edge.healthy().await, "unhealthy after {name}");
    }

    // A 10 MB body is refused before it is read.
    let started = Instant::now();
    let big = format!(
        "{{\"query\": \"{{ __typename }}\", \"padding\": \"{}\"}}",
        "x".repeat(10 << 20)
    );
    let answer = edge
        .send(
            edge.client
                .post(format!("{}/graphql", edge.base))
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    println!("a 10 MB body: {} in {:?}", answer.status, started.elapsed());
    assert_eq!(answer.status, 413);
    assert_eq!(answer.code(), "PAYLOAD_TOO_LARGE");

    // Cross-site form and text posts never reach GraphQL. (A multipart
    // upload is taken only with an Authorization header, which no form
    // can send.)
    for (content_type, status) in [
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 401),
    ] {
        let answer = edge
            .send(
                edge.client
                    .post(format!("{}/graphql", edge.base))
                    .header("content-type", content_type)
                    .body("query=mutation%7Blogout%7D"),
            )
            .await;
        assert_eq!(answer.status, status, "{content_type}");
    }
    // Mutations over GET.
    let answer = edge.send(edge.get("mutation { logout }")).await;
    assert_eq!(answer.status, 405);

    // SQL-looking strings in every filter are plain data.
    for injection in [
        "' OR 1=1 --",
        "x'); DROP TABLE documents; --",
        "\\\"; SELECT 1",
    ] {
        let query = "query($s: String!) {
            resources(filter: { topics: [$s], types: [$s], tags: [$s], query: $s }) { totalCount }
            topic(slug: $s) { name } module(slug: $s) { title } resource(slug: $s) { title }
            search(query: $s) { totalCount } }";
        let answer = edge
            .send(edge.post(&json!({ "query": query, "variables": { "s": injection } })))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let json = answer.json();
        assert!(json.get("errors").is_none(), "{injection}: {json}");
        assert_eq!(json["data"]["resources"]["totalCount"], 0);
        assert!(json["data"]["topic"].is_null());
    }
    let answer = edge
        .send(edge.post(&json!({ "query": "{ topics { nodes { slug } } }" })))
        .await;
    assert_eq!(
        answer.json()["data"]["topics"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );

    assert!(edge.healthy().await);
    let rss_after = resident_memory_kib();
    println!("resident memory: {rss_before} KiB before, {rss_after} KiB after");
    assert!(
        rss_after.saturating_sub(rss_before) < 256 * 1024,
        "memory grew from {rss_before} KiB to {rss_after} KiB"
    );
}

fn resident_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Public GET answers carry a tag that changes exactly when the published
/// content they show changes, and a repeat with the tag is a bodiless 304.
#[tokio::test]
async fn public_answers_are_cacheable_and_revalidate() {
    let app = TestApp::seeded().await;
    app.tag_in(State::Published).await;
    let edge = Edge::serve(&app).await;
    let tags = "{ tags { nodes { name } } }";
    let modules = "{ modules { nodes { title } } }";

    let first = edge.send(edge.get(tags)).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("cache-control"), "public, max-age=60");
    assert_eq!(first.header("vary"), "Accept, Authorization");
    let etag = first.header("etag").to_string();
    assert!(etag.starts_with('"'), "{etag}");
    let modules_etag = edge
        .send(edge.get(modules))
        .await
        .header("etag")
        .to_string();

    let repeat = edge
        .send(edge.get(tags).header("if-none-match", &etag))
        .await;
    assert_eq!(repeat.status, 304);
    assert!(repeat.text.is_empty());
    assert_eq!(repeat.header("etag"), etag);

    // A new draft is not public: the tag stands.
    app.tag_in(State::Draft).await;
    let unchanged = edge
        .send(edge.get(tags).header("if-none-match", &etag))
        .await;
    assert_eq!(unchanged.status, 304);
    // A published tag changes the tags answer, not the modules answer.
    app.tag_in(State::Published).await;
    let changed = edge
        .send(edge.get(tags).header("if-none-match", &etag))
        .await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), etag);
    let other = edge
        .send(edge.get(modules).header("if-none-match", &modules_etag))
        .await;
    assert_eq!(other.status, 304);

    // Signed-in and token answers are private; POSTs and errors are not
    // stored at all.
    let token = app.api_token(Role::Partner).await;
    let private = edge.send(edge.get(tags).bearer_auth(&token)).await;
    assert_eq!(private.status, 200);
    assert_eq!(private.header("cache-control"), "private, no-store");
    assert_eq!(private.header("etag"), "");
    let editor = app.sign_in_as(Role::Editor).await;
    let preview = edge
        .send(
            edge.get("{ tags(preview: true) { nodes { name } } }")
                .bearer_auth(&editor),
        )
        .await;
    assert_eq!(preview.header("cache-control"), "private, no-store");
    let posted = edge.send(edge.post(&json!({ "query": tags }))).await;
    assert_eq!(posted.header("cache-control"), "no-store");
    let failed = edge
        .send(edge.get("{ resources(first: -1) { totalCount } }"))
        .await;
    assert_eq!(failed.header("cache-control"), "no-store");
    assert_eq!(failed.header("etag"), "");
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// Apollo's automatic persisted queries, and allow-list mode.
#[tokio::test]
async fn persisted_queries_and_the_allow_list() {
    let app = TestApp::seeded().await;
    let edge = Edge::serve(&app).await;
    let query = "{ topics { nodes { slug } } }";
    let hash = beacon::http::persisted::sha256_hex(query);
    let by_hash = |hash: &str| {
        edge.client
            .get(format!("{}/graphql", edge.base))
            .query(&[("extensions", persisted(hash).to_string())])
    };

    let unknown = edge.send(by_hash(&hash)).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.code(), "PERSISTED_QUERY_NOT_FOUND");
    let wrong = edge
        .send(edge.post(&json!({ "query": "{ __typename }", "extensions": persisted(&hash) })))
        .await;
    assert_eq!(wrong.status, 400);
    let registered = edge
        .send(edge.post(&json!({ "query": query, "extensions": persisted(&hash) })))
        .await;
    assert_eq!(registered.status, 200);
    // Now the hash alone will do, over GET, cacheably.
    let answer = edge.send(by_hash(&hash)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json(), registered.json());
    assert!(answer.header("etag").starts_with('"'));

    // Allow-list mode: anonymous clients run only registered operations.
    let mut app = app;
    app.settings.allow_list = true;
    let edge = Edge::serve(&app).await;
    let allowed = "query Topics { topics { nodes { name } } }";
    let allowed_hash = beacon::http::persisted::sha256_hex(allowed);
    let mut conn = app.database.connection().await.unwrap();
    beacon::db::persisted::add(&mut conn, &allowed_hash, allowed, "topics.graphql")
        .await
        .unwrap();
    let by_hash = edge
        .send(
            edge.client
                .get(format!("{}/graphql", edge.base))
                .query(&[("extensions", persisted(&allowed_hash).to_string())]),
        )
        .await;
    assert_eq!(by_hash.status, 200, "{}", by_hash.text);
    let by_text = edge.send(edge.post(&json!({ "query": allowed }))).await;
    assert_eq!(by_text.status, 200);
    let other = edge.send(edge.post(&json!({ "query": query }))).await;
    assert_eq!(other.status, 403);
    assert_eq!(other.code(), "OPERATION_NOT_ALLOWED");
    // Automatic registration is closed to anonymous clients here.
    let sneaky = edge
        .send(edge.post(&json!({ "query": query, "extensions": persisted(&hash) })))
        .await;
    assert_eq!(sneaky.status, 403);
    // Clients with credentials are not limited to the list.
    let token = app.api_token(Role::Partner).await;
    let partner = edge
        .send(edge.post(&json!({ "query": query })).bearer_auth(&token))
        .await;
    assert_eq!(partner.status, 200);
}

#[tokio::test]
async fn browsers_on_partner_origins_may_call() {
    let mut app = TestApp::new().await;
    app.settings.cors_origins = vec!["https://partner.example".into()];
    let edge = Edge::serve(&app).await;
    let preflight = |origin: &str| {
        edge.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", edge.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization",
            )
    };
    let allowed = edge.send(preflight("https://partner.example")).await;
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        "https://partner.example"
    );
    assert!(
        allowed
            .header("access-control-allow-headers")
            .contains("authorization")
    );
    let stranger = edge.send(preflight("https://evil.example")).await;
    assert_eq!(stranger.header("access-control-allow-origin"), "");
    let answer = edge
        .send(
            edge.post(&json!({ "query": "{ __typename }" }))
                .header("origin", "https://partner.example"),
        )
        .await;
    assert_eq!(
        answer.header("access-control-allow-origin"),
        "https://partner.example"
    );
    assert!(
        answer
            .header("access-control-expose-headers")
            .contains("etag")
    );
}

#[tokio::test]
async fn each_client_gets_its_own_rate_and_a_retry_after() {
    let mut app = TestApp::new().await;
    app.settings.rate_limits.anonymous = parse_rate("3/min").unwrap();
    app.settings.rate_limits.authenticated = parse_rate("2/min").unwrap();
    app.settings.max_batch = 10;
    let edge = Edge::serve(&app).await;
    let typename = json!({ "query": "{ __typename }" });
    for _ in 0..3 {
        assert_eq!(edge.send(edge.post(&typename)).await.status, 200);
    }
    let limited = edge.send(edge.post(&typename)).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.code(), "RATE_LIMITED");
    let retry_after: u64 = limited.header("retry-after").parse().unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");

    // A token has its own allowance, and a batch costs one per operation.
    let token = app.api_token(Role::Partner).await;
    let batch = Value::Array(vec![typename.clone(); 2]);
    let answer = edge.send(edge.post(&batch).bearer_auth(&token)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json().as_array().map(Vec::len), Some(2));
    let limited = edge.send(edge.post(&typename).bearer_auth(&token)).await;
    assert_eq!(limited.status, 429);
}

#[tokio::test]
async fn batches_are_bounded_and_share_one_request_s_limits() {
    let mut app = TestApp::seeded().await;
    app.settings.max_batch = 5;
    app.settings.limits.max_aliases = 3;
    let edge = Edge::serve(&app).await;
    let batch = json!([
        { "query": "{ a: __typename }" },
        { "query": "{ topics { nodes { slug } } }" },
        { "query": "{ b: __typename c: __typename }" },
        { "query": "{ d: __typename }" },
    ]);
    let answer = edge.send(edge.post(&batch)).await;
    assert_eq!(answer.status, 200);
    let results = answer.json();
    assert_eq!(results[0]["data"]["a"], "Query");
    assert_eq!(
        results[1]["data"]["topics"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
    assert_eq!(results[2]["data"]["b"], "Query");
    // The fourth alias is one more than one request may use.
    assert_eq!(
        results[3]["errors"][0]["extensions"]["code"],
        "TOO_MANY_ALIASES"
    );
    let too_many = Value::Array(vec![json!({ "query": "{ __typename }" }); 6]);
    let answer = edge.send(edge.post(&too_many)).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.code(), "BATCH_TOO_LARGE");
}

#[tokio::test]
async fn slow_queries_time_out_with_a_typed_error() {
    let mut app = TestApp::seeded().await;
    app.settings.request_timeout = Duration::from_millis(300);
    let edge = Edge::serve(&app).await;
    // Every pooled connection is busy, so the query cannot finish in time.
    let pool = &app.database.pool;
    let mut held = Vec::new();
    for _ in 0..pool.status().max_size {
        held.push(pool.get().await.unwrap());
    }
    let topics = json!({ "query": "{ topics { nodes { name } } }" });
    let answer = edge.send(edge.post(&topics)).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.code(), "TIMEOUT");
    assert!(edge.healthy().await);
    drop(held);
    assert_eq!(edge.send(edge.post(&topics)).await.status, 200);
}

/// PostgreSQL's statement timeout is every pooled connection's default,
/// and a statement it cancels reaches clients as TIMEOUT, not INTERNAL.
#[tokio::test]
async fn the_statement_timeout_applies_to_pooled_connections() {
    use diesel::QueryableByName;
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        statement_timeout: String,
    }
    let url = crate::support::fresh_database().await.url().to_string();
    let database =
        beacon::db::Database::connect_with(url, None, 1, Some(Duration::from_millis(250)))
            .await
            .unwrap();
    let mut conn = database.connection().await.unwrap();
    let setting: Setting = diesel::sql_query("SHOW statement_timeout")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(setting.statement_timeout, "250ms");
    let cancelled = diesel::sql_query("SELECT pg_sleep(2)")
        .execute(&mut conn)
        .await
        .unwrap_err();
    let error = beacon::graphql::error::internal(cancelled);
    let code = error
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .cloned();
    assert_eq!(code, Some(async_graphql::Value::from("TIMEOUT")));
}

#[tokio::test]
async fn introspection_suggestions_and_graphiql_can_be_withheld_from_anonymous_clients() {
    let mut app = TestApp::new().await;
    let introspection = json!({ "query": "{ __schema { queryType { name } } }" });
    let typo = json!({ "query": "{ topicz { name } }" });

    let edge = Edge::serve(&app).await;
    let open = edge.send(edge.post(&introspection)).await;
    assert_eq!(
        open.json()["data"]["__schema"]["queryType"]["name"],
        "Query"
    );
    let suggested = edge.send(edge.post(&typo)).await;
    assert!(
        suggested.text.contains("Did you mean"),
        "{}",
        suggested.text
    );

    app.settings.anonymous_introspection = false;
    app.settings.anonymous_suggestions = false;
    app.settings.graphiql = false;
    let edge = Edge::serve(&app).await;
    let closed = edge.send(edge.post(&introspection)).await;
    assert_eq!(closed.status, 400, "{}", closed.text);
    assert_eq!(closed.code(), "INTROSPECTION_DISABLED");
    let hidden =
        json!({ "query": "{ ...F } fragment F on Query { __type(name: \"Topic\") { name } }" });
    assert_eq!(
        edge.send(edge.post(&hidden)).await.code(),
        "INTROSPECTION_DISABLED"
    );
    let plain = edge.send(edge.post(&typo)).await;
    assert_eq!(plain.status, 400);
    assert!(!plain.text.contains("Did you mean"), "{}", plain.text);
    // Credentials bring both back.
    let token = app.api_token(Role::Partner).await;
    let with_token = edge
        .send(edge.post(&introspection).bearer_auth(&token))
        .await;
    assert_eq!(
        with_token.json()["data"]["__schema"]["queryType"]["name"],
        "Query"
    );
    let with_token = edge.send(edge.post(&typo).bearer_auth(&token)).await;
    assert!(with_token.text.contains("Did you mean"));
    // No GraphiQL: a browser gets a GraphQL answer, and a page-only client 406.
    let browser = edge
        .send(
            edge.client
                .get(format!("{}/graphql", edge.base))
                .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        )
        .await;
    assert_eq!(browser.status, 400);
    assert!(!browser.text.contains("graphiql"));
    let page_only = edge
        .send(
            edge.client
                .get(format!("{}/graphql", edge.base))
                .header("accept", "text/html"),
        )
        .await;
    assert_eq!(page_only.status, 406);
}

/// Behind a trusted proxy, each client behind it has its own allowance;
/// an untrusted peer cannot pick a name for itself.
#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_told_apart() {
    let mut app = TestApp::new().await;
    app.settings.rate_limits.anonymous = parse_rate("1/min").unwrap();
    app.settings.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let edge = Edge::serve(&app).await;
    let typename = json!({ "query": "{ __typename }" });
    let from = |client: &str| edge.post(&typename).header("x-forwarded-for", client);
    assert_eq!(edge.send(from("203.0.113.1")).await.status, 200);
    assert_eq!(edge.send(from("203.0.113.2")).await.status, 200);
    assert_eq!(edge.send(from("203.0.113.1")).await.status, 429);

    app.settings.trusted_proxies = Vec::new();
    let edge = Edge::serve(&app).await;
    let from = |client: &str| edge.post(&typename).header("x-forwarded-for", client);
    assert_eq!(edge.send(from("203.0.113.1")).await.status, 200);
    assert_eq!(edge.send(from("203.0.113.2")).await.status, 429);
}

/// Unknown bearer tokens each cost a lookup, so an address presenting too
/// many is held off before any lookup, with a Retry-After.
#[tokio::test]
async fn an_address_guessing_tokens_is_held_off() {
    use beacon::identity::credentials::{ServerKey, TokenKind, mint};
    let app = TestApp::new().await;
    let edge = Edge::serve(&app).await;
    let stranger = ServerKey::new(b"not the server's key, not the server's key".to_vec());
    let typename = json!({ "query": "{ __typename }" });
    let limit = beacon::http::rate_limit::FAILED_CREDENTIALS_PER_MINUTE;
    for _ in 0..limit {
        let guess = mint(&stranger, TokenKind::ApiToken).token;
        let answer = edge.send(edge.post(&typename).bearer_auth(&guess)).await;
        assert_eq!(answer.status, 401);
    }
    let guess = mint(&stranger, TokenKind::ApiToken).token;
    assert_eq!(
        edge.send(edge.post(&typename).bearer_auth(&guess))
            .await
            .status,
        401
    );
    let held_off = edge.send(edge.post(&typename).bearer_auth(&guess)).await;
    assert_eq!(held_off.status, 429);
    assert_eq!(held_off.code(), "RATE_LIMITED");
    assert!(!held_off.header("retry-after").is_empty());
    // Requests without credentials are not affected.
    assert_eq!(edge.send(edge.post(&typename)).await.status, 200);
}

/// A request answered without error runs unvalidated when it comes again
/// (see `graphql::validated`): the same text with other variables, or
/// one that failed, must still be validated, and answered as a server
/// that never saw it answers.
#[tokio::test]
async fn a_request_validated_before_is_validated_again_when_its_variables_differ() {
    let app = TestApp::seeded().await;
    // A publisher's answers are not kept by the answer cache: every
    // request here is executed.
    let token = app.api_token(Role::Publisher).await;
    let query = "query($n: Int) { resources(first: $n) { nodes { slug } } }";
    async fn ask(edge: &Edge, token: &str, query: &str, variables: Value) -> Answer {
        let body = json!({ "query": query, "variables": variables });
        edge.send(edge.post(&body).bearer_auth(token)).await
    }
    let bad = json!({ "n": "five" });
    let never_seen = ask(&Edge::serve(&app).await, &token, query, bad.clone()).await;
    assert_eq!(
        never_seen.code(),
        "GRAPHQL_VALIDATION_FAILED",
        "{}",
        never_seen.text
    );

    let edge = Edge::serve(&app).await;
    let first = ask(&edge, &token, query, json!({ "n": 2 })).await;
    let again = ask(&edge, &token, query, json!({ "n": 2 })).await;
    assert_eq!(
        first.json()["data"]["resources"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!((first.status, &first.text), (again.status, &again.text));
    // Each answer names its own request.
    let without_request_id = |answer: &Answer| {
        let mut json = answer.json();
        for error in json["errors"].as_array_mut().unwrap() {
            error["extensions"]
                .as_object_mut()
                .unwrap()
                .remove("requestId");
        }
        (answer.status, json)
    };
    for _ in 0..2 {
        let answer = ask(&edge, &token, query, bad.clone()).await;
        assert_eq!(without_request_id(&answer), without_request_id(&never_seen));
    }
}
