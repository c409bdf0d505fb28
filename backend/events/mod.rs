//! Events for partners and live preview.
//!
//! - The outbox: a change partners must hear about writes its event (and a
//!   pending delivery per subscribed webhook) in its own transaction
//!   ([`emit`]), so there is no change without its event and no event
//!   without its change.
//! - [`delivery`]: the worker in every server that posts deliveries to
//!   webhooks, signed, with retries, exactly one worker per delivery at a time.
//! - [`listener`]: one LISTEN connection per server, turning PostgreSQL
//!   notifications into live-preview changes and delivery wake-ups, so both
//!   work across any number of servers.

pub mod delivery;
pub mod listener;
pub mod webhooks;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use crate::db::{DbResult, outbox};
use crate::domain::ids;
use crate::domain::webhook::EventType;
use crate::domain::{Content, Kind};

/// At most this many items are listed in a seed run's event; receivers of
/// a larger run are told the list was cut and should refetch.
pub const SEED_RUN_ITEMS: usize = 1000;

/// Who caused an event, as it is told to receivers.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub actor: String,
    pub request_id: Option<String>,
}

/// The item an event is about.
pub struct Item<'a> {
    pub id: Uuid,
    pub kind: Kind,
    pub slug: &'a str,
    pub version: i32,
}

impl Item<'_> {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "id": ids::encode(self.kind.into(), self.id),
            "documentId": self.id,
            "kind": ids::NodeType::from(self.kind).name(),
            "slug": self.slug,
            "version": self.version,
        })
    }
}

/// Writes a `PUBLISHED`, `UNPUBLISHED` or `ARCHIVED` event about one item.
/// `snapshot` is the version now published (for `PUBLISHED`), or the one the
/// public saw until now.
pub async fn emit_item_event(
    conn: &mut AsyncPgConnection,
    event_type: EventType,
    item: &Item<'_>,
    snapshot: Option<&Content>,
    origin: &Origin,
) -> DbResult<Uuid> {
    let mut body = json!({ "item": item.to_json() });
    if let Some(content) = snapshot {
        body["snapshot"] = content.to_json();
    }
    emit(conn, event_type, body, origin).await
}

/// What a seed run changed, for its `SEED_RUN` event.
pub struct SeedRunSummary<'a> {
    pub run_id: Uuid,
    pub counts: serde_json::Value,
    pub changed: Vec<Item<'a>>,
}

pub async fn emit_seed_run(
    conn: &mut AsyncPgConnection,
    summary: &SeedRunSummary<'_>,
    origin: &Origin,
) -> DbResult<Uuid> {
    let items: Vec<serde_json::Value> = summary
        .changed
        .iter()
        .take(SEED_RUN_ITEMS)
        .map(Item::to_json)
        .collect();
    let body = json!({
        "seedRun": { "id": summary.run_id, "counts": summary.counts },
        "items": items,
        "itemsTruncated": summary.changed.len() > SEED_RUN_ITEMS,
    });
    emit(conn, EventType::SeedRun, body, origin).await
}

/// The event as receivers get it: `id` (the idempotency key), `type`,
/// `occurredAt`, `actor`, `requestId`, and what `body` adds.
async fn emit(
    conn: &mut AsyncPgConnection,
    event_type: EventType,
    body: serde_json::Value,
    origin: &Origin,
) -> DbResult<Uuid> {
    let id = Uuid::now_v7();
    let mut payload = json!({
        "id": id,
        "type": event_type.as_str(),
        "occurredAt": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "actor": origin.actor,
        "requestId": origin.request_id,
    });
    if let (Some(payload), serde_json::Value::Object(body)) = (payload.as_object_mut(), body) {
        payload.extend(body);
    }
    outbox::insert_event(conn, id, event_type.as_str(), &payload).await?;
    Ok(id)
}
