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

/// Where a page of hits starts: after this rank, kind and id.
#[derive(Debug, Clone)]
pub struct After {
    pub rank: f64,
    pub kind: String,
    pub id: Uuid,
}

const RESOURCE: &str = "resource";
const MODULE: &str = "module";

/// The hits of a page, best first (ties by kind, then id); reads `limit` rows.
pub async fn hits(
    conn: &mut AsyncPgConnection,
    stage: Stage,
    query: &str,
    kinds: &[&str],
    after: Option<&After>,
    limit: i32,
) -> DbResult<Vec<Hit>> {
    let kinds: Vec<String> = kinds.iter().map(|kind| kind.to_string()).collect();
    let (after_rank, after_kind, after_id) = match after {
        Some(after) => (after.rank, after.kind.clone(), after.id),
        None => (f64::INFINITY, String::new(), Uuid::nil()),
    };
    Prepared(diesel::sql_query(
        "WITH q AS (SELECT websearch_to_tsquery('english', $2) AS q),
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
              WHERE rank < $4 OR (rank = $4 AND (kind, id) > ($5, $6))
              ORDER BY rank DESC, kind, id
              LIMIT $7
         )
         SELECT page.kind, page.id, page.rank,
                coalesce(
                    (SELECT ts_headline('english',
                                r.title || coalesce(' — ' || r.summary, ''), q.q,
                                'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10')
                       FROM resources r WHERE page.kind = 'resource' AND r.stage = $1 AND r.id = page.id),
                    (SELECT ts_headline('english', m.title || ' — ' || m.intro, q.q,
                                'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10')
                       FROM modules m WHERE page.kind = 'module' AND m.stage = $1 AND m.id = page.id),
                    '') AS snippet
           FROM page, q
          ORDER BY page.rank DESC, page.kind, page.id",
    )
    .bind::<Text, _>(stage.as_str())
    .bind::<Text, _>(query)
    .bind::<Array<Text>, _>(kinds)
    .bind::<Double, _>(after_rank)
    .bind::<Text, _>(after_kind)
    .bind::<SqlUuid, _>(after_id)
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
    let row: Total = Prepared(
        diesel::sql_query(
            "WITH q AS (SELECT websearch_to_tsquery('english', $2) AS q)
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
