//! What each command does.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

mod accounts;
mod persisted;
mod webhooks;

use crate::config::{Cli, Command, ExportArgs, GlobalOptions, SeedArgs, ServeArgs};
use crate::db::{Database, content, seed_runs};
use crate::domain::workflow::Policy;
use crate::editorial::{Editorial, scheduler};
use crate::identity::{Identity, IdentitySettings};
use crate::seed::{self, SeedOptions};
use crate::{events, graphql, http, telemetry};

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Schema => {
            print!("{}", graphql::sdl());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Generate(args) => {
            let file = seed::synthetic::generate(args.sizes());
            serde_json::to_writer(std::io::stdout().lock(), &file)?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    telemetry::init(&cli.global.log_filter, cli.global.log_format)?;
    let database = Database::open(&cli.global.database()).await?;
    let result = match &cli.command {
        Command::Serve(args) => serve(&database, &cli.global, args).await,
        Command::User(command) => accounts::user(&database, command).await,
        Command::Token(command) => accounts::token(&database, &cli.global, command).await,
        Command::Persisted(command) => persisted::run(&database, command).await,
        Command::Webhook(command) => webhooks::run(&database, command).await,
        Command::Migrate => migrate(&database).await,
        Command::Seed(args) => seed_command(&database, &cli.global, args).await,
        Command::Export(args) => export(&database, &cli.global, args).await,
        Command::Schema | Command::Generate(_) => {
            unreachable!("handled above")
        }
    };
    // Close the pool, then leave the embedded cluster (stopping it when this
    // process was its last user) before returning.
    database.pool.close();
    drop(database);
    result
}

async fn migrate_reporting(database: &Database) -> anyhow::Result<Vec<String>> {
    let applied = database.migrate().await?;
    for version in &applied {
        tracing::info!(%version, "applied migration");
    }
    Ok(applied)
}

async fn migrate(database: &Database) -> anyhow::Result<ExitCode> {
    let applied = migrate_reporting(database).await?;
    if applied.is_empty() {
        println!("The database is up to date: no pending migrations.");
    } else {
        println!("Applied {} migration(s):", applied.len());
        for version in applied {
            println!("  {version}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Sessions and API tokens are checked with the server key.
fn identity(global: &GlobalOptions, settings: IdentitySettings) -> anyhow::Result<Identity> {
    let key = crate::identity::secret::load(global.secret.as_deref(), &global.data_dir)?;
    Ok(Identity::new(key, settings))
}

/// The media store and URL signer `serve` hands out files with.
fn media_service(
    global: &GlobalOptions,
    args: &crate::config::MediaArgs,
) -> anyhow::Result<crate::media::Media> {
    let key = crate::identity::secret::load(global.secret.as_deref(), &global.data_dir)?;
    Ok(crate::media::Media::new(
        media_store(global, args)?,
        key,
        intake_limits(args),
        args.public_url.as_deref().unwrap_or(""),
    ))
}

/// The media store seed jobs store files in and exports read them from:
/// the one `serve` uses with the same flags.
fn job_media(
    global: &GlobalOptions,
    args: &crate::config::MediaArgs,
) -> anyhow::Result<crate::media::Media> {
    Ok(crate::media::Media::unsigned(
        media_store(global, args)?,
        intake_limits(args),
    ))
}

fn intake_limits(args: &crate::config::MediaArgs) -> crate::media::IntakeLimits {
    crate::media::IntakeLimits {
        max_bytes: args.max_upload_bytes,
        ..crate::media::IntakeLimits::default()
    }
}

fn media_store(
    global: &GlobalOptions,
    args: &crate::config::MediaArgs,
) -> anyhow::Result<crate::media::MediaStore> {
    use crate::media::{MediaStore, S3Settings};
    let store = match &args.media_s3_bucket {
        Some(bucket) => MediaStore::s3(&S3Settings {
            bucket: bucket.clone(),
            endpoint: args.media_s3_endpoint.clone(),
            region: args.media_s3_region.clone(),
            access_key_id: args.aws_access_key_id.clone().unwrap_or_default(),
            secret_access_key: args.aws_secret_access_key.clone().unwrap_or_default(),
        })
        .context("configuring the S3 media store")?,
        None => {
            let dir = args
                .media_dir
                .clone()
                .unwrap_or_else(|| global.data_dir.join("media"));
            MediaStore::local(&dir)
                .with_context(|| format!("opening the media folder {}", dir.display()))?
        }
    };
    Ok(store)
}

async fn serve(
    database: &Database,
    global: &GlobalOptions,
    args: &ServeArgs,
) -> anyhow::Result<ExitCode> {
    let identity = identity(
        global,
        IdentitySettings {
            session_ttl: args.session_ttl,
            ..IdentitySettings::default()
        },
    )?;
    migrate_reporting(database).await?;
    identity
        .check_key(&mut *database.connection().await?, args.accept_new_secret)
        .await?;
    let media = media_service(global, &args.media)?;
    media
        .store
        .check()
        .await
        .with_context(|| format!("cannot use the media store ({})", media.store.description))?;
    tracing::info!(store = %media.store.description, "media files");
    if !args.no_seed {
        seed_if_empty(database, args, &media).await?;
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let address = listener.local_addr()?;
    tracing::info!(
        "Beacon is serving GraphQL on http://{address}/graphql ({})",
        if database.is_embedded() {
            "embedded PostgreSQL"
        } else {
            "external PostgreSQL"
        }
    );
    let editorial = Editorial {
        policy: Policy {
            review_required: args.review_required,
        },
    };
    let read_database = match &args.read_database_url {
        Some(url) => Some(
            Database::connect_with(
                url.clone(),
                None,
                global.db_pool_size,
                Some(global.statement_timeout).filter(|timeout| !timeout.is_zero()),
            )
            .await
            .context("connecting to the read replica (--read-database-url)")?,
        ),
        None => None,
    };
    let hub = events::listener::Hub::with_recheck(args.subscription_recheck);
    let metrics = crate::metrics::Metrics::default();
    let runtime = http::Runtime {
        read_database,
        search: crate::search::SearchIndex::new(args.search_index, hub.clone(), metrics.clone()),
        hub,
        metrics,
        allow_private_webhooks: args.webhooks.webhook_allow_private,
        media,
    };
    let mut background = start_background_work(database, &runtime, editorial, args)?;
    let settings = args.edge.settings(args.graphiql, args.admin);
    let state =
        http::AppState::with_runtime(database.clone(), identity, editorial, settings, runtime);
    if args.metrics {
        background.push(serve_metrics(args.metrics_bind, state.clone()).await);
    }
    background.push(crate::graphql::limits::spawn_list_measurement(
        database.pool.clone(),
        state.shape(),
        LIST_MEASUREMENT_INTERVAL,
    ));
    let served = http::serve(listener, state).await;
    // Stopped before the database goes away, so none of them reports it
    // gone. A delivery cut off here is sent again by whichever server next
    // finds its lease expired.
    for task in background {
        task.abort();
    }
    served?;
    Ok(ExitCode::SUCCESS)
}

/// How often list lengths are measured for query costs.
const LIST_MEASUREMENT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// The metrics listener. A server that cannot have its address (another
/// server on the same machine has it) still serves the API, and says so.
async fn serve_metrics(
    address: std::net::SocketAddr,
    state: http::AppState,
) -> tokio::task::JoinHandle<()> {
    match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => {
            if let Ok(address) = listener.local_addr() {
                tracing::info!("metrics on http://{address}/metrics");
            }
            tokio::spawn(async move {
                if let Err(error) = http::serve_metrics(listener, state).await {
                    tracing::error!(%error, "metrics listener failed");
                }
            })
        }
        Err(error) => {
            tracing::warn!(%error, %address, "metrics are not served: cannot listen on --metrics-bind");
            tokio::spawn(async {})
        }
    }
}

/// What every server runs besides answering requests: the scheduler, the
/// LISTEN connection for live preview and outbox wake-ups, and the webhook
/// delivery worker. Each is safe to run in any number of servers at once.
fn start_background_work(
    database: &Database,
    runtime: &http::Runtime,
    editorial: Editorial,
    args: &ServeArgs,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let worker = events::delivery::Worker::new(
        database.pool.clone(),
        args.webhooks.settings(),
        runtime.metrics.clone(),
    )?;
    Ok(vec![
        scheduler::spawn(
            database.pool.clone(),
            editorial,
            args.scheduler_interval,
            runtime.metrics.clone(),
        ),
        events::listener::spawn(database.url().to_string(), runtime.hub.clone()),
        events::delivery::spawn(worker, runtime.hub.clone()),
        runtime.search.spawn(database.pool.clone()),
    ])
}

/// First start: an empty database gets the seeds directory.
async fn seed_if_empty(
    database: &Database,
    args: &ServeArgs,
    media: &crate::media::Media,
) -> anyhow::Result<()> {
    let mut conn = database.connection().await?;
    if !content::is_empty(&mut conn).await? {
        return Ok(());
    }
    drop(conn);
    let local = PathBuf::from("seeds");
    let (folder, _extracted) = match &args.seeds {
        Some(folder) => {
            anyhow::ensure!(
                folder.exists(),
                "--seeds {}: there is no such folder or file",
                folder.display()
            );
            (folder.clone(), None)
        }
        None if local.is_dir() => (local, None),
        None => {
            let extracted = seed::embedded::extract()?;
            (extracted.path().to_path_buf(), Some(extracted))
        }
    };
    tracing::info!(path = %folder.display(), "empty database: loading seeds");
    let report = seed::run(
        database,
        &SeedOptions {
            paths: vec![folder],
            dry_run: false,
            wait: true,
            progress: false,
            create_missing: false,
            media: media.clone(),
        },
    )
    .await
    .context("loading seeds on first start")?;
    for line in report.to_string().lines() {
        tracing::info!("{line}");
    }
    Ok(())
}

async fn seed_command(
    database: &Database,
    global: &GlobalOptions,
    args: &SeedArgs,
) -> anyhow::Result<ExitCode> {
    migrate_reporting(database).await?;
    if args.history {
        return seed_history(database, args.limit).await;
    }
    let options = SeedOptions {
        paths: args.paths.clone(),
        dry_run: args.dry_run,
        wait: !args.no_wait,
        progress: true,
        create_missing: args.create_missing,
        media: job_media(global, &args.media)?,
    };
    match seed::run(database, &options).await {
        Ok(report) => {
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("seed failed, nothing was written: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn seed_history(database: &Database, limit: i64) -> anyhow::Result<ExitCode> {
    let mut conn = database.connection().await?;
    let runs = seed_runs::history(&mut conn, None, limit).await?;
    if runs.is_empty() {
        println!("No seed runs yet.");
    }
    for run in runs {
        let files: Vec<seed::plan::SeedFile> =
            serde_json::from_value(run.files).unwrap_or_default();
        let counts: std::collections::BTreeMap<String, seed::Counts> =
            serde_json::from_value(run.counts).unwrap_or_default();
        let duration = run
            .finished_at
            .map(|end| format!("{} ms", (end - run.started_at).num_milliseconds()))
            .unwrap_or_else(|| "still running".into());
        println!(
            "{}  {}  {:<9}  {}",
            run.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
            run.id,
            run.outcome,
            duration
        );
        for file in files {
            println!("    file {}  sha256 {}", file.path, file.sha256);
        }
        for (kind, count) in counts {
            if count.created + count.updated + count.unchanged > 0 {
                println!(
                    "    {kind}: {} created, {} updated, {} unchanged",
                    count.created, count.updated, count.unchanged
                );
            }
        }
        if let Some(error) = run.error {
            println!("    error: {error}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(
    database: &Database,
    global: &GlobalOptions,
    args: &ExportArgs,
) -> anyhow::Result<ExitCode> {
    migrate_reporting(database).await?;
    let mut conn = database.connection().await?;
    let documents = if args.include_drafts {
        content::load_draft_documents(&mut conn).await?
    } else {
        content::load_published_documents(&mut conn).await?
    };
    let with_files = args.out.is_some();
    let (file, asset_files) = seed::export::build(documents, with_files);
    let json = serde_json::to_string_pretty(&file)? + "\n";
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let media = job_media(global, &args.media)?;
            for asset_file in &asset_files {
                let bytes = media
                    .store
                    .file(&asset_file.sha256, None)
                    .await
                    .with_context(|| format!("reading {} from the media store", asset_file.sha256))?
                    .with_context(|| {
                        format!(
                            "the media store ({}) has no file {} (asset {})",
                            media.store.description, asset_file.sha256, asset_file.path
                        )
                    })?;
                let path = dir.join(&asset_file.path);
                if let Some(folder) = path.parent() {
                    std::fs::create_dir_all(folder)
                        .with_context(|| format!("creating {}", folder.display()))?;
                }
                std::fs::write(&path, &bytes.bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let path = dir.join("content.json");
            std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
            if std::io::stderr().is_terminal() {
                eprintln!(
                    "wrote {} and {} asset file(s)",
                    path.display(),
                    asset_files.len()
                );
            }
        }
        None => {
            print!("{json}");
            if !file.assets.is_empty() {
                eprintln!(
                    "note: {} asset(s) exported without their files (standard output has no room for them); export with --out DIR to write the files too",
                    file.assets.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
