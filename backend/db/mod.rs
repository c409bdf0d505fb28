//! Database access: connection pool, migrations, and the queries of each
//! concern. Nothing here knows about GraphQL or HTTP.

pub mod content;
pub mod documents;
pub mod editorial;
pub mod identity;
pub mod index_source;
pub mod outbox;
pub mod persisted;
pub mod projection;
pub mod resource_index;
pub mod search;
#[rustfmt::skip]
pub mod schema;
pub mod seed_runs;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use diesel::connection::InstrumentationEvent;
use diesel::prelude::*;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::cluster::{ClusterOptions, DATABASE_USER, EmbeddedCluster};

pub use diesel::result::Error as DbError;
pub type DbResult<T> = Result<T, DbError>;
pub type PgPool = Pool<AsyncPgConnection>;
pub type PooledConnection = Object<AsyncPgConnection>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// A connection pool, and the embedded cluster behind it when there is one.
/// The cluster is left (and stopped, when this was its last user) once every
/// clone of the database handle is dropped.
#[derive(Clone)]
pub struct Database {
    pub pool: PgPool,
    url: String,
    cluster: Option<Arc<EmbeddedCluster>>,
    statements: Arc<AtomicU64>,
}

/// Where the database is and how to use it.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// A PostgreSQL server; the embedded cluster in `data_dir` when `None`.
    pub database_url: Option<String>,
    pub data_dir: std::path::PathBuf,
    pub db_pool_size: usize,
    /// PostgreSQL `statement_timeout` of pooled connections; zero for none.
    pub statement_timeout: std::time::Duration,
}

impl Database {
    /// Opens the configured database: a server URL, or else the embedded
    /// cluster in the data directory (started or joined).
    pub async fn open(options: &DatabaseSettings) -> anyhow::Result<Self> {
        let statement_timeout =
            Some(options.statement_timeout).filter(|timeout| !timeout.is_zero());
        match &options.database_url {
            Some(url) => {
                Self::connect_with(url.clone(), None, options.db_pool_size, statement_timeout).await
            }
            None => {
                let data_dir = options.data_dir.clone();
                let cluster = tokio::task::spawn_blocking(move || {
                    EmbeddedCluster::start_or_join(&data_dir, ClusterOptions::default())
                })
                .await??;
                create_database_if_missing(&cluster.database_url("postgres"), DATABASE_USER)
                    .await?;
                let url = cluster.database_url(DATABASE_USER);
                Self::connect_with(
                    url,
                    Some(Arc::new(cluster)),
                    options.db_pool_size,
                    statement_timeout,
                )
                .await
            }
        }
    }

    /// Connects to `url`, keeping `cluster` joined for as long as the pool lives.
    pub async fn connect(
        url: String,
        cluster: Option<Arc<EmbeddedCluster>>,
        pool_size: usize,
    ) -> anyhow::Result<Self> {
        Self::connect_with(url, cluster, pool_size, None).await
    }

    /// As [`Database::connect`], with a `statement_timeout` for every pooled
    /// connection. It is set as a startup option, so it is the connection's
    /// default: a job that must run longer lifts it with `SET LOCAL`, and
    /// `RESET` brings it back.
    pub async fn connect_with(
        url: String,
        cluster: Option<Arc<EmbeddedCluster>>,
        pool_size: usize,
        statement_timeout: Option<std::time::Duration>,
    ) -> anyhow::Result<Self> {
        // Statements are prepared once per connection (see `Prepared`), and
        // their parameters are values of the same shapes every time: a
        // generic plan serves them all. Left to choose, PostgreSQL keeps
        // re-planning a paged query for its LIMIT, which costs ten times
        // its execution.
        let mut options = vec!["plan_cache_mode=force_generic_plan".to_string()];
        if let Some(timeout) = statement_timeout {
            options.push(format!("statement_timeout={}", timeout.as_millis().max(1)));
        }
        let options: Vec<String> = options
            .iter()
            .map(|option| format!("-c%20{}", option.replace('=', "%3D")))
            .collect();
        let pool_url = format!(
            "{url}{}options={}",
            if url.contains('?') { '&' } else { '?' },
            options.join("%20")
        );
        let statements = Arc::new(AtomicU64::new(0));
        let mut config = ManagerConfig::default();
        // Checking a connection out must not cost a round trip: a broken
        // connection shows on first use and is dropped from the pool then.
        config.recycling_method = RecyclingMethod::Fast;
        let counter = statements.clone();
        // Every pooled connection counts the statements it runs, so tests can
        // prove a request's statement count does not grow with its rows.
        config.custom_setup = Box::new(move |url| {
            let counter = counter.clone();
            Box::pin(async move {
                use diesel_async::AsyncConnection;
                let mut connection = AsyncPgConnection::establish(url).await?;
                connection.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                    if let InstrumentationEvent::StartQuery { query, .. } = event {
                        counter.fetch_add(1, Ordering::Relaxed);
                        crate::metrics::count_statement();
                        tracing::trace!(target: "beacon::sql", "{query}");
                    }
                });
                Ok(connection)
            })
        });
        let manager =
            AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(pool_url, config);
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .build()
            .context("building the database pool")?;
        // Fail now, with the real reason, rather than on the first request.
        drop(pool.get().await.map_err(|error| {
            anyhow::anyhow!(
                "cannot connect to the database: {}",
                describe_pool_error(&error)
            )
        })?);
        Ok(Database {
            pool,
            url,
            cluster,
            statements,
        })
    }

    /// SQL statements run through this pool so far.
    pub fn statements_executed(&self) -> u64 {
        AtomicU64::load(&self.statements, Ordering::Relaxed)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_embedded(&self) -> bool {
        self.cluster.is_some()
    }

    pub async fn connection(&self) -> anyhow::Result<PooledConnection> {
        self.pool.get().await.map_err(|error| {
            anyhow::anyhow!("database unavailable: {}", describe_pool_error(&error))
        })
    }

    /// Applies pending migrations; returns the versions applied.
    pub async fn migrate(&self) -> anyhow::Result<Vec<String>> {
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
            let mut connection = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
                .context("connecting to run migrations")?;
            let applied = connection
                .run_pending_migrations(MIGRATIONS)
                .map_err(|error| anyhow::anyhow!("running migrations: {error}"))?;
            Ok(applied.iter().map(ToString::to_string).collect())
        })
        .await?
    }

    /// Whether every embedded migration has been applied.
    pub async fn migrations_applied(&self) -> anyhow::Result<bool> {
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
            let mut connection = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)?;
            let pending = connection
                .pending_migrations(MIGRATIONS)
                .map_err(|error| anyhow::anyhow!("reading migrations: {error}"))?;
            Ok(pending.is_empty())
        })
        .await?
    }
}

fn describe_pool_error(error: &diesel_async::pooled_connection::deadpool::PoolError) -> String {
    use diesel_async::pooled_connection::deadpool::PoolError;
    match error {
        PoolError::Backend(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

/// Runs `work` on a pooled connection every `interval` for as long as the
/// process lives. Background work waits out a database that is away (the
/// tick is skipped and logged) rather than ending, and ticks missed while
/// it ran late are not made up in a burst.
pub fn spawn_every<W>(
    pool: PgPool,
    interval: std::time::Duration,
    task: &'static str,
    mut work: W,
) -> tokio::task::JoinHandle<()>
where
    W: for<'c> FnMut(&'c mut AsyncPgConnection) -> futures::future::BoxFuture<'c, ()>
        + Send
        + 'static,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match pool.get().await {
                Ok(mut conn) => work(&mut conn).await,
                Err(error) => tracing::warn!(%error, task, "no database connection"),
            }
        }
    })
}

/// A raw SQL statement PostgreSQL may prepare once per connection and run
/// again: diesel will not cache `sql_query` statements, since their text
/// could embed values. Beacon's raw statements are made from a fixed set of
/// fragments with every value bound, so their texts are few, and caching
/// them saves a parse, a plan and a round trip per statement.
#[derive(Debug, Clone)]
pub struct Prepared<Q> {
    query: Q,
    cache: bool,
}

impl<Q> Prepared<Q> {
    /// A statement whose text is one of a fixed few: always cached.
    pub fn fixed(query: Q) -> Self {
        Prepared { query, cache: true }
    }

    /// A generated statement (`sql` is its text): cached while its shape is
    /// among the admitted ones, run unprepared otherwise.
    pub fn generated(sql: &str, query: Q) -> Self {
        Prepared {
            query,
            cache: admitted(sql),
        }
    }
}

impl<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>>
    diesel::query_builder::QueryFragment<diesel::pg::Pg> for Prepared<Q>
{
    fn walk_ast<'b>(
        &'b self,
        pass: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        self.query.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &diesel::pg::Pg) -> diesel::QueryResult<bool> {
        Ok(self.cache)
    }
}

impl<Q> diesel::query_builder::QueryId for Prepared<Q> {
    type QueryId = ();
    // Cached by its SQL text and bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

/// How many distinct texts of *generated* statements each connection may
/// keep prepared. The resource index's text varies with the filter fields,
/// orders and page direction a request names: thousands of combinations,
/// each of which PostgreSQL would otherwise keep planned on every pooled
/// connection for good, so that anonymous callers could grow the server's
/// memory without bound. Shapes past this many run as unnamed statements:
/// parsed and planned each time, and gone after.
pub const GENERATED_STATEMENT_SHAPES: usize = 128;

/// The generated statement texts (by hash) allowed into connections'
/// statement caches: the first [`GENERATED_STATEMENT_SHAPES`] seen by this
/// process. Every connection caches the same ones, so the bound holds per
/// connection however requests are spread over the pool.
fn admitted(sql: &str) -> bool {
    use std::collections::HashSet;
    use std::hash::{Hash, Hasher};
    static ADMITTED: std::sync::Mutex<Option<HashSet<u64>>> = std::sync::Mutex::new(None);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    sql.hash(&mut hasher);
    let hash = hasher.finish();
    let mut admitted = ADMITTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let set = admitted.get_or_insert_with(HashSet::new);
    if set.contains(&hash) {
        return true;
    }
    if set.len() < GENERATED_STATEMENT_SHAPES {
        set.insert(hash);
        return true;
    }
    false
}

/// Creates `name` on the server behind `admin_url` unless it exists already.
pub async fn create_database_if_missing(admin_url: &str, name: &str) -> anyhow::Result<()> {
    use diesel_async::AsyncConnection;
    let mut connection = AsyncPgConnection::establish(admin_url)
        .await
        .context("connecting to the PostgreSQL server")?;
    let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "EXISTS (SELECT 1 FROM pg_database WHERE datname = {})",
        quote_literal(name)
    )))
    .get_result(&mut connection)
    .await?;
    if !exists {
        diesel::sql_query(format!("CREATE DATABASE {}", quote_identifier(name)))
            .execute(&mut connection)
            .await
            .with_context(|| format!("creating database {name}"))?;
    }
    Ok(())
}

pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}
