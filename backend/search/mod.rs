//! The published index: each server's in-memory picture of published
//! resources and modules, answering the resource index (filters, totals,
//! disjunctive facets, orders) and search without scanning PostgreSQL.
//!
//! PostgreSQL stays the source of truth. A picture is built from one
//! snapshot of the database under the server's published generation (the
//! count of published-content announcements, see `events::listener`), and
//! is used only while that generation is current: a publish anywhere — or a
//! moment the LISTEN connection was down — retires it at once, requests go
//! to the database until the rebuild (started by the same announcement) is
//! in place. So the index is never behind what it answers for, and there is
//! no incremental state that could drift from the database.

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
                match index.build(&pool, generation).await {
                    Ok(()) => {}
                    Err(error) => {
                        tracing::warn!(%error, "search index not built; retrying");
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
        let bytes = snapshot.heap_bytes();
        let resources = snapshot.resource_count();
        *self.inner.current.write().expect("not poisoned") = Some(Arc::new(snapshot));
        let took = started.elapsed();
        self.inner
            .metrics
            .search_index_built(took.as_secs_f64(), bytes, resources);
        tracing::info!(
            resources,
            bytes,
            ms = took.as_millis() as u64,
            generation,
            "search index built"
        );
        Ok(())
    }
}
