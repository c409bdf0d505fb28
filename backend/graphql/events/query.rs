//! `webhooks` and `events`.

use async_graphql::{Context, Object, Result};

use crate::db::outbox::{self};
use crate::domain::access::Action;
use crate::graphql::paging::permitted_page;

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
        let page = permitted_page(
            ctx,
            Action::ManageWebhooks,
            "webhooks",
            (first, after),
            async |conn, after, limit| outbox::list_webhooks(conn, after, limit).await,
            |row| (row.created_at, row.id),
        )
        .await?;
        Ok(page.map(Webhook).into())
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
        let event_type =
            r#type.map(|event| crate::domain::webhook::EventType::from(event).as_str());
        let page = permitted_page(
            ctx,
            Action::ManageWebhooks,
            "events",
            (first, after),
            async |conn, after, limit| outbox::list_events(conn, event_type, after, limit).await,
            |row| (row.occurred_at, row.id),
        )
        .await?;
        Ok(page.map(Event).into())
    }
}
