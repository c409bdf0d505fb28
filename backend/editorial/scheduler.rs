//! Publishes and unpublishes what is due. Every `beacon serve` runs one;
//! each due document is claimed with `FOR UPDATE SKIP LOCKED` and its
//! schedule cleared in the same transaction, so it is handled exactly once
//! however many servers share the database, and whatever fell due while
//! none ran is handled on the next start.

use std::time::Duration;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::{
    Arguments, Change, Editorial, EditorialError, Who, record, state_of, void_publish_schedule,
};
use crate::db::PgPool;
use crate::db::editorial::{self as store, DocumentMeta};
use crate::domain::access::Actor;
use crate::domain::workflow::{self, WorkflowAction};

/// How many due documents one transaction handles.
const BATCH: i64 = 50;

fn scheduler() -> Who {
    Who {
        actor: Actor::Scheduler,
        request_id: None,
    }
}

impl Editorial {
    /// Handles every due schedule; returns how many documents it handled.
    pub async fn run_due(&self, conn: &mut AsyncPgConnection) -> Result<usize, EditorialError> {
        let mut handled = 0;
        loop {
            let batch = conn
                .transaction::<_, EditorialError, _>(async |conn| {
                    let due = store::claim_due(conn, BATCH).await?;
                    for meta in &due {
                        self.handle_due(conn, meta).await?;
                    }
                    Ok(due.len())
                })
                .await?;
            handled += batch;
            if batch < BATCH as usize {
                return Ok(handled);
            }
        }
    }

    async fn handle_due(
        &self,
        conn: &mut AsyncPgConnection,
        meta: &DocumentMeta,
    ) -> Result<(), EditorialError> {
        let who = scheduler();
        let now = Utc::now();
        let mut meta = meta.clone();
        for (due, action) in [
            (
                meta.scheduled_publish_at.is_some_and(|at| at <= now),
                WorkflowAction::Publish,
            ),
            (
                meta.scheduled_unpublish_at.is_some_and(|at| at <= now),
                WorkflowAction::Unpublish,
            ),
        ] {
            if !due {
                continue;
            }
            let voided = match action {
                WorkflowAction::Publish => workflow::check_scheduled_version(
                    meta.scheduled_publish_version,
                    meta.draft_version,
                )
                .err(),
                _ => None,
            };
            if let Some(voided) = voided {
                void_publish_schedule(conn, &who, &meta, "scheduleSkipped", &voided).await?;
            } else {
                match workflow::transition(state_of(&meta)?, action, self.policy) {
                    Ok(_) => {
                        self.carry_out(conn, &who, &meta, action, &Arguments::default())
                            .await?
                    }
                    Err(refused) => {
                        // The item changed since it was scheduled (edited after
                        // approval, say): drop the schedule and say why.
                        record(
                        conn,
                        &who,
                        Change {
                            action: "scheduleSkipped",
                            meta: &meta,
                            to_version: meta.draft_version,
                            to_status: state_of(&meta)?.status,
                            detail: serde_json::json!({ "action": action.name(), "reason": refused.to_string() }),
                        },
                    )
                    .await?;
                    }
                }
            }
            // What the action left, for the next one.
            if action == WorkflowAction::Publish {
                meta.scheduled_publish_at = None;
                meta.scheduled_publish_version = None;
            } else {
                meta.scheduled_unpublish_at = None;
            }
            store::set_schedule(
                conn,
                meta.id,
                meta.scheduled_publish_at
                    .zip(meta.scheduled_publish_version),
                meta.scheduled_unpublish_at,
            )
            .await?;
            meta = store::lock(conn, meta.id)
                .await?
                .ok_or(EditorialError::NotFound)?;
        }
        Ok(())
    }
}

/// Runs the scheduler every `interval` for as long as the process lives.
pub fn spawn(
    pool: PgPool,
    editorial: Editorial,
    interval: Duration,
    metrics: crate::metrics::Metrics,
) -> tokio::task::JoinHandle<()> {
    crate::db::spawn_every(pool, interval, "scheduler", move |conn| {
        let metrics = metrics.clone();
        Box::pin(async move {
            match editorial.run_due(conn).await {
                Ok(handled) => {
                    metrics.scheduler_run("ok", handled);
                    if handled > 0 {
                        tracing::info!(handled, "scheduler: handled due publishing");
                    }
                }
                Err(error) => {
                    metrics.scheduler_run("failed", 0);
                    tracing::error!(%error, "scheduler: failed");
                }
            }
        })
    })
}
