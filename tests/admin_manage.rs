//! The admins' screens of the app over a real socket: people and roles, API
//! tokens with the secret shown once, webhooks with their deliveries and
//! redelivery, seed runs and the audit log; and that other roles neither
//! see nor reach them.

use crate::support::SendAndRead;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::admin::{Form, PASSWORD, Session, sign_in, text_of, texts_of};
use beacon::domain::access::Role;

/// The form on `page` holding the button `button` (a CSS selector).
fn form_with(page: &str, button: &str) -> Form {
    Form::on(page, &format!("form:has({button})"))
}

#[tokio::test]
async fn an_admin_adds_people_changes_roles_and_disables_accounts() {
    let (_app, admin) = Session::on_seeded_server("root@example.org", Role::Admin).await;
    let address = admin.address;
    let origin = admin.origin();
    let (status, page) = admin.get("/admin/people").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/admin/people\""), "the bar links it");

    // A password too short: refused, nobody added, the page says why.
    let short = Form::on(&page, "#new-person")
        .set("name", "Noor")
        .set("email", "noor@example.org")
        .set("password", "short")
        .submit(&admin)
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = short.text().await.unwrap();
    assert!(text_of(&refused, "#problem").unwrap().contains("password"));
    assert!(!refused.contains("data-email=\"noor@example.org\""));

    let added = Form::on(&refused, "#new-person")
        .set("name", "Noor")
        .set("email", "noor@example.org")
        .set("password", PASSWORD)
        .submit(&admin)
        .await;
    assert_eq!(added.status(), StatusCode::OK);
    let page = added.text().await.unwrap();
    assert!(text_of(&page, "#done").is_some(), "{page}");
    assert_eq!(
        sign_in(address, &origin, "noor@example.org", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER,
        "Noor can sign in"
    );

    // Noor becomes an editor, then is disabled and cannot sign in.
    let row = "tr[data-email=\"noor@example.org\"]";
    let changed = Form::on(&page, &format!("{row} form:has([data-change=role])"))
        .set("role", "EDITOR")
        .submit(&admin)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let page = changed.text().await.unwrap();
    let role = Form::on(&page, &format!("{row} form:has([data-change=role])"));
    assert_eq!(role.value("role"), Some("EDITOR"));
    let disabled = Form::on(&page, &format!("{row} form:has([data-change=disable])"))
        .submit(&admin)
        .await;
    assert_eq!(disabled.status(), StatusCode::OK);
    assert_eq!(
        sign_in(address, &origin, "noor@example.org", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
    );

    // Not on yourself: the admin cannot disable their own account.
    let page = disabled.text().await.unwrap();
    let own = Form::on(
        &page,
        "tr[data-email=\"root@example.org\"] form:has([data-change=disable])",
    )
    .submit(&admin)
    .await;
    assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        sign_in(address, &origin, "root@example.org", PASSWORD)
            .await
            .status()
            .is_redirection()
    );

    // Each change is in the audit log, with who made it.
    let (_, log) = admin.get("/admin/audit-log?action=setUserRole").await;
    let rows = texts_of(&log, "#audit tbody tr");
    assert_eq!(rows.len(), 1, "{log}");
    assert!(rows[0].contains("root@example.org"), "{}", rows[0]);
}

#[tokio::test]
async fn an_api_token_secret_is_shown_once_and_revoking_stops_it() {
    let (_app, admin) = Session::on_seeded_server("root@example.org", Role::Admin).await;
    let address = admin.address;
    let (_, page) = admin.get("/admin/tokens").await;
    let made = Form::on(&page, "#new-token")
        .set("name", "Partner site")
        .set("role", "PARTNER")
        .submit(&admin)
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let page = made.text().await.unwrap();
    let secret = text_of(&page, "#secret").expect("the secret, shown");
    let me = |secret: String| async move {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("http://{address}/graphql"))
            .bearer_auth(secret)
            .json(&json!({ "query": "{ me { role } }" }))
            .answer()
            .await;
        answer
    };
    assert_eq!(me(secret.clone()).await["data"]["me"]["role"], "PARTNER");
    // Shown once: the list never shows it again.
    let (_, list) = admin.get("/admin/tokens").await;
    assert!(!list.contains(&secret));
    assert!(text_of(&list, "#secret").is_none());

    let revoked = form_with(&list, "button[data-revoke=\"Partner site\"]")
        .submit(&admin)
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        me(secret).await["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn an_admin_registers_a_webhook_sees_its_deliveries_and_sends_one_again() {
    let (app, admin) = Session::on_seeded_server("root@example.org", Role::Admin).await;
    let (_, page) = admin.get("/admin/webhooks").await;
    let private = Form::on(&page, "#new-webhook")
        .set("url", "http://169.254.169.254/latest")
        .submit(&admin)
        .await;
    assert_eq!(private.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let made = Form::on(&page, "#new-webhook")
        .set("url", "https://hooks.example.org/beacon")
        .set("description", "Partner site")
        .submit(&admin)
        .await;
    let status = made.status();
    let page = made.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{:?}", text_of(&page, "#problem"));
    assert!(
        text_of(&page, "#secret").is_some_and(|secret| secret.len() >= 32),
        "the signing secret, shown once: {page}"
    );

    // A publish makes an event and a delivery for it.
    let publisher = app.sign_in_as(Role::Publisher).await;
    let created = app
        .query_as(
            &publisher,
            r#"mutation { createTag(input: { name: "Hooked" }) { id } }"#,
            json!({}),
        )
        .await;
    let id = created["createTag"]["id"].clone();
    for step in ["submitForReview", "approve", "publish"] {
        app.query_as(
            &publisher,
            &format!("mutation($id: ID!) {{ {step}(id: $id, expectedVersion: 1) {{ id }} }}"),
            json!({ "id": id }),
        )
        .await;
    }
    let (_, page) = admin.get("/admin/webhooks").await;
    let deliveries = texts_of(&page, ".deliveries tbody tr");
    assert_eq!(deliveries.len(), 1, "{page}");
    assert!(deliveries[0].contains("pending"), "{}", deliveries[0]);
    let again = form_with(&page, "button[data-redeliver]")
        .submit(&admin)
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let page = again.text().await.unwrap();
    let deliveries = texts_of(&page, ".deliveries tbody tr");
    assert_eq!(deliveries.len(), 2, "{page}");
    assert!(deliveries.iter().any(|row| row.contains("redeliver")));

    // Turned off, then deleted.
    let off = Form::on(&page, ".webhook form:has(input[value=disable])")
        .submit(&admin)
        .await;
    let page = off.text().await.unwrap();
    assert!(text_of(&page, ".webhook .status").unwrap().contains("Off"));
    let deleted = Form::on(&page, ".webhook form:has(input[value=delete])")
        .submit(&admin)
        .await;
    let page = deleted.text().await.unwrap();
    assert!(text_of(&page, ".webhook").is_none(), "{page}");
}

#[tokio::test]
async fn seed_runs_are_listed_for_admins() {
    let (app, admin) = Session::on_seeded_server("root@example.org", Role::Admin).await;
    let (status, page) = admin.get("/admin/seed-runs").await;
    assert_eq!(status, StatusCode::OK);
    let runs = texts_of(&page, "#seed-runs tbody tr");
    assert_eq!(runs.len(), 1, "{page}");
    assert!(runs[0].contains("succeeded"), "{}", runs[0]);
    assert!(runs[0].contains("resource: 8 new"), "{}", runs[0]);

    // The API under it: typed, paged, admins only.
    let token = app.sign_in_as(Role::Admin).await;
    let answer = app
        .query_as(
            &token,
            "{ seedRuns(first: 1) { nodes { outcome files { path sha256 } counts { kind created } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    let run = &answer["seedRuns"]["nodes"][0];
    assert_eq!(run["outcome"], "succeeded");
    assert!(!run["files"].as_array().unwrap().is_empty());
    assert!(
        run["counts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|count| count["kind"] == "resource" && count["created"].as_u64() > Some(0)),
        "{run}"
    );
    let editor = app.sign_in_as(Role::Editor).await;
    let (_, body) = app
        .post_as(Some(&editor), "{ seedRuns { nodes { id } } }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

/// An editor sees no admin screen in the bar, and reaching one by its
/// address shows nothing of it.
#[tokio::test]
async fn other_roles_neither_see_nor_reach_the_admin_screens() {
    let (_app, editor) = Session::on_seeded_server("eve@example.org", Role::Editor).await;
    let address = editor.address;
    let (_, home) = editor.get("/admin").await;
    for path in [
        "/admin/people",
        "/admin/tokens",
        "/admin/webhooks",
        "/admin/seed-runs",
        "/admin/audit-log",
    ] {
        assert!(!home.contains(&format!("href=\"{path}\"")), "{path}");
        let (status, page) = editor.get(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.contains("root@example.org"));
    }
    // Nor can they post to them.
    let (_, page) = editor.get("/admin").await;
    let token = crate::support::admin::form_token(&page);
    let response = editor
        .post(
            "/admin/people",
            &[
                ("_form".into(), token),
                ("action".into(), "create".into()),
                ("name".into(), "Mallory".into()),
                ("email".into(), "mallory@example.org".into()),
                ("role".into(), "ADMIN".into()),
                ("password".into(), PASSWORD.into()),
            ],
        )
        .await;
    assert!(response.status().is_client_error());
    assert_eq!(
        sign_in(
            address,
            &format!("http://{address}"),
            "mallory@example.org",
            PASSWORD
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
}
