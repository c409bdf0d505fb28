//! Command line and environment: every setting Beacon reads, in one place.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::graphql::limits::Limits;
use crate::http::EdgeSettings;
use crate::http::rate_limit::{Rate, RateLimits};

/// Beacon: a GraphQL content backend and headless CMS for curated guidance content.
///
/// With no database URL, Beacon runs its own private PostgreSQL cluster from
/// the machine's PostgreSQL server binaries, inside the data directory.
#[derive(Debug, Parser)]
#[command(name = "beacon", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// PostgreSQL server to use instead of the embedded cluster,
    /// e.g. postgres://user:password@host:5432/beacon.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where Beacon keeps its own files: the embedded PostgreSQL cluster and
    /// its socket. Must be reachable by the `postgres` user when run as root.
    #[arg(
        long,
        env = "BEACON_DATA_DIR",
        default_value = ".beacon",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Log filter: a level (error, warn, info, debug, trace) or a
    /// tracing directive such as `beacon=debug,tower_http=info`.
    #[arg(
        long = "log",
        env = "BEACON_LOG",
        default_value = "info",
        global = true
    )]
    pub log_filter: String,

    /// Log line format.
    #[arg(long, env = "BEACON_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Key for the hashes of session and API tokens, at least 32 characters.
    /// Prefer the environment variable. When unset, a key is generated into
    /// the data directory on first use; every process sharing a database
    /// must use the same key.
    #[arg(long, env = "BEACON_SECRET", hide_env_values = true, global = true)]
    pub secret: Option<String>,

    /// Largest number of pooled database connections per process.
    #[arg(long, env = "BEACON_DB_POOL_SIZE", default_value_t = 16, global = true)]
    pub db_pool_size: usize,

    /// PostgreSQL's statement_timeout for pooled connections: a statement
    /// running longer is cancelled (clients get TIMEOUT). 0 for none. Seed
    /// jobs and migrations are exempt.
    #[arg(long, env = "BEACON_STATEMENT_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pub statement_timeout: std::time::Duration,
}

impl GlobalOptions {
    /// What the database layer needs of these options.
    pub fn database(&self) -> crate::db::DatabaseSettings {
        crate::db::DatabaseSettings {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            db_pool_size: self.db_pool_size,
            statement_timeout: self.statement_timeout,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

// Made once per process: the size of the serve variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL server. Migrates the database first and, when it holds
    /// no content yet, loads the seeds directory.
    Serve(ServeArgs),
    /// Apply pending database migrations and report them.
    Migrate,
    /// Run a seed-loading job: load module pages (.txt) and structured
    /// content files (.json, .toml) into the database, all or nothing.
    Seed(SeedArgs),
    /// Write the published content in Beacon's structured format (the
    /// format `beacon seed` reads), as partners see it: drafts and
    /// unpublished changes only with --include-drafts, archived items never.
    Export(ExportArgs),
    /// Print the GraphQL schema (SDL), as committed in schema.graphql.
    Schema,
    /// Write synthetic content in the structured format, for load tests and
    /// benchmarks (`beacon generate --resources 100000 > big.json`).
    Generate(GenerateArgs),
    /// Manage the people who sign in: create, list, disable, change roles.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens for programs: create, list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage registered (persisted) operations: clients may run them by
    /// hash, and with --allow-list anonymous clients may run nothing else.
    #[command(subcommand)]
    Persisted(PersistedCommand),
    /// Manage webhooks: the endpoints told about publishing, unpublishing,
    /// archiving and seed runs.
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register a webhook. Its signing secret is read from --secret-file, or
    /// generated and printed once.
    Create {
        /// Where deliveries are posted (http or https).
        #[arg(long)]
        url: String,
        /// An event it receives (PUBLISHED, UNPUBLISHED, ARCHIVED, SEED_RUN);
        /// repeat for several. All when omitted.
        #[arg(long = "event")]
        events: Vec<String>,
        /// A file holding the signing secret (16 to 512 characters).
        #[arg(long)]
        secret_file: Option<PathBuf>,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        /// Allow a loopback, link-local or private address (development).
        #[arg(long, env = "BEACON_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
        allow_private: bool,
    },
    /// List webhooks with their latest delivery.
    List,
    /// Stop sending to a webhook; its pending deliveries wait.
    Disable { id: uuid::Uuid },
    /// Send to a webhook again.
    Enable { id: uuid::Uuid },
    /// Delete a webhook; its delivery history is kept.
    Delete { id: uuid::Uuid },
    /// Deliver an event again (to one webhook, or to all receiving it).
    Redeliver {
        event_id: uuid::Uuid,
        #[arg(long)]
        webhook: Option<uuid::Uuid>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PersistedCommand {
    /// Register the operations in .graphql files, or in every .graphql file
    /// of a folder; prints each one's SHA-256, the id clients send.
    Add {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List registered operations.
    List,
    /// Unregister an operation by its SHA-256.
    Remove {
        /// The hash `add` and `list` print.
        sha256: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from --password-file, or else
    /// from standard input (asked for twice on a terminal); never from an
    /// argument, which other users of the machine could see.
    Create {
        /// Sign-in email, unique whatever its case.
        #[arg(long)]
        email: String,
        /// Name shown to colleagues.
        #[arg(long)]
        name: String,
        /// partner, author, editor, publisher or admin.
        #[arg(long)]
        role: String,
        /// File whose first line is the password.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// List users.
    List,
    /// Disable a user (by email or id): they cannot sign in and their
    /// sessions end.
    Disable {
        /// Email or id.
        user: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// Email or id.
        user: String,
    },
    /// Change a user's role.
    SetRole {
        /// Email or id.
        user: String,
        /// partner, author, editor, publisher or admin.
        role: String,
    },
    /// Set a new password (read as for `create`); the user's sessions end.
    SetPassword {
        /// Email or id.
        user: String,
        /// File whose first line is the password.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print its secret, once.
    Create {
        /// What it is for, e.g. "Partner site (production)".
        #[arg(long)]
        name: String,
        /// partner, author, editor, publisher or admin.
        #[arg(long, default_value = "partner")]
        role: String,
        /// Lifetime, e.g. 90d, 12h or "1year"; never expires when omitted.
        #[arg(long, value_parser = humantime::parse_duration)]
        expires_in: Option<std::time::Duration>,
    },
    /// List API tokens, newest first.
    List,
    /// Revoke an API token by id: the next request with it is refused.
    Revoke {
        /// The token's id (from `beacon token list`).
        id: uuid::Uuid,
    },
}

/// `beacon-bench`, the benchmark: its own binary, so the server carries no
/// load generator.
#[derive(Debug, Parser)]
#[command(
    name = "beacon-bench",
    version,
    about = "Measure Beacon: load synthetic content, start `beacon serve` cold, drive the canonical partner queries over HTTP beside PostgreSQL's own ceiling (pgbench), and write BENCHMARKS.md. Needs a database without content (`beacon-bench --data-dir .bench`)."
)]
pub struct BenchCli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(flatten)]
    pub bench: BenchArgs,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub sizes: GenerateArgs,
    /// Concurrent connections of the load generator (and of pgbench).
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// How long each query is measured.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: std::time::Duration,
    /// Unmeasured load before each measurement.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub warmup: std::time::Duration,
    /// The report's file: its marked section is replaced.
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub out: PathBuf,
    /// Measure media instead: a photo's renditions made, and kept files
    /// served (a section of the report of its own).
    #[arg(long)]
    pub media: bool,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Number of resources.
    #[arg(long, default_value_t = 100_000)]
    pub resources: usize,
    /// Number of topics.
    #[arg(long, default_value_t = 200)]
    pub topics: usize,
    /// Number of resource types.
    #[arg(long, default_value_t = 50)]
    pub types: usize,
    /// Number of tags.
    #[arg(long, default_value_t = 2_000)]
    pub tags: usize,
    /// Number of modules.
    #[arg(long, default_value_t = 500)]
    pub modules: usize,
    /// Resources listed on each module.
    #[arg(long, default_value_t = 100)]
    pub resources_per_module: usize,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "BEACON_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Seeds loaded on first start, when the database holds no content.
    /// Without it: `./seeds` when there is such a folder, otherwise the
    /// seeds built into the binary (the Knowledge Lab's first module).
    #[arg(long, env = "BEACON_SEEDS")]
    pub seeds: Option<PathBuf>,

    /// Do not load seeds on first start.
    #[arg(long, env = "BEACON_NO_SEED")]
    pub no_seed: bool,

    /// How long a sign-in session lasts, e.g. 12h or 7d.
    #[arg(long, env = "BEACON_SESSION_TTL", default_value = "12h", value_parser = humantime::parse_duration)]
    pub session_ttl: std::time::Duration,

    /// Whether `publish` needs an APPROVED draft (false: any draft state).
    #[arg(long, env = "BEACON_REVIEW_REQUIRED", default_value_t = true, action = clap::ArgAction::Set)]
    pub review_required: bool,

    /// How often the scheduler looks for due publishing, e.g. 1s.
    #[arg(long, env = "BEACON_SCHEDULER_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub scheduler_interval: std::time::Duration,

    /// Serve GraphiQL on GET /graphql to browsers.
    #[arg(long, env = "BEACON_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,

    /// Answer published resource lists, facets and search from an
    /// in-memory index of the published content (rebuilt after each
    /// publish; the database answers meanwhile).
    #[arg(long, env = "BEACON_SEARCH_INDEX", default_value_t = true, action = clap::ArgAction::Set)]
    pub search_index: bool,

    /// Serve the editor app at /admin.
    #[arg(long, env = "BEACON_ADMIN", default_value_t = true, action = clap::ArgAction::Set)]
    pub admin: bool,

    /// A read replica for published (non-preview) queries; writes, previews,
    /// sign-in and everything editors do stay on the primary. Replicas lag:
    /// a publish shows there once it has been replayed.
    #[arg(long, env = "BEACON_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,

    /// The server key (BEACON_SECRET) was changed on purpose: record the
    /// new one. Sessions and API tokens made with the old key stop working.
    #[arg(long)]
    pub accept_new_secret: bool,

    /// How often a live-preview subscription re-checks its token: a revoked
    /// token, disabled user or lost PREVIEW permission ends it at the first
    /// change after that.
    #[arg(long, env = "BEACON_SUBSCRIPTION_RECHECK", default_value = "30s", value_parser = humantime::parse_duration)]
    pub subscription_recheck: std::time::Duration,

    /// Serve Prometheus metrics on GET /metrics, on the --metrics-bind
    /// listener (never on the API's).
    #[arg(long, env = "BEACON_METRICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics: bool,

    /// Where metrics are served. Loopback by default: the figures name
    /// editors' operations. Port 0 picks a free port (logged).
    #[arg(long, env = "BEACON_METRICS_BIND", default_value = "127.0.0.1:9464")]
    pub metrics_bind: std::net::SocketAddr,

    #[command(flatten)]
    pub edge: EdgeArgs,

    #[command(flatten)]
    pub webhooks: WebhookArgs,

    #[command(flatten)]
    pub media: MediaArgs,
}

/// Where uploaded files are kept and how they are handed out.
#[derive(Debug, Args)]
pub struct MediaArgs {
    /// Folder for uploaded files and their renditions (default: `media` in
    /// the data directory). Ignored with --media-s3-bucket.
    #[arg(long, env = "BEACON_MEDIA_DIR")]
    pub media_dir: Option<PathBuf>,

    /// Keep files in this S3-compatible bucket instead, so several servers
    /// serve the same files. Credentials come from AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY.
    #[arg(long, env = "BEACON_MEDIA_S3_BUCKET")]
    pub media_s3_bucket: Option<String>,

    /// The S3-compatible server, e.g. http://127.0.0.1:9000 (AWS when
    /// omitted).
    #[arg(long, env = "BEACON_MEDIA_S3_ENDPOINT")]
    pub media_s3_endpoint: Option<String>,

    #[arg(long, env = "BEACON_MEDIA_S3_REGION", default_value = "us-east-1")]
    pub media_s3_region: String,

    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true, hide = true)]
    pub aws_access_key_id: Option<String>,

    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true,
        hide = true
    )]
    pub aws_secret_access_key: Option<String>,

    /// Largest file an upload may carry (at most 2 GiB).
    #[arg(long, env = "BEACON_MAX_UPLOAD_BYTES", default_value_t = 50 << 20, value_parser = clap::value_parser!(u64).range(1..(2u64 << 30)))]
    pub max_upload_bytes: u64,

    /// The address partners reach this server at (e.g.
    /// https://cms.example.org), for the URLs of files and renditions.
    /// Without it those URLs are root-relative (`/media/...`).
    #[arg(long, env = "BEACON_PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// How webhook deliveries are made.
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Wait after a failed delivery; it doubles after each failure (with
    /// jitter) up to --webhook-max-delay.
    #[arg(long, env = "BEACON_WEBHOOK_RETRY_DELAY", default_value = "10s", value_parser = humantime::parse_duration)]
    pub webhook_retry_delay: std::time::Duration,

    /// Longest wait between two attempts.
    #[arg(long, env = "BEACON_WEBHOOK_MAX_DELAY", default_value = "1h", value_parser = humantime::parse_duration)]
    pub webhook_max_delay: std::time::Duration,

    /// A delivery still failing this long after its event is given up
    /// (admins can `redeliver` it).
    #[arg(long, env = "BEACON_WEBHOOK_GIVE_UP_AFTER", default_value = "24h", value_parser = humantime::parse_duration)]
    pub webhook_give_up_after: std::time::Duration,

    /// Longest wait for a receiver's answer.
    #[arg(long, env = "BEACON_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub webhook_timeout: std::time::Duration,

    /// How often due retries are looked for (new events wake the worker at once).
    #[arg(long, env = "BEACON_WEBHOOK_POLL_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub webhook_poll_interval: std::time::Duration,

    /// How long events and their delivery history are kept once nothing is
    /// pending for them (pruned hourly); 0 keeps them forever.
    #[arg(long, env = "BEACON_EVENT_RETENTION", default_value = "30d", value_parser = humantime::parse_duration)]
    pub event_retention: std::time::Duration,

    /// Let webhooks reach loopback, link-local and private addresses
    /// (development and tests only).
    #[arg(long, env = "BEACON_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub webhook_allow_private: bool,
}

impl WebhookArgs {
    pub fn settings(&self) -> crate::events::delivery::DeliverySettings {
        crate::events::delivery::DeliverySettings {
            retry: crate::domain::webhook::RetryPolicy {
                first_delay: self.webhook_retry_delay,
                max_delay: self.webhook_max_delay,
                give_up_after: self.webhook_give_up_after,
            },
            timeout: self.webhook_timeout,
            poll_interval: self.webhook_poll_interval,
            allow_private: self.webhook_allow_private,
            retention: Some(self.event_retention).filter(|retention| !retention.is_zero()),
            ..Default::default()
        }
    }
}

/// What the public endpoint allows: limits, caching, persisted queries,
/// CORS and rates. Defaults suit a public API.
#[derive(Debug, Args)]
pub struct EdgeArgs {
    /// Largest request body, in bytes.
    #[arg(long, env = "BEACON_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,

    /// Largest answer, in bytes: past it, RESPONSE_TOO_LARGE instead (a
    /// backstop behind the complexity limit).
    #[arg(long, env = "BEACON_MAX_RESPONSE_BYTES", default_value_t = 8 << 20)]
    pub max_response_bytes: usize,

    /// Deepest nesting of fields in a query.
    #[arg(long, env = "BEACON_MAX_DEPTH", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,

    /// Largest query complexity (a list costs its page size times what each
    /// item asks for).
    #[arg(long, env = "BEACON_MAX_COMPLEXITY", default_value_t = Limits::default().max_complexity)]
    pub max_complexity: usize,

    /// Most aliases in a request.
    #[arg(long, env = "BEACON_MAX_ALIASES", default_value_t = Limits::default().max_aliases)]
    pub max_aliases: usize,

    /// Most selections in a request, each fragment counted as often as it
    /// is spread.
    #[arg(long, env = "BEACON_MAX_SELECTIONS", default_value_t = Limits::default().max_selections)]
    pub max_selections: usize,

    /// Most directives on one field or fragment spread.
    #[arg(long, env = "BEACON_MAX_DIRECTIVES", default_value_t = Limits::default().max_directives)]
    pub max_directives: usize,

    /// Deepest nesting of list and object literals in arguments.
    #[arg(long, env = "BEACON_MAX_INPUT_DEPTH", default_value_t = Limits::default().max_input_depth)]
    pub max_input_depth: usize,

    /// Largest batch (a JSON array of requests in one POST); 0 turns
    /// batching off.
    #[arg(long, env = "BEACON_MAX_BATCH", default_value_t = 0)]
    pub max_batch: usize,

    /// Longest a query may run before the client gets TIMEOUT.
    #[arg(long, env = "BEACON_REQUEST_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub request_timeout: std::time::Duration,

    /// max-age of public GET answers (Cache-Control).
    #[arg(long, env = "BEACON_CACHE_MAX_AGE", default_value = "60s", value_parser = humantime::parse_duration)]
    pub cache_max_age: std::time::Duration,

    /// Whether clients without credentials may introspect the schema.
    #[arg(long, env = "BEACON_ANONYMOUS_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub anonymous_introspection: bool,

    /// Whether clients without credentials get "did you mean" suggestions
    /// in validation errors.
    #[arg(long, env = "BEACON_ANONYMOUS_SUGGESTIONS", default_value_t = true, action = clap::ArgAction::Set)]
    pub anonymous_suggestions: bool,

    /// Anonymous clients may run only operations registered with
    /// `beacon persisted add`.
    #[arg(long, env = "BEACON_ALLOW_LIST", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_list: bool,

    /// Automatic persisted queries kept by each process; 0 turns APQ off.
    #[arg(long, env = "BEACON_APQ_CACHE_SIZE", default_value_t = 1000)]
    pub apq_cache_size: usize,

    /// Origins whose web pages may call the API (comma-separated, or *);
    /// none when empty.
    #[arg(long, env = "BEACON_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Requests per client address without credentials: 600/min, 10/s,
    /// 5000/h, or off.
    #[arg(long, env = "BEACON_RATE_LIMIT", default_value = "600/min", value_parser = parse_rate)]
    pub rate_limit: RateSetting,

    /// Proxies whose X-Forwarded-For names the client (comma-separated
    /// addresses or CIDR ranges, e.g. 10.0.0.0/8); none when empty.
    #[arg(long, env = "BEACON_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Requests per API token or signed-in user: 6000/min, or off.
    #[arg(long, env = "BEACON_TOKEN_RATE_LIMIT", default_value = "6000/min", value_parser = parse_rate)]
    pub token_rate_limit: RateSetting,

    /// Memory for answers to public reads (no credentials or a PARTNER
    /// token), kept until published content changes: 32MiB, 256MB, or off.
    #[arg(long, env = "BEACON_RESPONSE_CACHE", default_value = "32MiB", value_parser = parse_size)]
    pub response_cache: SizeSetting,
}

/// A size in bytes, or none (`off`).
#[derive(Debug, Clone, Copy)]
pub struct SizeSetting(pub Option<usize>);

/// `off`, or bytes with an optional unit: `65536`, `64KiB`, `32MiB`,
/// `1GB`. Units are read as powers of two either way: it is memory.
fn parse_size(text: &str) -> Result<SizeSetting, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") || text == "0" {
        return Ok(SizeSetting(None));
    }
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size: write e.g. 32MiB, 256MB or off"))?;
    let scale: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{text}`: the unit must be KiB, MiB or GiB (or off)"
            ));
        }
    };
    number
        .checked_mul(scale)
        .map(|bytes| SizeSetting(Some(bytes)))
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A rate, or none; a type of its own so clap does not read `Option` as
/// "the flag may be left out".
#[derive(Debug, Clone, Copy)]
pub struct RateSetting(pub Option<Rate>);

/// An address (a network of one) or a CIDR range.
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is neither an IP address nor a CIDR range"))
}

fn parse_rate(text: &str) -> Result<RateSetting, String> {
    crate::http::rate_limit::parse_rate(text).map(RateSetting)
}

impl GenerateArgs {
    pub fn sizes(&self) -> crate::seed::synthetic::Sizes {
        crate::seed::synthetic::Sizes {
            resources: self.resources,
            topics: self.topics,
            types: self.types,
            tags: self.tags,
            modules: self.modules,
            resources_per_module: self.resources_per_module,
        }
    }
}

impl EdgeArgs {
    pub fn settings(&self, graphiql: bool, admin: bool) -> EdgeSettings {
        EdgeSettings {
            limits: Limits {
                max_depth: self.max_depth,
                max_complexity: self.max_complexity,
                max_aliases: self.max_aliases,
                max_selections: self.max_selections,
                max_directives: self.max_directives,
                max_input_depth: self.max_input_depth,
            },
            max_body_bytes: self.max_body_bytes,
            max_response_bytes: self.max_response_bytes,
            max_batch: self.max_batch,
            request_timeout: self.request_timeout,
            cache_max_age: self.cache_max_age,
            anonymous_introspection: self.anonymous_introspection,
            anonymous_suggestions: self.anonymous_suggestions,
            graphiql,
            admin,
            allow_list: self.allow_list,
            apq_cache_size: self.apq_cache_size,
            cors_origins: self
                .cors_origins
                .iter()
                .map(|origin| origin.trim().to_string())
                .filter(|origin| !origin.is_empty())
                .collect(),
            rate_limits: RateLimits {
                anonymous: self.rate_limit.0,
                authenticated: self.token_rate_limit.0,
            },
            trusted_proxies: self.trusted_proxies.clone(),
            response_cache_bytes: self.response_cache.0.unwrap_or(0),
        }
    }
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Files or folders to load; folders are read for .txt, .json and .toml
    /// files, in name order.
    #[arg(default_value = "seeds")]
    pub paths: Vec<PathBuf>,

    /// Report what would change, and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// List earlier seed runs instead of running one.
    #[arg(long, conflicts_with = "dry_run")]
    pub history: bool,

    /// With --history: how many runs to list, newest first.
    #[arg(long, default_value_t = 20, requires = "history")]
    pub limit: i64,

    /// Refuse at once instead of waiting when another seed job is running.
    #[arg(long)]
    pub no_wait: bool,

    /// Create the topics, resource types and tags that structured (.json,
    /// .toml) files name without declaring them. Without it such a name is
    /// an error naming the nearest existing slugs: a typo never becomes
    /// published content. Module pages (.txt) always create new labels.
    #[arg(long)]
    pub create_missing: bool,

    /// Where assets' files are stored (as for `serve`).
    #[command(flatten)]
    pub media: MediaArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Folder to write `content.json` into; standard output when omitted.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write each item's current draft instead: items never published and
    /// changes not yet published are included (archived items are not).
    #[arg(long)]
    pub include_drafts: bool,

    /// Where assets' files are read from (as for `serve`); with --out they
    /// are written under `media/` beside `content.json`.
    #[command(flatten)]
    pub media: MediaArgs,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn serve_defaults_are_the_edge_defaults() {
        let cli = Cli::try_parse_from(["beacon", "serve"]).expect("no flags needed");
        let Command::Serve(args) = cli.command else {
            unreachable!("parsed `serve`")
        };
        assert_eq!(
            format!("{:?}", args.edge.settings(true, true)),
            format!("{:?}", EdgeSettings::default())
        );
    }

    #[test]
    fn response_cache_sizes_are_read_as_memory() {
        let size = |text: &str| parse_size(text).map(|setting| setting.0);
        assert_eq!(size("off"), Ok(None));
        assert_eq!(size("0"), Ok(None));
        assert_eq!(size("65536"), Ok(Some(65536)));
        assert_eq!(size("64KiB"), Ok(Some(64 << 10)));
        assert_eq!(size("32MiB"), Ok(Some(32 << 20)));
        assert_eq!(size("256 MB"), Ok(Some(256 << 20)));
        assert_eq!(size("1g"), Ok(Some(1 << 30)));
        for bad in ["", "lots", "32 parsecs", "-1MiB", "99999999999999999999GiB"] {
            assert!(size(bad).is_err(), "{bad} was read as a size");
        }
    }

    #[test]
    fn edge_flags_reach_the_settings() {
        let cli = Cli::try_parse_from([
            "beacon",
            "serve",
            "--max-depth",
            "7",
            "--rate-limit",
            "off",
            "--token-rate-limit",
            "10/s",
            "--cors-origins",
            "https://a.example, https://b.example",
            "--trusted-proxies",
            "10.0.0.0/8,192.0.2.1",
        ])
        .expect("valid flags");
        let Command::Serve(args) = cli.command else {
            unreachable!("parsed `serve`")
        };
        let settings = args.edge.settings(false, true);
        assert_eq!(settings.limits.max_depth, 7);
        assert_eq!(settings.rate_limits.anonymous, None);
        assert_eq!(
            settings
                .rate_limits
                .authenticated
                .map(|rate| rate.to_string()),
            Some("10/s".into())
        );
        assert_eq!(
            settings.cors_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(settings.trusted_proxies.len(), 2);
        assert!(!settings.graphiql);
        assert!(Cli::try_parse_from(["beacon", "serve", "--trusted-proxies", "nope"]).is_err());
        assert!(Cli::try_parse_from(["beacon", "serve", "--rate-limit", "5/week"]).is_err());
    }
}
