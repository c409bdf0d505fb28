//! The `beacon` binary, end to end.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    assert_failed_saying, assert_succeeded, empty_database_url, free_port, repo_path,
};

/// One of the package's binaries, run from the repository without the
/// caller's database.
fn binary(path: &str) -> Command {
    let mut command = Command::new(path);
    command
        .current_dir(repo_path(""))
        .env_remove("DATABASE_URL")
        .env("BEACON_LOG", "warn");
    command
}

fn beacon() -> Command {
    binary(env!("CARGO_BIN_EXE_beacon"))
}

/// The benchmark, its own binary.
fn bench() -> Command {
    binary(env!("CARGO_BIN_EXE_beacon-bench"))
}

/// Runs `beacon` against the database at `url`.
fn on_database(url: &str, args: &[&str]) -> std::process::Output {
    beacon()
        .args(args)
        .env("DATABASE_URL", url)
        .output()
        .unwrap()
}

/// POSTs a query to a server started by the test; `None` until it answers.
fn graphql(port: u16, query: &str) -> Option<Value> {
    graphql_as(port, None, query, json!({})).map(|(_, body)| body)
}

/// POSTs a query, with a bearer token when given; the status and body.
fn graphql_as(
    port: u16,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Option<(u16, Value)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.ok()?))
    })
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(data_dir: &std::path::Path) -> Server {
        Server::start_with(data_dir, None)
    }

    fn start_with(data_dir: &std::path::Path, database_url: Option<&str>) -> Server {
        let port = free_port();
        let mut command = beacon();
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        let child = command
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("BEACON_DATA_DIR", data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server { child, port };
        crate::support::wait::blocking_until(
            "the server to answer",
            Duration::from_secs(120),
            || graphql(port, "{ __typename }").is_some(),
        );
        server
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }
}

impl Drop for Server {
    /// A graceful stop, so the server takes its cluster down before the
    /// test's temporary data dir is removed.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(nix::sys::signal::Signal::SIGTERM);
            let _ = self.child.wait();
        }
    }
}

#[test]
fn serve_runs_an_embedded_cluster_shares_it_and_stops_it_on_exit() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let data = graphql(
        server.port,
        "{ __typename module(slug: \"community-trust-and-partnerships\") { resources { slug } } }",
    )
    .unwrap();
    assert_eq!(data["data"]["__typename"], "Query");
    assert_eq!(
        data["data"]["module"]["resources"]
            .as_array()
            .unwrap()
            .len(),
        8
    );

    // A second process on the same data dir joins the running cluster.
    let migrate = beacon()
        .arg("migrate")
        .env("BEACON_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_succeeded(&migrate);
    assert!(String::from_utf8_lossy(&migrate.stdout).contains("up to date"));
    let seed = beacon()
        .arg("seed")
        .env("BEACON_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(seed.status.success());
    assert!(String::from_utf8_lossy(&seed.stdout).contains("Nothing changed"));
    assert!(
        graphql(server.port, "{ __typename }").is_some(),
        "still serving after they left"
    );

    server.signal(nix::sys::signal::Signal::SIGTERM);
    let status = server.child.wait().unwrap();
    assert!(status.success());
    assert!(
        !dir.path().join("postgres/postmaster.pid").exists(),
        "stopping Beacon stops its PostgreSQL"
    );
}

#[test]
fn a_killed_server_leaves_no_postgres_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    server.signal(nix::sys::signal::Signal::SIGKILL);
    server.child.wait().unwrap();
    // The watchdog stops the orphaned cluster.
    crate::support::wait::blocking_until(
        "the watchdog to stop the orphaned cluster",
        Duration::from_secs(60),
        || !dir.path().join("postgres/postmaster.pid").exists(),
    );
    // And the next start works from there.
    let again = Server::start(dir.path());
    assert!(graphql(again.port, "{ modules { nodes { slug } } }").is_some());
}

#[tokio::test]
async fn seed_and_export_use_an_external_database_url() {
    let url = empty_database_url().await;
    let run = |args: &[&str]| on_database(&url, args);

    let first = run(&["seed"]);
    assert_succeeded(&first);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("8 created"), "{stdout}");

    let second = run(&["seed"]);
    assert!(String::from_utf8_lossy(&second.stdout).contains("Nothing changed"));

    let broken = run(&["seed", "tests/pages/broken-year.txt"]);
    assert_eq!(broken.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(stderr.contains("tests/pages/broken-year.txt:9"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");

    let dry = run(&["seed", "--dry-run", "tests/pages/use-of-force.txt"]);
    assert!(String::from_utf8_lossy(&dry.stdout).contains("nothing written"));

    let history = run(&["seed", "--history"]);
    let history = String::from_utf8_lossy(&history.stdout);
    assert_eq!(history.matches("succeeded").count(), 2, "{history}");
    assert_eq!(history.matches("failed").count(), 1, "{history}");

    let out = tempfile::tempdir().unwrap();
    let export = run(&["export", "--out", out.path().to_str().unwrap()]);
    assert!(export.status.success());
    let stdout = run(&["export"]).stdout;
    let written = std::fs::read(out.path().join("content.json")).unwrap();
    assert_eq!(written, stdout, "--out writes what stdout shows");
    let exported: Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(exported["format"], "beacon-content/1");
    assert_eq!(exported["resources"].as_array().unwrap().len(), 8);
    assert_eq!(
        exported["modules"][0]["slug"],
        json!("community-trust-and-partnerships")
    );
}

/// `export` writes what partners see; `--include-drafts` writes what
/// editors have: new drafts and unpublished changes.
#[tokio::test]
async fn export_writes_published_content_and_drafts_only_when_asked() {
    let app = crate::support::TestApp::seeded().await;
    let editor = app.sign_in_as(beacon::domain::access::Role::Editor).await;
    app.query_as(
        &editor,
        r#"mutation { createResource(input: { title: "A Draft Not Yet Public",
             types: ["report"], topics: ["use-of-force"], year: 2025 }) { id } }"#,
        json!({}),
    )
    .await;
    let published = app
        .query(
            r#"{ resource(slug: "how-to-successfully-implement-a-mobile-crisis-team") { id title } }"#,
            json!({}),
        )
        .await;
    let id = published["resource"]["id"].as_str().unwrap().to_string();
    app.query_as(
        &editor,
        r#"mutation($id: ID!) { updateResource(id: $id, expectedVersion: 1,
             input: { title: "Mobile Crisis Teams, Revised", types: ["guidebook-tool"], year: 2021,
                      topics: ["community-trust-and-partnerships", "mental-health-and-crisis-response"] }) { version } }"#,
        json!({ "id": id }),
    )
    .await;

    let url = app.database.url();
    let export = |args: &[&str]| -> Value {
        let output = on_database(url, args);
        assert_succeeded(&output);
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let titles = |exported: &Value| -> Vec<String> {
        exported["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|resource| resource["title"].as_str().unwrap().to_string())
            .collect()
    };
    let public = titles(&export(&["export"]));
    assert_eq!(public.len(), 8);
    assert!(public.contains(&"How to Successfully Implement a Mobile Crisis Team".to_string()));
    assert!(
        !public
            .iter()
            .any(|title| title.contains("Draft") || title.contains("Revised"))
    );

    let drafts = titles(&export(&["export", "--include-drafts"]));
    assert_eq!(drafts.len(), 9, "{drafts:?}");
    assert!(drafts.contains(&"A Draft Not Yet Public".to_string()));
    assert!(drafts.contains(&"Mobile Crisis Teams, Revised".to_string()));

    let help = beacon().args(["export", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("published content"), "{help}");
    assert!(help.contains("--include-drafts"), "{help}");
}

#[test]
fn help_documents_every_command_and_schema_prints_the_sdl() {
    let help = beacon().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for command in [
        "serve",
        "migrate",
        "seed",
        "export",
        "schema",
        "user",
        "token",
        "persisted",
        "--database-url",
        "--data-dir",
        "--log",
    ] {
        assert!(help.contains(command), "--help lacks {command}");
    }
    let schema = beacon().arg("schema").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&schema.stdout),
        beacon::graphql::sdl()
    );
}

/// Runs `beacon` with `stdin` piped in; panics unless it succeeds.
fn run_with_input(args: &[&str], envs: &[(&str, &str)], stdin: &str) -> String {
    use std::io::Write;
    let mut child = beacon()
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "beacon {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn users_and_tokens_made_on_the_command_line_sign_in_over_http() {
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(empty_database_url());
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("BEACON_DATA_DIR", data_dir),
    ];
    let run = |args: &[&str], stdin: &str| run_with_input(args, &envs, stdin);

    let created = run(
        &[
            "user",
            "create",
            "--email",
            "Ada@Example.org",
            "--name",
            "Ada Lovelace",
            "--role",
            "editor",
        ],
        "correct horse battery staple\n",
    );
    assert!(
        created.contains("Created Ada Lovelace <Ada@Example.org> as EDITOR"),
        "{created}"
    );
    let secret = run(
        &[
            "token",
            "create",
            "--name",
            "Partner site",
            "--role",
            "partner",
            "--expires-in",
            "90d",
        ],
        "",
    );
    let secret = secret.trim().to_string();
    assert!(secret.starts_with("bcn_pat_"), "{secret}");
    let token_id = run(&["token", "list"], "");
    assert!(
        token_id.contains("never used") && token_id.contains("PARTNER"),
        "{token_id}"
    );
    let token_id = token_id.split_whitespace().next().unwrap().to_string();

    let server = Server::start_with(dir.path(), Some(&url));
    let ask = |token: Option<&str>, query: &str, variables: Value| {
        graphql_as(server.port, token, query, variables).unwrap()
    };

    // Email in any case; the password as typed.
    let (status, login) = ask(
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { email role } } }",
        json!({ "e": "ada@example.ORG", "p": "correct horse battery staple" }),
    );
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["data"]["login"]["user"]["role"], "EDITOR");
    let session = login["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(session.starts_with("bcn_ses_"));

    let me = "{ me { role user { email name } apiToken { name } permissions } }";
    let (_, body) = ask(Some(&session), me, json!({}));
    assert_eq!(
        body["data"]["me"]["user"]["email"], "Ada@Example.org",
        "{body}"
    );
    assert_eq!(body["data"]["me"]["role"], "EDITOR");
    assert!(
        body["data"]["me"]["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("APPROVE"))
    );

    // The partner token reads published content and is refused preview.
    let (_, body) = ask(Some(&secret), me, json!({}));
    assert_eq!(body["data"]["me"]["role"], "PARTNER", "{body}");
    assert_eq!(body["data"]["me"]["apiToken"]["name"], "Partner site");
    let (_, body) = ask(Some(&secret), "{ resources { totalCount } }", json!({}));
    assert_eq!(body["data"]["resources"]["totalCount"], 8, "{body}");
    let (_, body) = ask(
        Some(&secret),
        "{ resources(preview: true) { totalCount } }",
        json!({}),
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );

    // Role changes apply to the next request; disabling ends the session.
    run(&["user", "set-role", "ada@example.org", "admin"], "");
    let (_, body) = ask(Some(&session), me, json!({}));
    assert_eq!(body["data"]["me"]["role"], "ADMIN");
    run(&["user", "disable", "ADA@example.org"], "");
    let (status, body) = ask(Some(&session), me, json!({}));
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let listed = run(&["user", "list"], "");
    assert!(
        listed.contains("ADMIN") && listed.contains("(disabled)"),
        "{listed}"
    );

    // Enabled again, with a password an operator set: only the new one works.
    run(&["user", "enable", "ada@example.org"], "");
    run(
        &["user", "set-password", "ada@example.org"],
        "a fresh password from the operator\n",
    );
    let login_with = |password: &str| {
        ask(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            json!({ "e": "ada@example.org", "p": password }),
        )
        .1
    };
    assert_eq!(
        login_with("correct horse battery staple")["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert!(login_with("a fresh password from the operator")["data"]["login"]["token"].is_string());

    // Revocation takes effect on the next request; use was recorded.
    run(&["token", "revoke", &token_id], "");
    let (status, _) = ask(Some(&secret), "{ __typename }", json!({}));
    assert_eq!(status, 401);
    let listed = run(&["token", "list"], "");
    assert!(
        listed.contains("revoked") && listed.contains("last used"),
        "{listed}"
    );

    // Passwords never come from arguments, and bad ones are refused.
    let short = beacon()
        .args([
            "user",
            "create",
            "--email",
            "b@example.org",
            "--name",
            "B",
            "--role",
            "author",
        ])
        .envs(envs)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_failed_saying(&short, "at least 10 characters");
    let nobody = beacon()
        .args(["user", "disable", "nobody@example.org"])
        .envs(envs)
        .output()
        .unwrap();
    assert_failed_saying(
        &nobody,
        "there is no user with the email nobody@example.org",
    );

    // Every account change made here is audited, as the operator's.
    let actions = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn =
            <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&url)
                .await
                .unwrap();
        beacon::db::editorial::audit_entries(&mut conn, &Default::default(), None, 100)
            .await
            .unwrap()
    });
    let operator_actions: std::collections::BTreeSet<&str> = actions
        .iter()
        .filter(|entry| entry.actor == "operator")
        .map(|entry| entry.action.as_str())
        .collect();
    for action in [
        "createUser",
        "setUserRole",
        "disableUser",
        "enableUser",
        "resetPassword",
        "createApiToken",
        "revokeApiToken",
    ] {
        assert!(
            operator_actions.contains(action),
            "{action} not audited: {operator_actions:?}"
        );
    }
}

#[tokio::test]
async fn operations_registered_on_the_command_line_are_found_by_hash() {
    let url = empty_database_url().await;
    let run = |args: &[&str]| on_database(&url, args);
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("partner");
    std::fs::create_dir(&nested).unwrap();
    let topics = "query Topics { topics { nodes { slug } } }\n";
    std::fs::write(nested.join("topics.graphql"), topics).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not an operation").unwrap();
    let hash = beacon::http::persisted::sha256_hex(topics);

    let added = run(&["persisted", "add", dir.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert_succeeded(&added);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains(&hash) && stdout.contains("Topics"),
        "{stdout}"
    );
    let again = run(&["persisted", "add", dir.path().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already registered"));

    let mut conn =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&url)
            .await
            .unwrap();
    let stored = beacon::db::persisted::find(&mut conn, &hash).await.unwrap();
    assert_eq!(stored.as_deref(), Some(topics));

    // A file that does not parse is refused, and nothing is registered.
    let broken = dir.path().join("broken.graphql");
    std::fs::write(&broken, "query {").unwrap();
    let refused = run(&["persisted", "add", broken.to_str().unwrap()]);
    assert_failed_saying(&refused, "broken.graphql");

    let listed = run(&["persisted", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("topics.graphql"));
    let removed = run(&["persisted", "remove", &hash]);
    assert!(removed.status.success());
    assert!(!run(&["persisted", "remove", &hash]).status.success());
    assert!(
        beacon::db::persisted::find(&mut conn, &hash)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn webhooks_are_managed_on_the_command_line() {
    let url = empty_database_url().await;
    let run = |args: &[&str]| on_database(&url, args);
    let stdout =
        |output: &std::process::Output| String::from_utf8_lossy(&output.stdout).into_owned();

    // Private addresses need saying so.
    let refused = run(&["webhook", "create", "--url", "http://127.0.0.1:9/hook"]);
    assert_failed_saying(&refused, "private");

    let created = run(&[
        "webhook",
        "create",
        "--url",
        "http://127.0.0.1:9/hook",
        "--event",
        "published",
        "--event",
        "SEED_RUN",
        "--allow-private",
        "true",
    ]);
    assert_succeeded(&created);
    let text = stdout(&created);
    let id = text.split_whitespace().next().unwrap().to_string();
    assert!(text.contains("secret (shown once): whsec_"), "{text}");

    let listed = stdout(&run(&["webhook", "list"]));
    assert!(
        listed.contains(&id) && listed.contains("PUBLISHED,SEED_RUN"),
        "{listed}"
    );
    assert!(listed.contains("enabled"), "{listed}");
    assert!(run(&["webhook", "disable", &id]).status.success());
    assert!(stdout(&run(&["webhook", "list"])).contains("disabled"));
    assert!(run(&["webhook", "enable", &id]).status.success());

    // A seed run is an event: its delivery is queued for the webhook, and
    // can be queued again.
    assert!(run(&["seed", "seeds"]).status.success());
    let mut conn =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&url)
            .await
            .unwrap();
    let events = beacon::db::outbox::list_events(&mut conn, None, None, 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let event = events[0].id.to_string();
    let redelivered = run(&["webhook", "redeliver", &event]);
    assert!(
        stdout(&redelivered).contains("1 delivery"),
        "{}",
        stdout(&redelivered)
    );
    assert!(
        !run(&["webhook", "redeliver", &uuid::Uuid::now_v7().to_string()])
            .status
            .success()
    );

    assert!(run(&["webhook", "delete", &id]).status.success());
    assert!(stdout(&run(&["webhook", "list"])).contains("No webhooks."));
    assert!(!run(&["webhook", "delete", &id]).status.success());

    // Every change made here is audited, as the operator's.
    let audit = beacon::db::editorial::audit_entries(&mut conn, &Default::default(), None, 100)
        .await
        .unwrap();
    let mut operator_actions: Vec<&str> = audit
        .iter()
        .filter(|entry| entry.actor == "operator")
        .map(|entry| entry.action.as_str())
        .collect();
    operator_actions.sort();
    assert_eq!(
        operator_actions,
        [
            "createWebhook",
            "deleteWebhook",
            "disableWebhook",
            "enableWebhook",
            "redeliver"
        ]
    );
}

/// A small benchmark end to end: it must load, start a server, get clean
/// answers to every query and measure the ceiling, and report it all.
#[tokio::test]
async fn the_benchmark_runs_and_reports_every_query() {
    let url = empty_database_url().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("BENCHMARKS.md");
    std::fs::write(
        &out,
        "# Benchmarks\n\nkept\n<!-- bench:start -->\nPREVIOUS RUN\n<!-- bench:end -->\n",
    )
    .unwrap();
    let output = bench()
        .args(["--resources", "300", "--topics", "10", "--types", "4"])
        .args([
            "--tags",
            "20",
            "--modules",
            "3",
            "--resources-per-module",
            "50",
        ])
        .args(["--duration", "1s", "--warmup", "0s", "--connections", "2"])
        .arg("--out")
        .arg(&out)
        .env("DATABASE_URL", &url)
        .env("BEACON_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_succeeded(&output);
    let report = std::fs::read_to_string(&out).unwrap();
    assert!(report.starts_with("# Benchmarks\n\nkept\n"), "{report}");
    assert!(!report.contains("PREVIOUS RUN"), "{report}");
    for query in ["Q1", "Q2", "Q3", "Q4", "Q5"] {
        let row = report
            .lines()
            .find(|line| line.starts_with(&format!("| {query} | ")) && line.contains(" ms |"))
            .unwrap_or_else(|| panic!("no {query} row in {report}"));
        // Requests per second, then p50, p99, max, failures.
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert!(cells[3].parse::<f64>().unwrap() > 0.0, "{row}");
        assert_eq!(cells[7], "0", "failures in {row}");
    }
    assert!(report.contains("cold start"), "{report}");
    // The same queries answered from memory, and the Zipf mix, all clean.
    let from_memory = report
        .split("published-answer cache on (the same request")
        .nth(1)
        .unwrap_or_else(|| panic!("no table of kept answers in {report}"));
    for query in ["Q1", "Q2", "Q3", "Q4", "Q5"] {
        let row = from_memory
            .lines()
            .find(|line| line.starts_with(&format!("| {query} | ")))
            .unwrap_or_else(|| panic!("no kept {query} row in {report}"));
        assert!(row.ends_with("| 0 |"), "failures in {row}");
    }
    let mix = report
        .split("A realistic mix")
        .nth(1)
        .and_then(|table| table.lines().nth(4))
        .unwrap_or_else(|| panic!("no mix in {report}"));
    assert!(mix.ends_with("| 0 |"), "failures in the mix: {mix}");
    // Every page of the editor app was timed.
    for page in ["| home | `/admin` |", "| a module with its resources |"] {
        assert!(report.contains(page), "{page} missing from {report}");
    }
    // The ceiling where pgbench is installed, or why it could not be measured.
    if beacon::cluster::pgbench_binary().is_some() {
        assert!(report.contains("transactions/s"), "{report}");
    } else {
        assert!(report.contains("the ceiling was not measured"), "{report}");
    }

    // A database with content is refused.
    let again = bench()
        .args(["--resources", "10", "--duration", "1s"])
        .arg("--out")
        .arg(&out)
        .env("DATABASE_URL", &url)
        .env("BEACON_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_failed_saying(&again, "already holds content");
}

/// Started outside the checkout, with no `seeds/` folder in sight, the
/// server loads the seeds built into it.
#[test]
fn serve_started_anywhere_loads_the_built_in_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = beacon()
        .current_dir(elsewhere.path())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("BEACON_DATA_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server { child, port };
    crate::support::wait::blocking_until("the server to answer", Duration::from_secs(120), || {
        graphql(port, "{ __typename }").is_some()
    });
    let modules = graphql(
        port,
        "{ modules { nodes { slug } } resources { totalCount } }",
    )
    .unwrap();
    assert_eq!(
        modules["data"]["modules"]["nodes"],
        json!([{ "slug": "community-trust-and-partnerships" }]),
        "{modules}"
    );
    assert_eq!(modules["data"]["resources"]["totalCount"], 8);
}

/// A media store the server cannot use is found at start, named, and the
/// server does not start (rather than failing editors' first upload).
#[tokio::test]
async fn serve_refuses_to_start_on_a_media_store_it_cannot_reach() {
    let url = empty_database_url().await;
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let output = beacon()
        .args([
            "--data-dir",
            data_dir.path().to_str().unwrap(),
            "serve",
            "--no-seed",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--media-s3-bucket",
            "media",
            "--media-s3-endpoint",
            &format!("http://127.0.0.1:{}", free_port()),
        ])
        .env("DATABASE_URL", &url)
        .env("AWS_ACCESS_KEY_ID", "nobody")
        .env("AWS_SECRET_ACCESS_KEY", "nothing")
        .output()
        .unwrap();
    assert_failed_saying(&output, "cannot use the media store (s3://media)");
}
