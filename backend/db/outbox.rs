//! The transactional outbox: events, the webhooks that receive them, their
//! deliveries and every delivery attempt.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Int4, Jsonb, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::DbResult;
use super::schema::{events, webhook_attempts, webhook_deliveries, webhooks};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: Uuid,
    #[diesel(column_name = type_)]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<Option<String>>,
    pub description: String,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub webhook_id: Uuid,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub id: i64,
    pub delivery_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

/// Writes an event and a pending delivery for every enabled webhook that
/// receives its type, then wakes the delivery workers (on commit). Must run
/// inside the transaction of the change the event tells about.
pub async fn insert_event(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    event_type: &str,
    payload: &serde_json::Value,
) -> DbResult<usize> {
    diesel::sql_query("INSERT INTO events (id, type, payload) VALUES ($1, $2, $3)")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(event_type)
        .bind::<Jsonb, _>(payload)
        .execute(conn)
        .await?;
    let deliveries = fan_out(conn, id, None, "event").await?;
    if deliveries > 0 {
        wake_workers(conn).await?;
    }
    Ok(deliveries)
}

/// New pending deliveries of `event` to every enabled webhook receiving its
/// type, or only to `webhook` when given.
pub async fn fan_out(
    conn: &mut AsyncPgConnection,
    event: Uuid,
    webhook: Option<Uuid>,
    reason: &str,
) -> DbResult<usize> {
    diesel::sql_query(
        "INSERT INTO webhook_deliveries (id, event_id, webhook_id, reason)
         SELECT gen_random_uuid(), e.id, w.id, $3
         FROM events e
         JOIN webhooks w ON e.type = ANY (w.events)
         WHERE e.id = $1 AND w.enabled AND w.deleted_at IS NULL
           AND ($2::uuid IS NULL OR w.id = $2)",
    )
    .bind::<SqlUuid, _>(event)
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(webhook)
    .bind::<Text, _>(reason)
    .execute(conn)
    .await
}

/// Delivery workers in every server LISTEN on this channel.
pub const OUTBOX_CHANNEL: &str = "beacon_outbox";

pub async fn wake_workers(conn: &mut AsyncPgConnection) -> DbResult<()> {
    diesel::sql_query(format!("NOTIFY {OUTBOX_CHANNEL}"))
        .execute(conn)
        .await?;
    Ok(())
}

/// A delivery claimed by a worker, with what it needs to send it.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedDelivery {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Int4)]
    pub attempt: i32,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = SqlUuid)]
    pub webhook_id: Uuid,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
}

/// Claims up to `limit` due deliveries for `lease_ms`: another worker
/// skips them while the lease runs, and takes them over if this one dies.
/// The claim counts as an attempt.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    limit: i64,
    lease_ms: i64,
) -> DbResult<Vec<ClaimedDelivery>> {
    diesel::sql_query(
        "WITH due AS (
             SELECT d.id FROM webhook_deliveries d
             JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.state = 'PENDING' AND d.next_attempt_at <= now()
               AND (d.leased_until IS NULL OR d.leased_until < now())
               AND w.enabled AND w.deleted_at IS NULL
             ORDER BY d.next_attempt_at
             LIMIT $1
             FOR UPDATE OF d SKIP LOCKED
         )
         UPDATE webhook_deliveries d
         SET leased_until = now() + $2 * interval '1 millisecond', attempts = d.attempts + 1
         FROM due, events e, webhooks w
         WHERE d.id = due.id AND e.id = d.event_id AND w.id = d.webhook_id
         RETURNING d.id, d.event_id, e.type AS event_type, e.payload::text AS payload,
                   d.attempts AS attempt, d.created_at, w.id AS webhook_id, w.url, w.secret",
    )
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(lease_ms)
    .load(conn)
    .await
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

/// What happens to the delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(DateTime<Utc>),
    GiveUp,
}

/// Records an attempt and its consequence, releasing the lease.
pub async fn record_attempt(
    conn: &mut AsyncPgConnection,
    delivery: Uuid,
    result: &AttemptResult,
    next: NextStep,
) -> DbResult<()> {
    use diesel_async::AsyncConnection;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::delivery_id.eq(delivery),
                webhook_attempts::status_code.eq(result.status_code),
                webhook_attempts::latency_ms.eq(result.latency_ms),
                webhook_attempts::error.eq(result.error.as_deref()),
                webhook_attempts::response_excerpt.eq(result.response_excerpt.as_deref()),
            ))
            .execute(conn)
            .await?;
        let target = webhook_deliveries::table.filter(webhook_deliveries::id.eq(delivery));
        match next {
            NextStep::Delivered | NextStep::GiveUp => {
                let state = if next == NextStep::Delivered {
                    "DELIVERED"
                } else {
                    "FAILED"
                };
                diesel::update(target)
                    .set((
                        webhook_deliveries::state.eq(state),
                        webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
                        webhook_deliveries::completed_at.eq(Some(Utc::now())),
                    ))
                    .execute(conn)
                    .await?;
            }
            NextStep::RetryAt(at) => {
                diesel::update(target)
                    .set((
                        webhook_deliveries::next_attempt_at.eq(at),
                        webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
                    ))
                    .execute(conn)
                    .await?;
            }
        }
        Ok(())
    })
    .await
}

pub async fn create_webhook(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    url: &str,
    event_types: &[String],
    secret: &str,
    description: &str,
    created_by: &str,
) -> DbResult<WebhookRow> {
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq(id),
            webhooks::url.eq(url),
            webhooks::events.eq(event_types
                .iter()
                .map(|event| Some(event.clone()))
                .collect::<Vec<_>>()),
            webhooks::secret.eq(secret),
            webhooks::description.eq(description),
            webhooks::created_by.eq(created_by),
        ))
        .returning(WebhookRow::as_returning())
        .get_result(conn)
        .await
}

/// Webhooks not deleted, oldest first.
/// Oldest first, after the (created_at, id) position `after`.
pub async fn list_webhooks(
    conn: &mut AsyncPgConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> DbResult<Vec<WebhookRow>> {
    let mut query = webhooks::table
        .filter(webhooks::deleted_at.is_null())
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            webhooks::created_at
                .gt(at)
                .or(webhooks::created_at.eq(at).and(webhooks::id.gt(id))),
        );
    }
    query
        .order((webhooks::created_at, webhooks::id))
        .limit(limit)
        .select(WebhookRow::as_select())
        .load(conn)
        .await
}

pub async fn find_webhook(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<Option<WebhookRow>> {
    webhooks::table
        .filter(webhooks::id.eq(id).and(webhooks::deleted_at.is_null()))
        .select(WebhookRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Disabling pauses deliveries (they resume when enabled again, unless they
/// ran out of time); returns the webhook, or `None` if there is none.
pub async fn set_webhook_enabled(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    enabled: bool,
) -> DbResult<Option<WebhookRow>> {
    diesel::update(webhooks::table.filter(webhooks::id.eq(id).and(webhooks::deleted_at.is_null())))
        .set(webhooks::enabled.eq(enabled))
        .returning(WebhookRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Deletes a webhook: its history stays, its pending deliveries fail.
/// Returns whether there was one.
pub async fn delete_webhook(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<bool> {
    use diesel_async::AsyncConnection;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let deleted = diesel::update(
            webhooks::table.filter(webhooks::id.eq(id).and(webhooks::deleted_at.is_null())),
        )
        .set((
            webhooks::deleted_at.eq(Some(Utc::now())),
            webhooks::enabled.eq(false),
        ))
        .execute(conn)
        .await?;
        diesel::update(
            webhook_deliveries::table.filter(
                webhook_deliveries::webhook_id
                    .eq(id)
                    .and(webhook_deliveries::state.eq("PENDING")),
            ),
        )
        .set((
            webhook_deliveries::state.eq("FAILED"),
            webhook_deliveries::completed_at.eq(Some(Utc::now())),
        ))
        .execute(conn)
        .await?;
        Ok(deleted > 0)
    })
    .await
}

pub async fn find_event(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<Option<EventRow>> {
    events::table
        .find(id)
        .select(EventRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Newest first, older than `before` (time, id) when given.
pub async fn list_events(
    conn: &mut AsyncPgConnection,
    event_type: Option<&str>,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> DbResult<Vec<EventRow>> {
    let mut query = events::table.into_boxed();
    if let Some(event_type) = event_type {
        query = query.filter(events::type_.eq(event_type.to_string()));
    }
    if let Some((at, id)) = before {
        query = query.filter(
            events::occurred_at
                .lt(at)
                .or(events::occurred_at.eq(at).and(events::id.lt(id))),
        );
    }
    query
        .order((events::occurred_at.desc(), events::id.desc()))
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
        .await
}

/// The deliveries of each of `events`, oldest first.
pub async fn deliveries_of_events(
    conn: &mut AsyncPgConnection,
    event_ids: &[Uuid],
) -> DbResult<Vec<DeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::event_id.eq_any(event_ids))
        .order((webhook_deliveries::created_at, webhook_deliveries::id))
        .select(DeliveryRow::as_select())
        .load(conn)
        .await
}

/// A webhook's latest deliveries, newest first.
pub async fn deliveries_of_webhook(
    conn: &mut AsyncPgConnection,
    webhook: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> DbResult<Vec<DeliveryRow>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .into_boxed();
    if let Some((at, id)) = before {
        query = query.filter(
            webhook_deliveries::created_at
                .lt(at)
                .or(webhook_deliveries::created_at
                    .eq(at)
                    .and(webhook_deliveries::id.lt(id))),
        );
    }
    query
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)
        .await
}

/// Every attempt of each of `deliveries`, oldest first.
pub async fn attempts_of(
    conn: &mut AsyncPgConnection,
    deliveries: &[Uuid],
) -> DbResult<Vec<AttemptRow>> {
    webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(deliveries))
        .order(webhook_attempts::id)
        .select(AttemptRow::as_select())
        .load(conn)
        .await
}

/// Deliveries still to be made, across every server.
pub async fn pending_deliveries(conn: &mut AsyncPgConnection) -> DbResult<i64> {
    webhook_deliveries::table
        .filter(webhook_deliveries::state.eq("PENDING"))
        .count()
        .get_result(conn)
        .await
}

/// Deletes events that happened before `before`, with their deliveries and
/// attempts, unless a delivery of theirs is still pending. At most `limit`
/// events per call, so a large backlog is pruned in short statements.
/// Returns how many events went.
pub async fn prune(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: i64,
) -> DbResult<usize> {
    // One statement: the foreign keys are checked at its end, when the
    // attempts and deliveries pointing at these events are gone too.
    diesel::sql_query(
        "WITH old AS (
             SELECT e.id FROM events e
             WHERE e.occurred_at < $1
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                               WHERE d.event_id = e.id AND d.state = 'PENDING')
             ORDER BY e.occurred_at
             LIMIT $2
         ),
         attempts AS (
             DELETE FROM webhook_attempts a
             USING webhook_deliveries d, old
             WHERE a.delivery_id = d.id AND d.event_id = old.id
         ),
         deliveries AS (
             DELETE FROM webhook_deliveries d USING old WHERE d.event_id = old.id
         )
         DELETE FROM events e USING old WHERE e.id = old.id",
    )
    .bind::<Timestamptz, _>(before)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await
}
