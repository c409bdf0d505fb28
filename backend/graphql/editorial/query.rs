//! Editorial queries: the items editors work on, and the audit log.

use async_graphql::{Context, Object, Result};

use super::*;
use crate::db::editorial::{self as store, AuditFilter as StoreAuditFilter, ItemsAfter};
use crate::domain::Kind;
use crate::domain::access::Action;
use crate::domain::workflow::Status;
use crate::graphql::access::connection_to_db;
use crate::graphql::access::require;
use crate::graphql::access::viewer;
use crate::graphql::error::{bad_input, internal};
use crate::graphql::paging::{Forward, Page};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Default)]
pub struct EditorialQuery;

/// Editorial queries.
#[Object]
impl EditorialQuery {
    /// Content items of every kind as editors see them (current drafts),
    /// most recently changed first: the editor app's home and lists. Needs
    /// the PREVIEW permission (FORBIDDEN otherwise).
    async fn items(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which items; all when omitted.")] filter: Option<ItemFilter>,
        #[graphql(
            default,
            desc = "The list's order; most recently changed first by default."
        )]
        order: ItemOrder,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<ContentConnection> {
        require(ctx, Action::Preview)?;
        let filter = filter.unwrap_or_default();
        let words: Vec<String> = filter
            .query
            .as_deref()
            .unwrap_or_default()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        if words.len() > 8 {
            return Err(bad_input("`query` has more than 8 words"));
        }
        let query = store::ItemQuery {
            kinds: filter
                .kinds
                .unwrap_or_default()
                .into_iter()
                .map(|kind| Kind::from(kind).as_str().to_string())
                .collect(),
            statuses: filter
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(|status| Status::from(status).as_str().to_string())
                .collect(),
            owner: if filter.mine {
                // An API token owns nothing: `mine` lists nothing for it.
                Some(viewer(ctx).actor().user_id().unwrap_or_default())
            } else {
                None
            },
            scheduled: filter.scheduled,
            words,
        };
        let read = async |after, limit| {
            let mut conn = connection_to_db(ctx).await?;
            store::items(&mut conn, &query, after, limit)
                .await
                .map_err(internal)
        };
        // Each order has its own cursors: one from the other order is
        // refused, not misread.
        let page = match order {
            ItemOrder::RecentlyChanged => {
                let request =
                    Forward::<(DateTime<Utc>, Uuid)>::new("items", first, after.as_deref())?;
                let rows =
                    read(ItemsAfter::RecentlyChanged(request.after), request.limit()).await?;
                request.page(rows, |row| (row.updated_at, row.id))
            }
            ItemOrder::Alphabetical => {
                let request = Forward::<(String, Uuid)>::new(
                    "items (ALPHABETICAL)",
                    first,
                    after.as_deref(),
                )?;
                let rows = read(
                    ItemsAfter::Alphabetical(request.after.clone()),
                    request.limit(),
                )
                .await?;
                request.page(rows, |row| (row.slug.clone(), row.id))
            }
        };
        let items = page.items.iter().map(|(_, row)| async move {
            let kind = Kind::parse(&row.kind)
                .ok_or_else(|| internal(format!("document {} has kind {:?}", row.id, row.kind)))?;
            draft_item(ctx, kind, row.id).await
        });
        let items = futures::future::try_join_all(items).await?;
        let cursors = page.items.into_iter().map(|(cursor, _)| cursor);
        Ok(Page {
            items: cursors.zip(items).collect(),
            page_info: page.page_info,
        }
        .into())
    }

    /// The audit log, newest first. ADMIN only.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which entries; all when omitted.")] filter: Option<AuditLogFilter>,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<AuditEntryConnection> {
        require(ctx, Action::ReadAuditLog)?;
        let request = Forward::<i64>::new("auditLog", first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let document_id = match &filter.item_id {
            Some(id) => Some(document_id(id, None)?),
            None => None,
        };
        let mut conn = connection_to_db(ctx).await?;
        let rows = store::audit_entries(
            &mut conn,
            &StoreAuditFilter {
                document_id,
                actor: filter.actor,
                action: filter.action,
            },
            request.after,
            request.limit(),
        )
        .await
        .map_err(internal)?;
        Ok(request.page(rows, |row| row.id).map(AuditEntry).into())
    }
}
