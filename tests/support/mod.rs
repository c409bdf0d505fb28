//! Test harness: one throwaway PostgreSQL cluster per test run (or the server
//! named by `TEST_DATABASE_URL`), migrated once into a template database, and
//! a fresh database cloned from it for every test.

#![allow(dead_code)]

pub mod admin;
pub mod browser;
pub mod generate;
pub mod process;
pub mod wait;
pub mod workflow;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use beacon::cluster::{ClusterOptions, EmbeddedCluster};
use beacon::db::{Database, quote_identifier};
use beacon::domain::access::Role;
use beacon::http::{AppState, EdgeSettings, router};
use beacon::identity::credentials::ServerKey;
use beacon::identity::{self, Identity, IdentitySettings};
use beacon::seed::{self, SeedOptions, SeedReport};
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The server every test database lives on.
struct Server {
    /// URL of a maintenance database, with `{db}` where a name goes.
    url_template: String,
    template: String,
    _cluster: Option<EmbeddedCluster>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// Sends a request over HTTP and reads its answer whatever its status: as
/// JSON (what most end-to-end assertions look at) or as text (a page, the
/// metrics).
pub trait SendAndRead {
    fn answer<T: serde::de::DeserializeOwned>(self) -> impl std::future::Future<Output = T>;
    fn text_answer(self) -> impl std::future::Future<Output = String>;
}

impl SendAndRead for reqwest::RequestBuilder {
    async fn answer<T: serde::de::DeserializeOwned>(self) -> T {
        self.send().await.unwrap().json().await.unwrap()
    }

    async fn text_answer(self) -> String {
        self.send().await.unwrap().text().await.unwrap()
    }
}
static NEXT_DATABASE: AtomicU64 = AtomicU64::new(0);

const TEMPLATE_PREFIX: &str = "beacon_template_";
const TEST_PREFIX: &str = "beacon_test_";

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Runs async setup on a runtime of its own: each test has its own runtime,
/// and the shared server must outlive all of them.
fn block_on<F>(future: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("a runtime")
                    .block_on(future)
            })
            .join()
            .expect("setup thread")
    })
}

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        // BEACON_TEST_LOG=beacon::sql=trace shows every statement a test runs.
        if let Ok(filter) = std::env::var("BEACON_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let (url_template, cluster) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) => (replace_database(&url, "{db}"), None),
            Err(_) => {
                let dir = std::env::temp_dir().join(format!("beacon-test-{}", std::process::id()));
                let cluster =
                    EmbeddedCluster::start_or_join(&dir, ClusterOptions { ephemeral: true })
                        .expect("starting the test cluster");
                (cluster.database_url("{db}"), Some(cluster))
            }
        };
        // The template's name changes with the migrations, so a stale one
        // from an earlier run is never used.
        let fingerprint = migrations_fingerprint();
        let template = format!("{TEMPLATE_PREFIX}{fingerprint}");
        let admin = url_template.replace("{db}", "postgres");
        block_on(prepare_template(&admin, &url_template, &template));
        Server {
            url_template,
            template,
            _cluster: cluster,
        }
    })
}

/// `postgres://…/name?…` with the database name replaced.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host = match path_start {
        Some(index) => &base[..index],
        None => base,
    };
    match query {
        Some(query) => format!("{host}/{name}?{query}"),
        None => format!("{host}/{name}"),
    }
}

fn migrations_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut entries: Vec<_> = walk(&repo_path("migrations"));
    entries.sort();
    for path in entries {
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&path).unwrap_or_default());
    }
    beacon::seed::plan::hex(&hasher.finalize()[..6])
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[derive(QueryableByName)]
struct DatabaseName {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// Creates the migrated template once (across concurrent test processes, under
/// an advisory lock) and sweeps databases left by test processes that died.
async fn prepare_template(admin: &str, url_template: &str, template: &str) {
    let mut conn = AsyncPgConnection::establish(admin)
        .await
        .expect("connecting to the test server");
    diesel::sql_query("SELECT pg_advisory_lock(4242)")
        .execute(&mut conn)
        .await
        .unwrap();
    let existing: Vec<DatabaseName> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'beacon\\_%'")
            .load(&mut conn)
            .await
            .unwrap();
    for name in existing.iter().map(|row| &row.datname) {
        let stale_template = name.starts_with(TEMPLATE_PREFIX) && name != template;
        let orphan = name
            .strip_prefix(TEST_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<i32>().ok())
            .is_some_and(|pid| {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err()
            });
        if stale_template || orphan {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_identifier(name)
            ))
            .execute(&mut conn)
            .await;
        }
    }
    if !existing.iter().any(|row| row.datname == template) {
        let building = format!("{template}_building");
        let _ = diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS {}",
            quote_identifier(&building)
        ))
        .execute(&mut conn)
        .await;
        diesel::sql_query(format!("CREATE DATABASE {}", quote_identifier(&building)))
            .execute(&mut conn)
            .await
            .unwrap();
        let database = Database::connect(url_template.replace("{db}", &building), None, 2)
            .await
            .unwrap();
        database.migrate().await.expect("migrating the template");
        database.pool.close();
        drop(database);
        diesel::sql_query(format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_identifier(&building),
            quote_identifier(template)
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    run_sql(&mut conn, "SELECT pg_advisory_unlock(4242)").await;
}

/// Runs one statement a test needs that no API offers (expiring a session,
/// holding a lock, breaking a table on purpose).
pub async fn run_sql(conn: &mut AsyncPgConnection, statement: &str) {
    diesel::sql_query(statement)
        .execute(conn)
        .await
        .unwrap_or_else(|error| panic!("{statement}: {error}"));
}

/// A fresh, migrated, empty database of this test's own.
pub async fn fresh_database() -> Database {
    let template = quote_identifier(&server().template);
    let url = new_database(&format!("TEMPLATE {template}")).await;
    Database::connect(url, None, 8).await.unwrap()
}

/// The URL of a new, empty (unmigrated) database.
pub async fn empty_database_url() -> String {
    new_database("").await
}

/// Creates a database of a name no other test uses (`options` as `CREATE
/// DATABASE` takes them) and returns its URL.
async fn new_database(options: &str) -> String {
    let server = server();
    let name = format!(
        "{TEST_PREFIX}{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
    );
    let admin = server.url_template.replace("{db}", "postgres");
    let mut conn = AsyncPgConnection::establish(&admin).await.unwrap();
    let statement = format!("CREATE DATABASE {} {options}", quote_identifier(&name));
    run_sql(&mut conn, &statement).await;
    server.url_template.replace("{db}", &name)
}

/// Fails the test with the command's own error output unless it exited
/// successfully.
pub fn assert_succeeded(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Fails the test unless the command failed and its error output says
/// `said`; shows that output when it does not.
pub fn assert_failed_saying(output: &std::process::Output, said: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it succeeded: {stderr}");
    assert!(stderr.contains(said), "not saying {said:?}: {stderr}");
}

/// Identities as the server has them, under a fixed test key.
pub fn test_identity() -> Identity {
    Identity::new(
        ServerKey::new(b"test key, test key, test key, test key".to_vec()),
        IdentitySettings::default(),
    )
}

/// A loopback port for a child process (a `beacon serve`, chromedriver) to
/// listen on. A port that was merely free a moment ago is not enough: a
/// server binds seconds later, after migrating, and by then the kernel may
/// have given that port to another test's `bind(0)` or outgoing connection,
/// and a test would talk to a stranger or be reset by it. So ports come
/// from the 10,000 below the kernel's ephemeral range (32768 and up by
/// default), which it hands to no one, and never twice in one test run.
pub fn free_port() -> u16 {
    static HANDED_OUT: AtomicU64 = AtomicU64::new(0);
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(32768);
    let (low, span) = (ephemeral_start.saturating_sub(12_000).max(1024), 10_000);
    // Two test runs on one machine start apart.
    let start = u64::from(std::process::id()) * 101;
    loop {
        let port = low + (start + HANDED_OUT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = u16::try_from(port).expect("ports below the ephemeral range");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Serves `app` on a real loopback socket, as `beacon serve` does (with
/// peer addresses); the server stops with the test.
pub async fn serve_on_loopback(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    address
}

/// A test's application: its own database and the real router.
pub struct TestApp {
    pub database: Database,
    pub identity: Identity,
    /// What the router enforces: the production defaults unless a test
    /// changes them.
    pub settings: EdgeSettings,
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp {
            database: fresh_database().await,
            identity: test_identity(),
            settings: EdgeSettings::default(),
        }
    }

    /// With the repository's `seeds/` loaded.
    pub async fn seeded() -> TestApp {
        let app = TestApp::new().await;
        app.seed(&[repo_path("seeds")])
            .await
            .expect("the seeds load");
        app
    }

    /// A database with the seeds and a signed-in session of `role`: how most
    /// editorial tests begin.
    pub async fn seeded_as(role: Role) -> (TestApp, String) {
        let app = TestApp::seeded().await;
        let token = app.sign_in_as(role).await;
        (app, token)
    }

    /// With no limits on request documents or rates.
    pub fn without_limits(mut self) -> TestApp {
        self.settings.limits = beacon::graphql::limits::Limits {
            max_depth: 64,
            max_complexity: usize::MAX,
            max_aliases: usize::MAX,
            max_selections: usize::MAX,
            max_directives: 64,
            max_input_depth: 64,
        };
        self.settings.rate_limits = beacon::http::rate_limit::RateLimits {
            anonymous: None,
            authenticated: None,
        };
        self
    }

    pub async fn seed(&self, paths: &[PathBuf]) -> Result<SeedReport, seed::SeedError> {
        seed::run(&self.database, &seed_options(paths, false)).await
    }

    /// Loads synthetic content of these sizes, as a seed job would.
    pub async fn seed_synthetic(&self, sizes: seed::synthetic::Sizes) -> SeedReport {
        let dir = tempfile::tempdir().unwrap();
        let file = synthetic_file(dir.path(), sizes);
        self.seed(&[file]).await.unwrap()
    }

    pub async fn dry_run(&self, paths: &[PathBuf]) -> Result<SeedReport, seed::SeedError> {
        seed::run(&self.database, &seed_options(paths, true)).await
    }

    /// The server's state over this app's database and settings, with
    /// `runtime`'s parts (media store, notification hub…).
    pub fn state_with(&self, runtime: beacon::http::Runtime) -> AppState {
        AppState::with_runtime(
            self.database.clone(),
            self.identity.clone(),
            beacon::editorial::Editorial::default(),
            self.settings.clone(),
            runtime,
        )
    }

    pub fn router(&self) -> axum::Router {
        router(self.state_with(beacon::http::Runtime::default()))
    }

    /// POSTs a query through the router; returns the status and JSON body.
    pub async fn post(&self, query: &str, variables: Value) -> (StatusCode, Value) {
        self.post_as(None, query, variables).await
    }

    /// POSTs a query with `Authorization: Bearer <token>` when a token is given.
    pub async fn post_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// One request through the router; the status and the JSON body (null
    /// when the body is not JSON).
    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A GraphQL multipart request through the router: `query` with
    /// `$file` filled by `bytes`.
    pub async fn post_upload_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        bytes: &[u8],
    ) -> (StatusCode, Value) {
        let mut variables = variables;
        variables["file"] = Value::Null;
        let operations = json!({ "query": query, "variables": variables }).to_string();
        let mut body = Vec::new();
        let boundary = "beacon-test-boundary";
        for (name, value) in [
            ("operations", operations.as_str()),
            ("map", r#"{"0":["variables.file"]}"#),
        ] {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"upload.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut request = Request::post("/graphql").header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        );
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// The `data` of a query that must succeed.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// The first error of a query that must fail.
    pub async fn query_error(&self, query: &str, variables: Value) -> Value {
        let (_, body) = self.post(query, variables).await;
        body["errors"][0].clone()
    }

    /// The first error of a query that must fail for the holder of `token`.
    pub async fn error_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let (_, body) = self.post_as(Some(token), query, variables).await;
        body["errors"][0].clone()
    }

    /// The `data` of a query that must succeed for the holder of `token`.
    pub async fn query_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post_as(Some(token), query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// A workflow action (`submitForReview`, `publish`…) on version `version`
    /// of the item `id`, which must succeed.
    pub async fn act(&self, token: &str, action: &str, id: &str, version: i64) {
        let document = format!(
            "mutation($id: ID!, $v: Int!) {{ {action}(id: $id, expectedVersion: $v) {{ id }} }}"
        );
        self.query_as(token, &document, json!({ "id": id, "v": version }))
            .await;
    }

    /// An item as `token`'s holder sees its current draft: `node(id,
    /// preview: true)` with `selection` (`... on Resource { version }`).
    pub async fn preview_node(&self, token: &str, id: &str, selection: &str) -> Value {
        let query = format!("query($id: ID!) {{ node(id: $id, preview: true) {{ {selection} }} }}");
        self.query_as(token, &query, json!({ "id": id })).await["node"].take()
    }

    /// Creates a user with `role` straight through the identity layer, signs
    /// them in and returns their session token.
    pub async fn sign_in_as(&self, role: Role) -> String {
        let email = format!("{}-{}@example.org", role.as_str(), uuid::Uuid::new_v4());
        let password = "a long enough password";
        let mut conn = self.database.connection().await.unwrap();
        identity::create_user(&mut conn, &email, "Test User", role, password)
            .await
            .unwrap();
        self.identity
            .login(&mut conn, &email, password, None)
            .await
            .unwrap()
            .token
    }

    /// An API token with `role`, as `beacon token create` makes it.
    pub async fn api_token(&self, role: Role) -> String {
        let mut conn = self.database.connection().await.unwrap();
        self.identity
            .create_api_token(&mut conn, "test token", role, None, None)
            .await
            .unwrap()
            .1
    }

    /// Serves the app on a real loopback socket; the server stops with the test.
    pub async fn spawn_server(&self) -> SocketAddr {
        serve_on_loopback(self.router()).await
    }

    /// As [`TestApp::spawn_server`], with the notification listener `serve`
    /// runs, so subscriptions hear changes.
    pub async fn spawn_live_server(&self) -> SocketAddr {
        let runtime = beacon::http::Runtime::default();
        beacon::events::listener::spawn(self.database.url().to_string(), runtime.hub.clone());
        serve_on_loopback(router(self.state_with(runtime))).await
    }

    /// Runs one statement on this test's database, on a connection of its own.
    pub async fn sql(&self, statement: &str) {
        run_sql(&mut self.database.connection().await.unwrap(), statement).await;
    }

    /// Makes every insert into the audit log fail from now on, as an
    /// unavailable log would: to prove a change and its entry are one write.
    pub async fn refuse_audit_entries(&self) {
        self.sql(
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'the audit log is unavailable'; END $$",
        )
        .await;
        self.sql(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log
               FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        )
        .await;
    }

    /// Moves every scheduled publish to a second ago: the scheduled minute
    /// comes without the test waiting for it.
    pub async fn make_schedules_due(&self) {
        self.sql("UPDATE documents SET scheduled_publish_at = now() - interval '1 second' WHERE scheduled_publish_at IS NOT NULL")
            .await;
    }

    /// Everything in the database that content writes touch, as one value,
    /// to prove a failed job left it exactly as it was.
    pub async fn snapshot(&self) -> String {
        #[derive(QueryableByName)]
        struct Dump {
            #[diesel(sql_type = Text)]
            dump: String,
        }
        let mut conn = self.database.connection().await.unwrap();
        let tables = [
            "documents",
            "document_versions",
            "topics",
            "resource_types",
            "tags",
            "resources",
            "modules",
        ];
        let mut out = String::new();
        for table in tables {
            let dump: Dump = diesel::sql_query(format!(
                "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') AS dump FROM {table} t"
            ))
            .get_result(&mut conn)
            .await
            .unwrap();
            out.push_str(table);
            out.push('\n');
            out.push_str(&dump.dump);
            out.push('\n');
        }
        out
    }
}

pub fn seed_options(paths: &[PathBuf], dry_run: bool) -> SeedOptions {
    SeedOptions {
        paths: paths.to_vec(),
        dry_run,
        wait: true,
        progress: false,
        create_missing: false,
        // Files of a test's seeds, kept for the test's life only.
        media: beacon::media::Media::default(),
    }
}

/// Counts of one kind in a report: (created, updated, unchanged).
pub fn counts(report: &SeedReport, kind: &str) -> (u64, u64, u64) {
    let counts = report.counts[kind];
    (counts.created, counts.updated, counts.unchanged)
}

/// Synthetic content of these sizes, written as a structured seed file in
/// `dir`.
pub fn synthetic_file(dir: &Path, sizes: seed::synthetic::Sizes) -> PathBuf {
    let file = dir.join("generated.json");
    let content = seed::synthetic::generate(sizes);
    std::fs::write(&file, serde_json::to_string(&content).unwrap()).unwrap();
    file
}
