//! One LISTEN connection per server. PostgreSQL delivers a notification to
//! every listening session once its transaction commits, so a change made
//! through any server reaches the live-preview subscribers and the delivery
//! workers of all of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::{Notify, broadcast, watch};
use uuid::Uuid;

use crate::db::outbox::OUTBOX_CHANNEL;

/// The channel the `audit_log_announce` trigger notifies on.
pub const CONTENT_CHANNEL: &str = "beacon_content";

/// The channel the projections' triggers notify on when a transaction
/// changed published content.
pub const PUBLISHED_CHANNEL: &str = "beacon_published";

/// An audited change to an item, as the trigger announces it.
#[derive(Debug, Clone, Deserialize)]
pub struct ContentChange {
    pub id: Uuid,
    /// Stored kind name (`resource`, `resource_type`…).
    pub kind: String,
    /// The audit action (`update`, `publish`, `schedulePublish`…).
    pub action: String,
    pub status: Option<String>,
    pub version: Option<i32>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// What this server hears from PostgreSQL.
#[derive(Clone)]
pub struct Hub {
    changes: broadcast::Sender<ContentChange>,
    /// Wakes the delivery worker: an event was written somewhere.
    pub outbox: Arc<Notify>,
    /// Whether the LISTEN connection is up.
    listening: Arc<watch::Sender<bool>>,
    /// Counts changes to published content (and moments this server may
    /// have missed one): an answer computed under one count is current
    /// while the count stays the same.
    published: Arc<AtomicU64>,
    /// Woken whenever `published` moves: the search index's builder (one
    /// waiter; a wake-up while it is busy is kept for it).
    published_wakeup: Arc<Notify>,
    /// How often a live-preview subscription re-checks its credentials.
    pub recheck_every: Duration,
}

impl Default for Hub {
    fn default() -> Self {
        // A subscriber more than this many changes behind skips ahead
        // (live preview only needs the latest state).
        let (changes, _) = broadcast::channel(1024);
        Hub {
            changes,
            outbox: Arc::new(Notify::new()),
            listening: Arc::new(watch::Sender::new(false)),
            published: Arc::new(AtomicU64::new(0)),
            published_wakeup: Arc::new(Notify::new()),
            recheck_every: Duration::from_secs(30),
        }
    }
}

impl Hub {
    /// A hub whose subscriptions re-check their credentials every `every`.
    pub fn with_recheck(every: Duration) -> Self {
        Hub {
            recheck_every: every,
            ..Hub::default()
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ContentChange> {
        self.changes.subscribe()
    }

    /// Returns once notifications are being received: what commits after
    /// that is heard.
    pub async fn listening(&self) {
        let mut receiver = self.listening.subscribe();
        let _ = receiver.wait_for(|up| *up).await;
    }

    /// How many times published content has changed, as far as this server
    /// can tell; `None` while it cannot tell (its LISTEN connection is
    /// down), when nothing may be answered from memory.
    pub fn published_generation(&self) -> Option<u64> {
        (*self.listening.borrow()).then(|| AtomicU64::load(&self.published, Ordering::Acquire))
    }

    /// Published content has (or may have) changed: answers computed
    /// before now are out of date.
    pub fn published_changed(&self) {
        self.published.fetch_add(1, Ordering::AcqRel);
        self.published_wakeup.notify_one();
    }

    /// Notified after the published generation moves.
    pub fn published_wakeup(&self) -> Arc<Notify> {
        self.published_wakeup.clone()
    }

    #[cfg(test)]
    pub fn set_listening(&self, up: bool) {
        self.listening.send_replace(up);
    }

    /// Live-preview subscribers on this server.
    pub fn subscribers(&self) -> usize {
        self.changes.receiver_count()
    }

    fn dispatch(&self, channel: &str, payload: &str) {
        if channel == OUTBOX_CHANNEL {
            self.outbox.notify_one();
        } else if channel == PUBLISHED_CHANNEL {
            self.published_changed();
        } else if channel == CONTENT_CHANNEL {
            match serde_json::from_str::<ContentChange>(payload) {
                // No subscribers is not an error.
                Ok(change) => drop(self.changes.send(change)),
                Err(error) => tracing::warn!(%error, "unreadable content notification"),
            }
        }
    }
}

/// Listens on `url` for as long as the process lives, reconnecting with a
/// growing pause when the connection drops.
pub fn spawn(url: String, hub: Hub) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pause = Duration::from_millis(100);
        loop {
            match listen(&url, &hub).await {
                Ok(()) => tracing::warn!("notification connection closed; reconnecting"),
                Err(error) => tracing::warn!(%error, "notification connection failed; retrying"),
            }
            hub.listening.send_replace(false);
            hub.published_changed();
            // Whatever was announced while deaf is still in the outbox.
            hub.outbox.notify_one();
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    })
}

async fn listen(url: &str, hub: &Hub) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    for channel in [CONTENT_CHANNEL, OUTBOX_CHANNEL, PUBLISHED_CHANNEL] {
        diesel::sql_query(format!("LISTEN {channel}"))
            .execute(&mut conn)
            .await?;
    }
    // Whatever was published while deaf was not heard.
    hub.published_changed();
    hub.listening.send_replace(true);
    tracing::debug!("listening for content changes and outbox events");
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        let notification = notification?;
        hub.dispatch(&notification.channel, &notification.payload);
    }
    Ok(())
}
