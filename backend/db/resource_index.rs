//! The resource index: filtered, ordered, keyset-paginated pages of resources,
//! their totals and disjunctive facets.
//!
//! Every query serves many *owners* at once — the topics, types or tags whose
//! resources a request asks for — so a list of topics each with its resource
//! page costs one statement, not one per topic. A root query is the same with
//! a single owner and no owner condition.

use std::collections::HashMap;
use std::sync::Arc;

use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{Array, BigInt, Int4, Jsonb, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::content::{LabelRow, ResourceRow, TopicRow};
use super::{DbResult, Prepared};
use crate::domain::Stage;

/// Which resources a filter lets through. Lists hold slugs: values inside
/// one list match any, different fields must all match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ResourceFilter {
    pub topics: Option<Vec<String>>,
    pub types: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub year: Option<i32>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub query: Option<String>,
    pub has_year: Option<bool>,
}

/// The owners a batched query is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every resource (the owner id is ignored).
    All,
    /// Resources linked to the owner topic.
    Topic,
    ResourceType,
    Tag,
}

impl Scope {
    fn condition(self) -> Option<&'static str> {
        match self {
            Scope::All => None,
            Scope::Topic => Some("r.topic_ids @> ARRAY[o.owner]"),
            Scope::ResourceType => Some("r.type_ids @> ARRAY[o.owner]"),
            Scope::Tag => Some("r.tag_ids @> ARRAY[o.owner]"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderField {
    Title,
    Year,
    PublishedAt,
    Relevance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    pub field: OrderField,
    pub descending: bool,
}

/// A position in an ordering: the sort key values (a JSON array, as
/// [`PageRow::sort_key`] returned them) and the id that breaks ties.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    pub keys: String,
    pub id: Uuid,
}

/// What counts and facets depend on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountQuery {
    pub stage: Stage,
    pub scope: Scope,
    pub filter: ResourceFilter,
}

/// One page request, for any number of owners.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageQuery {
    pub count: CountQuery,
    /// Never empty: the resolver adds the default order.
    pub order: Vec<Order>,
    /// Start after (forward) or before (backward) this position.
    pub from: Option<Position>,
    /// Walking backwards (`last`/`before`): every direction flips and the
    /// page is turned around after reading.
    pub backward: bool,
    /// Rows to read: the page size plus one, to tell whether more follow.
    pub limit: i64,
}

/// A facet dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Topics,
    Types,
    Tags,
    Years,
}

/// A resource on an owner's page. The row is shared: a request's loader
/// keeps the page while its fields read it, and a page of long summaries
/// copied for each was a tenth of a short request's work.
#[derive(Debug, Clone)]
pub struct PageRow {
    pub owner: Uuid,
    pub resource: Arc<ResourceRow>,
    pub sort_key: serde_json::Value,
}

#[derive(QueryableByName)]
struct PageRecord {
    #[diesel(sql_type = SqlUuid)]
    owner: Uuid,
    #[diesel(embed)]
    resource: ResourceRow,
    #[diesel(sql_type = Jsonb)]
    sort_key: serde_json::Value,
}

#[derive(QueryableByName)]
struct OwnerCount {
    #[diesel(sql_type = SqlUuid)]
    owner: Uuid,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct TopicCount {
    #[diesel(sql_type = SqlUuid)]
    owner: Uuid,
    #[diesel(embed)]
    topic: TopicRow,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct LabelCount {
    #[diesel(sql_type = SqlUuid)]
    owner: Uuid,
    #[diesel(embed)]
    label: LabelRow,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct YearCount {
    #[diesel(sql_type = SqlUuid)]
    owner: Uuid,
    #[diesel(sql_type = Int4)]
    year: i32,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// One facet value and how many resources carry it.
#[derive(Debug, Clone)]
pub enum FacetValue {
    Topic(Arc<TopicRow>),
    Label(Arc<LabelRow>),
    Year(i32),
}

#[derive(Debug, Clone)]
pub struct FacetCount {
    pub value: FacetValue,
    pub count: i64,
}

enum Bind {
    Text(String),
    TextList(Vec<String>),
    Int(i32),
    UuidList(Vec<Uuid>),
    Json(serde_json::Value),
    Uuid(Uuid),
}

/// SQL text plus its parameters, numbered as they are added.
struct Statement {
    binds: Vec<Bind>,
}

impl Statement {
    fn new(stage: Stage, owners: &[Uuid]) -> Self {
        Statement {
            binds: vec![
                Bind::Text(stage.as_str().to_string()),
                Bind::UuidList(owners.to_vec()),
            ],
        }
    }

    /// Adds a parameter; returns its placeholder.
    fn param(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    fn query(
        self,
        sql: String,
    ) -> Prepared<BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery>> {
        let shape = sql.clone();
        let mut query = diesel::sql_query(sql).into_boxed::<Pg>();
        for bind in self.binds {
            query = match bind {
                Bind::Text(value) => query.bind::<Text, _>(value),
                Bind::TextList(values) => query.bind::<Array<Text>, _>(values),
                Bind::Int(value) => query.bind::<Int4, _>(value),
                Bind::UuidList(values) => query.bind::<Array<SqlUuid>, _>(values),
                Bind::Json(value) => query.bind::<Jsonb, _>(value),
                Bind::Uuid(value) => query.bind::<SqlUuid, _>(value),
            };
        }
        Prepared::generated(&shape, query)
    }
}

/// `$1` is always the stage and `$2` the owners.
const STAGE: &str = "$1";

/// The WHERE conditions of a filter (resources aliased `r`, owners `o`),
/// leaving out the dimension whose facet is being counted.
fn conditions(
    statement: &mut Statement,
    count: &CountQuery,
    without: Option<Dimension>,
) -> Vec<String> {
    let filter = &count.filter;
    let mut conditions = vec![format!("r.stage = {STAGE}")];
    if let Some(condition) = count.scope.condition() {
        conditions.push(condition.to_string());
    }
    let mut by_slugs = |dimension, slugs: &Option<Vec<String>>, column: &str, table: &str| {
        if without == Some(dimension) {
            return;
        }
        if let Some(slugs) = slugs {
            let slugs = statement.param(Bind::TextList(slugs.clone()));
            conditions.push(format!(
                "r.{column} && ARRAY(SELECT id FROM {table} WHERE stage = {STAGE} AND slug = ANY({slugs}))"
            ));
        }
    };
    by_slugs(Dimension::Topics, &filter.topics, "topic_ids", "topics");
    by_slugs(
        Dimension::Types,
        &filter.types,
        "type_ids",
        "resource_types",
    );
    by_slugs(Dimension::Tags, &filter.tags, "tag_ids", "tags");
    if without != Some(Dimension::Years) {
        if let Some(year) = filter.year {
            conditions.push(format!("r.year = {}", statement.param(Bind::Int(year))));
        }
        if let Some(from) = filter.year_from {
            conditions.push(format!("r.year >= {}", statement.param(Bind::Int(from))));
        }
        if let Some(to) = filter.year_to {
            conditions.push(format!("r.year <= {}", statement.param(Bind::Int(to))));
        }
        match filter.has_year {
            Some(true) => conditions.push("r.year IS NOT NULL".into()),
            Some(false) => conditions.push("r.year IS NULL".into()),
            None => {}
        }
    }
    if let Some(query) = &filter.query {
        let query = statement.param(Bind::Text(query.clone()));
        conditions.push(format!(
            "r.search_vector @@ (SELECT beacon_search_query({query}))"
        ));
    }
    conditions
}

/// The SQL expression and type of a sort key.
fn key_expression(
    statement: &mut Statement,
    field: OrderField,
    query: Option<&str>,
) -> (String, &'static str) {
    match field {
        OrderField::Title => ("r.title".into(), "text"),
        OrderField::Year => ("coalesce(r.year, 0)".into(), "int4"),
        OrderField::PublishedAt => (
            "coalesce(r.published_at, 'epoch'::timestamptz)".into(),
            "timestamptz",
        ),
        OrderField::Relevance => {
            let query = statement.param(Bind::Text(query.unwrap_or_default().to_string()));
            (
                format!(
                    "ts_rank_cd(r.search_vector, (SELECT beacon_search_query({query})))::float8"
                ),
                "float8",
            )
        }
    }
}

/// Pages of resources for each owner, in order.
pub async fn pages(
    conn: &mut AsyncPgConnection,
    query: &PageQuery,
    owners: &[Uuid],
) -> DbResult<HashMap<Uuid, Vec<PageRow>>> {
    let mut statement = Statement::new(query.count.stage, owners);
    let mut conditions = conditions(&mut statement, &query.count, None);
    let keys: Vec<(String, &str, bool)> = query
        .order
        .iter()
        .map(|order| {
            let (expression, sql_type) = key_expression(
                &mut statement,
                order.field,
                query.count.filter.query.as_deref(),
            );
            (expression, sql_type, order.descending != query.backward)
        })
        .collect();
    let id_descending = keys.last().is_some_and(|key| key.2);
    if let Some(from) = &query.from {
        let values = statement.param(Bind::Json(
            serde_json::from_str(&from.keys).unwrap_or(serde_json::Value::Null),
        ));
        let id = statement.param(Bind::Uuid(from.id));
        let value = |index: usize, sql_type: &str| format!("({values}->>{index})::{sql_type}");
        if keys.iter().all(|key| key.2 == id_descending) {
            // One direction throughout: a row comparison, which an index on
            // (stage, key…, id) answers as a range scan.
            let op = if id_descending { "<" } else { ">" };
            let left: Vec<&str> = keys.iter().map(|key| key.0.as_str()).collect();
            let right: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(index, key)| value(index, key.1))
                .collect();
            conditions.push(format!(
                "({}, r.id) {op} ({}, {id})",
                left.join(", "),
                right.join(", ")
            ));
        } else {
            // Mixed directions: (k1 > v1) OR (k1 = v1 AND k2 < v2) OR … OR
            // (all equal AND id > v), plus a bound on k1 an index can use.
            let mut alternatives = Vec::new();
            for index in 0..=keys.len() {
                let mut parts: Vec<String> = keys[..index]
                    .iter()
                    .enumerate()
                    .map(|(i, key)| format!("{} = {}", key.0, value(i, key.1)))
                    .collect();
                match keys.get(index) {
                    Some((expression, sql_type, descending)) => {
                        let op = if *descending { "<" } else { ">" };
                        parts.push(format!("{expression} {op} {}", value(index, sql_type)));
                    }
                    None => {
                        let op = if id_descending { "<" } else { ">" };
                        parts.push(format!("r.id {op} {id}"));
                    }
                }
                alternatives.push(format!("({})", parts.join(" AND ")));
            }
            let (first, sql_type, descending) = &keys[0];
            let bound = if *descending { "<=" } else { ">=" };
            conditions.push(format!(
                "{first} {bound} {} AND ({})",
                value(0, sql_type),
                alternatives.join(" OR ")
            ));
        }
    }
    let order_by: Vec<String> = keys
        .iter()
        .map(|(expression, _, descending)| {
            format!("{expression} {}", if *descending { "DESC" } else { "ASC" })
        })
        .chain(std::iter::once(format!(
            "r.id {}",
            if id_descending { "DESC" } else { "ASC" }
        )))
        .collect();
    let sort_key = keys
        .iter()
        .map(|(expression, _, _)| expression.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let limit = statement.param(Bind::Int(query.limit.clamp(0, i64::from(i32::MAX)) as i32));
    let sql = if owners.len() == 1 {
        // One owner (every root connection): a plain ordered, limited scan,
        // which an index serves directly.
        format!(
            "SELECT o.owner, r.id, r.slug, r.title, r.year, r.url, r.publisher, r.summary,
                    r.published_at, r.type_ids, r.topic_ids, r.tag_ids,
                    jsonb_build_array({sort_key}) AS sort_key
               FROM (SELECT ($2::uuid[])[1] AS owner) o, resources r
              WHERE {}
              ORDER BY {}
              LIMIT {limit}",
            conditions.join(" AND "),
            order_by.join(", "),
        )
    } else {
        format!(
            "SELECT o.owner, p.id, p.slug, p.title, p.year, p.url, p.publisher, p.summary,
                p.published_at, p.type_ids, p.topic_ids, p.tag_ids, p.sort_key
           FROM unnest($2::uuid[]) WITH ORDINALITY AS o(owner, position)
          CROSS JOIN LATERAL (
                SELECT page.*, row_number() OVER () AS place
                  FROM (SELECT r.id, r.slug, r.title, r.year, r.url, r.publisher, r.summary,
                               r.published_at, r.type_ids, r.topic_ids, r.tag_ids,
                               jsonb_build_array({sort_key}) AS sort_key
                          FROM resources r
                         WHERE {}
                         ORDER BY {}
                         LIMIT {limit}) page
          ) p
          ORDER BY o.position, p.place",
            conditions.join(" AND "),
            order_by.join(", "),
        )
    };
    let rows: Vec<PageRecord> = statement.query(sql).load(conn).await?;
    let mut pages: HashMap<Uuid, Vec<PageRow>> =
        owners.iter().map(|owner| (*owner, Vec::new())).collect();
    for row in rows {
        pages.entry(row.owner).or_default().push(PageRow {
            owner: row.owner,
            resource: Arc::new(row.resource),
            sort_key: row.sort_key,
        });
    }
    Ok(pages)
}

/// How many resources each owner has under the filter.
pub async fn totals(
    conn: &mut AsyncPgConnection,
    query: &CountQuery,
    owners: &[Uuid],
) -> DbResult<HashMap<Uuid, i64>> {
    let mut statement = Statement::new(query.stage, owners);
    let conditions = conditions(&mut statement, query, None);
    let sql = format!(
        "SELECT o.owner, (SELECT count(*) FROM resources r WHERE {}) AS total
           FROM unnest($2::uuid[]) AS o(owner)",
        conditions.join(" AND ")
    );
    let rows: Vec<OwnerCount> = statement.query(sql).load(conn).await?;
    Ok(rows.into_iter().map(|row| (row.owner, row.total)).collect())
}

/// Disjunctive facet counts: every filter applies except the dimension's
/// own, so a resource-index UI can show what each other choice would give.
/// Most frequent first, then by name (years: newest first).
pub async fn facets(
    conn: &mut AsyncPgConnection,
    query: &CountQuery,
    dimension: Dimension,
    owners: &[Uuid],
) -> DbResult<HashMap<Uuid, Arc<Vec<FacetCount>>>> {
    let mut statement = Statement::new(query.stage, owners);
    let conditions = conditions(&mut statement, query, Some(dimension)).join(" AND ");
    let mut out: HashMap<Uuid, Vec<FacetCount>> =
        owners.iter().map(|owner| (*owner, Vec::new())).collect();
    // Links are counted by id first and only the counted labels joined:
    // joining every link to its label before grouping cost twice as much
    // (the facet of an index over 100,000 resources). The scan itself is an
    // index-only scan of `resources_facets`, not of the wide rows.
    let labels = |column: &str, table: &str, columns: &str| {
        format!(
            "SELECT o.owner, f.* FROM unnest($2::uuid[]) WITH ORDINALITY AS o(owner, position)
              CROSS JOIN LATERAL (
                    SELECT {columns}, c.count
                      FROM (SELECT link.target, count(*) AS count
                              FROM resources r
                             CROSS JOIN LATERAL unnest(r.{column}) AS link(target)
                             WHERE {conditions}
                             GROUP BY link.target) c
                      JOIN {table} t ON t.stage = {STAGE} AND t.id = c.target
              ) f
              ORDER BY o.position, f.count DESC, f.name, f.id"
        )
    };
    match dimension {
        Dimension::Topics => {
            let sql = labels(
                "topic_ids",
                "topics",
                "t.id, t.slug, t.name, t.description, t.aliases",
            );
            let rows: Vec<TopicCount> = statement.query(sql).load(conn).await?;
            for row in rows {
                out.entry(row.owner).or_default().push(FacetCount {
                    value: FacetValue::Topic(Arc::new(row.topic)),
                    count: row.count,
                });
            }
        }
        Dimension::Types | Dimension::Tags => {
            let (column, table) = if dimension == Dimension::Types {
                ("type_ids", "resource_types")
            } else {
                ("tag_ids", "tags")
            };
            let sql = labels(column, table, "t.id, t.slug, t.name");
            let rows: Vec<LabelCount> = statement.query(sql).load(conn).await?;
            for row in rows {
                out.entry(row.owner).or_default().push(FacetCount {
                    value: FacetValue::Label(Arc::new(row.label)),
                    count: row.count,
                });
            }
        }
        Dimension::Years => {
            let sql = format!(
                "SELECT o.owner, f.year, f.count
                   FROM unnest($2::uuid[]) WITH ORDINALITY AS o(owner, position)
                  CROSS JOIN LATERAL (
                        SELECT r.year, count(*) AS count FROM resources r
                         WHERE {conditions} AND r.year IS NOT NULL
                         GROUP BY r.year
                  ) f
                  ORDER BY o.position, f.year DESC"
            );
            let rows: Vec<YearCount> = statement.query(sql).load(conn).await?;
            for row in rows {
                out.entry(row.owner).or_default().push(FacetCount {
                    value: FacetValue::Year(row.year),
                    count: row.count,
                });
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(owner, counts)| (owner, Arc::new(counts)))
        .collect())
}
