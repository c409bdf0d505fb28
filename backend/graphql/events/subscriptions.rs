//! `contentChanged`: live preview for as long as the subscriber may preview.

use crate::graphql::scalars::Timestamp;
use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use futures::{Stream, StreamExt};
use uuid::Uuid;

use crate::domain::access::Action;
use crate::events::listener::{ContentChange, Hub};
use crate::graphql::access::require;
use crate::graphql::error::{bad_input, internal};
use crate::graphql::ids;

use super::*;

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
    status: Option<crate::graphql::editorial::ContentStatus>,
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
            pool: ctx
                .data_unchecked::<crate::graphql::Pools>()
                .primary
                .clone(),
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
pub(super) struct Recheck {
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
pub(super) fn while_allowed(
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
pub(super) struct SubscriptionGuard(Option<crate::metrics::Metrics>);

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
pub(super) fn tokio_stream_of(
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
