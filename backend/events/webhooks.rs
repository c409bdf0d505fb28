//! Registering webhooks and asking for deliveries again: the rules both
//! the GraphQL API and the command line go through.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::outbox::{self, WebhookRow};
use crate::domain::access::{Action, Forbidden};
use crate::domain::validation::FieldError;
use crate::domain::webhook::{self, EventType, MIN_SECRET_CHARS};
use crate::identity::Caller;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Invalid(FieldError),
    #[error("there is no such {0}")]
    NotFound(&'static str),
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

fn invalid(field: &'static str, message: impl Into<String>) -> WebhookError {
    WebhookError::Invalid(FieldError {
        field,
        message: message.into(),
    })
}

/// What an admin asks for.
pub struct NewWebhook<'a> {
    pub url: &'a str,
    pub events: &'a [EventType],
    pub secret: &'a str,
    pub description: &'a str,
}

/// Registers a webhook after checking its URL (see
/// [`webhook::check_url`]), events and secret.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: Caller<'_>,
    new: &NewWebhook<'_>,
    allow_private: bool,
) -> Result<WebhookRow, WebhookError> {
    caller.authorize(Action::ManageWebhooks)?;
    let url = webhook::check_url(new.url, allow_private)
        .map_err(|refused| invalid("url", refused.to_string()))?;
    if new.events.is_empty() {
        return Err(invalid("events", "name at least one event type"));
    }
    if new.secret.chars().count() < MIN_SECRET_CHARS || new.secret.len() > 512 {
        return Err(invalid(
            "secret",
            format!("must be {MIN_SECRET_CHARS} to 512 characters"),
        ));
    }
    if new.description.chars().count() > 500 {
        return Err(invalid("description", "must be at most 500 characters"));
    }
    let mut names: Vec<String> = Vec::new();
    for event in new.events {
        let name = event.as_str().to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    caller
        .audited(conn, "createWebhook", async |conn| {
            let row = outbox::create_webhook(
                conn,
                Uuid::now_v7(),
                url.as_str(),
                &names,
                new.secret,
                new.description.trim(),
                &caller.actor.label(),
            )
            .await?;
            let detail =
                serde_json::json!({ "webhookId": row.id, "url": row.url, "events": names });
            Ok((row, detail))
        })
        .await
}

/// Enables or disables a webhook.
pub async fn set_enabled(
    conn: &mut AsyncPgConnection,
    caller: Caller<'_>,
    id: Uuid,
    enabled: bool,
) -> Result<WebhookRow, WebhookError> {
    caller.authorize(Action::ManageWebhooks)?;
    let action = if enabled {
        "enableWebhook"
    } else {
        "disableWebhook"
    };
    caller
        .audited(conn, action, async |conn| {
            let row = outbox::set_webhook_enabled(conn, id, enabled)
                .await?
                .ok_or(WebhookError::NotFound("webhook"))?;
            Ok((row, serde_json::json!({ "webhookId": id })))
        })
        .await
}

/// Deletes a webhook; its delivery history stays.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    caller: Caller<'_>,
    id: Uuid,
) -> Result<(), WebhookError> {
    caller.authorize(Action::ManageWebhooks)?;
    caller
        .audited(conn, "deleteWebhook", async |conn| {
            if !outbox::delete_webhook(conn, id).await? {
                return Err(WebhookError::NotFound("webhook"));
            }
            Ok(((), serde_json::json!({ "webhookId": id })))
        })
        .await
}

/// New deliveries of an event: to `webhook` only, or to every enabled
/// webhook receiving its type. Returns how many were made.
pub async fn redeliver(
    conn: &mut AsyncPgConnection,
    caller: Caller<'_>,
    event: Uuid,
    webhook: Option<Uuid>,
) -> Result<usize, WebhookError> {
    caller.authorize(Action::ManageWebhooks)?;
    if outbox::find_event(conn, event).await?.is_none() {
        return Err(WebhookError::NotFound("event"));
    }
    if let Some(webhook) = webhook {
        let found = outbox::find_webhook(conn, webhook).await?;
        if !found.is_some_and(|row| row.enabled) {
            return Err(WebhookError::NotFound("enabled webhook"));
        }
    }
    caller
        .audited(conn, "redeliver", async |conn| {
            let made = outbox::fan_out(conn, event, webhook, "redeliver").await?;
            if made > 0 {
                // NOTIFY is delivered at commit, with the deliveries it announces.
                outbox::wake_workers(conn).await?;
            }
            let detail =
                serde_json::json!({ "eventId": event, "webhookId": webhook, "deliveries": made });
            Ok((made, detail))
        })
        .await
}

/// A fresh secret of 256 random bits, for admins who do not bring one.
pub fn generate_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}
