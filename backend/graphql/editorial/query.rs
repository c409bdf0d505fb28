//! Editorial queries: the audit log.

use async_graphql::{Context, Object, Result};

use super::*;
use crate::db::editorial::{self as store, AuditFilter as StoreAuditFilter};
use crate::domain::access::Action;
use crate::graphql::access::connection_to_db;
use crate::graphql::access::require;
use crate::graphql::error::internal;
use crate::graphql::paging::Forward;

#[derive(Default)]
pub struct EditorialQuery;

/// Editorial queries.
#[Object]
impl EditorialQuery {
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
