//! `beacon webhook …`: the same rules as the admin mutations.

use crate::identity::Caller;
use std::process::ExitCode;

use anyhow::Context;

use super::migrate_reporting;
use crate::config::WebhookCommand;
use crate::db::{Database, outbox};
use crate::domain::webhook::EventType;
use crate::events::webhooks::{self as service, NewWebhook};

/// Who the audit trail names for changes made from the command line.
const OPERATOR: Caller<'static> = Caller::operator();

pub async fn run(database: &Database, command: &WebhookCommand) -> anyhow::Result<ExitCode> {
    migrate_reporting(database).await?;
    let mut conn = database.connection().await?;
    match command {
        WebhookCommand::Create {
            url,
            events,
            secret_file,
            description,
            allow_private,
        } => {
            let events: Vec<EventType> = if events.is_empty() {
                EventType::ALL.to_vec()
            } else {
                events
                    .iter()
                    .map(|name| {
                        EventType::parse(name).with_context(|| {
                            format!("unknown event {name:?}: use PUBLISHED, UNPUBLISHED, ARCHIVED or SEED_RUN")
                        })
                    })
                    .collect::<anyhow::Result<_>>()?
            };
            let (secret, generated) = match secret_file {
                Some(path) => (
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?
                        .trim()
                        .to_string(),
                    false,
                ),
                None => (service::generate_secret(), true),
            };
            let webhook = service::create(
                &mut conn,
                OPERATOR,
                &NewWebhook {
                    url,
                    events: &events,
                    secret: &secret,
                    description,
                },
                *allow_private,
            )
            .await?;
            println!("{}  {}", webhook.id, webhook.url);
            if generated {
                println!("secret (shown once): {secret}");
            }
        }
        WebhookCommand::List => {
            let webhooks = outbox::list_webhooks(&mut conn, None, i64::MAX).await?;
            if webhooks.is_empty() {
                println!("No webhooks.");
            }
            for webhook in webhooks {
                let events: Vec<&str> = webhook
                    .events
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                let latest = outbox::deliveries_of_webhook(&mut conn, webhook.id, None, 1).await?;
                println!(
                    "{}  {}  {}  [{}]  last delivery: {}",
                    webhook.id,
                    if webhook.enabled {
                        "enabled "
                    } else {
                        "disabled"
                    },
                    webhook.url,
                    events.join(","),
                    latest
                        .first()
                        .map(|delivery| format!(
                            "{} ({} attempts)",
                            delivery.state, delivery.attempts
                        ))
                        .unwrap_or_else(|| "none".into())
                );
            }
        }
        WebhookCommand::Disable { id } | WebhookCommand::Enable { id } => {
            let enabled = matches!(command, WebhookCommand::Enable { .. });
            service::set_enabled(&mut conn, OPERATOR, *id, enabled)
                .await
                .with_context(|| format!("webhook {id}"))?;
            println!("{id} {}", if enabled { "enabled" } else { "disabled" });
        }
        WebhookCommand::Delete { id } => {
            service::delete(&mut conn, OPERATOR, *id)
                .await
                .with_context(|| format!("webhook {id}"))?;
            println!("{id} deleted");
        }
        WebhookCommand::Redeliver { event_id, webhook } => {
            let made = service::redeliver(&mut conn, OPERATOR, *event_id, *webhook).await?;
            println!("{made} delivery(ies) queued");
        }
    }
    Ok(ExitCode::SUCCESS)
}
