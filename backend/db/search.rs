//! Full-text search over resources and modules, ranked, with highlighted
//! snippets computed only for the page returned.

use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Double, Int4, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{DbResult, Prepared};
use crate::domain::Stage;

/// A match: which document, how well it matched, and the matching text with
/// the query's words wrapped in `<mark>`.
#[derive(Debug, Clone, QueryableByName)]
pub struct Hit {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Double)]
    pub rank: f64,
    #[diesel(sql_type = Text)]
    pub snippet: String,
}

/// A position in the results: a hit's rank, kind and id.
#[derive(Debug, Clone)]
pub struct Position {
    pub rank: f64,
    pub kind: String,
    pub id: Uuid,
}

/// Which hits a page holds: those after a position (best first), or those
/// before one when paging backwards (the worst of them first: the caller
/// reverses them).
#[derive(Debug, Clone)]
pub enum PageFrom {
    Start,
    After(Position),
    End,
    Before(Position),
}

/// The highlighted text of a resource (`r`) and of a module (`m`) for the
/// query `q.q`.
const RESOURCE_HEADLINE: &str = "ts_headline('english',
    r.title || coalesce(' — ' || r.summary, ''), q.q,
    'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10')";
const MODULE_HEADLINE: &str = "ts_headline('english', m.title || ' — ' || m.intro, q.q,
    'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10')";

pub const RESOURCE: &str = "resource";
pub const MODULE: &str = "module";

/// The hits of a page, ties ordered by kind, then id; reads `limit` rows.
pub async fn hits(
    conn: &mut AsyncPgConnection,
    stage: Stage,
    query: &str,
    kinds: &[&str],
    from: &PageFrom,
    limit: i32,
) -> DbResult<Vec<Hit>> {
    let kinds: Vec<String> = kinds.iter().map(|kind| kind.to_string()).collect();
    let backward = matches!(from, PageFrom::End | PageFrom::Before(_));
    let position = match from {
        PageFrom::After(position) | PageFrom::Before(position) => position.clone(),
        PageFrom::Start => Position {
            rank: f64::INFINITY,
            kind: String::new(),
            id: Uuid::nil(),
        },
        PageFrom::End => Position {
            rank: f64::NEG_INFINITY,
            kind: "~".into(),
            id: Uuid::max(),
        },
    };
    // Two fixed texts, so each stays one prepared statement.
    let (bound, order) = if backward {
        (
            "rank > $4 OR (rank = $4 AND (kind, id) < ($5, $6))",
            "rank, kind DESC, id DESC",
        )
    } else {
        (
            "rank < $4 OR (rank = $4 AND (kind, id) > ($5, $6))",
            "rank DESC, kind, id",
        )
    };
    Prepared::fixed(diesel::sql_query(format!(
        "WITH q AS (SELECT beacon_search_query($2) AS q),
         matches AS (
             SELECT 'resource'::text AS kind, r.id,
                    ts_rank_cd(r.search_vector, q.q)::float8 AS rank
               FROM resources r, q
              WHERE r.stage = $1 AND 'resource' = ANY($3) AND r.search_vector @@ q.q
             UNION ALL
             SELECT 'module'::text, m.id, ts_rank_cd(m.search_vector, q.q)::float8
               FROM modules m, q
              WHERE m.stage = $1 AND 'module' = ANY($3) AND m.search_vector @@ q.q
         ),
         page AS (
             SELECT * FROM matches
              WHERE {bound}
              ORDER BY {order}
              LIMIT $7
         )
         SELECT page.kind, page.id, page.rank,
                coalesce(
                    (SELECT {RESOURCE_HEADLINE}
                       FROM resources r WHERE page.kind = 'resource' AND r.stage = $1 AND r.id = page.id),
                    (SELECT {MODULE_HEADLINE}
                       FROM modules m WHERE page.kind = 'module' AND m.stage = $1 AND m.id = page.id),
                    '') AS snippet
           FROM page, q
          ORDER BY {order}",
    ))
    .bind::<Text, _>(stage.as_str())
    .bind::<Text, _>(query)
    .bind::<Array<Text>, _>(kinds)
    .bind::<Double, _>(position.rank)
    .bind::<Text, _>(position.kind)
    .bind::<SqlUuid, _>(position.id)
    .bind::<Int4, _>(limit))
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// How many documents match in all.
pub async fn total(
    conn: &mut AsyncPgConnection,
    stage: Stage,
    query: &str,
    kinds: &[&str],
) -> DbResult<i64> {
    let kinds: Vec<String> = kinds.iter().map(|kind| kind.to_string()).collect();
    let row: Total = Prepared::fixed(
        diesel::sql_query(
            "WITH q AS (SELECT beacon_search_query($2) AS q)
         SELECT (SELECT count(*) FROM resources r, q
                  WHERE r.stage = $1 AND 'resource' = ANY($3) AND r.search_vector @@ q.q)
              + (SELECT count(*) FROM modules m, q
                  WHERE m.stage = $1 AND 'module' = ANY($3) AND m.search_vector @@ q.q) AS total",
        )
        .bind::<Text, _>(stage.as_str())
        .bind::<Text, _>(query)
        .bind::<Array<Text>, _>(kinds),
    )
    .get_result(conn)
    .await?;
    Ok(row.total)
}

pub fn kind_names(resources: bool, modules: bool) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if resources {
        kinds.push(RESOURCE);
    }
    if modules {
        kinds.push(MODULE);
    }
    kinds
}

#[derive(QueryableByName)]
pub struct Snippet {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub snippet: String,
}

/// The highlighted snippets of a page of published hits found elsewhere
/// (the search index), written as [`hits`] writes them.
pub async fn snippets(
    conn: &mut AsyncPgConnection,
    query: &str,
    resources: &[Uuid],
    modules: &[Uuid],
) -> DbResult<Vec<Snippet>> {
    Prepared::fixed(
        diesel::sql_query(format!(
            "WITH q AS (SELECT beacon_search_query($1) AS q)
             SELECT r.id, {RESOURCE_HEADLINE} AS snippet
               FROM resources r, q WHERE r.stage = 'published' AND r.id = ANY($2)
             UNION ALL
             SELECT m.id, {MODULE_HEADLINE}
               FROM modules m, q WHERE m.stage = 'published' AND m.id = ANY($3)"
        ))
        .bind::<Text, _>(query)
        .bind::<Array<SqlUuid>, _>(resources)
        .bind::<Array<SqlUuid>, _>(modules),
    )
    .load(conn)
    .await
}
