//! What the in-memory search index is built from, and how PostgreSQL
//! parses a search text (which the index then evaluates).

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::TryStreamExt;
use uuid::Uuid;

use super::content::{ContentReader, LabelRow, TopicRow};
use super::{DbResult, Prepared};
use crate::domain::Stage;

/// A published resource as the index holds it.
#[derive(QueryableByName, Debug)]
pub struct IndexedResourceRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub title: String,
    /// Dense rank of the title in the database's collation: the index
    /// orders by title exactly as `ORDER BY title` does without knowing
    /// the collation.
    #[diesel(sql_type = BigInt)]
    pub title_rank: i64,
    #[diesel(sql_type = Nullable<Int4>)]
    pub year: Option<i32>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub published_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Array<Nullable<SqlUuid>>)]
    pub topic_ids: Vec<Option<Uuid>>,
    #[diesel(sql_type = Array<Nullable<SqlUuid>>)]
    pub type_ids: Vec<Option<Uuid>>,
    #[diesel(sql_type = Array<Nullable<SqlUuid>>)]
    pub tag_ids: Vec<Option<Uuid>>,
    /// The `tsvector` as PostgreSQL prints it.
    #[diesel(sql_type = Text)]
    pub search_vector: String,
}

#[derive(QueryableByName, Debug)]
pub struct IndexedModuleRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub search_vector: String,
}

/// What the index is built from, in the order it is sent: the labels
/// first (resources link to them), then every resource in title order, then
/// every module.
pub enum SourceItem {
    Labels {
        /// Each in (name, id) order, as facets break ties.
        topics: Vec<TopicRow>,
        types: Vec<LabelRow>,
        tags: Vec<LabelRow>,
    },
    Resource(IndexedResourceRow),
    Module(IndexedModuleRow),
}

/// Sends the published stage to `out`, read in one repeatable-read
/// transaction (so the parts agree) and streamed: memory holds what the
/// index keeps, not every row at once. Stops early when `out` is closed.
pub async fn published(
    conn: &mut AsyncPgConnection,
    out: &tokio::sync::mpsc::Sender<SourceItem>,
) -> DbResult<()> {
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            // Reading a million rows takes longer than any request may: the
            // pool's statement timeout is for callers, not for this.
            diesel::sql_query("SET LOCAL statement_timeout = 0")
                .execute(conn)
                .await?;
            let reader = ContentReader::new(Stage::Published);
            let labels = SourceItem::Labels {
                topics: reader.topics(conn, None, i64::MAX).await?,
                types: reader.resource_types(conn, None, i64::MAX).await?,
                tags: reader.tags(conn, None, i64::MAX).await?,
            };
            if out.send(labels).await.is_err() {
                return Ok(());
            }
            let mut resources = diesel::sql_query(
                "SELECT id, title, dense_rank() OVER (ORDER BY title) AS title_rank, year,
                        published_at, topic_ids, type_ids, tag_ids,
                        search_vector::text AS search_vector
                   FROM resources WHERE stage = 'published'
                  ORDER BY title",
            )
            .load_stream::<IndexedResourceRow>(conn)
            .await?;
            while let Some(row) = resources.try_next().await? {
                if out.send(SourceItem::Resource(row)).await.is_err() {
                    return Ok(());
                }
            }
            drop(resources);
            let mut modules = diesel::sql_query(
                "SELECT id, search_vector::text AS search_vector
                   FROM modules WHERE stage = 'published'",
            )
            .load_stream::<IndexedModuleRow>(conn)
            .await?;
            while let Some(row) = modules.try_next().await? {
                if out.send(SourceItem::Module(row)).await.is_err() {
                    return Ok(());
                }
            }
            Ok(())
        })
        .await
}

#[derive(QueryableByName)]
struct Parsed {
    #[diesel(sql_type = Text)]
    query: String,
}

/// How PostgreSQL reads a search text: `beacon_search_query(…)`
/// as text. One cheap statement, and the index then matches exactly what
/// `@@` would.
pub async fn parse_search(conn: &mut AsyncPgConnection, text: &str) -> DbResult<String> {
    let row: Parsed = Prepared(
        diesel::sql_query("SELECT beacon_search_query($1)::text AS query").bind::<Text, _>(text),
    )
    .get_result(conn)
    .await?;
    Ok(row.query)
}
