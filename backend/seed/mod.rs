//! Seed-loading jobs: module pages and structured files in, published
//! documents out — idempotent, all-or-nothing, one job at a time, recorded.

pub mod embedded;
pub mod export;
pub mod format;
pub mod page;
pub mod plan;
pub mod resolve;
pub mod synthetic;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use uuid::Uuid;

use crate::db::projection::{self, NewDocument, NewVersion, ProjectedItem, ProjectionTable};
use crate::db::{Database, content, seed_runs};
use crate::domain::{Content, Kind, Stage};
use crate::media::Media;
use plan::{Origin, SeedFile, SeedSet};
use resolve::WorkingDocument;

/// Why a seed job failed; `file:line: message` where a place is known.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{place}: {message}")]
    Input { place: String, message: String },
    #[error("another seed job is running (started {started}); not waiting because of --no-wait")]
    Busy { started: String },
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("{0}")]
    Other(String),
    /// Every problem a run found in its files (at most
    /// [`SeedError::MOST_LISTED`] listed), so one run shows them all.
    #[error("{}", list_errors(.0))]
    Several(Vec<SeedError>),
}

fn list_errors(errors: &[SeedError]) -> String {
    let mut text = format!("{} errors:", errors.len());
    for error in errors.iter().take(SeedError::MOST_LISTED) {
        text.push_str(&format!("\n  {error}"));
    }
    if errors.len() > SeedError::MOST_LISTED {
        text.push_str(&format!(
            "\n  … and {} more",
            errors.len() - SeedError::MOST_LISTED
        ));
    }
    text
}

impl SeedError {
    /// A run with thousands of mistakes (a file in the wrong format) lists
    /// the first ones; the rest are counted.
    pub const MOST_LISTED: usize = 50;

    /// Nothing when `errors` is empty, the one error when there is one.
    pub fn all(errors: Vec<SeedError>) -> Result<(), SeedError> {
        let mut errors: Vec<SeedError> = errors
            .into_iter()
            .flat_map(|error| match error {
                SeedError::Several(errors) => errors,
                error => vec![error],
            })
            .collect();
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(SeedError::Several(errors)),
        }
    }

    pub fn at(path: &Path, line: usize, message: impl std::fmt::Display) -> Self {
        let place = if line == 0 {
            path.display().to_string()
        } else {
            format!("{}:{line}", path.display())
        };
        SeedError::Input {
            place,
            message: message.to_string(),
        }
    }

    pub fn invalid(origin: &Origin, message: impl std::fmt::Display) -> Self {
        SeedError::Input {
            place: origin.to_string(),
            message: message.to_string(),
        }
    }
}

/// What to load and how.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub paths: Vec<PathBuf>,
    pub dry_run: bool,
    pub wait: bool,
    /// Create topics, types and tags that structured files name but
    /// neither declare nor find in the database (module pages always may).
    pub create_missing: bool,
    /// Progress lines (or a bar on a terminal) on stderr.
    pub progress: bool,
    /// Where assets' files are stored, and the limits they are checked
    /// against.
    pub media: Media,
}

pub use crate::domain::seed_run::Counts;

#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    pub run_id: Uuid,
    pub dry_run: bool,
    pub files: Vec<SeedFile>,
    /// Keyed by kind: topic, resource_type, tag, resource, module.
    pub counts: BTreeMap<String, Counts>,
    pub warnings: Vec<String>,
    /// Items the files would change that editors have taken over since the
    /// last seed (edited, unpublished or archived in Beacon): left as they are.
    pub kept: Vec<String>,
    /// Every item the run creates or changes, in the order resolved.
    pub changes: Vec<PlannedChange>,
    pub elapsed_ms: u128,
}

/// One item a run creates or changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    #[serde(serialize_with = "kind_name")]
    pub kind: Kind,
    pub slug: String,
    /// Empty for a new item: all of it is new.
    pub fields: Vec<String>,
    pub created: bool,
}

fn kind_name<S: serde::Serializer>(kind: &Kind, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(kind.as_str())
}

impl std::fmt::Display for PlannedChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = self.kind.as_str().replace('_', " ");
        if self.created {
            write!(f, "create {kind} {}", self.slug)
        } else {
            write!(f, "update {kind} {}: {}", self.slug, self.fields.join(", "))
        }
    }
}

impl SeedReport {
    pub fn changed(&self) -> bool {
        changed_items(&self.counts) > 0
    }
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run { "would be" } else { "" };
        writeln!(
            f,
            "{} {} file(s) in {} ms{}",
            if self.dry_run {
                "Dry run over"
            } else {
                "Loaded"
            },
            self.files.len(),
            self.elapsed_ms,
            if self.dry_run {
                " (nothing written)"
            } else {
                ""
            }
        )?;
        for kind in Kind::ALL {
            let counts = self.counts.get(kind.as_str()).copied().unwrap_or_default();
            writeln!(
                f,
                "  {:<14} {:>7} created {verb:<8} {:>7} updated {verb:<8} {:>7} unchanged",
                kind.as_str().replace('_', " "),
                counts.created,
                counts.updated,
                counts.unchanged,
            )?;
        }
        if !self.changed() {
            writeln!(
                f,
                "Nothing changed: the database already matches these files."
            )?;
        } else if self.dry_run {
            // What an operator checks before the real run: each item, not
            // only how many.
            writeln!(f, "Changes:")?;
            for change in &self.changes {
                writeln!(f, "  {change}")?;
            }
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        if !self.kept.is_empty() {
            writeln!(
                f,
                "Kept {} item(s) editors changed in Beacon since the last seed (the files' versions were not applied): {}",
                self.kept.len(),
                self.kept.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Serializes seed jobs across every process that shares the database.
pub const SEED_LOCK_KEY: i64 = 0x6265_6163_6f6e_5344; // "beaconSD"

/// How seed jobs sign the versions they write: `seed:<run id>`.
pub const SEED_AUTHOR_PREFIX: &str = "seed:";

/// A run that creates or updates at least this many items refreshes the
/// planner's statistics afterwards.
const REFRESH_STATISTICS_AFTER: u64 = 1_000;

fn changed_items(counts: &BTreeMap<String, Counts>) -> u64 {
    counts.values().map(|c| c.created + c.updated).sum()
}

/// Runs a seed job: read and parse every file first, then apply everything in
/// one transaction under the seed lock, and record the run either way.
pub async fn run(database: &Database, options: &SeedOptions) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    let progress = Progress::new(options.progress);
    // A missing file fails the run like a broken one, and is recorded too.
    let read = match plan::collect_files(&options.paths) {
        Ok(files) => {
            progress.step(&format!("reading {} file(s)", files.len()));
            let limits = options.media.limits;
            let read = tokio::task::spawn_blocking(move || SeedSet::read(&files))
                .await
                .map_err(|error| SeedError::Other(error.to_string()))?;
            match read {
                Ok(mut set) => match set.fetch_urls(&limits).await {
                    Ok(()) => tokio::task::spawn_blocking(move || {
                        set.take_in_files(&limits)?;
                        Ok(set)
                    })
                    .await
                    .map_err(|error| SeedError::Other(error.to_string()))?,
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            }
        }
        Err(error) => Err(error),
    };
    let run_id = Uuid::now_v7();
    let mut conn = database
        .connection()
        .await
        .map_err(|error| SeedError::Other(error.to_string()))?;

    let set = match read {
        Ok(set) => set,
        Err(error) => {
            if !options.dry_run {
                seed_runs::record_failure_before_start(&mut conn, run_id, &error.to_string())
                    .await?;
            }
            return Err(error);
        }
    };
    if !options.dry_run {
        seed_runs::start(&mut conn, run_id, &set.files).await?;
    }
    let outcome = apply(&mut conn, database, &set, run_id, options, &progress).await;
    if let Ok(applied) = &outcome
        && !options.dry_run
        && changed_items(&applied.counts) >= REFRESH_STATISTICS_AFTER
    {
        // Without fresh statistics the planner ignores the new rows' indexes
        // until autovacuum comes round; a large load is worth the seconds.
        progress.step("refreshing planner statistics");
        seed_runs::refresh_statistics(&mut conn).await?;
    }
    let elapsed_ms = started.elapsed().as_millis();
    match outcome {
        Ok(Applied {
            counts,
            kept,
            changes,
        }) => {
            if !options.dry_run {
                seed_runs::succeed(&mut conn, run_id, &counts).await?;
            }
            progress.finish();
            Ok(SeedReport {
                run_id,
                dry_run: options.dry_run,
                files: set.files,
                counts,
                warnings: set.warnings,
                kept,
                changes,
                elapsed_ms,
            })
        }
        Err(error) => {
            if !options.dry_run {
                seed_runs::fail(&mut conn, run_id, &error.to_string()).await?;
            }
            progress.finish();
            Err(error)
        }
    }
}

async fn apply(
    conn: &mut AsyncPgConnection,
    database: &Database,
    set: &SeedSet,
    run_id: Uuid,
    options: &SeedOptions,
    progress: &Progress,
) -> Result<Applied, SeedError> {
    let dry_run = options.dry_run;
    let wait = options.wait;
    conn.transaction::<_, SeedError, _>(async |conn| {
        // A seed job may wait for another and load a large file: the
        // statement timeout meant for requests does not apply to it.
        seed_runs::lift_statement_timeout(conn).await?;
        if !seed_runs::try_lock(conn, SEED_LOCK_KEY).await? {
            let started = seed_runs::running_since(conn, run_id)
                .await?
                .map(|time| time.to_rfc3339())
                .unwrap_or_else(|| "just now".into());
            if !wait {
                return Err(SeedError::Busy { started });
            }
            progress.step(&format!(
                "another seed job is running (started {started}); waiting for it to finish"
            ));
            seed_runs::lock(conn, SEED_LOCK_KEY).await?;
        }
        progress.step("reading current content");
        let existing: Vec<WorkingDocument> = content::load_current_documents(conn)
            .await?
            .into_iter()
            .map(WorkingDocument::current)
            .collect();
        progress.step(&format!(
            "resolving against {} existing item(s)",
            existing.len()
        ));
        let mut resolver = resolve::resolve(set, existing, options.create_missing)?;
        // Nothing editors do is silently lost: what they took over stays
        // theirs, and the report names it.
        let mut kept = Vec::new();
        for document in &mut resolver.documents {
            if document.held_by_editors
                && document.is_changed()
                && let Some(original) = &document.original
            {
                kept.push(format!(
                    "{} {}",
                    document.kind.as_str().replace('_', " "),
                    document.slug
                ));
                document.content = original.clone();
            }
        }
        let counts = count(&resolver.documents);
        let changes = planned_changes(&resolver.documents);
        if !dry_run {
            let changed: Vec<&WorkingDocument> = resolver
                .documents
                .iter()
                .filter(|d| d.is_changed())
                .collect();
            store_files(&options.media, set, &changed, progress).await?;
            progress.step(&format!("writing {} changed item(s)", changed.len()));
            let names = resolver
                .documents
                .iter()
                .filter_map(|d| match &d.content {
                    Content::Topic(topic) => Some((d.id, topic.name.as_str())),
                    Content::ResourceType(label) => Some((d.id, label.name.as_str())),
                    _ => None,
                })
                .collect();
            write(conn, database, &changed, &names, run_id, progress).await?;
            let detail = serde_json::json!({ "counts": counts, "kept": kept });
            let actor = format!("{SEED_AUTHOR_PREFIX}{run_id}");
            let summary = crate::events::SeedRunSummary {
                run_id,
                counts: serde_json::json!(counts),
                changed: changed
                    .iter()
                    .map(|document| crate::events::Item {
                        id: document.id,
                        kind: document.kind,
                        slug: &document.slug,
                        version: document.version + 1,
                    })
                    .collect(),
            };
            let origin = crate::events::Origin {
                actor: actor.clone(),
                request_id: None,
            };
            crate::events::emit_seed_run(conn, &summary, &origin).await?;
            crate::db::editorial::audit(
                conn,
                &crate::db::editorial::NewAuditEntry::general(
                    &actor, None, "seedRun", None, detail,
                ),
            )
            .await?;
            progress.step("committing");
        }
        Ok(Applied {
            counts,
            kept,
            changes,
        })
    })
    .await
}

/// Stores the files of the assets the run creates or changes, before the
/// versions naming them are committed (a failed run leaves bytes no version
/// names, never a version without its bytes).
async fn store_files(
    media: &Media,
    set: &SeedSet,
    changed: &[&WorkingDocument],
    progress: &Progress,
) -> Result<(), SeedError> {
    let needed: std::collections::HashSet<&str> = changed
        .iter()
        .filter_map(|document| match &document.content {
            Content::Asset(asset) => Some(asset.file.sha256.as_str()),
            _ => None,
        })
        .collect();
    let mut stored = std::collections::HashSet::new();
    for intake in set.assets.iter().filter_map(|asset| asset.intake.as_ref()) {
        let sha256 = intake.file.sha256.as_str();
        if needed.contains(sha256) && stored.insert(sha256) {
            progress.step(&format!("storing {sha256}"));
            media
                .store
                .put_file(sha256, bytes::Bytes::from(intake.bytes.clone()))
                .await
                .map_err(|error| SeedError::Other(format!("media store: {error}")))?;
        }
    }
    Ok(())
}

/// What a run did (or, dry, would do).
struct Applied {
    counts: BTreeMap<String, Counts>,
    kept: Vec<String>,
    changes: Vec<PlannedChange>,
}

/// Labels first, then resources, then modules (as they are written), each
/// kind in the order resolved.
fn planned_changes(documents: &[WorkingDocument]) -> Vec<PlannedChange> {
    let mut changes: Vec<PlannedChange> = documents
        .iter()
        .filter(|document| document.is_changed())
        .map(|document| PlannedChange {
            kind: document.kind,
            slug: document.slug.clone(),
            fields: document
                .original
                .as_ref()
                .map(|original| crate::domain::content::changed_fields(original, &document.content))
                .unwrap_or_default(),
            created: document.is_new(),
        })
        .collect();
    changes.sort_by_key(|change| change.kind);
    changes
}

fn count(documents: &[WorkingDocument]) -> BTreeMap<String, Counts> {
    let mut counts: BTreeMap<String, Counts> = Kind::ALL
        .iter()
        .map(|kind| (kind.as_str().to_string(), Counts::default()))
        .collect();
    for document in documents {
        let entry = counts
            .entry(document.kind.as_str().to_string())
            .or_default();
        if document.is_new() {
            entry.created += 1;
        } else if document.is_changed() {
            entry.updated += 1;
        } else {
            entry.unchanged += 1;
        }
    }
    counts
}

/// Writes one new version per changed document, attributed to this run, and
/// publishes it: pointers move and both projections are rebuilt.
async fn write(
    conn: &mut AsyncPgConnection,
    database: &Database,
    changed: &[&WorkingDocument],
    names: &HashMap<Uuid, &str>,
    run_id: Uuid,
    progress: &Progress,
) -> Result<(), SeedError> {
    let now = Utc::now();
    let author = format!("{SEED_AUTHOR_PREFIX}{run_id}");
    let message = "seed job";
    let new_documents: Vec<NewDocument> = changed
        .iter()
        .filter(|document| document.is_new())
        .map(|document| NewDocument {
            id: document.id,
            kind: document.kind.as_str(),
            slug: &document.slug,
            seed_key: document.seed_key.as_deref(),
            status: "published",
            draft_version: 1,
            published_version: Some(1),
            first_published_at: Some(now),
            published_at: Some(now),
        })
        .collect();
    let versions: Vec<NewVersion> = changed
        .iter()
        .map(|document| NewVersion {
            document_id: document.id,
            version: document.version + 1,
            content: document.content.to_json(),
            author: &author,
            author_id: None,
            seed_run_id: Some(run_id),
            message,
        })
        .collect();
    let related: Vec<String> = changed
        .iter()
        .map(|document| related_names(&document.content, names))
        .collect();
    let updated: Vec<&&WorkingDocument> = changed.iter().filter(|d| !d.is_new()).collect();
    let resource_ids: Vec<Uuid> = changed
        .iter()
        .filter(|d| d.kind == Kind::Resource)
        .map(|d| d.id)
        .collect();
    let write_documents = async {
        projection::insert_documents(conn, &new_documents).await?;
        progress.step("writing versions");
        projection::insert_versions(conn, &versions).await?;
        if !updated.is_empty() {
            projection::publish_existing(
                conn,
                &updated.iter().map(|d| d.id).collect::<Vec<_>>(),
                &updated.iter().map(|d| d.version + 1).collect::<Vec<_>>(),
                &updated.iter().map(|d| d.slug.clone()).collect::<Vec<_>>(),
                &updated
                    .iter()
                    .map(|d| d.seed_key.clone())
                    .collect::<Vec<_>>(),
            )
            .await?;
        }
        content::first_published_at(conn, &resource_ids).await
    };
    let (search_vectors, published_at) = tokio::join!(
        search_vectors_aside(database, changed, &related),
        write_documents
    );
    let published_at = published_at?;
    let mut search_vectors = search_vectors?;
    let items: Vec<ProjectedItem> = changed
        .iter()
        .zip(related)
        .enumerate()
        .map(|(index, (document, related_names))| ProjectedItem {
            id: document.id,
            version: document.version + 1,
            content: &document.content,
            published_at: published_at.get(&document.id).copied(),
            related_names,
            search_vector: search_vectors.get_mut(index).and_then(Option::take),
        })
        .collect();
    // A large first load builds the resources' indexes once at the end
    // instead of row by row, twice (both stages). Readers of resources wait
    // for the job meanwhile, rather than see the empty list they would
    // have seen.
    let rebuilt = if resource_ids.len() >= BUILD_INDEXES_AFTER_LOADING_FROM
        && projection::is_empty(conn, ProjectionTable::Resources).await?
    {
        progress.step("dropping the resources' indexes to build them after loading");
        projection::drop_indexes(conn, ProjectionTable::Resources).await?
    } else {
        Vec::new()
    };
    progress.step("projecting drafts");
    projection::project(conn, Stage::Draft, &items).await?;
    progress.step("publishing");
    projection::publish_drafts(conn, &items).await?;
    // Published rows were copied with the search text of the draft stage;
    // those naming a label that is not public (yet, or by that name) are
    // recomputed from the published labels.
    let hidden = projection::labels_with_unpublished_names(conn).await?;
    if !hidden.is_empty() {
        let changed_ids: Vec<Uuid> = items.iter().map(|item| item.id).collect();
        let stale = projection::published_linking_any(conn, &changed_ids, &hidden).await?;
        if !stale.is_empty() {
            projection::refresh_search_vectors(
                conn,
                Stage::Published,
                projection::Refresh::Documents(&stale),
            )
            .await?;
        }
    }
    if !rebuilt.is_empty() {
        progress.step(&format!("building {} indexes", rebuilt.len()));
        projection::rebuild_indexes(conn, &rebuilt).await?;
    }
    Ok(())
}

/// From this many resources loaded into an empty database, their indexes
/// are built after loading (see `projection::drop_indexes`).
const BUILD_INDEXES_AFTER_LOADING_FROM: usize = 10_000;

/// Below this many resources the search vectors are computed by the
/// projection's own statement: a second connection would cost more than it
/// saves.
const SEARCH_VECTORS_ASIDE_FROM: usize = 1_000;

/// The changed resources' search vectors (by position in `changed`; `None`
/// for other kinds), computed on a second connection of the pool while the
/// job's own connection writes documents and versions, so that stemming runs
/// on another core. Empty when the job is small, or when the pool has no
/// second connection to give: the projection then computes them itself.
async fn search_vectors_aside(
    database: &Database,
    changed: &[&WorkingDocument],
    related: &[String],
) -> Result<Vec<Option<String>>, SeedError> {
    let texts: Vec<(usize, projection::SearchText)> = changed
        .iter()
        .zip(related)
        .enumerate()
        .filter_map(
            |(index, (document, related_names))| match &document.content {
                Content::Resource(resource) => Some((
                    index,
                    projection::SearchText {
                        title: &resource.title,
                        related_names,
                        summary: resource.summary.as_deref(),
                        publisher: resource.publisher.as_deref(),
                    },
                )),
                _ => None,
            },
        )
        .collect();
    if texts.len() < SEARCH_VECTORS_ASIDE_FROM || database.pool.status().max_size < 2 {
        return Ok(Vec::new());
    }
    let Ok(mut aside) = database.pool.get().await else {
        tracing::debug!("no second connection for search vectors; computing them in place");
        return Ok(Vec::new());
    };
    let (positions, texts): (Vec<usize>, Vec<projection::SearchText>) = texts.into_iter().unzip();
    let vectors = aside
        .transaction::<_, diesel::result::Error, _>(async |aside| {
            seed_runs::lift_statement_timeout(aside).await?;
            projection::resource_search_vectors(aside, &texts).await
        })
        .await?;
    let mut by_position = vec![None; changed.len()];
    for (position, vector) in positions.into_iter().zip(vectors) {
        by_position[position] = Some(vector);
    }
    Ok(by_position)
}

/// The topic and type names a snapshot links to, space-separated.
fn related_names(content: &Content, names: &HashMap<Uuid, &str>) -> String {
    content
        .search_related()
        .iter()
        .filter_map(|id| names.get(id).copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Progress on stderr: a spinner with messages on a terminal, plain lines
/// otherwise (logs, CI).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    enabled: bool,
    started: Instant,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        use std::io::IsTerminal;
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            enabled,
            started: Instant::now(),
        }
    }

    fn step(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None if self.enabled => {
                let elapsed = self.started.elapsed().as_secs_f64();
                eprintln!("seed: [{elapsed:6.2}s] {message}");
            }
            None => tracing::debug!("seed: {message}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
