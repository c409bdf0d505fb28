//! The editor app in a real headless Chromium: the review flow with three
//! people through to a scheduled publish a partner then sees, a conflict
//! between two browsers merged without losing text, a session that ends
//! mid-edit, and a form posted from another site.

use crate::support::SendAndRead;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::admin::PASSWORD;
use crate::support::browser::Browser;
use beacon::domain::access::Role;

async fn account(app: &TestApp, email: &str, role: Role) {
    let mut conn = app.database.connection().await.unwrap();
    beacon::identity::create_user(&mut conn, email, email, role, PASSWORD)
        .await
        .unwrap();
}

/// Which server a test needs: with the LISTEN hub (live notices) or not.
enum Server {
    Plain,
    Live,
}

const EVE: &str = "eve@example.org";

/// Eve's account in `role`, and the origin of a server on `app`'s database.
async fn eve_and_server(app: &TestApp, role: Role, server: Server) -> String {
    account(app, EVE, role).await;
    let address = match server {
        Server::Plain => app.spawn_server().await,
        Server::Live => app.spawn_live_server().await,
    };
    format!("http://{address}")
}

async fn sign_in(browser: &Browser, origin: &str, email: &str) {
    browser.open(&format!("{origin}/admin")).await;
    browser.wait_for_page("/admin/sign-in", "#password").await;
    browser.type_into("#email", email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_page("/admin", "#who").await;
}

async fn sign_out(browser: &Browser) {
    browser.click("form.account button").await;
    browser.wait_for_page("/admin/sign-in", "#password").await;
}

/// Clicks a workflow action's button and waits for the item's status to
/// read `status`.
async fn take(browser: &Browser, action: &str, status: &str) {
    browser
        .click(&format!("button[data-action=\"{action}\"]"))
        .await;
    browser
        .eventually(
            "const status = document.querySelector('#status'); return status && status.textContent === arguments[0];",
            vec![json!(status)],
        )
        .await;
}

/// The item page's id, from the address.
async fn item_id(browser: &Browser) -> String {
    browser
        .eventually(
            "return /^\\/admin\\/items\\/[^/]+$/.test(location.pathname) && document.querySelector('#status') ? location.pathname.split('/')[3] : null;",
            vec![],
        )
        .await
        .as_str()
        .unwrap()
        .to_string()
}

/// An anonymous partner's answer to `query`.
async fn public_answer(origin: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{origin}/graphql"))
        .json(&json!({ "query": query, "variables": variables }))
        .answer()
        .await
}

async fn public_resource(origin: &str, slug: &str) -> Value {
    let query = "query($slug: String!) { resource(slug: $slug) { title year } }";
    public_answer(origin, query, json!({ "slug": slug })).await["data"]["resource"].clone()
}

/// Author creates and submits; editor sends it back with a comment; the
/// author reads it, mends and resubmits; the editor approves; a publisher
/// schedules it in the browser's time; the scheduler publishes; an
/// anonymous partner query sees it. The author is never offered "Publish".
#[tokio::test]
async fn three_people_take_a_resource_from_draft_to_public_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::seeded().await;
    for (email, role) in [
        ("ann@example.org", Role::Author),
        (EVE, Role::Editor),
        ("pat@example.org", Role::Publisher),
    ] {
        account(&app, email, role).await;
    }
    let address = app.spawn_server().await;
    let origin = format!("http://{address}");

    // The author writes a new resource.
    sign_in(&browser, &origin, "ann@example.org").await;
    browser.open(&format!("{origin}/admin/new/resources")).await;
    browser.wait_for_page("/admin/new/resources", "#save").await;
    browser
        .type_into("#title", "Trust Building in Practice")
        .await;
    browser.type_into("#types", "report").await;
    browser
        .type_into("#topics", "community-trust-and-partnerships")
        .await;
    browser.type_into("#year", "2019").await;
    browser.click("#save").await;
    let id = item_id(&browser).await;
    assert_eq!(browser.text("#title").await, "Trust Building in Practice");
    assert!(!browser.has("button[data-action=PUBLISH]").await);
    take(&browser, "SUBMIT_FOR_REVIEW", "In review").await;
    assert!(!browser.has("button[data-action=PUBLISH]").await);
    assert!(!browser.has("button[data-action=APPROVE]").await);
    sign_out(&browser).await;

    // The editor sends it back with a comment.
    sign_in(&browser, &origin, EVE).await;
    browser.screenshot_for_docs("admin-home").await;
    browser
        .wait_for_text("#in-review", "Trust Building in Practice")
        .await;
    browser.open(&format!("{origin}/admin/items/{id}")).await;
    browser
        .type_into("#comment-REQUEST_CHANGES", "Give the year of the edition")
        .await;
    take(&browser, "REQUEST_CHANGES", "Changes requested").await;
    sign_out(&browser).await;

    // The author reads the comment, mends and submits again.
    sign_in(&browser, &origin, "ann@example.org").await;
    browser
        .wait_for_text("#changes-requested", "Trust Building in Practice")
        .await;
    browser.open(&format!("{origin}/admin/items/{id}")).await;
    browser
        .wait_for_text("#comments", "Give the year of the edition")
        .await;
    browser.click("#edit").await;
    browser
        .wait_for_page(&format!("/admin/items/{id}/edit"), "#save")
        .await;
    browser.type_into("#year", "2020").await;
    browser.click("#save").await;
    browser
        .eventually(
            "return location.pathname === arguments[0] && document.querySelector('#status') !== null;",
            vec![json!(format!("/admin/items/{id}"))],
        )
        .await;
    take(&browser, "SUBMIT_FOR_REVIEW", "In review").await;
    assert!(!browser.has("button[data-action=PUBLISH]").await);
    sign_out(&browser).await;

    sign_in(&browser, &origin, EVE).await;
    browser.open(&format!("{origin}/admin/items/{id}")).await;
    take(&browser, "APPROVE", "Approved").await;
    sign_out(&browser).await;

    // The publisher schedules it, in the browser's own time, a minute on.
    sign_in(&browser, &origin, "pat@example.org").await;
    browser
        .wait_for_text("#approved", "Trust Building in Practice")
        .await;
    browser.open(&format!("{origin}/admin/items/{id}")).await;
    browser.screenshot_for_docs("admin-item").await;
    browser
        .wait_for_text("label[for=at-SCHEDULE_PUBLISH] .zone", "time zone")
        .await;
    let chosen = browser
        .eval(
            "const at = new Date(Date.now() + 60000); at.setSeconds(0, 0);
             const pad = n => String(n).padStart(2, '0');
             document.querySelector('#at-SCHEDULE_PUBLISH').value =
               `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
             return at.toISOString();",
            vec![],
        )
        .await;
    browser.click("button[data-action=SCHEDULE_PUBLISH]").await;
    browser.wait_for("#scheduled-publish").await;
    let scheduled = browser
        .eval(
            "return document.querySelector('#scheduled-publish time').getAttribute('datetime');",
            vec![],
        )
        .await;
    let scheduled = chrono::DateTime::parse_from_rfc3339(scheduled.as_str().unwrap()).unwrap();
    let chosen = chrono::DateTime::parse_from_rfc3339(chosen.as_str().unwrap()).unwrap();
    assert_eq!(scheduled, chosen, "the instant the publisher picked");
    assert_eq!(
        public_resource(&origin, "trust-building-in-practice").await,
        Value::Null
    );

    // The minute passes (the test moves the due time rather than wait);
    // the scheduler publishes it and partners see it.
    app.make_schedules_due().await;
    let mut conn = app.database.connection().await.unwrap();
    let handled = beacon::editorial::Editorial::default()
        .run_due(&mut conn)
        .await
        .unwrap();
    assert_eq!(handled, 1);
    assert_eq!(
        public_resource(&origin, "trust-building-in-practice").await,
        json!({ "title": "Trust Building in Practice", "year": 2020 })
    );
    browser.open(&format!("{origin}/admin/items/{id}")).await;
    assert_eq!(browser.text("#status").await, "Published");
    browser
        .wait_for_text("#public", "Trust Building in Practice")
        .await;
}

/// Two editors in two browsers edit the same resource; the second to save
/// sees the first one's change beside their own text, chooses, and saves
/// both people's work.
#[tokio::test]
async fn two_browsers_editing_one_item_merge_without_losing_text() {
    let (Some(ann), Some(bob)) = (Browser::start().await, Browser::start().await) else {
        return;
    };
    let app = TestApp::seeded().await;
    account(&app, "ann@example.org", Role::Editor).await;
    account(&app, "bob@example.org", Role::Editor).await;
    let address = app.spawn_server().await;
    let origin = format!("http://{address}");
    sign_in(&ann, &origin, "ann@example.org").await;
    sign_in(&bob, &origin, "bob@example.org").await;

    ann.open(&format!("{origin}/admin/new/resources")).await;
    ann.type_into("#title", "Shared Field Notes").await;
    ann.type_into("#types", "report").await;
    ann.type_into("#summary", "The first summary.").await;
    ann.click("#save").await;
    let id = item_id(&ann).await;
    let edit = format!("{origin}/admin/items/{id}/edit");
    ann.open(&edit).await;
    bob.open(&edit).await;
    ann.wait_for("#save").await;
    bob.wait_for("#save").await;

    bob.type_into("#summary", "Bob's better summary.").await;
    bob.type_into("#publisher", "Bob's publisher").await;
    bob.click("#save").await;
    item_id(&bob).await;

    ann.type_into("#title", "Shared Field Notes, Annotated")
        .await;
    ann.type_into("#summary", "Ann's own summary.").await;
    ann.click("#save").await;
    ann.wait_for("#merge").await;
    ann.eval(
        "document.querySelector('#field-summary').scrollIntoView({ block: 'center' }); return true;",
        vec![],
    )
    .await;
    ann.screenshot_for_docs("admin-merge").await;
    // Her text is all there; Bob's change is beside it.
    assert_eq!(
        ann.eval("return document.querySelector('#title').value;", vec![])
            .await,
        "Shared Field Notes, Annotated"
    );
    assert_eq!(
        ann.eval("return document.querySelector('#summary').value;", vec![])
            .await,
        "Ann's own summary."
    );
    assert_eq!(
        ann.eval("return document.querySelector('#publisher').value;", vec![])
            .await,
        "Bob's publisher"
    );
    ann.wait_for_text("#summary-theirs", "Bob's better summary.")
        .await;
    // She keeps her summary and saves on top of Bob's version.
    ann.click("#save").await;
    item_id(&ann).await;
    let editor = app.sign_in_as(Role::Editor).await;
    let saved = app
        .preview_node(
            &editor,
            &id,
            "... on Resource { title summary publisher version }",
        )
        .await;
    assert_eq!(
        saved,
        json!({ "title": "Shared Field Notes, Annotated", "summary": "Ann's own summary.",
                "publisher": "Bob's publisher", "version": 3 })
    );
}

/// The session ends while an editor types (here: every session is
/// revoked); saving brings the sign-in page with the text, and signing in
/// brings the form back with it. A form on another site changes nothing.
#[tokio::test]
async fn a_session_ending_mid_edit_keeps_the_text_and_other_sites_are_refused() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::seeded().await;
    let origin = eve_and_server(&app, Role::Editor, Server::Plain).await;
    sign_in(&browser, &origin, EVE).await;
    browser.open(&format!("{origin}/admin/new/tags")).await;
    browser.type_into("#name", "Written while signed out").await;

    app.sql("DELETE FROM sessions").await;
    browser.click("#save").await;
    browser.wait_for("#kept").await;
    assert!(
        browser
            .eval("return document.body.textContent;", vec![])
            .await
            .as_str()
            .unwrap()
            .contains("Written while signed out")
    );
    browser.type_into("#email", EVE).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for("#notice").await;
    assert_eq!(
        browser
            .eval("return document.querySelector('#name').value;", vec![])
            .await,
        "Written while signed out"
    );
    browser.click("#save").await;
    item_id(&browser).await;
    assert_eq!(browser.text("#title").await, "Written while signed out");

    // A page on another site that posts to the app.
    let forged = format!(
        "data:text/html,<form method=post action='{origin}/admin/new/tags'><input name=name value=Forged><button>go</button></form>"
    );
    browser.open(&forged).await;
    browser.click("button").await;
    crate::support::wait::until_true(
        "the forged post to be answered",
        Duration::from_secs(20),
        || async {
            browser
                .eval("return location.href.startsWith('http');", vec![])
                .await
                == json!(true)
        },
    )
    .await;
    let answer = browser
        .eval("return document.body.textContent;", vec![])
        .await;
    assert!(
        answer.as_str().unwrap().contains("nothing was changed"),
        "{answer}"
    );
    let editor = app.sign_in_as(Role::Editor).await;
    let found = app
        .query_as(
            &editor,
            r#"{ items(filter: { query: "forged" }) { nodes { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(found["items"]["nodes"], json!([]));
}

/// Every main screen of the app, as paths, for a signed-in admin.
async fn main_screens(app: &TestApp) -> Vec<String> {
    let modules = app.query("{ modules { nodes { id } } }", json!({})).await;
    let module = modules["modules"]["nodes"][0]["id"].as_str().unwrap();
    vec![
        "/admin".to_string(),
        "/admin/lists/resources".to_string(),
        format!("/admin/items/{module}"),
        format!("/admin/items/{module}/edit"),
        format!("/admin/items/{module}/history"),
        "/admin/new/resources".to_string(),
        "/admin/people".to_string(),
        "/admin/tokens".to_string(),
        "/admin/webhooks".to_string(),
        "/admin/seed-runs".to_string(),
        "/admin/audit-log".to_string(),
    ]
}

/// At a phone's 375 px, every main screen fits the width: nothing needs
/// scrolling sideways.
#[tokio::test]
async fn the_main_screens_fit_a_phone() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::seeded().await;
    let origin = eve_and_server(&app, Role::Admin, Server::Plain).await;
    browser.client.set_window_size(375, 800).await.unwrap();
    sign_in(&browser, &origin, EVE).await;
    for path in main_screens(&app).await {
        browser.open(&format!("{origin}{path}")).await;
        browser.wait_for("main").await;
        let widths = browser
            .eval(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
                vec![],
            )
            .await;
        let (scroll, client) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
        assert!(client <= 375, "{path}: the window is {client} px wide");
        assert!(
            scroll <= client,
            "{path}: {scroll} px of content in {client} px"
        );
    }
}

/// axe-core finds no serious or critical violation on the sign-in page,
/// any main screen, a form showing the server's problems, or a merge.
#[tokio::test]
async fn axe_finds_no_serious_accessibility_violation() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::seeded().await;
    let origin = eve_and_server(&app, Role::Admin, Server::Plain).await;
    // The checker sees a violation where there is one.
    browser
        .open("data:text/html,<html lang=en><title>t</title><img src=x.png></html>")
        .await;
    let missing_alt = browser.accessibility_violations().await;
    assert!(
        missing_alt
            .iter()
            .any(|found| found.starts_with("image-alt")),
        "{missing_alt:?}"
    );

    let mut found = Vec::new();
    let mut check = async |page: &str| {
        for violation in browser.accessibility_violations().await {
            found.push(format!("{page}: {violation}"));
        }
    };

    browser.open(&format!("{origin}/admin")).await;
    browser.wait_for_page("/admin/sign-in", "#password").await;
    check("sign-in").await;
    sign_in(&browser, &origin, EVE).await;
    for path in main_screens(&app).await {
        browser.open(&format!("{origin}{path}")).await;
        browser.wait_for("main").await;
        check(&path).await;
    }
    // The server's problems beside the fields.
    browser.open(&format!("{origin}/admin/new/resources")).await;
    browser.type_into("#year", "1066").await;
    browser.click("#save").await;
    browser.wait_for(".field-problem").await;
    check("a refused resource form").await;
    // A conflict: the other person's values beside the typed ones.
    let editor = app.sign_in_as(Role::Editor).await;
    let tag = app
        .query_as(
            &editor,
            r#"mutation { createTag(input: { name: "Mediation" }) { id } }"#,
            json!({}),
        )
        .await;
    let id = tag["createTag"]["id"].as_str().unwrap().to_string();
    browser
        .open(&format!("{origin}/admin/items/{id}/edit"))
        .await;
    browser.wait_for("#save").await;
    app.query_as(
        &editor,
        r#"mutation($id: ID!) { updateTag(id: $id, expectedVersion: 1, input: { name: "Mediation services" }) { id } }"#,
        json!({ "id": id }),
    )
    .await;
    browser.type_into("#name", "Mediation and dialogue").await;
    browser.click("#save").await;
    browser.wait_for("#merge").await;
    check("a merge").await;

    assert!(found.is_empty(), "{found:#?}");
}

/// A change made elsewhere to the item on screen is announced on the page
/// without reloading it, and the link shows the latest.
#[tokio::test]
async fn a_change_made_elsewhere_appears_on_the_open_page() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::seeded().await;
    let origin = eve_and_server(&app, Role::Editor, Server::Live).await;
    let editor = app.sign_in_as(Role::Editor).await;
    let tag = app
        .query_as(
            &editor,
            r#"mutation { createTag(input: { name: "Mediation" }) { id } }"#,
            json!({}),
        )
        .await;
    let id = tag["createTag"]["id"].as_str().unwrap().to_string();
    sign_in(&browser, &origin, EVE).await;
    browser.open(&format!("{origin}/admin/items/{id}")).await;
    browser.wait_for("[data-live]").await;
    assert!(!browser.has("#live-change").await);

    // The page subscribes once it has loaded; a change before that is in
    // what it shows. Changes go on until one is heard.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut version = 1;
    while !browser.has("#live-change").await {
        assert!(
            std::time::Instant::now() < deadline,
            "the page never announced a change"
        );
        app.query_as(
            &editor,
            "mutation($id: ID!, $v: Int!, $name: String!) { updateTag(id: $id, expectedVersion: $v, input: { name: $name }) { id } }",
            json!({ "id": id, "v": version, "name": format!("Mediation v{}", version + 1) }),
        )
        .await;
        version += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let notice = browser.text("#live-change").await;
    assert!(notice.contains("Changed elsewhere"), "{notice}");
    assert_eq!(
        browser
            .eval(
                "return document.querySelector('.live').getAttribute('role');",
                vec![]
            )
            .await,
        "status"
    );
    browser.click(".live a").await;
    browser
        .eventually(
            "return !document.querySelector('#live-change') && document.body.textContent.includes('Mediation v');",
            vec![],
        )
        .await;
}

/// Whether leaving the page now would ask first: the page's answer to the
/// `beforeunload` event the browser sends before it goes. (ChromeDriver
/// answers the browser's question itself, so the dialog cannot be seen.)
async fn leaving_asks(browser: &Browser) -> bool {
    browser
        .eval(
            "const leaving = new Event('beforeunload', { cancelable: true });
             window.dispatchEvent(leaving);
             return leaving.defaultPrevented;",
            vec![],
        )
        .await
        == json!(true)
}

/// Leaving a form with edits in it asks first; leaving it untouched, or
/// by saving, does not.
#[tokio::test]
async fn leaving_unsaved_changes_asks_first() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::seeded().await;
    let origin = eve_and_server(&app, Role::Editor, Server::Plain).await;
    sign_in(&browser, &origin, EVE).await;
    browser.open(&format!("{origin}/admin/new/tags")).await;
    browser.wait_for("#name").await;
    assert!(!leaving_asks(&browser).await, "untouched, it asked");

    browser
        .client
        .find(fantoccini::Locator::Css("#name"))
        .await
        .unwrap()
        .send_keys("Half-typed")
        .await
        .unwrap();
    assert!(leaving_asks(&browser).await, "typed into, it did not ask");

    // Saving is not leaving: the form is sent, and the item's page follows.
    browser
        .eval(
            "document.querySelector('#save').closest('form').dispatchEvent(new Event('submit', { cancelable: true })); return true;",
            vec![],
        )
        .await;
    assert!(!leaving_asks(&browser).await, "saving, it asked");
    browser.click("#save").await;
    item_id(&browser).await;
    assert_eq!(browser.text("#title").await, "Half-typed");
}

/// An editor uploads a hero image with its alternative text in the app,
/// sees it on the item page (through its preview URL), publishes it, and
/// the public gets it; the upload form refuses a file that is not one.
#[tokio::test]
async fn an_editor_uploads_an_image_and_publishes_it_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::seeded().await;
    let origin = eve_and_server(&app, Role::Admin, Server::Plain).await;
    let folder = tempfile::tempdir().unwrap();
    let photo = folder.path().join("meeting-at-the-station.png");
    image::RgbImage::from_fn(320, 200, |x, y| image::Rgb([x as u8, y as u8, 120]))
        .save(&photo)
        .unwrap();
    let fake = folder.path().join("not-a-picture.png");
    std::fs::write(&fake, "<html><script>alert(1)</script></html>").unwrap();

    sign_in(&browser, &origin, EVE).await;
    let upload = async |file: &std::path::Path| {
        browser.open(&format!("{origin}/admin/new/media")).await;
        browser.wait_for_page("/admin/new/media", "#file").await;
        browser.choose_file("#file", file).await;
    };
    upload(&fake).await;
    browser.click("#save").await;
    browser.wait_for("#problem").await;
    assert!(
        browser
            .text("#problem")
            .await
            .contains("not a type Beacon accepts"),
        "{}",
        browser.text("#problem").await
    );

    upload(&photo).await;
    browser
        .type_into("#alt", "officers and neighbours meeting at the station")
        .await;
    // Where crops keep the subject: a face in the upper left.
    browser.type_into("#focalPoint", "0.3, 0.2").await;
    browser.click("#save").await;
    let id = item_id(&browser).await;
    assert_eq!(browser.text("#title").await, "meeting at the station");
    // The draft's picture loads from its preview URL.
    let loaded = browser
        .eventually(
            "const img = document.querySelector('img.picture'); return img && img.complete && img.naturalWidth > 0 ? img.naturalWidth : null;",
            vec![],
        )
        .await;
    assert_eq!(loaded, json!(320));
    take(&browser, "SUBMIT_FOR_REVIEW", "In review").await;
    take(&browser, "APPROVE", "Approved").await;
    take(&browser, "PUBLISH", "Published").await;

    let query = r#"{ asset(slug: "meeting-at-the-station") { id alt focalPoint { x y } url } }"#;
    let answer = public_answer(&origin, query, json!({})).await;
    let asset = &answer["data"]["asset"];
    assert_eq!(
        asset["alt"], "officers and neighbours meeting at the station",
        "{answer}"
    );
    let file = reqwest::get(format!("{origin}{}", asset["url"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "image/png");
    assert_eq!(asset["focalPoint"], json!({ "x": 0.3, "y": 0.2 }));
    // The page the editor landed on is the asset the public now gets.
    assert_eq!(asset["id"], json!(id));

    // The module's form links it as the hero image; the module's page in
    // the app shows the picture.
    let module = public_answer(
        &origin,
        r#"{ module(slug: "community-trust-and-partnerships") { id } }"#,
        json!({}),
    )
    .await["data"]["module"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    browser
        .open(&format!("{origin}/admin/items/{module}/edit"))
        .await;
    browser
        .wait_for_page(&format!("/admin/items/{module}/edit"), "#heroImage")
        .await;
    browser
        .type_into("#heroImage", "meeting-at-the-station")
        .await;
    browser.click("#save").await;
    assert_eq!(item_id(&browser).await, module);
    let shown = browser
        .eventually(
            "const img = document.querySelector('img.picture'); return img && img.complete && img.naturalWidth > 0 ? img.alt : null;",
            vec![],
        )
        .await;
    assert_eq!(
        shown,
        json!("officers and neighbours meeting at the station")
    );
}
