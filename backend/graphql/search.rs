//! `search`: ranked full-text hits over resources and modules.

use async_graphql::{Context, Enum, Object, Result, Union};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::access::loaders;
use super::connection::PageInfo;
use super::error::{bad_input, internal};
use super::loaders::{ModuleById, ResourceById};
use super::query::read_connection;
use super::types::{Module, Resource};
use crate::db::search::{self, After, Hit};
use crate::domain::Stage;

/// Kinds of content `search` looks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SearchKind {
    /// Resources: titles, summaries, publishers, topic and type names.
    Resource,
    /// Modules: titles, intros and topic names.
    Module,
}

/// What a search hit found.
#[derive(Union)]
pub enum SearchResult {
    Resource(Resource),
    Module(Module),
}

/// One match, with the text it matched in.
pub struct SearchHit {
    hit: Hit,
    stage: Stage,
}

/// One match, with the text it matched in.
#[Object]
impl SearchHit {
    /// The resource or module found.
    async fn node(&self, ctx: &Context<'_>) -> Result<Option<SearchResult>> {
        let loaders = loaders(ctx, self.stage)?;
        Ok(if self.hit.kind == "module" {
            let row = loaders
                .load_one(ModuleById(self.hit.id))
                .await
                .map_err(internal)?;
            row.map(|row| SearchResult::Module(Module::at(self.stage)(row)))
        } else {
            let row = loaders
                .load_one(ResourceById(self.hit.id))
                .await
                .map_err(internal)?;
            row.map(|row| SearchResult::Resource(Resource::at(self.stage)(row)))
        })
    }
    /// The matching text, query words wrapped in `<mark>…</mark>`. The rest
    /// is the content's own text: escape it before putting it into HTML.
    async fn snippet(&self) -> &str {
        &self.hit.snippet
    }
    /// Relevance: higher is better; comparable within one search only.
    async fn score(&self) -> f64 {
        self.hit.rank
    }
}

/// A hit and its position in the results.
pub struct SearchEdge {
    cursor: String,
    hit: Hit,
    stage: Stage,
}

/// A hit and its position in the results.
#[Object]
impl SearchEdge {
    /// Opaque position; pass it as `after` for the next page.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
    /// The hit.
    async fn node(&self) -> SearchHit {
        SearchHit {
            hit: self.hit.clone(),
            stage: self.stage,
        }
    }
}

/// A page of search results, best first.
pub struct SearchConnection {
    edges: Vec<SearchEdge>,
    page_info: PageInfo,
    stage: Stage,
    query: String,
    kinds: Vec<&'static str>,
}

/// A page of search results, best first.
#[Object]
impl SearchConnection {
    /// The page's hits with their cursors.
    async fn edges(&self) -> &[SearchEdge] {
        &self.edges
    }
    /// The page's hits.
    async fn nodes(&self) -> Vec<SearchHit> {
        self.edges
            .iter()
            .map(|edge| SearchHit {
                hit: edge.hit.clone(),
                stage: edge.stage,
            })
            .collect()
    }
    /// Where this page stands.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// How many resources and modules match in all.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let mut conn = read_connection(ctx, self.stage).await?;
        search::total(&mut conn, self.stage, &self.query, &self.kinds)
            .await
            .map_err(internal)
    }
}

fn encode_cursor(hit: &Hit) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!([hit.rank, hit.kind, hit.id]).to_string())
}

fn decode_cursor(cursor: &str) -> Result<After> {
    let invalid = || bad_input("`after` is not a cursor returned by `search`");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let (rank, kind, id): (f64, String, Uuid) =
        serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    Ok(After { rank, kind, id })
}

pub async fn search(
    ctx: &Context<'_>,
    stage: Stage,
    query: String,
    kinds: Option<Vec<SearchKind>>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<SearchConnection> {
    let query = query.trim().to_string();
    if query.is_empty() {
        return Err(bad_input("`query` must not be empty"));
    }
    if query.chars().count() > 500 {
        return Err(bad_input("`query` is longer than 500 characters"));
    }
    let first = first.unwrap_or(super::connection::DEFAULT_PAGE_SIZE);
    if !(0..=super::connection::MAX_PAGE_SIZE).contains(&first) {
        return Err(bad_input(format!(
            "`first` must be between 0 and {}, got {first}",
            super::connection::MAX_PAGE_SIZE
        )));
    }
    let kinds = kinds.unwrap_or_else(|| vec![SearchKind::Resource, SearchKind::Module]);
    let kinds = search::kind_names(
        kinds.contains(&SearchKind::Resource),
        kinds.contains(&SearchKind::Module),
    );
    let after = after.as_deref().map(decode_cursor).transpose()?;
    let mut conn = read_connection(ctx, stage).await?;
    let mut hits = search::hits(&mut conn, stage, &query, &kinds, after.as_ref(), first + 1)
        .await
        .map_err(internal)?;
    let has_next_page = hits.len() > first as usize;
    hits.truncate(first as usize);
    let edges: Vec<SearchEdge> = hits
        .into_iter()
        .map(|hit| SearchEdge {
            cursor: encode_cursor(&hit),
            hit,
            stage,
        })
        .collect();
    Ok(SearchConnection {
        page_info: PageInfo {
            has_next_page,
            has_previous_page: after.is_some(),
            start_cursor: edges.first().map(|edge| edge.cursor.clone()),
            end_cursor: edges.last().map(|edge| edge.cursor.clone()),
        },
        edges,
        stage,
        query,
        kinds,
    })
}
