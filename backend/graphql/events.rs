//! Webhooks and events for admins, and live preview for editors.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use uuid::Uuid;

use super::access::{require, viewer};
use super::error::{ErrorCode, bad_input, client_error, internal, validation_failed};
use super::ids;
use super::paging::{Forward, Page, connection_type};
use super::query::connection_to_db;
use crate::db::outbox::{self, AttemptRow, DeliveryRow, EventRow, WebhookRow};
use crate::domain::access::Action;
use crate::events::listener::{ContentChange, Hub};
use crate::events::webhooks::{self as service, NewWebhook, WebhookError};

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
}

fn webhook_error(error: WebhookError) -> async_graphql::Error {
    match error {
        WebhookError::Invalid(field) => validation_failed(field.field, &field),
        WebhookError::NotFound(_) => client_error(ErrorCode::NotFound, error.to_string()),
        WebhookError::Forbidden(_) => client_error(ErrorCode::Forbidden, error.to_string()),
        WebhookError::Database(error) => internal(error),
    }
}

/// The request's actor, for the webhook service's checks and audit entries.
fn admin<'c>(ctx: &Context<'c>) -> service::Admin<'c> {
    let viewer = viewer(ctx);
    service::Admin {
        actor: viewer.actor(),
        request_id: viewer.request_id.as_deref(),
    }
}

fn parse_uuid(id: &ID, what: &str) -> Result<Uuid> {
    id.parse::<Uuid>()
        .map_err(|_| bad_input(format!("`{what}` is not a {what} id")))
}

/// An endpoint that receives events.
pub struct Webhook(WebhookRow);

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
async fn with_attempts(
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
pub struct Event(EventRow);

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
    webhook: Webhook,
    /// The key deliveries are signed with. Shown only now.
    secret: String,
}

#[derive(Default)]
pub struct EventsQuery;

/// Webhooks and events. ADMIN only.
#[Object]
impl EventsQuery {
    /// Registered webhooks, oldest first, a page at a time.
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<WebhookConnection> {
        require(ctx, Action::ManageWebhooks)?;
        let request = Forward::<(DateTime<Utc>, Uuid)>::new("webhooks", first, after.as_deref())?;
        let mut conn = connection_to_db(ctx).await?;
        let rows = outbox::list_webhooks(&mut conn, request.after, request.limit())
            .await
            .map_err(internal)?;
        Ok(request
            .page(rows, |row| (row.created_at, row.id))
            .map(Webhook)
            .into())
    }

    /// Events, newest first.
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only events of this type.")] r#type: Option<EventType>,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<EventConnection> {
        require(ctx, Action::ManageWebhooks)?;
        let request = Forward::<(DateTime<Utc>, Uuid)>::new("events", first, after.as_deref())?;
        let mut conn = connection_to_db(ctx).await?;
        let event_type =
            r#type.map(|event| crate::domain::webhook::EventType::from(event).as_str());
        let rows = outbox::list_events(&mut conn, event_type, request.after, request.limit())
            .await
            .map_err(internal)?;
        Ok(request
            .page(rows, |row| (row.occurred_at, row.id))
            .map(Event)
            .into())
    }
}

#[derive(Default)]
pub struct EventsMutation;

/// Whether webhooks may point at private addresses (development, tests).
#[derive(Debug, Clone, Copy)]
pub struct AllowPrivateWebhooks(pub bool);

/// Webhook administration. ADMIN only.
#[Object]
impl EventsMutation {
    /// Registers a webhook. Its URL must be http(s) and, unless the server
    /// allows private addresses, public. Deliveries are signed with `secret`
    /// (generated when omitted and returned once).
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Where to post deliveries.")] url: String,
        #[graphql(desc = "Which events it receives (at least one).")] events: Vec<EventType>,
        #[graphql(desc = "Signing key, 16 to 512 characters; generated when omitted.")]
        secret: Option<String>,
        #[graphql(desc = "What it is for.")] description: Option<String>,
    ) -> Result<CreatedWebhook> {
        require(ctx, Action::ManageWebhooks)?;
        let secret = secret.unwrap_or_else(service::generate_secret);
        let events: Vec<_> = events.into_iter().map(Into::into).collect();
        let allow_private = ctx
            .data_opt::<AllowPrivateWebhooks>()
            .is_some_and(|allow| allow.0);
        let mut conn = connection_to_db(ctx).await?;
        let row = service::create(
            &mut conn,
            admin(ctx),
            &NewWebhook {
                url: &url,
                events: &events,
                secret: &secret,
                description: description.as_deref().unwrap_or(""),
            },
            allow_private,
        )
        .await
        .map_err(webhook_error)?;
        Ok(CreatedWebhook {
            webhook: Webhook(row),
            secret,
        })
    }

    /// Enables or disables a webhook. A disabled one receives nothing; its
    /// pending deliveries wait until it is enabled again.
    async fn set_webhook_enabled(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id.")] id: ID,
        #[graphql(desc = "Whether it receives events.")] enabled: bool,
    ) -> Result<Webhook> {
        require(ctx, Action::ManageWebhooks)?;
        let id = parse_uuid(&id, "webhook")?;
        let mut conn = connection_to_db(ctx).await?;
        service::set_enabled(&mut conn, admin(ctx), id, enabled)
            .await
            .map(Webhook)
            .map_err(webhook_error)
    }

    /// Deletes a webhook: it receives nothing more and its pending
    /// deliveries fail; its delivery history is kept.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id.")] id: ID,
    ) -> Result<bool> {
        require(ctx, Action::ManageWebhooks)?;
        let id = parse_uuid(&id, "webhook")?;
        let mut conn = connection_to_db(ctx).await?;
        service::delete(&mut conn, admin(ctx), id)
            .await
            .map_err(webhook_error)?;
        Ok(true)
    }

    /// Delivers an event again: to one webhook, or to every enabled webhook
    /// receiving its type. Returns how many deliveries were queued.
    async fn redeliver(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event's id.")] event_id: ID,
        #[graphql(desc = "Only to this webhook.")] webhook_id: Option<ID>,
    ) -> Result<i32> {
        require(ctx, Action::ManageWebhooks)?;
        let event = parse_uuid(&event_id, "event")?;
        let webhook = webhook_id
            .as_ref()
            .map(|id| parse_uuid(id, "webhook"))
            .transpose()?;
        let mut conn = connection_to_db(ctx).await?;
        let made = service::redeliver(&mut conn, admin(ctx), event, webhook)
            .await
            .map_err(webhook_error)?;
        Ok(made as i32)
    }
}

/// A change to an item, for live preview: refetch it (with `preview: true`)
/// to show it.
#[derive(SimpleObject)]
pub struct ContentChanged {
    /// The item's global id (for `node`).
    id: ID,
    /// What kind of item.
    kind: ContentKind,
    /// What was done (`create`, `update`, `submitForReview`, `publish`, …).
    action: String,
    /// The item's workflow status after the change.
    status: Option<super::editorial::ContentStatus>,
    /// Its current draft version after the change.
    version: Option<i32>,
    /// Who made it (`user:<id>`, `token:<id>`, `scheduler`, `seed:<run id>`).
    actor: String,
    /// When it was made.
    at: Timestamp,
}

impl ContentChanged {
    fn from_change(change: ContentChange) -> Option<Self> {
        let kind = crate::domain::Kind::parse(&change.kind)?;
        Some(ContentChanged {
            id: ids::encode(kind.into(), change.id),
            kind: kind.into(),
            action: change.action,
            status: change
                .status
                .as_deref()
                .and_then(crate::domain::workflow::Status::parse)
                .map(Into::into),
            version: change.version,
            actor: change.actor,
            at: change.at.into(),
        })
    }
}

/// Live updates over WebSocket (graphql-transport-ws).
#[derive(Default)]
pub struct SubscriptionRoot;

/// Live updates over WebSocket (graphql-transport-ws).
#[Subscription]
impl SubscriptionRoot {
    /// Every change editors, the scheduler or seed jobs make to items, as it
    /// commits, on whichever server it was made. Needs the PREVIEW
    /// permission (AUTHOR and up).
    async fn content_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these items (global ids); all when omitted.")] ids: Option<Vec<ID>>,
        #[graphql(desc = "Only these kinds; all when omitted.")] kinds: Option<Vec<ContentKind>>,
    ) -> Result<impl Stream<Item = ContentChanged> + use<>> {
        require(ctx, Action::Preview)?;
        let hub = ctx
            .data_opt::<Hub>()
            .ok_or_else(|| internal("live preview is not running"))?;
        let wanted_ids: Option<Vec<Uuid>> = match ids {
            Some(ids) => Some(
                ids.iter()
                    .map(|id| {
                        ids::decode(id)
                            .map(|(_, uuid)| uuid)
                            .ok_or_else(|| bad_input("`ids` holds an id that is not an item's"))
                    })
                    .collect::<Result<_>>()?,
            ),
            None => None,
        };
        let wanted_kinds: Option<Vec<crate::domain::Kind>> =
            kinds.map(|kinds| kinds.into_iter().map(Into::into).collect());
        let metrics = ctx.data_opt::<crate::metrics::Metrics>().cloned();
        let guard = SubscriptionGuard::new(metrics);
        let recheck = ctx.data_opt::<SubscriberToken>().map(|token| Recheck {
            every: hub.recheck_every,
            token: token.0.clone(),
            identity: ctx.data_unchecked::<crate::identity::Identity>().clone(),
            pool: ctx.data_unchecked::<super::Pools>().primary.clone(),
            checked: std::time::Instant::now(),
        });
        let changes = while_allowed(tokio_stream_of(hub.subscribe()), recheck);
        Ok(changes.filter_map(move |change| {
            let _open = &guard;
            let keep = wanted_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&change.id))
                && wanted_kinds.as_ref().is_none_or(|kinds| {
                    crate::domain::Kind::parse(&change.kind)
                        .is_some_and(|kind| kinds.contains(&kind))
                });
            futures::future::ready(if keep {
                ContentChanged::from_change(change)
            } else {
                None
            })
        }))
    }
}

/// The bearer token a WebSocket connection signed in with.
pub struct SubscriberToken(pub String);

/// A long-lived subscription checks every `every` (of changes) that its
/// token is still valid and may still preview: a revoked token, a disabled
/// user or a demotion ends it at the first change after that.
struct Recheck {
    every: std::time::Duration,
    token: String,
    identity: crate::identity::Identity,
    pool: crate::db::PgPool,
    checked: std::time::Instant,
}

impl Recheck {
    /// False once the token no longer grants PREVIEW. A database that cannot
    /// tell right now does not end the subscription.
    async fn still_allowed(&mut self) -> bool {
        if self.checked.elapsed() < self.every {
            return true;
        }
        let Ok(mut conn) = self.pool.get().await else {
            return true;
        };
        match self.identity.authenticate(&mut conn, &self.token).await {
            Ok(auth) => {
                self.checked = std::time::Instant::now();
                crate::domain::access::authorize(&auth.actor, Action::Preview).is_ok()
            }
            Err(crate::identity::IdentityError::Database(_)) => true,
            Err(_) => false,
        }
    }
}

/// `changes` for as long as the subscriber's credentials allow.
fn while_allowed(
    changes: impl Stream<Item = ContentChange> + Send + 'static,
    recheck: Option<Recheck>,
) -> impl Stream<Item = ContentChange> {
    futures::stream::unfold(
        (Box::pin(changes), recheck),
        |(mut changes, mut recheck)| async move {
            let change = changes.next().await?;
            if let Some(recheck) = recheck.as_mut()
                && !recheck.still_allowed().await
            {
                return None;
            }
            Some((change, (changes, recheck)))
        },
    )
}

/// Counts a subscription as open for as long as its stream lives.
struct SubscriptionGuard(Option<crate::metrics::Metrics>);

impl SubscriptionGuard {
    fn new(metrics: Option<crate::metrics::Metrics>) -> Self {
        if let Some(metrics) = &metrics {
            metrics.subscription_opened();
        }
        SubscriptionGuard(metrics)
    }
}

impl Drop for SubscriptionGuard {
    fn drop(&mut self) {
        if let Some(metrics) = &self.0 {
            metrics.subscription_closed();
        }
    }
}

/// The broadcast receiver as a stream. A subscriber that falls behind skips
/// what it missed (live preview only needs the latest state).
fn tokio_stream_of(
    receiver: tokio::sync::broadcast::Receiver<ContentChange>,
) -> impl Stream<Item = ContentChange> {
    futures::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(change) => return Some((change, receiver)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a live-preview subscriber fell behind");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}
