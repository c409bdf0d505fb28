//! The record of seed jobs, and the lock that keeps them one at a time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::DbResult;
use super::schema::seed_runs;
use crate::domain::seed_run::{Counts, SeedFile};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = seed_runs)]
pub struct SeedRun {
    pub id: Uuid,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub dry_run: bool,
    pub outcome: String,
    pub files: serde_json::Value,
    pub counts: serde_json::Value,
    pub error: Option<String>,
}

pub async fn start(conn: &mut AsyncPgConnection, id: Uuid, files: &[SeedFile]) -> DbResult<()> {
    diesel::insert_into(seed_runs::table)
        .values((
            seed_runs::id.eq(id),
            seed_runs::files.eq(serde_json::to_value(files).expect("files serialize")),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A run that failed before it could list its files (unreadable input).
pub async fn record_failure_before_start(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    error: &str,
) -> DbResult<()> {
    start(conn, id, &[]).await?;
    fail(conn, id, error).await
}

pub async fn succeed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    counts: &BTreeMap<String, Counts>,
) -> DbResult<()> {
    diesel::update(seed_runs::table.find(id))
        .set((
            seed_runs::outcome.eq("succeeded"),
            seed_runs::finished_at.eq(diesel::dsl::now),
            seed_runs::counts.eq(serde_json::to_value(counts).expect("counts serialize")),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn fail(conn: &mut AsyncPgConnection, id: Uuid, error: &str) -> DbResult<()> {
    diesel::update(seed_runs::table.find(id))
        .set((
            seed_runs::outcome.eq("failed"),
            seed_runs::finished_at.eq(diesel::dsl::now),
            seed_runs::error.eq(error),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// When the oldest other run still marked running began.
pub async fn running_since(
    conn: &mut AsyncPgConnection,
    except: Uuid,
) -> DbResult<Option<DateTime<Utc>>> {
    seed_runs::table
        .filter(seed_runs::outcome.eq("running"))
        .filter(seed_runs::id.ne(except))
        .select(seed_runs::started_at)
        .order(seed_runs::started_at.asc())
        .first(conn)
        .await
        .optional()
}

/// Runs newest first, after the (started_at, id) position `after`.
pub async fn history(
    conn: &mut AsyncPgConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> DbResult<Vec<SeedRun>> {
    let mut runs = seed_runs::table.into_boxed();
    if let Some((at, id)) = after {
        runs = runs.filter(
            seed_runs::started_at
                .lt(at)
                .or(seed_runs::started_at.eq(at).and(seed_runs::id.lt(id))),
        );
    }
    runs.select(SeedRun::as_select())
        .order((seed_runs::started_at.desc(), seed_runs::id.desc()))
        .limit(limit)
        .load(conn)
        .await
}

/// Takes the transaction-scoped advisory lock if it is free.
pub async fn try_lock(conn: &mut AsyncPgConnection, key: i64) -> DbResult<bool> {
    diesel::select(
        diesel::dsl::sql::<Bool>("pg_try_advisory_xact_lock(")
            .bind::<BigInt, _>(key)
            .sql(")"),
    )
    .get_result(conn)
    .await
}

/// Waits for the transaction-scoped advisory lock.
pub async fn lock(conn: &mut AsyncPgConnection, key: i64) -> DbResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<BigInt, _>(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// No statement timeout for the rest of the current transaction.
pub async fn lift_statement_timeout(conn: &mut AsyncPgConnection) -> DbResult<()> {
    diesel::sql_query("SET LOCAL statement_timeout = 0")
        .execute(conn)
        .await?;
    Ok(())
}

/// VACUUM ANALYZE of the content tables: statistics for the planner, and the
/// GIN indexes' pending entries merged (outside any transaction, so without
/// the connection's statement timeout until `RESET` restores it).
pub async fn refresh_statistics(conn: &mut AsyncPgConnection) -> DbResult<()> {
    diesel::sql_query("SET statement_timeout = 0")
        .execute(conn)
        .await?;
    let vacuum = diesel::sql_query(
        "VACUUM (ANALYZE) documents, document_versions, topics, resource_types, tags, \
         resources, modules",
    )
    .execute(conn)
    .await;
    diesel::sql_query("RESET statement_timeout")
        .execute(conn)
        .await?;
    vacuum?;
    Ok(())
}

/// Seed runs (dry runs are not recorded) by outcome, for metrics.
pub async fn count_by_outcome(conn: &mut AsyncPgConnection) -> DbResult<Vec<(String, i64)>> {
    seed_runs::table
        .group_by(seed_runs::outcome)
        .select((seed_runs::outcome, diesel::dsl::count_star()))
        .load(conn)
        .await
}
