//! Command line and environment: every setting Beacon reads, in one place.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

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
    /// Write all content in Beacon's structured format.
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

#[derive(Debug, Args)]
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
    #[arg(long, env = "BEACON_SEEDS", default_value = "seeds")]
    pub seeds: PathBuf,

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
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Folder to write `content.json` into; standard output when omitted.
    #[arg(long)]
    pub out: Option<PathBuf>,
}
