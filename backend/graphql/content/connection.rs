//! Resource connections (Relay cursor connections): arguments, cursors,
//! pages, totals and facets. The same connection serves the root
//! `resources` field and `Topic.resources`, `ResourceType.resources` and
//! `Tag.resources`; reads are batched across owners by the loaders.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::facets::ResourceFacets;
use super::resource_list::ResourceList;
use super::types::{LabelKinds, Resource};
use crate::db::resource_index::{
    CountQuery, Order, OrderField, PageQuery, PageRow, Position, ResourceFilter as FilterSpec,
    Scope,
};
use crate::domain::Stage;
use crate::graphql::access::loaders;
use crate::graphql::error::{bad_input, internal};
use crate::graphql::loaders::{PageKey, TotalKey};
use crate::graphql::paging::{DEFAULT_PAGE_SIZE, PageInfo, page_size};

/// Which resources to return. Lists take slugs; values inside one list match
/// any, different fields must all match. Unknown slugs match nothing.
#[derive(Debug, Clone, Default, InputObject)]
pub struct ResourceFilter {
    /// Resources in any of these topics (slugs).
    pub topics: Option<Vec<String>>,
    /// Resources of any of these types (slugs).
    pub types: Option<Vec<String>>,
    /// Resources with any of these tags (slugs).
    pub tags: Option<Vec<String>>,
    /// Published in exactly this year.
    pub year: Option<i32>,
    /// Published in this year or later.
    pub year_from: Option<i32>,
    /// Published in this year or earlier.
    pub year_to: Option<i32>,
    /// Full-text search over titles, summaries, topic and type names
    /// (web-search syntax: words, "quoted phrases", -excluded; a word
    /// of two letters or more ending in * matches every word it begins, for
    /// search as you type).
    pub query: Option<String>,
    /// Only resources with (true) or without (false) a year.
    pub has_year: Option<bool>,
}

/// What to sort resources by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ResourceOrderField {
    /// Title, alphabetically.
    Title,
    /// Year of publication; resources without a year sort as the oldest.
    Year,
    /// When the resource was first published in Beacon.
    PublishedAt,
    /// How well it matches `filter.query` (requires a query).
    Relevance,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum OrderDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// One sort key. Ties are always broken by id, so pages never skip or repeat.
#[derive(Debug, Clone, Copy, InputObject)]
pub struct ResourceOrder {
    /// The field to sort by.
    pub field: ResourceOrderField,
    /// The direction; ascending when omitted.
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

/// The arguments every resource connection takes.
#[derive(Debug, Clone, Default)]
pub struct ConnectionArgs {
    pub filter: Option<ResourceFilter>,
    pub order_by: Option<Vec<ResourceOrder>>,
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct CursorData {
    /// The ordering the cursor belongs to.
    o: String,
    /// Sort key values.
    k: serde_json::Value,
    /// Tie-breaking id.
    i: Uuid,
}

fn order_signature(order: &[Order]) -> String {
    order
        .iter()
        .map(|o| format!("{:?}:{}", o.field, if o.descending { "D" } else { "A" }))
        .collect::<Vec<_>>()
        .join(",")
}

fn encode_cursor(order: &str, row: &PageRow) -> String {
    let data = CursorData {
        o: order.to_string(),
        k: row.sort_key.clone(),
        i: row.resource.id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).expect("cursors serialize"))
}

/// Whether a cursor's sort key could have come from this API for `field`:
/// the keys go into SQL as typed values, and a forged one must be refused
/// as bad input, not fail in the database.
fn plausible_key(field: OrderField, key: &serde_json::Value) -> bool {
    match field {
        OrderField::Title => key.is_string(),
        OrderField::Year => key.as_i64().is_some_and(|year| i32::try_from(year).is_ok()),
        OrderField::PublishedAt => key
            .as_str()
            .is_some_and(|at| chrono::DateTime::parse_from_rfc3339(at).is_ok()),
        OrderField::Relevance => key.as_f64().is_some_and(f64::is_finite),
    }
}

fn decode_cursor(cursor: &str, argument: &str, order: &[Order]) -> Result<Position> {
    let invalid = || bad_input(format!("`{argument}` is not a cursor returned by this API"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let data: CursorData = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if data.o != order_signature(order) {
        return Err(bad_input(format!(
            "`{argument}` belongs to a different `orderBy`; start again without it"
        )));
    }
    let plausible = data.k.as_array().is_some_and(|keys| {
        keys.len() == order.len()
            && keys
                .iter()
                .zip(order)
                .all(|(key, order)| plausible_key(order.field, key))
    });
    if !plausible {
        return Err(invalid());
    }
    Ok(Position {
        keys: data.k.to_string(),
        id: data.i,
    })
}

/// Validates connection arguments into a page query.
pub fn page_query(stage: Stage, scope: Scope, args: ConnectionArgs) -> Result<PageQuery> {
    let first = page_size(args.first, "first")?;
    let last = page_size(args.last, "last")?;
    if first.is_some() && last.is_some() {
        return Err(bad_input("pass `first` or `last`, not both"));
    }
    if args.after.is_some() && args.before.is_some() {
        return Err(bad_input("pass `after` or `before`, not both"));
    }
    let backward = last.is_some() || args.before.is_some();
    if backward && (first.is_some() || args.after.is_some()) {
        return Err(bad_input(
            "`last`/`before` page backwards and cannot be combined with `first`/`after`",
        ));
    }
    let size = first.or(last).unwrap_or(DEFAULT_PAGE_SIZE);
    let filter = args.filter.unwrap_or_default();
    let query_text = filter
        .query
        .as_deref()
        .map(str::trim)
        .filter(|query| !query.is_empty())
        .map(str::to_string);
    let mut order: Vec<Order> = args
        .order_by
        .unwrap_or_default()
        .into_iter()
        .map(|order| Order {
            field: match order.field {
                ResourceOrderField::Title => OrderField::Title,
                ResourceOrderField::Year => OrderField::Year,
                ResourceOrderField::PublishedAt => OrderField::PublishedAt,
                ResourceOrderField::Relevance => OrderField::Relevance,
            },
            descending: order.direction == OrderDirection::Desc,
        })
        .collect();
    if order.len() > 4 {
        return Err(bad_input("`orderBy` takes at most 4 keys"));
    }
    if order.iter().any(|o| o.field == OrderField::Relevance) && query_text.is_none() {
        return Err(bad_input("ordering by RELEVANCE needs `filter.query`"));
    }
    if order.is_empty() {
        order.push(match query_text {
            Some(_) => Order {
                field: OrderField::Relevance,
                descending: true,
            },
            None => Order {
                field: OrderField::Title,
                descending: false,
            },
        });
    }
    let from = match (&args.after, &args.before) {
        (Some(after), _) => Some(decode_cursor(after, "after", &order)?),
        (_, Some(before)) => Some(decode_cursor(before, "before", &order)?),
        _ => None,
    };
    Ok(PageQuery {
        count: CountQuery {
            stage,
            scope,
            filter: FilterSpec {
                topics: filter.topics,
                types: filter.types,
                tags: filter.tags,
                year: filter.year,
                year_from: filter.year_from,
                year_to: filter.year_to,
                query: query_text,
                has_year: filter.has_year,
            },
        },
        order,
        from,
        backward,
        limit: i64::from(size) + 1,
    })
}

/// Builds the connection for one owner (any id for the root connection).
pub fn connection(
    scope: Scope,
    owner: Uuid,
    stage: Stage,
    args: ConnectionArgs,
) -> Result<ResourceConnection> {
    let query = page_query(stage, scope, args)?;
    Ok(ResourceConnection {
        count: Arc::new(query.count.clone()),
        page: Arc::new(query),
        owner,
    })
}

/// A resource and its position in a connection.
pub struct ResourceEdge {
    cursor: String,
    node: Resource,
}

/// A resource and its position in a connection.
#[Object]
impl ResourceEdge {
    /// Opaque position of this item; stable while items are added.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
    /// The resource.
    async fn node(&self) -> &Resource {
        &self.node
    }
}

/// A page of resources, with the total and facet counts of the whole result.
pub struct ResourceConnection {
    page: Arc<PageQuery>,
    count: Arc<CountQuery>,
    owner: Uuid,
}

/// A page's rows in display order, and whether more follow in its direction.
struct Page {
    rows: Vec<PageRow>,
    has_more: bool,
}

impl ResourceConnection {
    async fn page(&self, ctx: &Context<'_>) -> Result<Page> {
        let stage = self.count.stage;
        let mut rows = loaders(ctx, stage)?
            .load_one(PageKey {
                query: self.page.clone(),
                owner: self.owner,
            })
            .await
            .map_err(internal)?
            .unwrap_or_default();
        let size = (self.page.limit - 1) as usize;
        let has_more = rows.len() > size;
        rows.truncate(size);
        if self.page.backward {
            rows.reverse();
        }
        Ok(Page { rows, has_more })
    }

    /// Cursors are only encoded where asked for: `nodes` needs none and
    /// `pageInfo` two.
    fn cursor(&self, row: &PageRow) -> String {
        encode_cursor(&order_signature(&self.page.order), row)
    }

    fn resources(&self, rows: Vec<PageRow>, wanted: LabelKinds) -> Vec<Resource> {
        let rows = rows.into_iter().map(|row| row.resource).collect();
        Resource::page(self.count.stage, rows, wanted)
    }
}

/// A page of resources, with the total and facet counts of the whole result.
#[Object]
impl ResourceConnection {
    /// The page's items with their cursors.
    async fn edges(&self, ctx: &Context<'_>) -> Result<Vec<ResourceEdge>> {
        let page = self.page(ctx).await?;
        let cursors: Vec<String> = page.rows.iter().map(|row| self.cursor(row)).collect();
        Ok(cursors
            .into_iter()
            .zip(self.resources(
                page.rows,
                LabelKinds::selected(ctx.look_ahead().field("node")),
            ))
            .map(|(cursor, node)| ResourceEdge { cursor, node })
            .collect())
    }

    /// The page's items, without cursors.
    async fn nodes(&self, ctx: &Context<'_>) -> Result<ResourceList> {
        let wanted = LabelKinds::selected(ctx.look_ahead());
        Ok(ResourceList(
            self.resources(self.page(ctx).await?.rows, wanted),
        ))
    }

    /// Where this page stands.
    async fn page_info(&self, ctx: &Context<'_>) -> Result<PageInfo> {
        let page = self.page(ctx).await?;
        let (has_next_page, has_previous_page) = if self.page.backward {
            (self.page.from.is_some(), page.has_more)
        } else {
            (page.has_more, self.page.from.is_some())
        };
        Ok(PageInfo {
            has_next_page,
            has_previous_page,
            start_cursor: page.rows.first().map(|row| self.cursor(row)),
            end_cursor: page.rows.last().map(|row| self.cursor(row)),
        })
    }

    /// How many resources match, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let total = loaders(ctx, self.count.stage)?
            .load_one(TotalKey {
                query: self.count.clone(),
                owner: self.owner,
            })
            .await
            .map_err(internal)?;
        Ok(total.unwrap_or(0))
    }

    /// Counts per topic, type, year and tag. Disjunctive: each dimension's
    /// counts apply every filter except that dimension's own.
    async fn facets(&self) -> ResourceFacets {
        ResourceFacets::new(self.count.clone(), self.owner)
    }
}
