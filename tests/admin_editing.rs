//! Editing in the app over a real socket, as a browser without scripts
//! would: lists with search, status, order and paging; creating and editing
//! with each field's problem beside it; a module's resources reordered;
//! a conflict merged without losing text; an expired session that keeps
//! the text; history, diff and revert; scheduling.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::admin::{Form, Session, form_token, sign_in, text_of, texts_of};
use beacon::domain::access::Role;

/// The API's view of an item, as an editor previewing it.
async fn preview(app: &TestApp, id: &str, fields: &str) -> Value {
    let editor = app.sign_in_as(Role::Editor).await;
    let answer = app
        .query_as(
            &editor,
            &format!("query($id: ID!) {{ node(id: $id, preview: true) {{ {fields} }} }}"),
            json!({ "id": id }),
        )
        .await;
    answer["node"].clone()
}

/// The item id a create or save redirected to.
fn item_id(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap();
    location
        .strip_prefix("/admin/items/")
        .unwrap_or_else(|| panic!("{location}"))
        .to_string()
}

async fn edit_form(session: &Session, id: &str) -> Form {
    let (status, page) = session.get(&format!("/admin/items/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    Form::on(&page, "form.edit")
}

#[tokio::test]
async fn an_editor_creates_and_edits_with_each_problem_beside_its_field() {
    let (app, editor) = Session::on_seeded_server("eve@example.org", Role::Editor).await;

    let (status, page) = editor.get("/admin/new/resources").await;
    assert_eq!(status, StatusCode::OK);
    let blank = Form::on(&page, "form.edit");
    assert_eq!(blank.action, "/admin/new/resources");

    // What the form itself can tell: required fields, a year that is not one.
    let refused = blank.clone().set("year", "twenty").submit(&editor).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    for field in ["title", "types", "year"] {
        assert!(
            text_of(&page, &format!("#{field}-problem")).is_some(),
            "{field}: {page}"
        );
    }
    // What only the server knows, every problem at once, each by its field;
    // the text typed stays.
    let refused = blank
        .clone()
        .set("title", "A field guide to trust")
        .set("types__add", "report")
        .set("topics__add", "no-such-topic")
        .set("url", "javascript:alert(1)")
        .set("year", "2024")
        .submit(&editor)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    let url = text_of(&page, "#url-problem").unwrap_or_else(|| panic!("{page}"));
    assert!(url.starts_with("Address"), "{url}");
    assert!(text_of(&page, "#topics-problem").is_some(), "{page}");
    assert!(text_of(&page, "#title-problem").is_none(), "{page}");
    let kept = Form::on(&page, "form.edit");
    assert_eq!(kept.value("title"), Some("A field guide to trust"));
    assert_eq!(kept.values("types"), ["report"]);
    let editor_token = app.sign_in_as(Role::Editor).await;
    let nothing = app
        .query_as(
            &editor_token,
            r#"{ items(filter: { query: "field guide" }) { nodes { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(nothing["items"]["nodes"], json!([]), "nothing was created");

    // Mended, it is created and the app shows it.
    let created = kept
        .without("topics")
        .set("topics__add", "use-of-force")
        .set("url", "https://example.org/guide")
        .submit(&editor)
        .await;
    let id = item_id(&created);
    let shown = preview(
        &app,
        &id,
        "... on Resource { title year url types { slug } topics { slug } version status }",
    )
    .await;
    assert_eq!(
        shown,
        json!({ "title": "A field guide to trust", "year": 2024, "url": "https://example.org/guide",
                "types": [{ "slug": "report" }], "topics": [{ "slug": "use-of-force" }],
                "version": 1, "status": "DRAFT" })
    );

    // Edited: the form holds what is saved; emptying a field clears it.
    let form = edit_form(&editor, &id).await;
    assert_eq!(form.value("version"), Some("1"));
    assert_eq!(form.value("url"), Some("https://example.org/guide"));
    let saved = form
        .set("title", "A field guide to trust, revised")
        .set("url", "")
        .set("_message", "Shorter")
        .submit(&editor)
        .await;
    assert_eq!(item_id(&saved), id);
    let shown = preview(
        &app,
        &id,
        "... on Resource { title url version versions(first: 1) { nodes { message } } }",
    )
    .await;
    assert_eq!(shown["title"], "A field guide to trust, revised");
    assert_eq!(shown["url"], Value::Null);
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["versions"]["nodes"][0]["message"], "Shorter");

    // A form from another site creates nothing.
    let forged = editor
        .post_from(
            "http://evil.example",
            "/admin/new/tags",
            &[
                ("_form".into(), form_token(&page)),
                ("_kind".into(), "Tag".into()),
                ("name".into(), "Forged tag".into()),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (_, tags) = editor.get("/admin/lists/tags?q=forged").await;
    assert!(text_of(&tags, "ul.items").is_none(), "{tags}");
}

#[tokio::test]
async fn a_modules_resources_are_added_moved_and_removed_before_saving() {
    let (app, editor) = Session::on_seeded_server("eve@example.org", Role::Editor).await;
    let modules = app
        .query("{ modules { nodes { id resources { slug } } } }", json!({}))
        .await;
    let module = &modules["modules"]["nodes"][0];
    let id = module["id"].as_str().unwrap();
    let seeded: Vec<String> = module["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| resource["slug"].as_str().unwrap().to_string())
        .collect();
    assert!(seeded.len() >= 3);

    let form = edit_form(&editor, id).await;
    assert_eq!(form.values("resources"), seeded);
    // "Move down" on the first: the form comes back reordered, unsaved.
    let moved = form.with("_move", "resources:down:0").submit(&editor).await;
    assert_eq!(moved.status(), StatusCode::OK);
    let form = Form::on(&moved.text().await.unwrap(), "form.edit");
    let mut expected = seeded.clone();
    expected.swap(0, 1);
    assert_eq!(form.values("resources"), expected);
    assert_eq!(
        preview(&app, id, "... on Module { version }").await["version"],
        1,
        "not saved yet"
    );
    // Remove the last, then add a resource not yet listed, and save.
    let last = expected.len() - 1;
    let removed = form
        .with("_move", &format!("resources:remove:{last}"))
        .submit(&editor)
        .await;
    let form = Form::on(&removed.text().await.unwrap(), "form.edit");
    expected.pop();
    assert_eq!(form.values("resources"), expected);
    let extra = seeded.last().unwrap().clone();
    let saved = form.set("resources__add", &extra).submit(&editor).await;
    assert_eq!(item_id(&saved), id);
    expected.push(extra);
    let shown = preview(&app, id, "... on Module { version resources { slug } }").await;
    assert_eq!(shown["version"], 2);
    let order: Vec<&str> = shown["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| resource["slug"].as_str().unwrap())
        .collect();
    assert_eq!(order, expected);
}

/// Two editors open the same item; the second to save sees what the first
/// changed, keeps their own text, and chooses where both changed a field.
#[tokio::test]
async fn a_conflict_is_merged_without_losing_text() {
    let (app, ann) = Session::on_seeded_server("ann@example.org", Role::Editor).await;
    let address = ann.address;
    let bob = Session::open(&app, address, "bob@example.org", Role::Editor).await;
    let created = Form::on(&ann.get("/admin/new/resources").await.1, "form.edit")
        .set("title", "Shared report")
        .set("types__add", "report")
        .set("summary", "First summary")
        .set("publisher", "First publisher")
        .submit(&ann)
        .await;
    let id = item_id(&created);
    let anns = edit_form(&ann, &id).await;
    let bobs = edit_form(&bob, &id).await;

    // Bob saves first: a new summary and publisher.
    item_id(
        &bobs
            .set("summary", "Bob's summary")
            .set("publisher", "Bob's publisher")
            .submit(&bob)
            .await,
    );
    // Ann, on the page she opened, changes the title and the summary.
    let conflict = anns
        .set("title", "Ann's title")
        .set("summary", "Ann's summary")
        .submit(&ann)
        .await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let page = conflict.text().await.unwrap();
    assert!(text_of(&page, "#merge").is_some(), "{page}");
    let merged = Form::on(&page, "form.edit");
    assert_eq!(merged.value("version"), Some("2"), "on top of Bob's");
    assert_eq!(merged.value("title"), Some("Ann's title"), "hers, kept");
    assert_eq!(
        merged.value("publisher"),
        Some("Bob's publisher"),
        "only Bob changed it: his"
    );
    assert_eq!(
        merged.value("summary").map(str::trim),
        Some("Ann's summary")
    );
    let theirs = text_of(&page, "#summary-theirs").unwrap();
    assert!(theirs.contains("Bob's summary"), "{theirs}");
    assert!(text_of(&page, "#title-theirs").is_none());
    assert_eq!(
        preview(&app, &id, "... on Resource { title }").await["title"],
        "Shared report",
        "nothing of Ann's saved yet"
    );

    // She takes Bob's summary and saves.
    let saved = merged.set("_take_summary", "theirs").submit(&ann).await;
    assert_eq!(item_id(&saved), id);
    let shown = preview(
        &app,
        &id,
        "... on Resource { title summary publisher version }",
    )
    .await;
    assert_eq!(
        shown,
        json!({ "title": "Ann's title", "summary": "Bob's summary",
                "publisher": "Bob's publisher", "version": 3 })
    );
}

/// The session ends while an editor types: saving shows the sign-in page
/// with the text, and signing in brings the form back filled, unsaved.
#[tokio::test]
async fn an_expired_session_keeps_the_text_and_returns_to_it() {
    let (_app, editor) = Session::on_seeded_server("eve@example.org", Role::Editor).await;
    let address = editor.address;
    let (_, page) = editor.get("/admin/new/tags").await;
    let typed = Form::on(&page, "form.edit").set("name", "Typed before expiry");

    // Signed out elsewhere (another tab): the session is gone.
    let (_, home) = editor.get("/admin").await;
    let out = Form::on(&home, "form.account").submit(&editor).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);

    let expired = typed.submit(&editor).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let page = expired.text().await.unwrap();
    assert!(page.contains("Typed before expiry"), "{page}");
    let again = Form::on(&page, "form")
        .set("email", "eve@example.org")
        .set("password", crate::support::admin::PASSWORD);
    let response = editor.post(&again.action, &again.fields).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = crate::support::admin::session_cookie(&response).expect("a new session");
    let page = response.text().await.unwrap();
    assert!(text_of(&page, "#notice").is_some(), "{page}");
    let back = Form::on(&page, "form.edit");
    assert_eq!(back.value("name"), Some("Typed before expiry"));
    let editor = Session {
        address,
        cookie: cookie.0,
    };
    let (_, tags) = editor.get("/admin/lists/tags?q=typed").await;
    assert!(
        text_of(&tags, "ul.items").is_none(),
        "not saved yet: {tags}"
    );
    let saved = back.submit(&editor).await;
    item_id(&saved);
    let (_, tags) = editor.get("/admin/lists/tags?q=typed").await;
    assert!(
        text_of(&tags, "ul.items")
            .unwrap_or_default()
            .contains("Typed before expiry"),
        "{tags}"
    );

    // The sign-in form of another site cannot carry text into a session.
    let forged = sign_in(address, "http://evil.example", "eve@example.org", "x").await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn history_compares_any_two_versions_and_reverts() {
    let (app, editor) = Session::on_seeded_server("eve@example.org", Role::Editor).await;
    let created = Form::on(&editor.get("/admin/new/tags").await.1, "form.edit")
        .set("name", "Body cameras")
        .submit(&editor)
        .await;
    let id = item_id(&created);
    for name in ["Body-worn cameras", "Body-worn camera footage"] {
        item_id(
            &edit_form(&editor, &id)
                .await
                .set("name", name)
                .submit(&editor)
                .await,
        );
    }
    let (status, page) = editor
        .get(&format!("/admin/items/{id}/history?from=1&to=3"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let cells = texts_of(&page, "#diff tbody td");
    assert_eq!(cells, ["Body cameras", "Body-worn camera footage"]);
    assert_eq!(texts_of(&page, "#diff tbody th"), ["name"]);
    // A version that does not exist: a clear page, not a crash.
    let (status, _) = editor
        .get(&format!("/admin/items/{id}/history?from=1&to=99"))
        .await;
    assert!(status.is_client_error(), "{status}");

    let revert = Form::on(&page, "#versions form:has(button[data-revert=\"1\"])");
    let reverted = revert.submit(&editor).await;
    assert_eq!(reverted.status(), StatusCode::SEE_OTHER);
    let shown = preview(&app, &id, "... on Tag { name version }").await;
    assert_eq!(shown, json!({ "name": "Body cameras", "version": 4 }));
}

#[tokio::test]
async fn lists_search_filter_sort_and_page() {
    let (app, editor) = Session::on_seeded_server("eve@example.org", Role::Editor).await;
    let address = editor.address;
    let token = app.sign_in_as(Role::Editor).await;
    for n in 0..55 {
        app.query_as(
            &token,
            &format!(r#"mutation {{ createTag(input: {{ name: "Paged tag {n:02}" }}) {{ id }} }}"#),
            json!({}),
        )
        .await;
    }
    let (status, page) = editor
        .get("/admin/lists/tags?q=paged&order=alphabetical")
        .await;
    assert_eq!(status, StatusCode::OK);
    let titles = texts_of(&page, "ul.items a.title");
    assert_eq!(titles.len(), 50);
    assert_eq!(titles[0], "Paged tag 00");
    assert_eq!(titles[49], "Paged tag 49");
    let next = scraper::Html::parse_document(&page)
        .select(&scraper::Selector::parse("#next-page").unwrap())
        .next()
        .and_then(|link| link.value().attr("href").map(str::to_string))
        .expect("a next page");
    let (_, second) = editor.get(&next).await;
    let titles = texts_of(&second, "ul.items a.title");
    assert_eq!(titles.first().map(String::as_str), Some("Paged tag 50"));
    assert_eq!(titles.len(), 5);
    assert!(text_of(&second, "#next-page").is_none());

    // Status filter: the seeded tags are published, the new ones drafts.
    let (_, published) = editor.get("/admin/lists/tags?status=PUBLISHED").await;
    assert!(
        !texts_of(&published, "ul.items a.title")
            .iter()
            .any(|title| title.starts_with("Paged")),
        "{published}"
    );
    let (status, _) = editor.get("/admin/lists/tags?status=NONSENSE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = editor.get("/admin/lists/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Resource types are listed, not created in the app.
    let (status, types) = editor.get("/admin/lists/resource-types").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!texts_of(&types, "ul.items a.title").is_empty());
    assert!(!types.contains("/admin/new/resource-types"));

    // What pickers offer as the editor types.
    let (status, picked) = editor.get("/admin/pick/tags?q=paged%2004").await;
    assert_eq!(status, StatusCode::OK);
    let picked: Value = serde_json::from_str(&picked).unwrap();
    assert_eq!(
        picked,
        json!([{ "slug": "paged-tag-04", "label": "Paged tag 04", "status": "Draft" }])
    );
    // Signed out, nothing is offered.
    let stranger = Session {
        address,
        cookie: "beacon_admin=nothing".into(),
    };
    let (status, _) = stranger.get("/admin/pick/tags?q=paged").await;
    assert!(
        status == StatusCode::SEE_OTHER || status == StatusCode::UNAUTHORIZED,
        "{status}"
    );
}

#[tokio::test]
async fn a_publisher_schedules_in_their_time_zone_and_cancels() {
    let (app, publisher) = Session::on_seeded_server("pat@example.org", Role::Publisher).await;
    let created = Form::on(&publisher.get("/admin/new/tags").await.1, "form.edit")
        .set("name", "Scheduled tag")
        .submit(&publisher)
        .await;
    let id = item_id(&created);
    for action in ["SUBMIT_FOR_REVIEW", "APPROVE"] {
        let (_, page) = publisher.get(&format!("/admin/items/{id}")).await;
        let done = Form::on(
            &page,
            &format!("form.action:has(button[data-action=\"{action}\"])"),
        )
        .submit(&publisher)
        .await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER, "{action}");
    }
    let (_, page) = publisher.get(&format!("/admin/items/{id}")).await;
    let schedule = Form::on(
        &page,
        "form.action:has(button[data-action=\"SCHEDULE_PUBLISH\"])",
    );
    // A time that is not one changes nothing and says so.
    let bad = schedule.clone().set("at", "soon").submit(&publisher).await;
    assert!(bad.status().is_client_error(), "{}", bad.status());
    let shown = preview(&app, &id, "... on Tag { scheduledPublishAt }").await;
    assert_eq!(shown["scheduledPublishAt"], Value::Null);
    // 09:30 in a zone two hours behind UTC is 11:30 UTC.
    let scheduled = schedule
        .set("at", "2031-05-06T09:30")
        .set("offset", "120")
        .submit(&publisher)
        .await;
    assert_eq!(scheduled.status(), StatusCode::SEE_OTHER);
    let shown = preview(&app, &id, "... on Tag { scheduledPublishAt }").await;
    assert_eq!(shown["scheduledPublishAt"], "2031-05-06T11:30:00+00:00");
    let (_, page) = publisher.get(&format!("/admin/items/{id}")).await;
    assert!(text_of(&page, "#scheduled-publish").is_some());
    let cancelled = Form::on(
        &page,
        "form.action:has(button[data-action=\"CANCEL_SCHEDULE\"])",
    )
    .submit(&publisher)
    .await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let shown = preview(&app, &id, "... on Tag { scheduledPublishAt }").await;
    assert_eq!(shown["scheduledPublishAt"], Value::Null);
}
