//! The documentation is run, so it cannot rot: README's fenced blocks
//! (commands, queries and their answers, curl lines, content files) run
//! against a seeded server, and its error-code list is the server's own.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{TestApp, repo_path};
use beacon::domain::access::Role;
use beacon::graphql::error::ErrorCode;

fn readme() -> String {
    std::fs::read_to_string(repo_path("README.md")).unwrap()
}

/// One fenced block: its language and text, and the line it starts on.
#[derive(Debug)]
struct Block {
    language: String,
    text: String,
    line: usize,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(language)) => {
                open = Some(Block {
                    language: language.trim().to_string(),
                    text: String::new(),
                    line: number + 1,
                })
            }
            (Some(_), Some(_)) => found.push(open.take().unwrap()),
            (Some(block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    found
}

#[test]
fn readme_lists_every_error_code_the_server_can_send() {
    let readme = readme();
    let start = readme
        .find("<!-- error codes: checked by tests/docs.rs -->\n")
        .expect("README has the error-code list");
    let list = &readme[start..];
    let list =
        &list[list.find('\n').unwrap() + 1..list.find("<!-- end of error codes -->").unwrap()];
    let mut expected = String::from("| code | meaning |\n|---|---|\n");
    for code in ErrorCode::ALL {
        expected.push_str(&format!(
            "| `{}` | {} |\n",
            code.as_str(),
            code.description()
        ));
    }
    assert_eq!(
        list, expected,
        "README's error codes differ from ErrorCode; replace the list with:\n{expected}"
    );
}

/// The password README's examples give Ada, the first admin.
const ADA_PASSWORD: &str = "correct horse battery staple";

/// Splits a block of GraphQL into its top-level definitions (README puts
/// several operations in one block, one or more lines each).
fn operations(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    for line in text.lines() {
        let code = match line.find('#') {
            Some(comment) if !line[..comment].contains('"') => &line[..comment],
            _ => line,
        };
        if code.trim().is_empty() {
            continue;
        }
        current.push_str(code);
        current.push('\n');
        depth += code.matches(['{', '(']).count() as i32;
        depth -= code.matches(['}', ')']).count() as i32;
        if depth == 0 {
            found.push(std::mem::take(&mut current));
        }
    }
    assert!(current.trim().is_empty(), "unbalanced GraphQL: {current}");
    found
}

/// `# variables: {…}` in a block gives its operations' variables.
fn declared_variables(text: &str) -> Option<Value> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("# variables:"))
        .map(|json| serde_json::from_str(json.trim()).expect("variables are JSON"))
}

/// Whether an answer is what README shows. README elides: a string ending
/// in "…" is a prefix, an array element starting with "…" stands for the
/// rest of the array, a key "…" for further keys; scores are rounded.
fn shows(documented: &Value, actual: &Value) -> Result<(), String> {
    match (documented, actual) {
        (Value::String(shown), Value::String(real)) => match shown.strip_suffix('…') {
            Some(prefix) if real.starts_with(prefix) => Ok(()),
            None if shown == real => Ok(()),
            _ => Err(format!("{shown:?} is shown, the server says {real:?}")),
        },
        (Value::Number(shown), Value::Number(real)) => {
            let (shown, real) = (shown.as_f64().unwrap(), real.as_f64().unwrap());
            if (shown - real).abs() < 0.05 {
                Ok(())
            } else {
                Err(format!("{shown} is shown, the server says {real}"))
            }
        }
        (Value::Array(shown), Value::Array(real)) => {
            let elided = shown
                .last()
                .and_then(Value::as_str)
                .is_some_and(|last| last.starts_with('…'));
            let listed = if elided {
                &shown[..shown.len() - 1]
            } else {
                shown
            };
            if (elided && real.len() < listed.len()) || (!elided && real.len() != listed.len()) {
                return Err(format!(
                    "{} items are shown, the server has {}",
                    shown.len(),
                    real.len()
                ));
            }
            for (index, (shown, real)) in listed.iter().zip(real).enumerate() {
                shows(shown, real).map_err(|error| format!("[{index}]: {error}"))?;
            }
            Ok(())
        }
        (Value::Object(shown), Value::Object(real)) => {
            for (key, shown) in shown.iter().filter(|(key, _)| *key != "…") {
                let real = real
                    .get(key)
                    .ok_or_else(|| format!("{key} is shown, the server has no such field"))?;
                shows(shown, real).map_err(|error| format!("{key}: {error}"))?;
            }
            let elided = shown.contains_key("…");
            if let Some(extra) = real.keys().find(|key| !shown.contains_key(*key)) {
                if !elided {
                    return Err(format!("the server also sends {extra}, which is not shown"));
                }
            }
            Ok(())
        }
        (shown, real) if shown == real => Ok(()),
        (shown, real) => Err(format!("{shown} is shown, the server says {real}")),
    }
}

/// Every GraphQL operation in README runs against a seeded server without
/// errors, and every answer README shows after one is what it returns.
#[tokio::test]
async fn every_graphql_example_in_the_readme_runs_and_answers_as_shown() {
    // Examples that change content run on a server of their own, so the
    // answers README shows for reads are answers over the seeds alone.
    let app = TestApp::seeded().await;
    let reader = TestApp::seeded().await;
    {
        let mut conn = app.database.connection().await.unwrap();
        beacon::identity::create_user(
            &mut conn,
            "ada@example.org",
            "Ada",
            Role::Admin,
            ADA_PASSWORD,
        )
        .await
        .unwrap();
    }
    let admin = app.api_token(Role::Admin).await;
    let address = app.spawn_live_server().await;
    let readme = readme();
    let blocks = blocks(&readme);
    // The id the last example that created something returned, for the
    // examples that go on with `$id`.
    let mut last_id: Option<String> = None;
    let mut ran = 0;
    for (index, block) in blocks.iter().enumerate() {
        if block.language != "graphql" {
            continue;
        }
        let variables = declared_variables(&block.text);
        let changes_content =
            block.text.contains("mutation") || block.text.contains("subscription");
        let server = if changes_content { &app } else { &reader };
        let mut answer = None;
        for operation in operations(&block.text) {
            let place = format!("README.md:{}: {}", block.line, operation.trim());
            if operation.trim_start().starts_with("subscription") {
                subscription_example(&app, address, &admin, &operation, &place).await;
                ran += 1;
                continue;
            }
            let variables = match (&variables, operation.contains("$id")) {
                (Some(variables), _) => variables.clone(),
                (None, true) => {
                    json!({ "id": last_id.clone().expect("an id from an earlier example") })
                }
                (None, false) => json!({}),
            };
            // Partners' reads are anonymous; editors' examples sign in.
            let token =
                (changes_content && !operation.contains("login(")).then_some(admin.as_str());
            let (status, body) = server.post_as(token, &operation, variables).await;
            assert_eq!(status, 200, "{place}: {body}");
            assert!(body.get("errors").is_none(), "{place}: {body}");
            if let Some(id) = body["data"]
                .as_object()
                .and_then(|data| data.values().next())
                .and_then(|created| created["id"].as_str())
            {
                last_id = Some(id.to_string());
            }
            answer = Some(body);
            ran += 1;
        }
        // The answer README shows right after a block is the last
        // operation's.
        if let (Some(shown), Some(answer)) = (blocks.get(index + 1), answer)
            && shown.language == "json"
        {
            let documented: Value = serde_json::from_str(&shown.text)
                .unwrap_or_else(|error| panic!("README.md:{}: {error}", shown.line));
            if let Err(difference) = shows(&documented, &answer) {
                panic!(
                    "README.md:{}: {difference}\nthe server answers: {answer}",
                    shown.line
                );
            }
        }
    }
    assert!(ran >= 10, "only {ran} examples found");
}

/// A subscription example runs over a WebSocket: it is accepted and hears
/// a change to the item it names.
async fn subscription_example(
    app: &TestApp,
    address: std::net::SocketAddr,
    token: &str,
    operation: &str,
    place: &str,
) {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let resource = app
        .query(
            r#"{ resource(slug: "how-to-successfully-implement-a-mobile-crisis-team") { id } }"#,
            json!({}),
        )
        .await["resource"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // README shows an id cut short ("UmVzb3VyY2U6…"); a real one goes there.
    let operation = operation.replace("\"UmVzb3VyY2U6…\"", &format!("{resource:?}"));
    let mut request = format!("ws://{address}/graphql")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let send = |value: Value| Message::Text(value.to_string().into());
    socket
        .send(send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })))
        .await
        .unwrap();
    socket
        .send(send(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": operation } }),
        ))
        .await
        .unwrap();
    // The server acknowledges the connection before it has read the
    // subscription, so a change made at once may come before it listens:
    // the item is changed again until the subscription reports a change.
    let editor = app.api_token(Role::Editor).await;
    let mut version = 1;
    let mut acknowledged = false;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "{place}: nothing heard within 20 s"
        );
        if acknowledged {
            let (_, changed) = app
                .post_as(
                    Some(&editor),
                    r#"mutation($id: ID!, $version: Int!, $title: String!) { updateResource(id: $id,
                         expectedVersion: $version, input: { title: $title, types: ["guidebook-tool"] }) { version } }"#,
                    json!({ "id": resource, "version": version, "title": format!("Mobile Crisis Teams, revision {version}") }),
                )
                .await;
            assert!(changed.get("errors").is_none(), "{changed}");
            version = changed["data"]["updateResource"]["version"]
                .as_i64()
                .unwrap();
        }
        let Ok(message) =
            tokio::time::timeout(std::time::Duration::from_millis(500), socket.next()).await
        else {
            continue;
        };
        let Message::Text(text) = message.expect("the socket stays open").unwrap() else {
            continue;
        };
        let message: Value = serde_json::from_str(&text).unwrap();
        match message["type"].as_str() {
            Some("connection_ack") => acknowledged = true,
            Some("next") => {
                assert!(
                    message["payload"].get("errors").is_none(),
                    "{place}: {message}"
                );
                assert_eq!(message["payload"]["data"]["contentChanged"]["id"], resource);
                return;
            }
            _ => panic!("{place}: {message}"),
        }
    }
}
