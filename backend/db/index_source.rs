//! What the in-memory search index is built from, and how PostgreSQL
//! parses a search text (which the index then evaluates).

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::TryStreamExt;
use uuid::Uuid;

use super::content::{ContentReader, LabelRow, ResourceRow, TopicRow};
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
    /// the collation. Not read for a patch (`published_changes`): the
    /// index places a new title by asking `titles_before`.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub title_rank: Option<i64>,
    /// The row version's transaction (`xmin`): every write to a row gives
    /// it a new one, so a picture can tell which rows changed since it read
    /// them without trusting anything to announce what changed.
    #[diesel(sql_type = Xid)]
    pub xmin: i64,
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
    Labels(PublishedLabels),
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
            without_statement_timeout(conn).await?;
            let labels = SourceItem::Labels(published_labels(conn).await?);
            if out.send(labels).await.is_err() {
                return Ok(());
            }
            let mut resources = diesel::sql_query(
                "SELECT id, title, dense_rank() OVER (ORDER BY title) AS title_rank,
                        xmin, year, published_at, topic_ids, type_ids, tag_ids,
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

/// The published labels, each in (name, id) order, as facets break ties.
pub struct PublishedLabels {
    pub topics: Vec<TopicRow>,
    pub types: Vec<LabelRow>,
    pub tags: Vec<LabelRow>,
}

/// Reading a million rows takes longer than any request may: the pool's
/// statement timeout is for callers, not for the index.
async fn without_statement_timeout(conn: &mut AsyncPgConnection) -> DbResult<()> {
    diesel::sql_query("SET LOCAL statement_timeout = 0")
        .execute(conn)
        .await?;
    Ok(())
}

async fn published_labels(conn: &mut AsyncPgConnection) -> DbResult<PublishedLabels> {
    let reader = ContentReader::new(Stage::Published);
    Ok(PublishedLabels {
        topics: reader.topics(conn, None, i64::MAX).await?,
        types: reader.resource_types(conn, None, i64::MAX).await?,
        tags: reader.tags(conn, None, i64::MAX).await?,
    })
}

/// What a picture needs to catch up with the published stage, read in one
/// repeatable-read transaction.
pub struct PublishedChanges {
    /// The published rows at versions the picture does not hold.
    pub resources: Vec<IndexedResourceRow>,
    /// Every published module (a few hundred: read whole each time).
    pub modules: Vec<IndexedModuleRow>,
}

#[derive(QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Xid)]
    xmin: i64,
}

/// PostgreSQL's `xid` (a row version's transaction), read as sent: four
/// bytes. Casting a million of them to text and back to a number costs
/// the database a tenth of a second.
#[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 28, array_oid = 1011))]
pub struct Xid;

impl diesel::deserialize::FromSql<Xid, diesel::pg::Pg> for i64 {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        let bytes: [u8; 4] = value.as_bytes().try_into()?;
        Ok(i64::from(u32::from_be_bytes(bytes)))
    }
}

/// Given every published resource's id and row version (`xmin`) in id
/// order, which to read again.
pub type ChangedRows<'a> = dyn Fn(&[(Uuid, i64)]) -> Vec<Uuid> + Sync + 'a;

/// The published stage's changes against a picture: `None` when its
/// labels are not the ones `same_labels` accepts (a label's name is in
/// its resources' search text and facet order: the picture is rebuilt).
/// `changed` says which of the published resources (id and version, in id
/// order) the picture does not hold as they are.
pub async fn published_changes(
    conn: &mut AsyncPgConnection,
    same_labels: &(dyn Fn(&PublishedLabels) -> bool + Sync),
    changed: &ChangedRows<'_>,
) -> DbResult<Option<PublishedChanges>> {
    conn.build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            without_statement_timeout(conn).await?;
            let labels = published_labels(conn).await?;
            if !same_labels(&labels) {
                return Ok(None);
            }
            // A scan, sorted here: in index order the scan would visit the
            // table's pages at random (twice the time at a million rows).
            let mut versions: Vec<(Uuid, i64)> =
                diesel::sql_query("SELECT id, xmin FROM resources WHERE stage = 'published'")
                    .load::<VersionRow>(conn)
                    .await?
                    .into_iter()
                    .map(|row| (row.id, row.xmin))
                    .collect();
            versions.sort_unstable_by_key(|(id, _)| *id);
            let wanted = changed(&versions);
            let resources = diesel::sql_query(
                "SELECT r.id, r.title, NULL::bigint AS title_rank, r.xmin,
                        r.year, r.published_at, r.topic_ids, r.type_ids, r.tag_ids,
                        r.search_vector::text AS search_vector
                   FROM resources r JOIN unnest($1::uuid[]) AS wanted(id) ON wanted.id = r.id
                  WHERE r.stage = 'published'",
            )
            .bind::<Array<SqlUuid>, _>(&wanted)
            .load::<IndexedResourceRow>(conn)
            .await?;
            let modules = diesel::sql_query(
                "SELECT id, search_vector::text AS search_vector
                   FROM modules WHERE stage = 'published'",
            )
            .load::<IndexedModuleRow>(conn)
            .await?;
            Ok(Some(PublishedChanges { resources, modules }))
        })
        .await
}

#[derive(QueryableByName)]
struct TitleRow {
    #[diesel(sql_type = Text)]
    title: String,
}

/// `titles` in the order `ORDER BY title` puts them.
pub async fn in_title_order(
    conn: &mut AsyncPgConnection,
    titles: &[String],
) -> DbResult<Vec<String>> {
    Ok(
        diesel::sql_query("SELECT title FROM unnest($1::text[]) AS t(title) ORDER BY title")
            .bind::<Array<Text>, _>(titles)
            .load::<TitleRow>(conn)
            .await?
            .into_iter()
            .map(|row| row.title)
            .collect(),
    )
}

#[derive(QueryableByName)]
struct BeforeRow {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    before: bool,
}

/// For each pair, whether the first title sorts before the second as
/// `ORDER BY title` sorts them (the database's collation, which the index
/// does not know).
pub async fn titles_before(
    conn: &mut AsyncPgConnection,
    firsts: &[&str],
    seconds: &[&str],
) -> DbResult<Vec<bool>> {
    Ok(diesel::sql_query(
        "SELECT a < b AS before FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(a, b, n)
          ORDER BY n",
    )
    .bind::<Array<Text>, _>(firsts)
    .bind::<Array<Text>, _>(seconds)
    .load::<BeforeRow>(conn)
    .await?
    .into_iter()
    .map(|row| row.before)
    .collect())
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
    let row: Parsed = Prepared::fixed(
        diesel::sql_query("SELECT beacon_search_query($1)::text AS query").bind::<Text, _>(text),
    )
    .get_result(conn)
    .await?;
    Ok(row.query)
}

/// Published resources by id, each with its row version (`xmin`): the
/// picture keeps a row only at the version it holds.
pub async fn published_rows(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> DbResult<Vec<(ResourceRow, i64)>> {
    use super::schema::resources;
    use diesel::{BoolExpressionMethods, ExpressionMethods, QueryDsl, SelectableHelper};
    resources::table
        .filter(
            resources::stage
                .eq(Stage::Published.as_str())
                .and(resources::id.eq_any(ids)),
        )
        .select((
            ResourceRow::as_select(),
            diesel::dsl::sql::<Xid>("resources.xmin"),
        ))
        .load(conn)
        .await
}
