//! Operations registered by operators, found by the hash of their text.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::DbResult;
use super::schema::persisted_operations;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = persisted_operations)]
pub struct PersistedOperation {
    pub sha256: String,
    pub document: String,
    pub label: String,
    pub added_at: DateTime<Utc>,
}

/// Registers `document` under `sha256`; registering it again updates its
/// label. Returns whether it was new.
pub async fn add(
    conn: &mut AsyncPgConnection,
    sha256: &str,
    document: &str,
    label: &str,
) -> DbResult<bool> {
    let existed = find(conn, sha256).await?.is_some();
    diesel::insert_into(persisted_operations::table)
        .values((
            persisted_operations::sha256.eq(sha256),
            persisted_operations::document.eq(document),
            persisted_operations::label.eq(label),
        ))
        .on_conflict(persisted_operations::sha256)
        .do_update()
        .set(persisted_operations::label.eq(excluded(persisted_operations::label)))
        .execute(conn)
        .await?;
    Ok(!existed)
}

pub async fn find(conn: &mut AsyncPgConnection, sha256: &str) -> DbResult<Option<String>> {
    persisted_operations::table
        .find(sha256)
        .select(persisted_operations::document)
        .first(conn)
        .await
        .optional()
}

pub async fn list(conn: &mut AsyncPgConnection) -> DbResult<Vec<PersistedOperation>> {
    persisted_operations::table
        .select(PersistedOperation::as_select())
        .order((persisted_operations::label, persisted_operations::sha256))
        .load(conn)
        .await
}

/// Returns whether there was such an operation.
pub async fn remove(conn: &mut AsyncPgConnection, sha256: &str) -> DbResult<bool> {
    let removed = diesel::delete(persisted_operations::table.find(sha256))
        .execute(conn)
        .await?;
    Ok(removed > 0)
}
