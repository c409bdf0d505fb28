//! `search`: ranked full-text hits over resources and modules.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, Result, Union};
use uuid::Uuid;

use super::types::{Module, Resource};
use crate::db::search::{self, Hit, PageFrom, Position};
use crate::domain::Stage;
use crate::graphql::access::loaders;
use crate::graphql::access::read_connection;
use crate::graphql::error::{bad_input, internal};
use crate::graphql::loaders::{ModuleById, ResourceById};
use crate::graphql::paging::{self, PageInfo};
use crate::search::{SearchIndex, Snapshot, TsQuery};

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
    /// Opaque position; pass it as `after` for the hits below it, or as
    /// `before` for those above it.
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
    /// The words as sent.
    query: String,
    /// The words the hits are for: `query`, or its correction.
    searched_for: String,
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
    /// When the words as sent find nothing and some look misspelt: the
    /// query with each replaced by the nearest word of published titles and
    /// topic, type and tag names (one letter off for words of five letters
    /// or more, two from nine), if that finds something — for a "did you
    /// mean", or the "search instead for" of a corrected search. Null
    /// otherwise, and while the search index is being rebuilt.
    async fn suggestion(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        if self.searched_for != self.query {
            return Ok(Some(self.searched_for.clone()));
        }
        let mut conn = read_connection(ctx, self.stage).await?;
        let Some((snapshot, query)) = indexed(ctx, &mut conn, self.stage, &self.query).await?
        else {
            return Ok(None);
        };
        let (resources, modules) = kinds_searched(&self.kinds);
        if snapshot.search_total(&query, resources, modules) > 0 {
            return Ok(None);
        }
        Ok(
            correction(ctx, &mut conn, &snapshot, &self.query, &self.kinds)
                .await?
                .map(|(text, _)| text),
        )
    }
    /// The words the hits are for: `query` as sent or, when those find
    /// nothing and `correct` was not false, the correction that finds
    /// something (then equal to `suggestion`): for a "showing results for".
    async fn searched_for(&self) -> &str {
        &self.searched_for
    }
    /// How many resources and modules match in all.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let mut conn = read_connection(ctx, self.stage).await?;
        if let Some((snapshot, query)) =
            indexed(ctx, &mut conn, self.stage, &self.searched_for).await?
        {
            let (resources, modules) = kinds_searched(&self.kinds);
            return Ok(snapshot.search_total(&query, resources, modules));
        }
        search::total(&mut conn, self.stage, &self.searched_for, &self.kinds)
            .await
            .map_err(internal)
    }
}

/// `text` with its misspelt-looking words replaced by the nearest published
/// words, and that query parsed, when it finds something.
async fn correction(
    ctx: &Context<'_>,
    conn: &mut diesel_async::AsyncPgConnection,
    snapshot: &Snapshot,
    text: &str,
    kinds: &[&str],
) -> Result<Option<(String, Arc<TsQuery>)>> {
    let Some(corrected) = snapshot.vocabulary.suggest(text) else {
        return Ok(None);
    };
    let Ok(index) = ctx.data::<SearchIndex>() else {
        return Ok(None);
    };
    let Some(parsed) = index.parse(conn, &corrected).await.map_err(internal)? else {
        return Ok(None);
    };
    let (resources, modules) = kinds_searched(kinds);
    Ok((snapshot.search_total(&parsed, resources, modules) > 0).then_some((corrected, parsed)))
}

/// The published index's picture and the query as it evaluates it, when it
/// can answer: published content, a current picture, a query shape it
/// evaluates exactly.
async fn indexed(
    ctx: &Context<'_>,
    conn: &mut diesel_async::AsyncPgConnection,
    stage: Stage,
    text: &str,
) -> Result<Option<(Arc<Snapshot>, Arc<TsQuery>)>> {
    if stage != Stage::Published {
        return Ok(None);
    }
    let Ok(index) = ctx.data::<SearchIndex>() else {
        return Ok(None);
    };
    let Some(snapshot) = index.current() else {
        return Ok(None);
    };
    Ok(index
        .parse(conn, text)
        .await
        .map_err(internal)?
        .map(|query| (snapshot, query)))
}

fn kinds_searched(kinds: &[&str]) -> (bool, bool) {
    (
        kinds.contains(&search::RESOURCE),
        kinds.contains(&search::MODULE),
    )
}

/// A page of hits from the index, with their snippets from the database.
async fn indexed_hits(
    conn: &mut diesel_async::AsyncPgConnection,
    snapshot: &Snapshot,
    parsed: &TsQuery,
    text: &str,
    kinds: &[&str],
    from: &PageFrom,
    limit: usize,
) -> Result<Vec<Hit>> {
    let (resources, modules) = kinds_searched(kinds);
    let entries = snapshot.search(parsed, resources, modules, from, limit);
    let hit_ids: Vec<Uuid> = entries.iter().map(|entry| entry.id).collect();
    let kept = snapshot.kept_snippets(text, &hit_ids);
    let missing = |kind: &str| -> Vec<Uuid> {
        entries
            .iter()
            .zip(&kept)
            .filter(|(entry, kept)| entry.kind == kind && kept.is_none())
            .map(|(entry, _)| entry.id)
            .collect()
    };
    let (missing_resources, missing_modules) = (missing(search::RESOURCE), missing(search::MODULE));
    let mut read: HashMap<Uuid, String> = HashMap::new();
    if !missing_resources.is_empty() || !missing_modules.is_empty() {
        let snippets: Vec<(Uuid, String)> =
            search::snippets(conn, text, &missing_resources, &missing_modules)
                .await
                .map_err(internal)?
                .into_iter()
                .map(|snippet| (snippet.id, snippet.snippet))
                .collect();
        snapshot.keep_snippets(text, &snippets);
        read.extend(snippets);
    }
    Ok(entries
        .into_iter()
        .zip(kept)
        .map(|(entry, kept)| Hit {
            kind: entry.kind.to_string(),
            snippet: kept.or_else(|| read.remove(&entry.id)).unwrap_or_default(),
            id: entry.id,
            rank: entry.rank,
        })
        .collect())
}

/// The list name search cursors carry.
const LIST: &str = "search";

fn encode_cursor(hit: &Hit) -> String {
    paging::encode_cursor(LIST, &(hit.rank, &hit.kind, hit.id))
}

fn decode_cursor(argument: &str, cursor: &str) -> Result<Position> {
    let (rank, kind, id): (f64, String, Uuid) = paging::decode_cursor(LIST, argument, cursor)?;
    Ok(Position { rank, kind, id })
}

/// The arguments of `search`.
pub struct SearchArgs {
    pub query: String,
    pub kinds: Option<Vec<SearchKind>>,
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    /// Whether words that find nothing may be answered for their nearest
    /// published spelling.
    pub correct: bool,
}

pub async fn search(ctx: &Context<'_>, stage: Stage, args: SearchArgs) -> Result<SearchConnection> {
    let query = args.query.trim().to_string();
    if query.is_empty() {
        return Err(bad_input("`query` must not be empty"));
    }
    if query.chars().count() > 500 {
        return Err(bad_input("`query` is longer than 500 characters"));
    }
    let first = paging::page_size(args.first, "first")?;
    let last = paging::page_size(args.last, "last")?;
    let backward = last.is_some() || args.before.is_some();
    if backward && (first.is_some() || args.after.is_some()) {
        return Err(bad_input(
            "`last`/`before` page backwards and cannot be combined with `first`/`after`",
        ));
    }
    let size = first.or(last).unwrap_or(paging::DEFAULT_PAGE_SIZE);
    let from = match (args.after.as_deref(), args.before.as_deref()) {
        (Some(after), _) => PageFrom::After(decode_cursor("after", after)?),
        (_, Some(before)) => PageFrom::Before(decode_cursor("before", before)?),
        _ if backward => PageFrom::End,
        _ => PageFrom::Start,
    };
    let kinds = args
        .kinds
        .unwrap_or_else(|| vec![SearchKind::Resource, SearchKind::Module]);
    let kinds = search::kind_names(
        kinds.contains(&SearchKind::Resource),
        kinds.contains(&SearchKind::Module),
    );
    let mut conn = read_connection(ctx, stage).await?;
    let mut searched_for = query.clone();
    let mut hits = match indexed(ctx, &mut conn, stage, &query).await? {
        Some((snapshot, mut parsed)) => {
            let (resources, modules) = kinds_searched(&kinds);
            // Only a search that finds nothing is corrected: a word missing
            // from the vocabulary (titles and names) may still be in a
            // summary, and what the user typed wins whenever it finds
            // anything.
            if args.correct
                && snapshot.search_total(&parsed, resources, modules) == 0
                && let Some((text, corrected)) =
                    correction(ctx, &mut conn, &snapshot, &query, &kinds).await?
            {
                searched_for = text;
                parsed = corrected;
            }
            let limit = size as usize + 1;
            indexed_hits(
                &mut conn,
                &snapshot,
                &parsed,
                &searched_for,
                &kinds,
                &from,
                limit,
            )
            .await?
        }
        None => search::hits(&mut conn, stage, &query, &kinds, &from, size + 1)
            .await
            .map_err(internal)?,
    };
    let has_more = hits.len() > size as usize;
    hits.truncate(size as usize);
    if backward {
        hits.reverse();
    }
    let edges: Vec<SearchEdge> = hits
        .into_iter()
        .map(|hit| SearchEdge {
            cursor: encode_cursor(&hit),
            hit,
            stage,
        })
        .collect();
    // Going one way, whether items lie the other way is known only from
    // the cursor: a page that starts from one has items behind it.
    let (has_next_page, has_previous_page) = match from {
        PageFrom::Start => (has_more, false),
        PageFrom::After(_) => (has_more, true),
        PageFrom::End => (false, has_more),
        PageFrom::Before(_) => (true, has_more),
    };
    Ok(SearchConnection {
        page_info: PageInfo {
            has_next_page,
            has_previous_page,
            start_cursor: edges.first().map(|edge| edge.cursor.clone()),
            end_cursor: edges.last().map(|edge| edge.cursor.clone()),
        },
        edges,
        stage,
        query,
        searched_for,
        kinds,
    })
}
