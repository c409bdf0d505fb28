//! Registering, pausing, deleting webhooks and redelivering events.

use async_graphql::{Context, ID, Object, Result};
use uuid::Uuid;

use crate::domain::access::Action;
use crate::events::webhooks::{self as service, NewWebhook, WebhookError};
use crate::graphql::access::connection_to_db;
use crate::graphql::access::require;
use crate::graphql::error::{ErrorCode, bad_input, client_error, internal, validation_failed};
use crate::graphql::identity::caller;

use super::*;

pub(super) fn webhook_error(error: WebhookError) -> async_graphql::Error {
    match error {
        WebhookError::Invalid(field) => validation_failed(field.field, &field),
        WebhookError::NotFound(_) => client_error(ErrorCode::NotFound, error.to_string()),
        WebhookError::Forbidden(_) => client_error(ErrorCode::Forbidden, error.to_string()),
        WebhookError::Database(error) => internal(error),
    }
}

pub(super) fn parse_uuid(id: &ID, what: &str) -> Result<Uuid> {
    id.parse::<Uuid>()
        .map_err(|_| bad_input(format!("`{what}` is not a {what} id")))
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
            caller(ctx),
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
        service::set_enabled(&mut conn, caller(ctx), id, enabled)
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
        service::delete(&mut conn, caller(ctx), id)
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
        let made = service::redeliver(&mut conn, caller(ctx), event, webhook)
            .await
            .map_err(webhook_error)?;
        Ok(made as i32)
    }
}
