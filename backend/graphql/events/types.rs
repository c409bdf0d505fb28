//! Webhooks, deliveries, attempts and events as admins see them.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::outbox::{self, AttemptRow, DeliveryRow, EventRow, WebhookRow};
use crate::graphql::access::connection_to_db;
use crate::graphql::error::internal;
use crate::graphql::paging::{Forward, Page, connection_type};

connection_type!(
    WebhookConnection,
    WebhookEdge,
    Webhook,
    "A page of webhooks, oldest first.",
    "A webhook and its position in the list."
);
connection_type!(
    EventConnection,
    EventEdge,
    Event,
    "A page of events, newest first.",
    "An event and its position in the list."
);
connection_type!(
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
    WebhookDelivery,
    "A page of a webhook's deliveries, newest first.",
    "A delivery and its position in the list."
);

/// Something partners can be told about by webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::webhook::EventType")]
pub enum EventType {
    /// An item's draft was published (or republished).
    Published,
    /// An item was withdrawn from the public.
    Unpublished,
    /// An item was archived.
    Archived,
    /// A seed job loaded content.
    SeedRun,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum DeliveryState {
    /// Not delivered yet: waiting for its next attempt.
    Pending,
    /// The receiver answered with a 2xx status.
    Delivered,
    /// Given up after failing for too long (or its webhook was deleted).
    Failed,
}

/// Kinds of content, for filtering live-preview changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::Kind")]
pub enum ContentKind {
    /// Topics (practice areas).
    Topic,
    /// Resource types.
    ResourceType,
    /// Tags.
    Tag,
    /// Resources.
    Resource,
    /// Modules.
    Module,
    /// Assets: images and files.
    Asset,
}

/// An endpoint that receives events.
pub struct Webhook(pub(super) WebhookRow);

/// An endpoint that receives events.
#[Object]
impl Webhook {
    /// Stable id (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where deliveries are posted.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Which events it receives.
    async fn events(&self) -> Vec<EventType> {
        self.0
            .events
            .iter()
            .flatten()
            .filter_map(|name| crate::domain::webhook::EventType::parse(name))
            .map(EventType::from)
            .collect()
    }
    /// What it is for, for people reading the list.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// A disabled webhook receives nothing; its pending deliveries wait.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Who registered it.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// When it was registered.
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// Its deliveries, newest first, each with its attempts, a page at a
    /// time.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<WebhookDeliveryConnection> {
        let request = Forward::<(DateTime<Utc>, Uuid)>::new("deliveries", first, after.as_deref())?;
        let mut conn = connection_to_db(ctx).await?;
        let rows =
            outbox::deliveries_of_webhook(&mut conn, self.0.id, request.after, request.limit())
                .await
                .map_err(internal)?;
        let page = request.page(rows, |row| (row.created_at, row.id));
        let keys: Vec<String> = page
            .items
            .iter()
            .map(|(cursor, _)| cursor.clone())
            .collect();
        let rows = page.items.into_iter().map(|(_, row)| row).collect();
        let deliveries = with_attempts(&mut conn, rows).await?;
        Ok(Page {
            items: keys.into_iter().zip(deliveries).collect(),
            page_info: page.page_info,
        }
        .into())
    }
}

/// Deliveries with their attempts, read in one statement.
pub(super) async fn with_attempts(
    conn: &mut crate::db::PooledConnection,
    rows: Vec<DeliveryRow>,
) -> Result<Vec<WebhookDelivery>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut attempts = outbox::attempts_of(conn, &ids).await.map_err(internal)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (mine, rest): (Vec<AttemptRow>, Vec<AttemptRow>) = std::mem::take(&mut attempts)
                .into_iter()
                .partition(|attempt| attempt.delivery_id == row.id);
            attempts = rest;
            WebhookDelivery {
                row,
                attempts: mine,
            }
        })
        .collect())
}

/// One event sent to one webhook.
pub struct WebhookDelivery {
    row: DeliveryRow,
    attempts: Vec<AttemptRow>,
}

/// One event sent to one webhook.
#[Object]
impl WebhookDelivery {
    /// Stable id (a UUID), sent as `Beacon-Delivery-Id`.
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    /// The event delivered; receivers de-duplicate by it (`Beacon-Event-Id`).
    async fn event_id(&self) -> ID {
        ID(self.row.event_id.to_string())
    }
    /// The webhook it goes to.
    async fn webhook_id(&self) -> ID {
        ID(self.row.webhook_id.to_string())
    }
    /// Where it stands.
    async fn state(&self) -> DeliveryState {
        match self.row.state.as_str() {
            "DELIVERED" => DeliveryState::Delivered,
            "FAILED" => DeliveryState::Failed,
            _ => DeliveryState::Pending,
        }
    }
    /// `event` when the event made it, `redeliver` when an admin asked again.
    async fn reason(&self) -> &str {
        &self.row.reason
    }
    /// Attempts started so far (one may be under way).
    async fn attempt_count(&self) -> i32 {
        self.row.attempts
    }
    /// When the next attempt is due, while pending.
    async fn next_attempt_at(&self) -> Option<Timestamp> {
        (self.row.state == "PENDING").then_some(self.row.next_attempt_at.into())
    }
    /// When it was made.
    async fn created_at(&self) -> Timestamp {
        self.row.created_at.into()
    }
    /// When it was delivered or given up.
    async fn completed_at(&self) -> Option<Timestamp> {
        self.row.completed_at.map(Into::into)
    }
    /// Every finished attempt, oldest first.
    async fn attempts(&self) -> Vec<WebhookAttempt> {
        self.attempts
            .iter()
            .map(|attempt| WebhookAttempt {
                attempted_at: attempt.attempted_at.into(),
                status_code: attempt.status_code,
                latency_ms: attempt.latency_ms,
                error: attempt.error.clone(),
                response_excerpt: attempt.response_excerpt.clone(),
            })
            .collect()
    }
}

/// One try at delivering.
#[derive(SimpleObject)]
pub struct WebhookAttempt {
    /// When it was made.
    attempted_at: Timestamp,
    /// The receiver's HTTP status; null when no answer came.
    status_code: Option<i32>,
    /// How long the receiver took, in milliseconds.
    latency_ms: i32,
    /// Why there was no answer (timeout, refused address, connection error).
    error: Option<String>,
    /// The first kilobyte of the receiver's answer.
    response_excerpt: Option<String>,
}

/// Something that happened, as receivers are told.
pub struct Event(pub(super) EventRow);

/// Something that happened, as receivers are told.
#[Object]
impl Event {
    /// Stable id (a UUID), sent as `Beacon-Event-Id`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What happened.
    async fn r#type(&self) -> Option<EventType> {
        crate::domain::webhook::EventType::parse(&self.0.event_type).map(EventType::from)
    }
    /// When it happened.
    async fn occurred_at(&self) -> Timestamp {
        self.0.occurred_at.into()
    }
    /// The JSON body receivers get.
    async fn payload(&self) -> String {
        self.0.payload.to_string()
    }
    /// Its deliveries, oldest first, each with its attempts.
    async fn deliveries(&self, ctx: &Context<'_>) -> Result<Vec<WebhookDelivery>> {
        let mut conn = connection_to_db(ctx).await?;
        let rows = outbox::deliveries_of_events(&mut conn, &[self.0.id])
            .await
            .map_err(internal)?;
        with_attempts(&mut conn, rows).await
    }
}

/// A webhook just registered, with its signing secret.
#[derive(SimpleObject)]
pub struct CreatedWebhook {
    /// The webhook.
    pub(super) webhook: Webhook,
    /// The key deliveries are signed with. Shown only now.
    pub(super) secret: String,
}
