//! `webhooks` and `events`.

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::outbox::{self};
use crate::domain::access::Action;
use crate::graphql::access::connection_to_db;
use crate::graphql::access::require;
use crate::graphql::error::internal;
use crate::graphql::paging::Forward;

use super::*;

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
