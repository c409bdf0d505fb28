//! What Beacon serves to browsers, in a real headless Chromium.

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;
use beacon::domain::access::Role;

/// The CodeMirror editor inside the first visible element matching
/// `selector` (GraphiQL keeps hidden editors for the tabs not shown).
const EDITOR: &str = "const editors = [...document.querySelectorAll(arguments[0] + ' .CodeMirror')]
       .filter(element => element.offsetParent !== null && !element.closest('.hidden'));
     return editors.length ? editors[0].CodeMirror : null;";

async fn set_editor(browser: &Browser, selector: &str, text: &str) {
    let script = format!(
        "const editor = (() => {{ {EDITOR} }})(); if (!editor) return false; editor.setValue(arguments[1]); return true;"
    );
    browser
        .eventually(&script, vec![json!(selector), json!(text)])
        .await;
}

/// Runs the query in the query editor and returns the result pane, parsed.
async fn run(browser: &Browser, query: &str) -> Value {
    set_editor(browser, ".graphiql-query-editor", query).await;
    // GraphiQL reads the operation's name from its own parse of the text,
    // made a moment after each edit; running before it would name the
    // previous text's operation.
    browser
        .eventually(
            &format!(
                "const editor = (() => {{ {EDITOR} }})();
                 return !!editor.documentAST && editor.documentAST.loc.source.body === editor.getValue();"
            ),
            vec![json!(".graphiql-query-editor")],
        )
        .await;
    // The result pane is emptied first, so the answer read is this run's.
    set_editor(browser, ".result-window", "").await;
    browser
        .eval(
            "document.querySelector('.graphiql-execute-button').click(); return true;",
            vec![],
        )
        .await;
    let text = browser
        .eventually(
            &format!("const editor = (() => {{ {EDITOR} }})(); return editor && editor.getValue() || null;"),
            vec![json!(".result-window")],
        )
        .await;
    serde_json::from_str(text.as_str().unwrap()).unwrap_or_else(|_| panic!("result pane: {text}"))
}

/// GraphiQL comes whole from the server (no request leaves for another
/// host), loads the schema for its docs and autocomplete, runs a query
/// showing exactly what the API answers, and sends the headers typed in its
/// Headers tab.
#[tokio::test]
async fn graphiql_runs_queries_from_files_the_server_serves() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::seeded().await;
    let address = app.spawn_server().await;
    let origin = format!("http://{address}");
    browser
        .client
        .goto(&format!("{origin}/graphql"))
        .await
        .unwrap();
    browser
        .eventually(
            "return document.querySelector('.graphiql-execute-button') !== null;",
            vec![],
        )
        .await;

    let query = "{ topics { nodes { slug name } } }";
    let shown = run(&browser, query).await;
    assert_eq!(shown["data"], app.query(query, json!({})).await, "{shown}");
    assert!(
        !shown["data"]["topics"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The docs explorer lists the schema's root types, read by introspection.
    browser
        .eval(
            "document.querySelector('[aria-label=\"Show Documentation Explorer\"]').click(); return true;",
            vec![],
        )
        .await;
    let root_types = browser
        .eventually(
            "const explorer = document.querySelector('.graphiql-doc-explorer');
             return explorer && explorer.querySelector('.graphiql-doc-explorer-root-type')
               ? explorer.textContent : null;",
            vec![],
        )
        .await;
    let root_types = root_types.as_str().unwrap();
    for root in [
        "query: Query",
        "mutation: Mutation",
        "subscription: Subscription",
    ] {
        assert!(root_types.contains(root), "{root_types}");
    }

    // Autocomplete offers the schema's fields as one types.
    set_editor(&browser, ".graphiql-query-editor", "{\n  \n}").await;
    browser
        .eval(
            "const editor = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
             editor.focus(); editor.setCursor({ line: 1, ch: 2 }); return true;",
            vec![],
        )
        .await;
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys("reso")
        .await
        .unwrap();
    let hints = browser
        .eventually(
            "const hints = document.querySelector('.CodeMirror-hints');
             return hints ? hints.textContent : null;",
            vec![],
        )
        .await;
    assert!(hints.as_str().unwrap().contains("resources"), "{hints}");

    // The Headers tab sends a bearer token with the query.
    let token = app.sign_in_as(Role::Editor).await;
    browser
        .eval(
            "[...document.querySelectorAll('.graphiql-editor-tools button')]
               .find(button => button.textContent.trim() === 'Headers').click();
             return true;",
            vec![],
        )
        .await;
    set_editor(
        &browser,
        ".graphiql-editor-tool[aria-label=Headers]",
        &json!({ "Authorization": format!("Bearer {token}") }).to_string(),
    )
    .await;
    let me = run(&browser, "{ me { role } }").await;
    assert_eq!(me["data"]["me"]["role"], "EDITOR", "{me}");

    // Every file the page loaded came from this server.
    let loaded = browser
        .eval(
            "return [location.href, ...performance.getEntriesByType('resource').map(entry => entry.name)];",
            vec![],
        )
        .await;
    let loaded: Vec<String> = serde_json::from_value(loaded).unwrap();
    assert!(loaded.len() > 4, "{loaded:?}");
    for url in &loaded {
        assert!(
            url.starts_with(&format!("{origin}/")),
            "{url} is not from {origin}"
        );
    }
    browser.client.clone().close().await.unwrap();
}

/// The assets are served compressed to browsers that take it, cached for
/// good under a URL that names their contents, and not at all when GraphiQL
/// is off.
#[tokio::test]
async fn graphiql_assets_are_versioned_compressed_and_switchable() {
    let app = TestApp::new().await;
    let address = app.spawn_server().await;
    let client = reqwest::Client::new();
    let page = client
        .get(format!("http://{address}/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("https://"), "{html}");
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let url = format!("http://{address}/{script}");

    let gzipped = client
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert!(
        gzipped.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let plain = client.get(&url).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(
        plain.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(plain.bytes().await.unwrap().len() > gzipped.bytes().await.unwrap().len());

    let stale = url.replacen("/graphiql/", "/graphiql/0000", 1);
    assert_eq!(client.get(&stale).send().await.unwrap().status(), 404);

    let mut off = TestApp::new().await;
    off.settings.graphiql = false;
    let address = off.spawn_server().await;
    let url = format!("http://{address}/{script}");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 404);
}

/// The editor app in a real browser: the form signs in (the browser keeps
/// the session cookie, which no script of the page can read), home shows
/// the editor's lists, and signing out ends the session.
#[tokio::test]
async fn an_editor_signs_in_and_out_of_the_app_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::seeded().await;
    {
        let mut conn = app.database.connection().await.unwrap();
        beacon::identity::create_user(
            &mut conn,
            "grace@example.org",
            "Grace",
            Role::Editor,
            "correct horse battery staple",
        )
        .await
        .unwrap();
    }
    let address = app.spawn_server().await;
    browser
        .client
        .goto(&format!("http://{address}/admin"))
        .await
        .unwrap();
    // Sent to sign in; the form is filled and sent as a person would.
    browser
        .eventually(
            "return location.pathname === '/admin/sign-in' && document.querySelector('#password') !== null;",
            vec![],
        )
        .await;
    browser
        .eval(
            "document.querySelector('#email').value = 'grace@example.org';
             document.querySelector('#password').value = 'correct horse battery staple';
             document.querySelector('form').submit(); return true;",
            vec![],
        )
        .await;
    let who = browser
        .eventually(
            "const who = document.querySelector('#who'); return who ? who.textContent : null;",
            vec![],
        )
        .await;
    assert_eq!(who, json!("Signed in as Grace · editor"));
    assert_eq!(
        browser.eval("return location.pathname;", vec![]).await,
        json!("/admin")
    );
    let published = browser
        .eval(
            "return document.querySelector('#published').textContent;",
            vec![],
        )
        .await;
    assert!(
        published
            .as_str()
            .unwrap()
            .contains("Community Trust and Partnerships"),
        "{published}"
    );
    // The session cookie is out of the page's reach.
    assert_eq!(
        browser.eval("return document.cookie;", vec![]).await,
        json!("")
    );
    // The stylesheet came from the server, and nothing else was loaded.
    let loaded = browser
        .eval(
            "return performance.getEntriesByType('resource').map(entry => entry.name);",
            vec![],
        )
        .await;
    let loaded = loaded.as_array().unwrap();
    assert!(!loaded.is_empty());
    for url in loaded {
        assert!(
            url.as_str()
                .unwrap()
                .starts_with(&format!("http://{address}/admin/assets/")),
            "{url}"
        );
    }

    browser
        .eval(
            "document.querySelector('form.account button').click(); return true;",
            vec![],
        )
        .await;
    browser
        .eventually(
            "return location.pathname === '/admin/sign-in' && document.querySelector('#password') !== null;",
            vec![],
        )
        .await;
    // Back to the home page: signed out, so sent to sign in again.
    browser
        .client
        .goto(&format!("http://{address}/admin"))
        .await
        .unwrap();
    browser
        .eventually("return location.pathname === '/admin/sign-in';", vec![])
        .await;
}
