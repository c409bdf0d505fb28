//! Sign-in, sessions and API tokens over GraphQL.

use crate::support::SendAndRead;
use beacon::domain::access::Role;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::support::TestApp;

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token expiresAt user { email role } } }";
const ME: &str = "{ me { role user { email } } }";
const PASSWORD: &str = "a long enough password";

async fn create_user(app: &TestApp, email: &str, role: Role) {
    let mut conn = app.database.connection().await.unwrap();
    beacon::identity::create_user(&mut conn, email, "Someone", role, PASSWORD)
        .await
        .unwrap();
}

async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let (status, body) = app.post(LOGIN, json!({ "e": email, "p": password })).await;
    (status.as_u16(), body)
}

async fn session(app: &TestApp, email: &str) -> String {
    let (_, body) = login(app, email, PASSWORD).await;
    body["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login failed: {body}"))
        .to_string()
}

async fn status_as(app: &TestApp, token: &str) -> u16 {
    app.post_as(Some(token), ME, json!({})).await.0.as_u16()
}

#[tokio::test]
async fn wrong_passwords_are_throttled_per_account_with_retry_after() {
    let app = TestApp::new().await;
    create_user(&app, "ada@example.org", Role::Editor).await;
    let address = app.spawn_server().await;
    let client = reqwest::Client::new();
    let attempt = |password: &'static str| {
        client
            .post(format!("http://{address}/graphql"))
            .json(
                &json!({ "query": LOGIN, "variables": { "e": "ADA@example.org", "p": password } }),
            )
            .send()
    };
    for _ in 0..5 {
        let response = attempt("wrong password!").await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert_eq!(body["errors"][0]["message"], "wrong email or password");
    }
    // Locked now, even with the right password: no oracle for guessers.
    let response = attempt(PASSWORD).await.unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], retry_after);

    // Another account from another client is not affected.
    create_user(&app, "grace@example.org", Role::Author).await;
    assert_eq!(login(&app, "grace@example.org", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn failures_across_accounts_are_throttled_per_client_address() {
    let app = TestApp::new().await;
    create_user(&app, "ada@example.org", Role::Editor).await;
    let address = app.spawn_server().await;
    let client = reqwest::Client::new();
    for attempt in 0..20 {
        let body: Value = client
            .post(format!("http://{address}/graphql"))
            .json(&json!({ "query": LOGIN, "variables": {
                "e": format!("nobody{attempt}@example.org"), "p": "whatever it is" } }))
            .answer()
            .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    let response = client
        .post(format!("http://{address}/graphql"))
        .json(&json!({ "query": LOGIN, "variables": { "e": "ada@example.org", "p": PASSWORD } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    // Requests handed to the router without a peer address (another
    // client) still sign in.
    assert_eq!(login(&app, "ada@example.org", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn changing_the_password_ends_every_session_and_logout_ends_one() {
    let app = TestApp::new().await;
    create_user(&app, "ada@example.org", Role::Author).await;
    let first = session(&app, "ada@example.org").await;
    let second = session(&app, "ada@example.org").await;
    let third = session(&app, "ada@example.org").await;

    let data = app.query_as(&third, "mutation { logout }", json!({})).await;
    assert_eq!(data["logout"], true);
    assert_eq!(status_as(&app, &third).await, 401);
    assert_eq!(status_as(&app, &first).await, 200, "other sessions live on");

    let wrong = app
        .error_as(
            &first,
            "mutation { changePassword(currentPassword: \"not it at all\", newPassword: \"brand new password\") { token } }",
            json!({}),
        )
        .await;
    assert_eq!(wrong["extensions"]["code"], "UNAUTHENTICATED");
    let short = app
        .error_as(
            &first,
            &format!("mutation {{ changePassword(currentPassword: \"{PASSWORD}\", newPassword: \"short\") {{ token }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(short["extensions"]["code"], "VALIDATION_FAILED");
    assert_eq!(short["extensions"]["field"], "password");

    let changed = app
        .query_as(
            &first,
            &format!("mutation {{ changePassword(currentPassword: \"{PASSWORD}\", newPassword: \"brand new password\") {{ token }} }}"),
            json!({}),
        )
        .await;
    let renewed = changed["changePassword"]["token"].as_str().unwrap();
    assert_eq!(status_as(&app, &first).await, 401);
    assert_eq!(status_as(&app, &second).await, 401);
    assert_eq!(status_as(&app, renewed).await, 200);
    assert_eq!(
        login(&app, "ada@example.org", PASSWORD).await.1["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(
        login(&app, "ada@example.org", "brand new password").await.0,
        200
    );

    let anonymous = app.query_error("mutation { logout }", json!({})).await;
    assert_eq!(anonymous["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn bad_expired_and_revoked_tokens_are_refused_never_downgraded() {
    let app = TestApp::new().await;
    create_user(&app, "ada@example.org", Role::Editor).await;
    let session = session(&app, "ada@example.org").await;
    let api_token = app.api_token(Role::Partner).await;

    let mut tampered = api_token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let unknown = beacon::identity::credentials::mint(
        &beacon::identity::credentials::ServerKey::new(b"another key".to_vec()),
        beacon::identity::credentials::TokenKind::Session,
    )
    .token;
    for bad in ["nonsense", tampered.as_str(), unknown.as_str(), ""] {
        let (status, body) = app.post_as(Some(bad), ME, json!({})).await;
        assert_eq!(status, 401, "{bad}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert!(body.get("data").is_none(), "nothing ran");
    }
    let basic = {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let request = axum::http::Request::post("/graphql")
            .header("content-type", "application/json")
            .header("authorization", "Basic YWRhOnB3")
            .body(axum::body::Body::from(json!({ "query": ME }).to_string()))
            .unwrap();
        let response = app.router().oneshot(request).await.unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_request\""
        );
        assert!(
            response.headers().contains_key("x-request-id"),
            "refusals carry the request id"
        );
        let status = response.status();
        let _ = response.into_body().collect().await;
        status
    };
    assert_eq!(basic, 401);

    assert_eq!(status_as(&app, &session).await, 200);
    assert_eq!(status_as(&app, &api_token).await, 200);
    app.sql("UPDATE sessions SET expires_at = now() - interval '1 second'")
        .await;
    app.sql("UPDATE api_tokens SET expires_at = now() - interval '1 second'")
        .await;
    assert_eq!(status_as(&app, &session).await, 401);
    assert_eq!(status_as(&app, &api_token).await, 401);
}

#[tokio::test]
async fn admins_manage_api_tokens_whose_secret_is_shown_once() {
    let app = TestApp::new().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let created = app
        .query_as(
            &admin,
            "mutation { createApiToken(input: { name: \"Build job\", role: EDITOR }) { secret apiToken { id name role prefix active lastUsedAt } } }",
            json!({}),
        )
        .await;
    let secret = created["createApiToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let token = &created["createApiToken"]["apiToken"];
    assert_eq!(token["role"], "EDITOR");
    assert_eq!(token["active"], true);
    assert_eq!(token["lastUsedAt"], Value::Null);
    assert!(secret.starts_with(token["prefix"].as_str().unwrap()));

    let me = app
        .query_as(&secret, "{ me { role apiToken { name } } }", json!({}))
        .await;
    assert_eq!(me["me"]["apiToken"]["name"], "Build job");
    let listed = app
        .query_as(
            &admin,
            "{ apiTokens { nodes { id name lastUsedAt } } }",
            json!({}),
        )
        .await;
    assert_ne!(
        listed["apiTokens"]["nodes"][0]["lastUsedAt"],
        Value::Null,
        "use is recorded"
    );
    let body = listed.to_string();
    assert!(
        !body.contains(&secret[8..]),
        "listings never show the secret"
    );

    let id = token["id"].as_str().unwrap();
    let revoked = app
        .query_as(
            &admin,
            "mutation($id: ID!) { revokeApiToken(id: $id) { active revokedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(revoked["revokeApiToken"]["active"], false);
    assert_eq!(
        status_as(&app, &secret).await,
        401,
        "refused on the next request"
    );

    let past = app
        .error_as(
            &admin,
            "mutation { createApiToken(input: { name: \"Old\", expiresAt: \"2020-01-01T00:00:00Z\" }) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(past["extensions"]["code"], "VALIDATION_FAILED");
    assert_eq!(past["extensions"]["field"], "expiresAt");
    let tokens_before = app
        .query_as(&admin, "{ apiTokens { nodes { id } } }", json!({}))
        .await;
    for blank in ["", "   "] {
        let unnamed = app
            .error_as(
                &admin,
                "mutation($name: String!) { createApiToken(input: { name: $name }) { secret } }",
                json!({ "name": blank }),
            )
            .await;
        assert_eq!(unnamed["extensions"]["code"], "VALIDATION_FAILED");
        assert_eq!(unnamed["extensions"]["field"], "name");
    }
    let tokens_after = app
        .query_as(&admin, "{ apiTokens { nodes { id } } }", json!({}))
        .await;
    assert_eq!(tokens_after, tokens_before, "no token was made");
    let unknown = app
        .error_as(
            &admin,
            "mutation { revokeApiToken(id: \"00000000-0000-0000-0000-000000000000\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(unknown["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn user_administration_validates_its_input_and_protects_the_admin() {
    let app = TestApp::new().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let create = "mutation($input: CreateUserInput!) { createUser(input: $input) { id email name role disabled } }";
    let input = |email: &str, password: &str| json!({ "input": { "email": email, "name": "Grace", "role": "PUBLISHER", "password": password } });
    let created = app
        .query_as(&admin, create, input("grace@example.org", PASSWORD))
        .await;
    assert_eq!(created["createUser"]["role"], "PUBLISHER");
    let grace = created["createUser"]["id"].as_str().unwrap().to_string();

    for (email, password, field) in [
        ("GRACE@example.org", PASSWORD, "email"),
        ("not an email", PASSWORD, "email"),
        ("new@example.org", "short", "password"),
    ] {
        let error = app.error_as(&admin, create, input(email, password)).await;
        assert_eq!(error["extensions"]["code"], "VALIDATION_FAILED", "{error}");
        assert_eq!(error["extensions"]["field"], field, "{error}");
    }

    let demoted = app
        .query_as(
            &admin,
            "mutation($id: ID!) { setUserRole(id: $id, role: AUTHOR) { role } }",
            json!({ "id": grace }),
        )
        .await;
    assert_eq!(demoted["setUserRole"]["role"], "AUTHOR");
    let grace_session = session(&app, "grace@example.org").await;
    app.query_as(
        &admin,
        "mutation($id: ID!) { setUserDisabled(id: $id, disabled: true) { disabled } }",
        json!({ "id": grace }),
    )
    .await;
    assert_eq!(status_as(&app, &grace_session).await, 401);
    assert_eq!(
        login(&app, "grace@example.org", PASSWORD).await.1["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED",
        "a disabled user cannot sign in"
    );

    let me = app
        .query_as(&admin, "{ me { user { id } } }", json!({}))
        .await;
    let own = me["me"]["user"]["id"].as_str().unwrap();
    let body = app
        .error_as(
            &admin,
            "mutation($id: ID!) { setUserDisabled(id: $id, disabled: true) { id } }",
            json!({ "id": own }),
        )
        .await;
    assert_eq!(body["extensions"]["code"], "FORBIDDEN");
    let users = app
        .query_as(&admin, "{ users { nodes { email } } }", json!({}))
        .await;
    assert_eq!(users["users"]["nodes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_database_dump_holds_no_usable_secret() {
    let app = TestApp::new().await;
    create_user(&app, "ada@example.org", Role::Admin).await;
    let session = session(&app, "ada@example.org").await;
    let api_token = app.api_token(Role::Partner).await;

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    let mut conn = app.database.connection().await.unwrap();
    let mut dump = String::new();
    for table in ["users", "sessions", "api_tokens", "login_failures"] {
        let rows: Vec<Row> =
            diesel::sql_query(format!("SELECT row_to_json(t)::text AS row FROM {table} t"))
                .load(&mut conn)
                .await
                .unwrap();
        for row in rows {
            dump.push_str(&row.row);
            dump.push('\n');
        }
    }
    assert!(dump.contains("ada@example.org"), "the dump is real");
    for secret in [&session, &api_token] {
        // The random part, in any encoding it could be stored in.
        let random = &secret[secret.len() - 43..];
        assert!(!dump.contains(random), "a secret is in the dump");
        let hex: String = random.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(!dump.contains(&hex));
    }
    assert!(!dump.contains(PASSWORD));
    assert!(
        dump.contains("$argon2id$v=19$m=19456,t=2,p=1$"),
        "passwords are Argon2id hashes"
    );

    // The stored hash is keyed: without the server key it cannot even be
    // checked against a guess.
    let other_server = beacon::identity::Identity::new(
        beacon::identity::credentials::ServerKey::new(b"a different server key entirely".to_vec()),
        Default::default(),
    );
    let refused = other_server.authenticate(&mut conn, &api_token).await;
    assert!(matches!(
        refused,
        Err(beacon::identity::IdentityError::Unauthenticated)
    ));
    assert!(
        app.identity
            .authenticate(&mut conn, &api_token)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn mutations_are_refused_over_get() {
    let app = TestApp::new().await;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let query = "mutation{logout}";
    let request = axum::http::Request::get(format!("/graphql?query={query}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("POST")
    );
}

/// An account change and its audit entry are one write: when the entry
/// cannot be written, the change is not made either.
#[tokio::test]
async fn an_account_change_whose_audit_entry_fails_is_not_made() {
    let app = TestApp::new().await;
    let admin = app.sign_in_as(Role::Admin).await;
    create_user(&app, "ada@example.org", Role::Editor).await;
    app.query_as(
        &admin,
        "mutation { createApiToken(input: { name: \"Build job\" }) { secret } }",
        json!({}),
    )
    .await;
    let state =
        "{ users { nodes { id email role disabled } } apiTokens { nodes { id name active } } }";
    let before = app.query_as(&admin, state, json!({})).await;
    let ada = before["users"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["email"] == "ada@example.org")
        .unwrap()["id"]
        .clone();
    let token = before["apiTokens"]["nodes"][0]["id"].clone();
    app.refuse_audit_entries().await;

    for (mutation, variables) in [
        (
            "mutation($p: String!) { createUser(input: { email: \"grace@example.org\", name: \"Grace\", role: AUTHOR, password: $p }) { id } }",
            json!({ "p": PASSWORD }),
        ),
        (
            "mutation($id: ID!) { setUserRole(id: $id, role: PUBLISHER) { role } }",
            json!({ "id": ada }),
        ),
        (
            "mutation($id: ID!) { setUserDisabled(id: $id, disabled: true) { disabled } }",
            json!({ "id": ada }),
        ),
        (
            "mutation { createApiToken(input: { name: \"Another job\" }) { secret } }",
            json!({}),
        ),
        (
            "mutation($id: ID!) { revokeApiToken(id: $id) { active } }",
            json!({ "id": token }),
        ),
    ] {
        let error = app.error_as(&admin, mutation, variables).await;
        assert_eq!(
            error["extensions"]["code"], "INTERNAL",
            "{mutation}: {error}"
        );
    }
    assert_eq!(
        app.query_as(&admin, state, json!({})).await,
        before,
        "no account or token changed"
    );
}

/// A password reset for an account that is not there (deleted while the
/// operator typed) says so, and leaves no audit entry claiming a reset.
#[tokio::test]
async fn a_password_reset_for_no_account_is_not_found_and_not_audited() {
    use beacon::identity::{Caller, IdentityError, admin};
    let app = TestApp::new().await;
    let mut conn = app.database.connection().await.unwrap();
    let nobody = uuid::Uuid::now_v7();
    let reset = admin::reset_password(&mut conn, Caller::operator(), nobody, PASSWORD).await;
    assert!(
        matches!(reset, Err(IdentityError::NotFound("user"))),
        "{reset:?}"
    );
    let admin = app.sign_in_as(Role::Admin).await;
    let log = app
        .query_as(&admin, "{ auditLog { nodes { action } } }", json!({}))
        .await;
    assert_eq!(log["auditLog"]["nodes"], json!([]), "{log}");
}
