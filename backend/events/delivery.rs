//! Posts webhook deliveries. Every `beacon serve` runs a worker; each claims
//! due deliveries with a lease (`FOR UPDATE SKIP LOCKED`), so one worker at a
//! time sends a delivery however many servers run. A worker that dies
//! mid-delivery leaves the lease to run out and another sends it again:
//! receivers get every event at least once and de-duplicate by its id.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use super::listener::Hub;
use crate::db::PgPool;
use crate::db::outbox::{self, AttemptResult, ClaimedDelivery, NextStep};
use crate::domain::webhook::{self, RetryPolicy};
use crate::metrics::Metrics;

/// How the worker behaves; `beacon serve` exposes each setting.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub retry: RetryPolicy,
    /// Longest wait for a receiver's answer.
    pub timeout: Duration,
    /// How often the worker looks for due deliveries when nothing wakes it.
    pub poll_interval: Duration,
    /// Deliveries sent at once by one worker.
    pub concurrency: usize,
    /// Allow loopback, link-local and private receivers (development, tests).
    pub allow_private: bool,
    /// How long events and their delivery history are kept once nothing
    /// is pending for them; `None` keeps them forever.
    pub retention: Option<Duration>,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            concurrency: 8,
            allow_private: false,
            retention: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

/// How often old events are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The first bytes of a receiver's answer kept with each attempt.
const EXCERPT_BYTES: usize = 1024;

pub struct Worker {
    pool: PgPool,
    client: reqwest::Client,
    settings: DeliverySettings,
    metrics: Metrics,
}

impl Worker {
    pub fn new(pool: PgPool, settings: DeliverySettings, metrics: Metrics) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("Beacon-Webhooks/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            // A redirect could lead anywhere, private addresses included.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve receivers' names itself, past the check
            // below: HTTP(S)_PROXY in the server's environment is not for
            // webhooks.
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnly {
                allow_private: settings.allow_private,
            }))
            .build()?;
        Ok(Worker {
            pool,
            client,
            settings,
            metrics,
        })
    }

    /// Deletes events past the retention time (see [`outbox::prune`]);
    /// returns how many went.
    pub async fn prune(&self) -> anyhow::Result<usize> {
        let Some(retention) = self.settings.retention else {
            return Ok(0);
        };
        let before = Utc::now() - chrono::TimeDelta::from_std(retention)?;
        let mut conn = self.pool.get().await?;
        let mut pruned = 0;
        loop {
            let batch = outbox::prune(&mut conn, before, 1000).await?;
            pruned += batch;
            if batch < 1000 {
                return Ok(pruned);
            }
        }
    }

    /// Sends what is due until nothing is; returns how many attempts it made.
    pub async fn run_due(&self) -> anyhow::Result<usize> {
        // Longer than an attempt can take (connecting and answering are both
        // bounded by the timeout), so a live worker never loses its lease.
        let lease = self.settings.timeout * 2 + Duration::from_secs(1);
        let mut attempts = 0;
        loop {
            let claimed = {
                let mut conn = self.pool.get().await?;
                outbox::claim_due(
                    &mut conn,
                    self.settings.concurrency as i64,
                    lease.as_millis() as i64,
                )
                .await?
            };
            if claimed.is_empty() {
                return Ok(attempts);
            }
            attempts += claimed.len();
            let sends = claimed.iter().map(|delivery| self.deliver(delivery));
            for result in futures::future::join_all(sends).await {
                if let Err(error) = result {
                    tracing::error!(%error, "webhook delivery could not be recorded");
                }
            }
        }
    }

    async fn deliver(&self, delivery: &ClaimedDelivery) -> anyhow::Result<()> {
        let result = self.attempt(delivery).await;
        let delivered = result
            .status_code
            .is_some_and(|code| (200..300).contains(&code));
        let next = if delivered {
            NextStep::Delivered
        } else {
            let delay = self
                .settings
                .retry
                .delay(delivery.attempt.max(1) as u32, rand::thread_rng().r#gen());
            let age = (Utc::now() - delivery.created_at)
                .to_std()
                .unwrap_or_default();
            if self.settings.retry.gives_up(age, delay) {
                NextStep::GiveUp
            } else {
                NextStep::RetryAt(Utc::now() + delay)
            }
        };
        let outcome = match next {
            NextStep::Delivered => "delivered",
            NextStep::RetryAt(_) => "retry",
            NextStep::GiveUp => "failed",
        };
        self.metrics
            .webhook_attempt(outcome, result.latency_ms as f64 / 1000.0);
        tracing::info!(
            delivery = %delivery.id,
            event = %delivery.event_id,
            webhook = %delivery.webhook_id,
            attempt = delivery.attempt,
            status = ?result.status_code,
            error = result.error.as_deref().unwrap_or(""),
            outcome,
            "webhook delivery attempt"
        );
        let mut conn = self.pool.get().await?;
        outbox::record_attempt(&mut conn, delivery.id, &result, next).await?;
        Ok(())
    }

    async fn attempt(&self, delivery: &ClaimedDelivery) -> AttemptResult {
        let started = Instant::now();
        let finish = |status_code: Option<i32>, error: Option<String>, excerpt: Option<String>| {
            AttemptResult {
                status_code,
                latency_ms: started.elapsed().as_millis().min(i32::MAX as u128) as i32,
                error,
                response_excerpt: excerpt,
            }
        };
        // Literal addresses never reach the resolver: check them here.
        if let Err(refused) = webhook::check_url(&delivery.url, self.settings.allow_private) {
            return finish(None, Some(format!("the URL {refused}")), None);
        }
        let body = delivery.payload.clone().into_bytes();
        let timestamp = Utc::now().timestamp();
        let request = self
            .client
            .post(&delivery.url)
            .headers(headers(delivery, timestamp, &body))
            .body(body);
        match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16() as i32;
                let mut excerpt = Vec::new();
                while excerpt.len() < EXCERPT_BYTES {
                    match response.chunk().await {
                        Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                        _ => break,
                    }
                }
                excerpt.truncate(EXCERPT_BYTES);
                let excerpt = String::from_utf8_lossy(&excerpt).into_owned();
                finish(Some(status), None, Some(excerpt))
            }
            Err(error) => finish(None, Some(describe(&error)), None),
        }
    }
}

fn headers(delivery: &ClaimedDelivery, timestamp: i64, body: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("beacon-event-id", delivery.event_id.to_string());
    set("beacon-event-type", delivery.event_type.clone());
    set("beacon-delivery-id", delivery.id.to_string());
    set("beacon-delivery-attempt", delivery.attempt.to_string());
    set("beacon-timestamp", timestamp.to_string());
    set(
        "beacon-signature",
        webhook::signature(&delivery.secret, timestamp, body),
    );
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers
}

/// Why a delivery got no answer, without internals.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    // The root cause says which: refused address, DNS, TLS, reset…
    let mut source = std::error::Error::source(error);
    let mut last = None;
    while let Some(inner) = source {
        last = Some(inner.to_string());
        source = inner.source();
    }
    if let Some(cause) = last {
        text.push_str(": ");
        text.push_str(&cause);
    }
    text
}

/// Resolves receivers' names and keeps only public addresses, so a name
/// pointing inside the network (or rebound to it after registration) is
/// refused at the moment of connecting.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|address| allow_private || webhook::is_public(address.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{host} resolves only to loopback, link-local or private addresses"
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Runs the worker for as long as the process lives: whenever an event is
/// announced, and every poll interval for retries that fell due.
pub fn spawn(worker: Worker, hub: Hub) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let worker = Arc::new(worker);
        let mut last_pruned: Option<Instant> = None;
        loop {
            match worker.run_due().await {
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "webhook delivery worker: failed"),
            }
            // Every server prunes hourly; the statement is idempotent.
            if last_pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                last_pruned = Some(Instant::now());
                match worker.prune().await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "pruned old events"),
                    Err(error) => tracing::warn!(%error, "pruning old events failed"),
                }
            }
            tokio::select! {
                () = hub.outbox.notified() => {}
                () = tokio::time::sleep(worker.settings.poll_interval) => {}
            }
        }
    })
}
