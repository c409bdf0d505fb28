//! The documentation is run, so it cannot rot: the fenced blocks of
//! README.md and docs/*.md
//! (commands, queries and their answers, curl lines, content files) run
//! against a seeded server, and its error-code list is the server's own.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{TestApp, repo_path};
use beacon::domain::access::Role;
use beacon::graphql::error::ErrorCode;

/// README.md, then docs/*.md by name: the documentation, each file with
/// its path from the repository's root.
fn documentation() -> Vec<(String, String)> {
    let mut files = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(repo_path("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().to_string())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(repo_path(&file)).unwrap();
            (file, text)
        })
        .collect()
}

/// One fenced block: its language and text, and where it starts.
#[derive(Debug)]
pub(crate) struct Block {
    pub(crate) language: String,
    pub(crate) text: String,
    file: String,
    line: usize,
}

impl Block {
    fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// Every fenced block of the documentation, file after file.
pub(crate) fn documented_blocks() -> Vec<Block> {
    documentation()
        .iter()
        .flat_map(|(file, text)| blocks(file, text))
        .collect()
}

fn blocks(file: &str, markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(language)) => {
                open = Some(Block {
                    language: language.trim().to_string(),
                    text: String::new(),
                    file: file.to_string(),
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
fn the_documentation_lists_every_error_code_the_server_can_send() {
    let readme = documentation()
        .into_iter()
        .map(|(_, text)| text)
        .find(|text| text.contains("<!-- error codes: checked by tests/docs.rs -->"))
        .expect("the documentation has the error-code list");
    let start = readme
        .find("<!-- error codes: checked by tests/docs.rs -->\n")
        .unwrap();
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
            if let Some(extra) = real.keys().find(|key| !shown.contains_key(*key))
                && !elided
            {
                return Err(format!("the server also sends {extra}, which is not shown"));
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
    // Partners' reads go to `beacon serve` as partners meet it: over HTTP,
    // its search index built (suggestions come from it).
    let partners_server = crate::support::process::Process::start(
        reader.database.url(),
        &["--response-cache", "off"],
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while partners_server
        .metric("beacon_search_index_resources")
        .await
        == 0.0
    {
        assert!(std::time::Instant::now() < deadline, "no search index");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let blocks = documented_blocks();
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
        // A read for editors says so in a comment; it runs signed in.
        let signed_in = block.text.contains("# signed in");
        let server = if changes_content || signed_in {
            &app
        } else {
            &reader
        };
        let mut answer = None;
        for operation in operations(&block.text) {
            let place = format!("{}: {}", block.place(), operation.trim());
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
            let token = ((changes_content && !operation.contains("login(")) || signed_in)
                .then_some(admin.as_str());
            let (status, body) = if token.is_none() && !changes_content {
                let body = partners_server.anonymous_with(&operation, variables).await;
                (axum::http::StatusCode::OK, body)
            } else {
                server.post_as(token, &operation, variables).await
            };
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
            && shown.file == block.file
        {
            let documented: Value = serde_json::from_str(&shown.text)
                .unwrap_or_else(|error| panic!("{}: {error}", shown.place()));
            if let Err(difference) = shows(&documented, &answer) {
                panic!(
                    "{}: {difference}\nthe server answers: {answer}",
                    shown.place()
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

/// Words of a command line, honouring double quotes.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for character in line.chars() {
        match character {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            character => {
                word.push(character);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// The `beacon …` command lines of README's shell blocks, comments and
/// redirections left off, optional parts (`[--limit 20]`) taken, and each
/// `a | b | c` alternative written out in full.
fn commands() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for block in documented_blocks()
        .iter()
        .filter(|block| block.language == "sh")
    {
        for (offset, line) in block.text.lines().enumerate() {
            let line = line.split(" #").next().unwrap().trim();
            let line = line.split(" > ").next().unwrap().trim();
            let line = line
                .replace("cargo run --release --bin beacon-bench --", "beacon-bench")
                .replace("cargo run --release --", "beacon");
            if !line.starts_with("beacon") {
                continue;
            }
            let line = line.replace("[PATH...]", "").replace(['[', ']'], "");
            let mut alternatives = line.split(" | ");
            let first = alternatives.next().unwrap().trim().to_string();
            let prefix: Vec<&str> = first.split_whitespace().take(2).collect();
            let place = format!("{}:{}", block.file, block.line + 1 + offset);
            found.push((place.clone(), first.clone()));
            for alternative in alternatives {
                found.push((
                    place.clone(),
                    format!("{} {}", prefix.join(" "), alternative.trim()),
                ));
            }
        }
    }
    found
}

/// Every command line in README is one `beacon` accepts, and those that
/// need nothing made up (no server to keep running, no id to invent) run
/// against a database of their own and succeed, in README's order.
#[tokio::test]
async fn every_command_in_the_readme_is_accepted_and_the_runnable_ones_succeed() {
    use clap::Parser;

    let commands = commands();
    assert!(commands.len() >= 25, "{commands:?}");
    let url = crate::support::empty_database_url().await;
    let folder = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo_path("seeds"), folder.path().join("seeds")).unwrap();
    // The structured file README shows, under the name its commands use.
    let content_file = documented_blocks()
        .into_iter()
        .find(|block| block.language == "toml")
        .expect("README shows a content file");
    std::fs::write(folder.path().join("more.toml"), &content_file.text).unwrap();

    let mut ran = Vec::new();
    // The id `token list` printed last, for `token revoke ID`.
    let mut token_id: Option<String> = None;
    for (line, command) in commands {
        let mut command = command
            .replace(" USER", " ada@example.org")
            .replace(" ROLE", " editor");
        let mut made_up = false;
        if let Some(id) = &token_id
            && command == "beacon token revoke ID"
        {
            command = format!("beacon token revoke {id}");
        }
        for (placeholder, value) in [
            (
                " EVENT_ID",
                " 00000000-0000-0000-0000-000000000000".to_string(),
            ),
            (" ID", " 00000000-0000-0000-0000-000000000000".to_string()),
            (" SHA256", format!(" {}", "0".repeat(64))),
        ] {
            if command.ends_with(placeholder) || command.contains(&format!("{placeholder} ")) {
                command = command.replace(placeholder, &value);
                made_up = true;
            }
        }
        let place = format!("{line}: {command}");
        let args = words(&command);
        let parsed = if args[0] == "beacon-bench" {
            beacon::config::BenchCli::try_parse_from(&args).map(drop)
        } else {
            beacon::config::Cli::try_parse_from(&args).map(drop)
        };
        match parsed {
            Ok(()) => {}
            Err(error) if error.kind() == clap::error::ErrorKind::DisplayHelp => {}
            Err(error) => panic!("{place}: {error}"),
        }
        let needs_more = ["serve", "generate", "add", "create --url"]
            .iter()
            .any(|word| command.contains(&format!(" {word}")))
            || args[0] == "beacon-bench"
            || args.iter().any(|arg| arg == "--help");
        if made_up || needs_more {
            continue;
        }
        let output = run_beacon(folder.path(), &url, &args[1..]);
        assert!(
            output.status.success(),
            "{place}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        if command == "beacon token list" {
            token_id = String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .next()
                .map(str::to_string);
        }
        if args[1] == "schema" {
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                std::fs::read_to_string(repo_path("schema.graphql")).unwrap(),
                "{place}"
            );
        }
        ran.push(command);
    }
    for expected in [
        "beacon migrate",
        "beacon seed",
        "beacon seed --dry-run seeds",
        "beacon seed --create-missing more.toml",
        "beacon export --out backup/",
        "beacon user set-password ada@example.org",
        "beacon token list",
    ] {
        assert!(
            ran.iter().any(|command| command == expected),
            "{expected} did not run: {ran:?}"
        );
    }
    assert!(
        ran.iter()
            .any(|command| command.starts_with("beacon token revoke ")),
        "{ran:?}"
    );
    assert!(folder.path().join("backup/content.json").is_file());
}

/// Runs `beacon` in `folder` on `url`; a password, where asked, comes on
/// standard input.
fn run_beacon(folder: &Path, url: &str, args: &[String]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_beacon"))
        .args(args)
        .current_dir(folder)
        .env("DATABASE_URL", url)
        .env("BEACON_DATA_DIR", folder.join(".beacon"))
        .env("BEACON_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{ADA_PASSWORD}\n").as_bytes())
        .unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// The output README shows for a file it shows is what `beacon seed`
/// prints for that file.
#[tokio::test]
async fn the_seed_errors_readme_shows_are_what_beacon_prints() {
    let blocks = documented_blocks();
    let app = TestApp::seeded().await;
    let folder = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for pair in blocks.windows(2) {
        let [file, shown] = pair else { unreachable!() };
        if shown.language != "text" || !shown.text.starts_with("seed failed") {
            continue;
        }
        assert_eq!(file.language, "toml", "{}", shown.place());
        std::fs::write(folder.path().join("more.toml"), &file.text).unwrap();
        let output = run_beacon(
            folder.path(),
            app.database.url(),
            &["seed".to_string(), "more.toml".to_string()],
        );
        assert_eq!(output.status.code(), Some(1), "{}", shown.place());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.ends_with(&shown.text),
            "{} shows\n{}beacon prints\n{stderr}",
            shown.place(),
            shown.text
        );
        checked += 1;
    }
    assert!(checked >= 1);
}

/// README's curl session runs against a seeded server and prints what it
/// shows; an ETag shown as "ETAG" is the one the server sent.
#[tokio::test]
async fn the_readmes_curl_session_prints_what_it_shows() {
    if Command::new("curl").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI needs curl");
        eprintln!("skipped: curl is not installed");
        return;
    }
    let app = TestApp::seeded().await;
    let address = app.spawn_server().await;
    let mut etag = String::new();
    let mut checked = 0;
    for block in documented_blocks()
        .iter()
        .filter(|block| block.language == "console")
    {
        let mut lines = block.text.lines().peekable();
        while let Some(line) = lines.next() {
            let command = line
                .strip_prefix("$ ")
                .expect("a console block starts with a command");
            let command = command
                .replace("http://127.0.0.1:8080", &format!("http://{address}"))
                .replace("\"ETAG\"", &etag);
            // Asynchronously: the server answering it runs on this thread.
            let output = tokio::process::Command::new("sh")
                .args(["-c", &command])
                .output()
                .await
                .unwrap();
            let printed = String::from_utf8_lossy(&output.stdout).replace('\r', "");
            let mut printed = printed.lines();
            while let Some(shown) = lines.next_if(|line| !line.starts_with("$ ")) {
                let actual = printed.next().unwrap_or_else(|| {
                    panic!("{}: `{command}` printed less than shown", block.place())
                });
                match shown.split_once("\"ETAG\"") {
                    Some((before, _)) => {
                        assert!(
                            actual.starts_with(before),
                            "{}: {actual:?} for {shown:?}",
                            block.place()
                        );
                        etag = actual[before.len()..].to_string();
                    }
                    None => assert_eq!(actual, shown, "{}: {command}", block.place()),
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 4, "{checked}");
}
