//! What a server counts, for `GET /metrics` (Prometheus text format). Each
//! server keeps its own registry: per-process figures add up across
//! instances in Prometheus, and cluster-wide ones (the outbox backlog, seed
//! runs) are read from PostgreSQL at scrape time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Distinct operation names kept as labels; later ones are counted as
/// `other`, so clients cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 200;

/// A server's metrics. Cheap to clone; clones share the figures.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram>,
    statements: Histogram,
    webhook_attempts: Family<OutcomeLabels, Counter>,
    webhook_latency: Histogram,
    scheduler_runs: Family<OutcomeLabels, Counter>,
    scheduler_items: Counter,
    subscriptions: Gauge,
    pool_size: Gauge,
    pool_available: Gauge,
    pool_waiting: Gauge,
    outbox_pending: Gauge,
    seed_runs: Family<OutcomeLabels, Gauge>,
    answer_cache_hits: Counter,
    answer_cache_misses: Counter,
    answer_cache_evictions: Counter,
    answer_cache_bytes: Gauge,
    search_index_reads: Family<OutcomeLabels, Counter>,
    search_index_bytes: Gauge,
    search_index_resources: Gauge,
    search_index_build_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    search_index_updates: Family<OutcomeLabels, Counter>,
    search_index_patch_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    operation_names: Mutex<HashSet<String>>,
}

/// Registers `metric` and returns it, for recording.
fn registered<M: prometheus_client::registry::Metric + Clone>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    metric: M,
) -> M {
    registry.register(name, help, metric.clone());
    metric
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("beacon");
        let requests = registered(
            &mut registry,
            "graphql_requests",
            "GraphQL operations answered, by operation name and outcome",
            Family::<RequestLabels, Counter>::default(),
        );
        let latency = registered(
            &mut registry,
            "graphql_request_duration_seconds",
            "Time from reading a GraphQL request to its answer, by operation name",
            Family::<OperationLabels, Histogram>::new_with_constructor(
                latency_histogram as fn() -> Histogram,
            ),
        );
        let statements = registered(
            &mut registry,
            "graphql_sql_statements",
            "SQL statements run per GraphQL request",
            Histogram::new(exponential_buckets(1.0, 2.0, 8)),
        );
        let webhook_attempts = registered(
            &mut registry,
            "webhook_attempts",
            "Webhook delivery attempts by this server, by outcome (delivered, retry, failed)",
            Family::<OutcomeLabels, Counter>::default(),
        );
        let webhook_latency = registered(
            &mut registry,
            "webhook_attempt_duration_seconds",
            "Time receivers took to answer webhook deliveries",
            latency_histogram(),
        );
        let scheduler_runs = registered(
            &mut registry,
            "scheduler_runs",
            "Scheduler passes by this server, by outcome (ok, failed)",
            Family::<OutcomeLabels, Counter>::default(),
        );
        let scheduler_items = registered(
            &mut registry,
            "scheduler_items",
            "Scheduled publishing and unpublishing carried out by this server",
            Counter::default(),
        );
        let subscriptions = registered(
            &mut registry,
            "subscriptions",
            "Live-preview subscriptions open on this server",
            Gauge::default(),
        );
        let pool_size = registered(
            &mut registry,
            "db_pool_connections",
            "Database connections held by this server's pool",
            Gauge::default(),
        );
        let pool_available = registered(
            &mut registry,
            "db_pool_idle_connections",
            "Idle connections in this server's pool",
            Gauge::default(),
        );
        let pool_waiting = registered(
            &mut registry,
            "db_pool_waiting",
            "Requests waiting for a database connection",
            Gauge::default(),
        );
        let outbox_pending = registered(
            &mut registry,
            "webhook_deliveries_pending",
            "Webhook deliveries not yet made, across every server (read from the database)",
            Gauge::default(),
        );
        let seed_runs = registered(
            &mut registry,
            "seed_runs",
            "Seed jobs ever run against this database, by outcome (read from the database)",
            Family::<OutcomeLabels, Gauge>::default(),
        );
        let answer_cache_hits = registered(
            &mut registry,
            "answer_cache_hits",
            "Public reads answered from this server's published-answer cache",
            Counter::default(),
        );
        let answer_cache_misses = registered(
            &mut registry,
            "answer_cache_misses",
            "Public reads the published-answer cache did not hold (then executed)",
            Counter::default(),
        );
        let answer_cache_evictions = registered(
            &mut registry,
            "answer_cache_evictions",
            "Answers dropped from the published-answer cache to stay within its bound",
            Counter::default(),
        );
        let answer_cache_bytes = registered(
            &mut registry,
            "answer_cache_bytes",
            "Bytes held by the published-answer cache (answers and their keys)",
            Gauge::default(),
        );
        let search_index_reads = registered(
            &mut registry,
            "search_index_reads",
            "Published reads that looked at the search index: answered from it (current) or sent to the database (stale: rebuilding after a publish)",
            Family::<OutcomeLabels, Counter>::default(),
        );
        let search_index_bytes = registered(
            &mut registry,
            "search_index_bytes",
            "Approximate memory held by the search index",
            Gauge::default(),
        );
        let search_index_resources = registered(
            &mut registry,
            "search_index_resources",
            "Published resources in the search index",
            Gauge::default(),
        );
        let search_index_build_seconds = registered(
            &mut registry,
            "search_index_build_seconds",
            "How long the last build of the search index took (read and index)",
            Gauge::<f64, std::sync::atomic::AtomicU64>::default(),
        );
        let search_index_patch_seconds = registered(
            &mut registry,
            "search_index_patch_seconds",
            "How long the last patch of the search index took (compare row versions, read the rows that changed, apply)",
            Gauge::<f64, std::sync::atomic::AtomicU64>::default(),
        );
        let search_index_updates = registered(
            &mut registry,
            "search_index_updates",
            "Updates of the search index after published content changed: built from scratch, or patched with the rows that changed",
            Family::<OutcomeLabels, Counter>::default(),
        );
        Metrics(Arc::new(Inner {
            registry,
            requests,
            latency,
            statements,
            webhook_attempts,
            webhook_latency,
            scheduler_runs,
            scheduler_items,
            subscriptions,
            pool_size,
            pool_available,
            pool_waiting,
            outbox_pending,
            seed_runs,
            answer_cache_hits,
            answer_cache_misses,
            answer_cache_evictions,
            answer_cache_bytes,
            search_index_reads,
            search_index_bytes,
            search_index_resources,
            search_index_build_seconds,
            search_index_updates,
            search_index_patch_seconds,
            operation_names: Mutex::new(HashSet::new()),
        }))
    }
}

impl Metrics {
    pub fn answer_cache_hit(&self) {
        self.0.answer_cache_hits.inc();
    }

    pub fn answer_cache_miss(&self) {
        self.0.answer_cache_misses.inc();
    }

    pub fn answer_cache_evictions(&self, evicted: u64) {
        if evicted > 0 {
            self.0.answer_cache_evictions.inc_by(evicted);
        }
    }

    pub fn answer_cache_bytes(&self, bytes: usize) {
        self.0.answer_cache_bytes.set(bytes as i64);
    }

    /// A published read found the search index current (or not).
    pub fn search_index_answer(&self, current: bool) {
        let outcome = if current { "current" } else { "stale" };
        self.0
            .search_index_reads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// The search index caught up: `outcome` is `built` or `patched`.
    pub fn search_index_updated(
        &self,
        outcome: &'static str,
        seconds: f64,
        bytes: usize,
        resources: usize,
    ) {
        self.0
            .search_index_updates
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        if outcome == "patched" {
            self.0.search_index_patch_seconds.set(seconds);
        } else {
            self.0.search_index_build_seconds.set(seconds);
        }
        self.0.search_index_bytes.set(bytes as i64);
        self.0.search_index_resources.set(resources as i64);
    }

    /// One answered GraphQL operation.
    pub fn request(
        &self,
        operation: Option<&str>,
        outcome: &'static str,
        seconds: f64,
        statements: u64,
    ) {
        let operation = self.operation_label(operation);
        self.0
            .requests
            .get_or_create(&RequestLabels {
                operation: operation.clone(),
                outcome,
            })
            .inc();
        self.0
            .latency
            .get_or_create(&OperationLabels { operation })
            .observe(seconds);
        self.0.statements.observe(statements as f64);
    }

    fn operation_label(&self, operation: Option<&str>) -> String {
        let Some(name) = operation.filter(|name| {
            !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        }) else {
            // None: refused before an operation could be read.
            return if operation.is_some() {
                "other"
            } else {
                "unread"
            }
            .to_string();
        };
        let mut known = self.0.operation_names.lock().expect("operation names");
        if known.contains(name) || known.len() < MAX_OPERATION_NAMES {
            known.insert(name.to_string());
            name.to_string()
        } else {
            "other".to_string()
        }
    }

    pub fn webhook_attempt(&self, outcome: &'static str, seconds: f64) {
        self.0
            .webhook_attempts
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        self.0.webhook_latency.observe(seconds);
    }

    pub fn scheduler_run(&self, outcome: &'static str, items: usize) {
        self.0
            .scheduler_runs
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        self.0.scheduler_items.inc_by(items as u64);
    }

    pub fn subscription_opened(&self) {
        self.0.subscriptions.inc();
    }

    pub fn subscription_closed(&self) {
        self.0.subscriptions.dec();
    }

    /// Figures read at scrape time.
    pub fn set_pool(&self, size: usize, available: usize, waiting: usize) {
        self.0.pool_size.set(size as i64);
        self.0.pool_available.set(available as i64);
        self.0.pool_waiting.set(waiting as i64);
    }

    pub fn set_cluster_figures(&self, pending_deliveries: i64, seed_runs: &[(String, i64)]) {
        self.0.outbox_pending.set(pending_deliveries);
        for (outcome, count) in seed_runs {
            let outcome = match outcome.as_str() {
                "succeeded" => "succeeded",
                "failed" => "failed",
                "running" => "running",
                _ => "other",
            };
            self.0
                .seed_runs
                .get_or_create(&OutcomeLabels { outcome })
                .set(*count);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.0.registry) {
            tracing::error!(%error, "metrics did not encode");
        }
        text
    }
}

tokio::task_local! {
    /// SQL statements run by the current request (see `db::Database`).
    pub static REQUEST_STATEMENTS: std::sync::atomic::AtomicU64;
}

/// Counts one statement for the request running on this task, if any.
pub fn count_statement() {
    let _ = REQUEST_STATEMENTS.try_with(|count| {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        let metrics = Metrics::default();
        for index in 0..MAX_OPERATION_NAMES + 10 {
            metrics.request(Some(&format!("Op{index}")), "ok", 0.001, 3);
        }
        metrics.request(Some("bad name!"), "ok", 0.001, 1);
        metrics.request(None, "ok", 0.001, 1);
        let text = metrics.render();
        assert!(text.contains("operation=\"Op0\""));
        assert!(!text.contains(&format!("operation=\"Op{}\"", MAX_OPERATION_NAMES + 5)));
        assert!(text.contains("operation=\"other\""));
        assert!(text.contains("operation=\"unread\""));
        assert!(text.contains("# TYPE beacon_graphql_requests counter"));
    }
}
