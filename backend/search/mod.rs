//! The published index: each server's in-memory picture of published
//! resources and modules, answering the resource index (filters, totals,
//! disjunctive facets, orders) and search without scanning PostgreSQL.
//!
//! PostgreSQL stays the source of truth. A picture is read from one
//! snapshot of the database under the server's published generation (the
//! count of published-content announcements, see `events::listener`), and
//! is used only while that generation is current: a publish anywhere — or a
//! moment the LISTEN connection was down — retires it at once, and requests
//! go to the database until the picture has caught up. Catching up patches
//! the last picture: every published row's version (`xmin`, which any
//! write changes) is compared with the picture's, and only the rows that
//! differ are read again — milliseconds where a build takes seconds. Since
//! the comparison covers every row, whatever changed is found however it
//! was announced. A changed label (its name is in its resources' search
//! text) or a change to many rows brings a build from scratch instead, and
//! so does a picture worn by patches (replaced rows stay in it, unread):
//! that build runs while the patched picture answers.
//!
//! A page the picture orders is answered from memory too: the picture holds
//! every published label, and keeps the rows of recent pages (bounded in
//! bytes) at the versions it holds, so a repeated page needs no statement.
//! What it keeps goes with it.

mod snapshot;
mod spelling;
mod text;
pub mod tsquery;

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use diesel_async::AsyncPgConnection;
use lru::LruCache;

use crate::db::{DbResult, PgPool, index_source};
use crate::events::listener::Hub;
use crate::metrics::Metrics;
use snapshot::Patch;

pub use snapshot::{PageEntry, SearchEntry, Snapshot};
pub use tsquery::TsQuery;

/// How many distinct search texts keep their parsed form.
const PARSED_TEXTS: usize = 4096;

/// A handle on the server's published index; cheap to clone.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

/// An index that is never built: the database answers everything.
impl Default for SearchIndex {
    fn default() -> Self {
        SearchIndex::new(false, Hub::default(), Metrics::default())
    }
}

struct Inner {
    enabled: bool,
    hub: Hub,
    metrics: Metrics,
    current: RwLock<Option<Arc<Snapshot>>>,
    /// Search text → how PostgreSQL parses it (`None`: a shape the index
    /// does not evaluate). The `english` configuration does not change
    /// while the server runs.
    parsed: Mutex<LruCache<String, Option<Arc<TsQuery>>>>,
}

impl SearchIndex {
    pub fn new(enabled: bool, hub: Hub, metrics: Metrics) -> Self {
        SearchIndex {
            inner: Arc::new(Inner {
                enabled,
                hub,
                metrics,
                current: RwLock::new(None),
                parsed: Mutex::new(LruCache::new(
                    NonZeroUsize::new(PARSED_TEXTS).expect("not zero"),
                )),
            }),
        }
    }

    /// The picture, if it is current: built under the generation the server
    /// is at now.
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        let generation = self.inner.hub.published_generation()?;
        let current = self.inner.current.read().expect("not poisoned");
        let snapshot = current.as_ref()?;
        let fresh = snapshot.generation == generation;
        self.inner.metrics.search_index_answer(fresh);
        fresh.then(|| snapshot.clone())
    }

    /// How PostgreSQL reads `text`, if the index can evaluate it.
    pub async fn parse(
        &self,
        conn: &mut AsyncPgConnection,
        text: &str,
    ) -> DbResult<Option<Arc<TsQuery>>> {
        if let Some(parsed) = self.inner.parsed.lock().expect("not poisoned").get(text) {
            return Ok(parsed.clone());
        }
        let printed = index_source::parse_search(conn, text).await?;
        let parsed = TsQuery::parse(&printed)
            .ok()
            .filter(|query| query.operands.len() <= 64)
            .map(Arc::new);
        self.inner
            .parsed
            .lock()
            .expect("not poisoned")
            .put(text.to_string(), parsed.clone());
        Ok(parsed)
    }

    /// Keeps the picture current for as long as the server runs: builds it
    /// whenever the published generation moves (debounced, so a seed run's
    /// many statements cost one rebuild at the end).
    pub fn spawn(&self, pool: PgPool) -> tokio::task::JoinHandle<()> {
        let index = self.clone();
        tokio::spawn(async move {
            if !index.inner.enabled {
                return;
            }
            let wake = index.inner.hub.published_wakeup();
            loop {
                let Some(generation) = index.inner.hub.published_generation() else {
                    index.inner.hub.listening().await;
                    continue;
                };
                match index.catch_up(&pool, generation).await {
                    Ok(()) => {}
                    Err(error) => {
                        tracing::warn!(%error, "search index not caught up; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
                while index.inner.hub.published_generation() == Some(generation) {
                    wake.notified().await;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    }

    /// Brings the picture to `generation`: by a patch when there is a
    /// picture to patch, else by a build.
    async fn catch_up(&self, pool: &PgPool, generation: u64) -> anyhow::Result<()> {
        let last = self.inner.current.read().expect("not poisoned").clone();
        let patched = match last {
            Some(last) if !last.worn() => match self.patch(pool, &last, generation).await {
                Ok(patched) => patched,
                Err(error) => {
                    tracing::warn!(%error, "search index not patched; building it");
                    false
                }
            },
            _ => false,
        };
        // A worn picture is rebuilt while it answers: it is current.
        let worn = || {
            let current = self.inner.current.read().expect("not poisoned");
            current.as_ref().is_some_and(|picture| picture.worn())
        };
        if !patched || worn() {
            self.build(pool, generation).await?;
        }
        Ok(())
    }

    /// Patches `last` up to `generation`; `false` when a build is due
    /// instead (labels changed, or too much did).
    async fn patch(
        &self,
        pool: &PgPool,
        last: &Arc<Snapshot>,
        generation: u64,
    ) -> anyhow::Result<bool> {
        let started = Instant::now();
        let mut conn = pool.get().await?;
        let gone = Mutex::new(Vec::new());
        let changes = index_source::published_changes(
            &mut conn,
            &|labels| last.same_labels(labels),
            &|versions| {
                let comparison = last.compare(versions);
                *gone.lock().expect("not poisoned") = comparison.gone;
                comparison.changed
            },
        )
        .await?;
        let Some(changes) = changes else {
            return Ok(false);
        };
        let gone = gone.into_inner().expect("not poisoned");
        if gone.len() + changes.resources.len() > last.resource_count() / 8 + 64 {
            return Ok(false);
        }
        let unknown = last.unknown_titles(&changes.resources);
        let new_titles = if unknown.is_empty() {
            Vec::new()
        } else {
            let unknown = index_source::in_title_order(&mut conn, &unknown).await?;
            let places = title_places(&mut conn, last.titles(), &unknown).await?;
            places.into_iter().zip(unknown).collect()
        };
        drop(conn);
        let changed = changes.resources.len();
        let patch = Patch {
            generation,
            gone,
            resources: changes.resources,
            new_titles,
            modules: changes.modules,
        };
        let snapshot = {
            let last = last.clone();
            tokio::task::spawn_blocking(move || last.patched(patch)).await??
        };
        self.install(snapshot, "patched", started, changed);
        Ok(true)
    }

    async fn build(&self, pool: &PgPool, generation: u64) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut conn = pool.get().await?;
        // Rows are indexed on a blocking thread as they are read.
        let (rows, received) = tokio::sync::mpsc::channel(1024);
        let building = tokio::task::spawn_blocking(move || Snapshot::build(generation, received));
        let read = index_source::published(&mut conn, &rows).await;
        drop(rows);
        drop(conn);
        let built = building.await?;
        read?;
        let snapshot = built?.ok_or_else(|| anyhow::anyhow!("the published stage was not read"))?;
        let resources = snapshot.resource_count();
        self.install(snapshot, "built", started, resources);
        Ok(())
    }

    fn install(&self, snapshot: Snapshot, how: &'static str, started: Instant, read: usize) {
        let bytes = snapshot.heap_bytes();
        let resources = snapshot.resource_count();
        let generation = snapshot.generation;
        *self.inner.current.write().expect("not poisoned") = Some(Arc::new(snapshot));
        let took = started.elapsed();
        self.inner
            .metrics
            .search_index_updated(how, took.as_secs_f64(), bytes, resources);
        tracing::info!(
            how,
            resources,
            read,
            bytes,
            ms = took.as_millis() as u64,
            generation,
            "search index updated"
        );
    }
}

/// Where each of `unknown` (in the database's order, none of them in
/// `titles`) falls among `titles`: how many sort before it, found by
/// binary search with the database comparing (its collation is not ours),
/// every title's next comparison in one statement.
async fn title_places(
    conn: &mut AsyncPgConnection,
    titles: &[String],
    unknown: &[String],
) -> DbResult<Vec<usize>> {
    let mut low = vec![0; unknown.len()];
    let mut high = vec![titles.len(); unknown.len()];
    loop {
        let open: Vec<usize> = (0..unknown.len()).filter(|i| low[*i] < high[*i]).collect();
        if open.is_empty() {
            return Ok(low);
        }
        let middles: Vec<usize> = open.iter().map(|i| (low[*i] + high[*i]) / 2).collect();
        let probes: Vec<&str> = middles
            .iter()
            .map(|middle| titles[*middle].as_str())
            .collect();
        let sought: Vec<&str> = open.iter().map(|i| unknown[*i].as_str()).collect();
        let before = index_source::titles_before(conn, &probes, &sought).await?;
        for ((i, middle), before) in open.into_iter().zip(middles).zip(before) {
            if before {
                low[i] = middle + 1;
            } else {
                high[i] = middle;
            }
        }
    }
}
