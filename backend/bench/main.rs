//! `beacon-bench`: load synthetic content through the real seed path, start
//! `beacon serve` cold, drive the canonical partner queries over loopback
//! HTTP, measure PostgreSQL's own ceiling for the same reads with
//! `pgbench`, and write it all into BENCHMARKS.md.

mod load;
mod media;
mod pages;
mod report;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use beacon::config::{BenchCli, GlobalOptions};
use beacon::db::{Database, content};
use beacon::seed::{self, SeedOptions, synthetic};
use report::Report;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = <BenchCli as clap::Parser>::parse();
    if let Err(error) = beacon::telemetry::init(&cli.global.log_filter, cli.global.log_format) {
        eprintln!("error: {error:#}");
        return std::process::ExitCode::FAILURE;
    }
    match bench(&cli.global, &cli.bench).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The benchmark opens and leaves the database itself: the server it
/// starts must find the cluster stopped, to start it cold.
async fn bench(
    global: &GlobalOptions,
    args: &beacon::config::BenchArgs,
) -> anyhow::Result<std::process::ExitCode> {
    let options = BenchOptions {
        sizes: args.sizes.sizes(),
        connections: args.connections,
        warmup: args.warmup,
        duration: args.duration,
        out: Some(args.out.clone()),
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
    };
    if args.media {
        let report = media::run(global, &options).await?;
        report.write_into(&args.out)?;
        print!("{}", report.markdown());
        eprintln!("bench: results written into {}", args.out.display());
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let report = run(global, &options).await?;
    print!("{}", report.markdown());
    eprintln!("bench: results written into {}", args.out.display());
    Ok(std::process::ExitCode::SUCCESS)
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub sizes: synthetic::Sizes,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Where the report goes (its marked section is replaced); none: only
    /// printed.
    pub out: Option<PathBuf>,
    /// The command line, for the report.
    pub command_line: String,
}

/// One of the canonical partner queries.
pub struct Query {
    pub name: &'static str,
    pub description: &'static str,
    pub document: &'static str,
}

pub const QUERIES: [Query; 5] = [
    Query {
        name: "Q1",
        description: "20 resources, 3 scalar fields",
        document: "{ resources(first: 20) { nodes { id title year } } }",
    },
    Query {
        name: "Q2",
        description: "20 resources with their topics, types and tags",
        document: "{ resources(first: 20) { nodes { id title year \
                   topics { slug name } types { slug name } tags { slug name } } } }",
    },
    Query {
        name: "Q3",
        description: "a module page: 100 resources and their topics",
        document: "query Module($module: String!) { module(slug: $module) { title intro \
                   topic { name } resources { id title year url topics { slug name } } } }",
    },
    Query {
        name: "Q4",
        description: "the resource index: a topic filter, newest first, with facets",
        document: "query Index($topic: String!) { resources(first: 20, \
                   filter: { topics: [$topic], yearFrom: 2010 }, \
                   orderBy: [{ field: YEAR, direction: DESC }]) { totalCount \
                   nodes { id title year types { name } } \
                   facets { topics { topic { slug } count } types { type { slug } count } \
                   years { year count } } pageInfo { hasNextPage endCursor } } }",
    },
    Query {
        name: "Q5",
        description: "full-text search, 20 hits with snippets",
        document: "query Search($words: String!) { search(query: $words, first: 20) { \
                   nodes { score snippet node { ... on Resource { title slug } \
                   ... on Module { title slug } } } } }",
    },
];

/// How steeply popularity falls in the mix: web traffic's Zipf exponent is
/// near 1.
pub const MIX_EXPONENT: f64 = 1.0;

/// The mix's requests per kind, by the rank each kind's first request gets.
const MIX_RESOURCES: i64 = 2000;
const MIX_MODULES: i64 = 500;
const MIX_TOPICS: i64 = 200;
const MIX_SEARCHES: i64 = 200;

/// A partner's resource page.
const RESOURCE_PAGE: &str = "query Resource($slug: String!) { resource(slug: $slug) { \
                             title year url topics { slug name } types { slug name } } }";

/// PostgreSQL's own answer to Q1 and Q2: the same rows, as plain SQL.
pub const CEILING: [(&str, &str); 2] = [
    (
        "Q1",
        "SELECT id, title, year FROM resources WHERE stage = 'published' \
         ORDER BY title, id LIMIT 20;",
    ),
    (
        "Q2",
        "WITH page AS (SELECT id, title, year, topic_ids, type_ids, tag_ids FROM resources \
         WHERE stage = 'published' ORDER BY title, id LIMIT 20) \
         SELECT p.id, p.title, p.year, 'topic', t.slug, t.name FROM page p \
         JOIN topics t ON t.stage = 'published' AND t.id = ANY (p.topic_ids) \
         UNION ALL SELECT p.id, p.title, p.year, 'type', y.slug, y.name FROM page p \
         JOIN resource_types y ON y.stage = 'published' AND y.id = ANY (p.type_ids) \
         UNION ALL SELECT p.id, p.title, p.year, 'tag', g.slug, g.name FROM page p \
         JOIN tags g ON g.stage = 'published' AND g.id = ANY (p.tag_ids);",
    ),
];

pub async fn run(global: &GlobalOptions, options: &BenchOptions) -> anyhow::Result<Report> {
    let mut report = Report::new(options);

    // 1. Content, through the seed path, into a database that has none.
    let (database, postgres_version) = fresh_database(global).await?;
    report.postgres_version = postgres_version;
    let dir = tempfile_dir()?;
    let file = dir.join("synthetic.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&synthetic::generate(options.sizes))?,
    )?;
    eprintln!("bench: loading {} resources…", options.sizes.resources);
    let started = Instant::now();
    let loaded = seed::run(
        &database,
        &SeedOptions {
            paths: vec![file],
            dry_run: false,
            wait: true,
            progress: true,
            create_missing: false,
            // Synthetic content has no files.
            media: beacon::media::Media::default(),
        },
    )
    .await
    .context("loading the synthetic content")?;
    report.load = Some((started.elapsed(), loaded.to_string()));
    let _ = std::fs::remove_dir_all(&dir);
    // Leave the cluster, so the server below starts it cold.
    database.pool.close();
    drop(database);

    // 2. A cold `beacon serve`, without its published-answer cache: these
    // figures are the engine's (every request executed).
    let address: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let started = Instant::now();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let mut server = Server::start(
        global,
        address,
        &[
            "--response-cache",
            "off",
            "--metrics-bind",
            &metrics.to_string(),
        ],
    )?;
    wait_until_ready(address, Duration::from_secs(60)).await?;
    report.startup = Some(started.elapsed());
    eprintln!("bench: server ready in {:?}", started.elapsed());
    // Until its search index is built the database answers the resource
    // index and search: measure what a server serves once it has started.
    let mut index = wait_for_index(metrics, Duration::from_secs(600)).await?;
    index.ready = started.elapsed();
    eprintln!(
        "bench: search index built in {:?} ({} MB)",
        index.build,
        index.bytes >> 20
    );
    report.index = Some(index);

    // 3. Every query once in this process: its answer checked, its SQL
    // statements counted.
    let database = Database::open(&global.database()).await?;
    let probe = Probe::new(global, &database)?;
    let variables = probe.variables().await?;
    for query in &QUERIES {
        probe.check(query, &variables).await?;
        // Counted on the server as it runs (with its search index).
        let statements = server_statements(address, metrics, query, &variables).await?;
        report.statements.push((query.name, statements));
    }

    // 4. Load.
    report.results = each_query(address, &variables, options, "").await?;
    // 5. The editor app's pages, one after another.
    eprintln!("bench: the editor app's pages…");
    let subjects = probe.subjects().await?;
    report.pages = pages::run(address, &database, &subjects).await?;
    report.memory = server.memory();
    server.stop();

    // 6. The server as it runs by default, published-answer cache on: the
    // same queries (all answered from memory once warm), then a mix of
    // many distinct requests as partners' pages send them.
    let mut server = Server::start(global, address, &["--metrics-bind", &metrics.to_string()])?;
    wait_until_ready(address, Duration::from_secs(60)).await?;
    let _ = wait_for_index(metrics, Duration::from_secs(600)).await?;
    report.kept = each_query(address, &variables, options, " from memory").await?;
    let mix = load::Workload::zipf(probe.mix().await?, MIX_EXPONENT);
    eprintln!(
        "bench: a Zipf mix of {} distinct requests for {:?}…",
        mix.distinct(),
        options.duration
    );
    // Its warm-up is the first minute of a server's life: every request is
    // new to it once.
    let result = load::run(
        address,
        &mix,
        options.connections,
        Duration::ZERO,
        options.duration,
    )
    .await?;
    report.mix = Some((mix.distinct(), result));
    report.memory_cached = server.memory();
    server.stop();

    // 7. PostgreSQL's ceiling for the same reads, when pgbench is there:
    // some distributions ship it apart from the server.
    match beacon::cluster::pgbench_binary() {
        Some(binary) => {
            for (name, sql) in CEILING {
                eprintln!("bench: pgbench {name}…");
                let ceiling =
                    pgbench(&binary, &database, sql, options).context("running pgbench")?;
                report.ceiling.push((name, ceiling));
            }
        }
        None => {
            let missing = "pgbench was not found beside the PostgreSQL server programs or on \
                           PATH (Fedora/RHEL: install postgresql-contrib); the ceiling was not \
                           measured";
            eprintln!("bench: {missing}");
            report.ceiling_missing = Some(missing.to_string());
        }
    }
    database.pool.close();

    if let Some(out) = &options.out {
        report.write_into(out)?;
    }
    Ok(report)
}

/// The benchmark's database, migrated, which must hold no content yet; and
/// PostgreSQL's version.
async fn fresh_database(global: &GlobalOptions) -> anyhow::Result<(Database, String)> {
    let database = Database::open(&global.database()).await?;
    database.migrate().await?;
    let mut conn = database.connection().await?;
    if !content::is_empty(&mut conn).await? {
        bail!(
            "the database already holds content: run the benchmark on a fresh one \
             (e.g. `beacon-bench --data-dir .bench`, or a new DATABASE_URL)"
        );
    }
    let version = server_version(&mut conn).await?;
    drop(conn);
    Ok((database, version))
}

/// Each canonical query under load, one after another.
async fn each_query(
    address: SocketAddr,
    variables: &Value,
    options: &BenchOptions,
    how: &str,
) -> anyhow::Result<Vec<(&'static str, load::LoadResult)>> {
    let mut results = Vec::new();
    for query in &QUERIES {
        let body = json!({ "query": query.document, "variables": variables }).to_string();
        eprintln!("bench: {}{how} for {:?}…", query.name, options.duration);
        let result = load::run(
            address,
            &load::Workload::single(&body),
            options.connections,
            options.warmup,
            options.duration,
        )
        .await?;
        results.push((query.name, result));
    }
    Ok(results)
}

async fn server_version(conn: &mut beacon::db::PooledConnection) -> anyhow::Result<String> {
    use diesel::QueryableByName;
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = Text)]
        server_version: String,
    }
    let version: Version = diesel::sql_query("SHOW server_version")
        .get_result(conn)
        .await?;
    Ok(version.server_version)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("beacon-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_until_ready(address: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(answer) = get(address, "/readyz").await
            && answer.starts_with("HTTP/1.1 200")
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("the server was not ready within {timeout:?}")
}

/// The search index's figures, from the server's metrics, once it has been
/// built: how long its first build took, what it holds, what it costs.
async fn wait_for_index(
    metrics: SocketAddr,
    timeout: Duration,
) -> anyhow::Result<report::IndexFigures> {
    let deadline = Instant::now() + timeout;
    loop {
        let text = get(metrics, "/metrics").await.unwrap_or_default();
        let value = |name: &str| -> Option<f64> {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .and_then(|number| number.trim().parse().ok())
        };
        if let (Some(resources), Some(bytes), Some(seconds)) = (
            value("beacon_search_index_resources"),
            value("beacon_search_index_bytes"),
            value("beacon_search_index_build_seconds"),
        ) && resources > 0.0
        {
            return Ok(report::IndexFigures {
                build: Duration::from_secs_f64(seconds),
                ready: Duration::ZERO,
                bytes: bytes as u64,
            });
        }
        if Instant::now() > deadline {
            bail!("the search index was not built within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One HTTP/1.1 GET, the answer as text.
async fn get(address: SocketAddr, path: &str) -> anyhow::Result<String> {
    exchange(
        address,
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
    )
    .await
}

async fn exchange(address: SocketAddr, request: String) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// SQL statements the server ran for one request of `query`.
async fn server_statements(
    address: SocketAddr,
    metrics: SocketAddr,
    query: &Query,
    variables: &Value,
) -> anyhow::Result<u64> {
    const SUM: &str = "beacon_graphql_sql_statements_sum ";
    let read = async || -> anyhow::Result<f64> {
        let text = get(metrics, "/metrics").await?;
        Ok(text
            .lines()
            .find_map(|line| line.strip_prefix(SUM))
            .and_then(|number| number.trim().parse().ok())
            .unwrap_or(0.0))
    };
    let before = read().await?;
    let body = json!({ "query": query.document, "variables": variables }).to_string();
    let answer = exchange(
        address,
        format!(
            "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await?;
    if !answer.starts_with("HTTP/1.1 200") {
        bail!("{} was refused: {answer}", query.name);
    }
    Ok((read().await? - before).round() as u64)
}

/// The `beacon` binary built beside this one: the server carries no load
/// generator, and the load generator no server of its own.
fn server_binary() -> anyhow::Result<PathBuf> {
    let beside =
        std::env::current_exe()?.with_file_name(format!("beacon{}", std::env::consts::EXE_SUFFIX));
    if !beside.is_file() {
        bail!(
            "{} is missing: build both binaries (cargo build --release --bins)",
            beside.display()
        );
    }
    Ok(beside)
}

/// `beacon serve` as a child process: the same database and data
/// directory, with rate limits off (the load comes from one address).
struct Server {
    child: Child,
}

impl Server {
    fn start(
        global: &GlobalOptions,
        address: SocketAddr,
        flags: &[&str],
    ) -> anyhow::Result<Server> {
        let mut command = Command::new(server_binary()?);
        command
            .arg("--data-dir")
            .arg(&global.data_dir)
            .args(["--log", "warn", "serve", "--no-seed", "--graphiql", "false"])
            .args(["--rate-limit", "off", "--token-rate-limit", "off"])
            .arg("--bind")
            .arg(address.to_string())
            .args(flags)
            .stdin(Stdio::null());
        if let Some(url) = &global.database_url {
            command.env("DATABASE_URL", url);
        }
        let child = command.spawn().context("starting beacon serve")?;
        Ok(Server { child })
    }

    /// Peak and current resident memory, in KiB.
    fn memory(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some((field("VmHWM:")?, field("VmRSS:")?))
    }

    fn stop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

/// The app in this process, to check answers and count statements.
struct Probe {
    router: axum::Router,
    database: Database,
}

impl Probe {
    fn new(global: &GlobalOptions, database: &Database) -> anyhow::Result<Probe> {
        let key = beacon::identity::secret::load(global.secret.as_deref(), &global.data_dir)?;
        let identity = beacon::identity::Identity::new(key, Default::default());
        let mut settings = beacon::http::EdgeSettings::default();
        settings.rate_limits.anonymous = None;
        let state = beacon::http::AppState::new(
            database.clone(),
            identity,
            beacon::editorial::Editorial::default(),
            settings,
        );
        Ok(Probe {
            router: beacon::http::router(state),
            database: database.clone(),
        })
    }

    async fn post(&self, document: &str, variables: &Value) -> anyhow::Result<Value> {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let body = json!({ "query": document, "variables": variables }).to_string();
        let request = axum::http::Request::post("/graphql")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))?;
        let response = self.router.clone().oneshot(request).await?;
        let bytes = response.into_body().collect().await?.to_bytes();
        let answer: Value = serde_json::from_slice(&bytes)?;
        if answer.get("errors").is_some() || answer["data"].is_null() {
            bail!("{document} failed: {answer}");
        }
        Ok(answer["data"].clone())
    }

    /// A module, a topic and search words the queries can use.
    async fn variables(&self) -> anyhow::Result<Value> {
        let data = self
            .post(
                "{ modules(first: 1) { nodes { slug } } topics(first: 1) { nodes { slug } } }",
                &json!({}),
            )
            .await?;
        let first = |list: &str| data[list]["nodes"][0]["slug"].as_str().map(str::to_string);
        let (Some(module), Some(topic)) = (first("modules"), first("topics")) else {
            bail!("the synthetic content has no module or topic");
        };
        Ok(json!({ "module": module, "topic": topic, "words": "community policing" }))
    }

    /// A resource and the first module, for the editor app's pages.
    async fn subjects(&self) -> anyhow::Result<pages::Subjects> {
        let data = self
            .post(
                "{ modules(first: 1) { nodes { id } } resources(first: 1) { nodes { id } } }",
                &json!({}),
            )
            .await?;
        let first = |list: &str| data[list]["nodes"][0]["id"].as_str().map(str::to_string);
        let (Some(module), Some(resource)) = (first("modules"), first("resources")) else {
            bail!("the synthetic content has no module or resource");
        };
        Ok(pages::Subjects { resource, module })
    }

    /// The mix's request bodies, most popular first: resource pages, module
    /// pages (Q3), the resource index per topic (Q4) and searches (Q5) for
    /// words of the content, interleaved so every kind has popular and
    /// rare requests.
    async fn mix(&self) -> anyhow::Result<Vec<String>> {
        let mut conn = self.database.connection().await?;
        let published = |table: &str, limit: i64| {
            format!(
                "SELECT slug AS value FROM {table} WHERE stage = 'published' \
                 ORDER BY md5(slug) LIMIT {limit}"
            )
        };
        let resources = texts(&mut conn, published("resources", MIX_RESOURCES)).await?;
        let modules = texts(&mut conn, published("modules", MIX_MODULES)).await?;
        let topics = texts(&mut conn, published("topics", MIX_TOPICS)).await?;
        // The most common words of titles (a sample of them), paired:
        // broad searches first.
        let words = texts(
            &mut conn,
            format!(
                "SELECT word AS value FROM (SELECT word, count(*) AS n FROM \
                 (SELECT title FROM resources WHERE stage = 'published' LIMIT 5000) AS sample, \
                 unnest(string_to_array(lower(title), ' ')) AS word \
                 WHERE length(word) > 3 GROUP BY word ORDER BY n DESC, word \
                 LIMIT {MIX_SEARCHES}) AS common"
            ),
        )
        .await?;
        let body = |document: &str, variables: Value| {
            json!({ "query": document, "variables": variables }).to_string()
        };
        let mut kinds: Vec<std::collections::VecDeque<String>> = vec![
            resources
                .iter()
                .map(|slug| body(RESOURCE_PAGE, json!({ "slug": slug })))
                .collect(),
            modules
                .iter()
                .map(|slug| body(QUERIES[2].document, json!({ "module": slug })))
                .collect(),
            topics
                .iter()
                .map(|slug| body(QUERIES[3].document, json!({ "topic": slug })))
                .collect(),
            words
                .windows(2)
                .map(|pair| body(QUERIES[4].document, json!({ "words": pair.join(" ") })))
                .collect(),
        ];
        // Resource pages are asked most: two of every five.
        let pattern = [0, 1, 0, 2, 3];
        let mut bodies = Vec::new();
        while kinds.iter().any(|kind| !kind.is_empty()) {
            for &kind in &pattern {
                if let Some(next) = kinds[kind].pop_front() {
                    bodies.push(next);
                }
            }
        }
        Ok(bodies)
    }

    /// Checks the query's answer is whole.
    async fn check(&self, query: &Query, variables: &Value) -> anyhow::Result<()> {
        let data = self.post(query.document, variables).await?;
        let rows = match query.name {
            "Q3" => data["module"]["resources"].as_array().map(Vec::len),
            "Q5" => data["search"]["nodes"].as_array().map(Vec::len),
            _ => data["resources"]["nodes"].as_array().map(Vec::len),
        };
        if rows.unwrap_or(0) == 0 {
            bail!("{} returned no rows: {data}", query.name);
        }
        Ok(())
    }
}

/// The `value` column of `sql`'s rows.
async fn texts(
    conn: &mut beacon::db::PooledConnection,
    sql: String,
) -> anyhow::Result<Vec<String>> {
    use diesel::QueryableByName;
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        value: String,
    }
    let rows: Vec<Row> = diesel::sql_query(sql).load(conn).await?;
    Ok(rows.into_iter().map(|row| row.value).collect())
}

/// What pgbench measured.
#[derive(Debug, Clone)]
pub struct Ceiling {
    pub per_second: f64,
    pub latency_ms: f64,
}

fn pgbench(
    binary: &Path,
    database: &Database,
    sql: &str,
    options: &BenchOptions,
) -> anyhow::Result<Ceiling> {
    let dir = tempfile_dir()?;
    let script = dir.join("query.sql");
    std::fs::write(&script, sql)?;
    let output = Command::new(binary)
        .args(["-n", "-j", "2", "-M", "prepared"])
        .arg("-c")
        .arg(options.connections.to_string())
        .arg("-T")
        .arg(options.duration.as_secs().max(1).to_string())
        .arg("-f")
        .arg(&script)
        .arg(database.url())
        .output()
        .context("running pgbench")?;
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let number_after = |prefix: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse::<f64>().ok())
    };
    Ok(Ceiling {
        per_second: number_after("tps = ").context("pgbench printed no tps")?,
        latency_ms: number_after("latency average = ").unwrap_or(f64::NAN),
    })
}
