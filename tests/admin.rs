//! The editor app at /admin over a real socket: signing in and out with a
//! session cookie, refusals of forms from other sites, the home page's
//! lists; and the `items` query under them.

use crate::support::SendAndRead;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::admin::{PASSWORD, Session, client, form_token, session_cookie, sign_in};
use beacon::domain::access::Role;

/// An editor with a known password, and the address of a server.
async fn editor_and_server(app: &TestApp) -> (String, std::net::SocketAddr) {
    let email = "grace@example.org".to_string();
    let mut conn = app.database.connection().await.unwrap();
    beacon::identity::create_user(&mut conn, &email, "Grace", Role::Editor, PASSWORD)
        .await
        .unwrap();
    (email, app.spawn_server().await)
}

#[tokio::test]
async fn an_editor_signs_in_sees_their_work_and_signs_out() {
    let app = TestApp::seeded().await;
    let (email, address) = editor_and_server(&app).await;
    let origin = format!("http://{address}");
    let base = format!("http://{address}/admin");

    // Not signed in: the app sends you to sign in.
    let home = client().get(&base).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()[LOCATION], "/admin/sign-in");
    let form = client()
        .get(format!("{base}/sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let policy = form.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"));
    assert!(form.text().await.unwrap().contains("name=\"password\""));

    // A wrong password: the form again, the email kept, no cookie.
    let wrong = sign_in(address, &origin, &email, "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&wrong).is_none());
    let page = wrong.text().await.unwrap();
    assert!(page.contains("do not match") && page.contains("grace@example.org"));

    // The right one: a session cookie the page's scripts cannot read.
    let signed = sign_in(address, &origin, &email, PASSWORD).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let (cookie, header) = session_cookie(&signed).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age="] {
        assert!(header.contains(attribute), "{header}");
    }

    // Home lists my drafts (through the API, as me).
    let editor = app.sign_in_as(Role::Editor).await;
    let mut conn = app.database.connection().await.unwrap();
    let grace = beacon::db::identity::user_by_email(&mut conn, &email)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    let grace_token = {
        let (_, body) = app
            .post(
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                json!({ "e": email, "p": PASSWORD }),
            )
            .await;
        body["data"]["login"]["token"].as_str().unwrap().to_string()
    };
    app.query_as(
        &grace_token,
        r#"mutation { createTag(input: { name: "Grace's own draft" }) { id } }"#,
        json!({}),
    )
    .await;
    app.query_as(
        &editor,
        r#"mutation { createTag(input: { name: "Someone else's draft" }) { id } }"#,
        json!({}),
    )
    .await;
    let home = client()
        .get(&base)
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert_eq!(home.headers()["cache-control"], "no-store");
    let page = home.text().await.unwrap();
    let drafts =
        &page[page.find("id=\"drafts\"").unwrap()..page.find("id=\"changes-requested\"").unwrap()];
    assert!(
        drafts.contains("Grace&#39;s own draft") || drafts.contains("Grace's own draft"),
        "{drafts}"
    );
    assert!(!drafts.contains("Someone else"), "{drafts}");
    assert!(
        page.contains("Community Trust and Partnerships"),
        "recently published"
    );
    assert!(page.contains(&grace.display_name));

    // The cookie is the app's: the API does not take it.
    let me: Value = client()
        .post(format!("http://{address}/graphql"))
        .header(COOKIE, &cookie)
        .json(&json!({ "query": "{ me { role } }" }))
        .answer()
        .await;
    assert_eq!(me["data"]["me"], Value::Null, "{me}");

    // Signing out needs the page's form token, then ends the session.
    let form_token = form_token(&page);
    let sign_out = |token: String| {
        let cookie = cookie.clone();
        let origin = origin.clone();
        async move {
            client()
                .post(format!("http://{address}/admin/sign-out"))
                .header(COOKIE, cookie)
                .header(ORIGIN, origin)
                .form(&[("_form", token)])
                .send()
                .await
                .unwrap()
        }
    };
    let forged = sign_out("00".repeat(32)).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let still = client()
        .get(&base)
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        still.status(),
        StatusCode::OK,
        "a forged sign-out changes nothing"
    );
    let out = sign_out(form_token).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        out.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = client()
        .get(&base)
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        StatusCode::SEE_OTHER,
        "the session has ended"
    );
}

/// A page on another site posting to /admin gets nothing done: no session
/// from its sign-in form (login CSRF), and the cookie cannot be used there.
#[tokio::test]
async fn forms_from_other_sites_are_refused() {
    let app = TestApp::seeded().await;
    let (email, address) = editor_and_server(&app).await;
    for origin in ["http://evil.example", "null"] {
        let response = sign_in(address, origin, &email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        assert!(session_cookie(&response).is_none());
    }
    // No Origin and no Referer: refused too.
    let bare = client()
        .post(format!("http://{address}/admin/sign-in"))
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    assert!(session_cookie(&bare).is_none());
}

#[tokio::test]
async fn the_app_can_be_turned_off() {
    let mut app = TestApp::seeded().await;
    app.settings.admin = false;
    let address = app.spawn_server().await;
    for path in ["/admin", "/admin/sign-in"] {
        let response = client()
            .get(format!("http://{address}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

/// `items`: every kind as editors see it, newest change first, filtered
/// and paged; only for roles that may preview.
#[tokio::test]
async fn items_lists_the_work_of_every_kind_for_those_who_may_preview() {
    let (app, author) = TestApp::seeded_as(Role::Author).await;
    for name in ["First", "Second", "Third"] {
        app.query_as(
            &author,
            &format!(r#"mutation {{ createTag(input: {{ name: "{name} tag" }}) {{ id }} }}"#),
            json!({}),
        )
        .await;
    }
    let mine = "query($after: String) { items(filter: { mine: true, statuses: [DRAFT] }, first: 2, after: $after) { nodes { __typename ... on Tag { name } } pageInfo { hasNextPage endCursor } } }";
    let first = app.query_as(&author, mine, json!({})).await;
    let names = |page: &Value| -> Vec<String> {
        page["items"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&first), ["Third tag", "Second tag"]);
    assert_eq!(first["items"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["items"]["pageInfo"]["endCursor"].clone();
    let second = app
        .query_as(&author, mine, json!({ "after": cursor }))
        .await;
    assert_eq!(names(&second), ["First tag"]);
    assert_eq!(second["items"]["pageInfo"]["hasNextPage"], false);

    // Another editor's list of their own drafts does not hold these.
    let editor = app.sign_in_as(Role::Editor).await;
    let theirs = app.query_as(&editor, mine, json!({})).await;
    assert_eq!(theirs["items"]["nodes"], json!([]));
    // The seeds' published items, of every kind, filtered by kind.
    let published = app
        .query_as(
            &editor,
            "{ items(filter: { statuses: [PUBLISHED], kinds: [MODULE] }) { nodes { __typename status } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        published["items"]["nodes"],
        json!([{ "__typename": "Module", "status": "PUBLISHED" }])
    );
    // What each may do with one of the author's drafts: the state machine
    // and the permission table together.
    let allowed = "{ items(filter: { mine: true }, first: 1) { nodes { allowedActions } } }";
    let actions = app.query_as(&author, allowed, json!({})).await;
    let actions = &actions["items"]["nodes"][0]["allowedActions"];
    assert!(
        actions
            .as_array()
            .unwrap()
            .contains(&json!("SUBMIT_FOR_REVIEW")),
        "{actions}"
    );
    assert!(
        !actions.as_array().unwrap().contains(&json!("PUBLISH")),
        "{actions}"
    );
    for token in [None, Some(app.api_token(Role::Partner).await)] {
        let (_, body) = app
            .post_as(token.as_deref(), "{ items { nodes { id } } }", json!({}))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );
    }
}

/// A person with a known password, signed in to the app: their cookie.
async fn app_session(
    app: &TestApp,
    address: std::net::SocketAddr,
    email: &str,
    role: Role,
) -> String {
    Session::open(app, address, email, role).await.cookie
}

/// The item page for `id` as the cookie's person sees it.
async fn item_page(address: std::net::SocketAddr, cookie: &str, id: &str) -> (StatusCode, String) {
    let session = Session {
        address,
        cookie: cookie.to_string(),
    };
    session.get(&format!("/admin/items/{id}")).await
}

/// Posts an action form as the page would (its form token, the version it
/// showed), from `origin`.
async fn act(
    address: std::net::SocketAddr,
    cookie: &str,
    origin: &str,
    id: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let session = Session {
        address,
        cookie: cookie.to_string(),
    };
    let (_, page) = session.get(&format!("/admin/items/{id}")).await;
    let mut form = vec![("_form".to_string(), form_token(&page))];
    form.extend(
        fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string())),
    );
    session
        .post_from(origin, &format!("/admin/items/{id}/actions"), &form)
        .await
}

/// The review loop in the app: an author submits (and is never offered a
/// publish button), an editor sends it back with a comment the author
/// then reads; a stale page's action is a conflict that changes nothing,
/// and an action posted from another site is refused.
#[tokio::test]
async fn authors_and_editors_take_the_actions_the_workflow_allows_them() {
    let app = TestApp::seeded().await;
    let address = app.spawn_server().await;
    let origin = format!("http://{address}");
    let author = app_session(&app, address, "ann@example.org", Role::Author).await;
    let editor = app_session(&app, address, "eve@example.org", Role::Editor).await;
    let author_token = {
        let (_, body) = app
            .post(
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                json!({ "e": "ann@example.org", "p": PASSWORD }),
            )
            .await;
        body["data"]["login"]["token"].as_str().unwrap().to_string()
    };
    let created = app
        .query_as(
            &author_token,
            r#"mutation { createTag(input: { name: "Use of force policy" }) { id } }"#,
            json!({}),
        )
        .await;
    let id = created["createTag"]["id"].as_str().unwrap().to_string();

    // The author's page offers exactly what the author may do now.
    let (status, page) = item_page(address, &author, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Use of force policy") && page.contains(">Draft<"),
        "{page}"
    );
    assert!(page.contains("data-action=\"SUBMIT_FOR_REVIEW\""), "{page}");
    for never in ["PUBLISH", "APPROVE", "REQUEST_CHANGES"] {
        assert!(
            !page.contains(&format!("data-action=\"{never}\"")),
            "{never}"
        );
    }

    // From another site: refused, nothing changes.
    let forged = act(
        address,
        &author,
        "http://evil.example",
        &id,
        &[("action", "SUBMIT_FOR_REVIEW"), ("version", "1")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(item_page(address, &author, &id).await.1.contains(">Draft<"));

    let submitted = act(
        address,
        &author,
        &origin,
        &id,
        &[("action", "SUBMIT_FOR_REVIEW"), ("version", "1")],
    )
    .await;
    assert_eq!(submitted.status(), StatusCode::SEE_OTHER);
    let (_, page) = item_page(address, &author, &id).await;
    assert!(page.contains(">In review<"), "{page}");

    // The editor may approve or send it back; sending back needs a comment.
    let (_, page) = item_page(address, &editor, &id).await;
    assert!(page.contains("data-action=\"APPROVE\""), "{page}");
    assert!(page.contains("data-action=\"REQUEST_CHANGES\""), "{page}");
    let stale = act(
        address,
        &editor,
        &origin,
        &id,
        &[
            ("action", "REQUEST_CHANGES"),
            ("version", "7"),
            ("comment", "Name the policy's year"),
        ],
    )
    .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(
        stale
            .text()
            .await
            .unwrap()
            .contains("Someone changed this item")
    );
    let sent_back = act(
        address,
        &editor,
        &origin,
        &id,
        &[
            ("action", "REQUEST_CHANGES"),
            ("version", "1"),
            ("comment", "Name the policy's year"),
        ],
    )
    .await;
    assert_eq!(sent_back.status(), StatusCode::SEE_OTHER);

    // The author sees it on their home page and the comment on the item.
    let home = client()
        .get(format!("http://{address}/admin"))
        .header(COOKIE, &author)
        .text_answer()
        .await;
    let asked = &home
        [home.find("id=\"changes-requested\"").unwrap()..home.find("id=\"in-review\"").unwrap()];
    assert!(asked.contains("Use of force policy"), "{asked}");
    let (_, page) = item_page(address, &author, &id).await;
    assert!(page.contains(">Changes requested<"), "{page}");
    assert!(
        page.contains("Name the policy&#39;s year") || page.contains("Name the policy's year"),
        "{page}"
    );
}

/// `items` in alphabetical order, narrowed by words of the slug; each
/// order's cursors stay its own, and an over-long search is refused.
#[tokio::test]
async fn items_are_found_by_words_and_listed_alphabetically() {
    let (app, author) = TestApp::seeded_as(Role::Author).await;
    for name in ["Zebra crossings", "Apple orchards", "Crossing guards"] {
        app.query_as(
            &author,
            &format!(r#"mutation {{ createTag(input: {{ name: "{name}" }}) {{ id }} }}"#),
            json!({}),
        )
        .await;
    }
    let find = "query($query: String, $after: String) { items(filter: { kinds: [TAG], query: $query }, order: ALPHABETICAL, first: 1, after: $after) { nodes { ... on Tag { name } } pageInfo { hasNextPage endCursor } } }";
    let first = app
        .query_as(&author, find, json!({ "query": "CROSSING!" }))
        .await;
    assert_eq!(
        first["items"]["nodes"],
        json!([{ "name": "Crossing guards" }])
    );
    assert_eq!(first["items"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["items"]["pageInfo"]["endCursor"].clone();
    let second = app
        .query_as(
            &author,
            find,
            json!({ "query": "CROSSING!", "after": cursor }),
        )
        .await;
    assert_eq!(
        second["items"]["nodes"],
        json!([{ "name": "Zebra crossings" }])
    );
    assert_eq!(second["items"]["pageInfo"]["hasNextPage"], false);
    // Every word must match.
    let both = app
        .query_as(&author, find, json!({ "query": "zebra guards" }))
        .await;
    assert_eq!(both["items"]["nodes"], json!([]));

    // A cursor of the other order is refused, not misread.
    let (_, body) = app
        .post_as(
            Some(&author),
            "query($after: String) { items(after: $after) { nodes { id } } }",
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    let (_, body) = app
        .post_as(Some(&author), find, json!({ "query": "a b c d e f g h i" }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
}

/// A diff names linked items by the slugs the inputs take, not by the
/// ids versions store.
#[tokio::test]
async fn a_diff_names_linked_items_by_slug() {
    let (app, editor) = TestApp::seeded_as(Role::Editor).await;
    let created = app
        .query_as(
            &editor,
            r#"mutation { createResource(input: { title: "Diffed", types: ["report"],
                 topics: ["use-of-force"], year: 2025 }) { id } }"#,
            json!({}),
        )
        .await;
    let id = created["createResource"]["id"].clone();
    let updated = app
        .query_as(
            &editor,
            r#"mutation($id: ID!) { updateResource(id: $id, expectedVersion: 1,
                 input: { topics: ["use-of-force", "community-trust-and-partnerships"] }) {
                 ... on Resource { diff(from: 1) { field from to } } } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        updated["updateResource"]["diff"],
        json!([{
            "field": "topics",
            "from": ["use-of-force"],
            "to": ["use-of-force", "community-trust-and-partnerships"],
        }])
    );
}
