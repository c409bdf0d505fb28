//! One immutable picture of the published stage, built from PostgreSQL:
//! compressed bitmaps for every filter and facet, the resources' sort keys,
//! and inverted indexes over resources' and modules' search vectors.
//!
//! Every answer here must equal what `db::resource_index` and `db::search`
//! would return from the same data: same members, same counts, same order
//! (title order and name ties come from the database's collation, as
//! ranks), same cursors. Where that cannot be promised — a cursor naming a
//! title the index does not hold, a query shape not evaluated here — the
//! methods return `None` and the database answers.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use lru::LruCache;
use roaring::RoaringBitmap;
use uuid::Uuid;

use super::spelling::Vocabulary;
use super::text::{TextIndex, TextIndexBuilder};
use super::tsquery::{self, TsQuery};
use crate::db::content::{Label, LabelById, LabelRow, ResourceRow, TopicRow};
use crate::db::index_source::{IndexedModuleRow, IndexedResourceRow, PublishedLabels, SourceItem};
use crate::db::resource_index::{
    CountQuery, Dimension, FacetCount, FacetValue, OrderField, PageQuery, ResourceFilter, Scope,
};
use crate::db::search::{MODULE, PageFrom, Position, RESOURCE};
use tokio::sync::mpsc::Receiver;

#[derive(Clone, Copy)]
struct Resource {
    id: Uuid,
    /// The row version read (`xmin`): a patch replaces what changed since.
    xmin: u32,
    title_rank: u32,
    year: Option<i32>,
    /// Microseconds since the epoch; the epoch when never published (as
    /// the database's sort key coalesces it).
    published_at: i64,
}

/// Topics, types or tags: rows in (name, id) order and each one's
/// resources.
#[derive(Clone)]
struct Labels<Row> {
    /// Shared with every facet answer that names them.
    rows: Vec<Arc<Row>>,
    by_id: HashMap<Uuid, usize>,
    by_slug: HashMap<String, usize>,
    resources: Vec<RoaringBitmap>,
    /// Each resource's labels (places), as listed: `links[ends[d - 1]..ends[d]]`.
    links: Vec<u32>,
    ends: Vec<u32>,
}

impl<Row> Labels<Row> {
    fn new(rows: Vec<Row>, id: impl Fn(&Row) -> (Uuid, String)) -> Self {
        let mut by_id = HashMap::new();
        let mut by_slug = HashMap::new();
        for (place, row) in rows.iter().enumerate() {
            let (row_id, slug) = id(row);
            by_id.insert(row_id, place);
            by_slug.insert(slug, place);
        }
        let resources = vec![RoaringBitmap::new(); rows.len()];
        Labels {
            rows: rows.into_iter().map(Arc::new).collect(),
            by_id,
            by_slug,
            resources,
            links: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Links the next resource (resources come in order).
    fn link(&mut self, ids: &[Option<Uuid>], doc: u32) {
        for id in ids.iter().flatten() {
            // Links to labels that are not published are not followed, as
            // the database's join does not follow them.
            if let Some(place) = self.by_id.get(id) {
                self.resources[*place].insert(doc);
                self.links.push(*place as u32);
            }
        }
        self.ends.push(self.links.len() as u32);
    }

    fn links_of(&self, doc: u32) -> &[u32] {
        let start = if doc == 0 {
            0
        } else {
            self.ends[doc as usize - 1]
        };
        &self.links[start as usize..self.ends[doc as usize] as usize]
    }

    /// Takes a resource that is no longer published out of its labels (its
    /// links stay, unread: only the labels' sets are ever searched).
    fn unlink(&mut self, doc: u32) {
        let Labels {
            resources,
            links,
            ends,
            ..
        } = self;
        let start = if doc == 0 { 0 } else { ends[doc as usize - 1] };
        for place in &links[start as usize..ends[doc as usize] as usize] {
            resources[*place as usize].remove(doc);
        }
    }

    /// Resources carrying any of the slugs.
    fn any_of(&self, slugs: &[String]) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        for slug in slugs {
            if let Some(place) = self.by_slug.get(slug) {
                out |= &self.resources[*place];
            }
        }
        out
    }

    fn row(&self, id: Uuid) -> Option<Arc<Row>> {
        self.by_id.get(&id).map(|place| self.rows[*place].clone())
    }

    fn of(&self, owner: Uuid) -> RoaringBitmap {
        self.by_id
            .get(&owner)
            .map(|place| self.resources[*place].clone())
            .unwrap_or_default()
    }

    /// Counts within `within`, most first, then in name order.
    fn counts(&self, within: &RoaringBitmap) -> Vec<(usize, u64)> {
        // Each link of each resource within counts, as the database counts
        // unnested links: one pass over the resources, not one per label.
        let mut tally = vec![0u64; self.rows.len()];
        for doc in within {
            for place in self.links_of(doc) {
                tally[*place as usize] += 1;
            }
        }
        let mut counts: Vec<(usize, u64)> = tally
            .into_iter()
            .enumerate()
            .filter(|(_, count)| *count > 0)
            .collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        counts
    }
}

pub struct Snapshot {
    /// The published generation this picture was read under.
    pub generation: u64,
    /// Every resource read, by number: those a patch replaced or took
    /// away stay (their numbers are in no set), until the next build.
    resources: Vec<Resource>,
    /// The resources published now.
    all: RoaringBitmap,
    /// Distinct titles in the database's order (titles a patch took away
    /// keep their places: they still order cursors).
    /// Shared with patches that bring no new title.
    titles: Arc<Vec<String>>,
    title_ranks: Arc<HashMap<String, u32>>,
    /// How many published resources hold each title: a title's words are
    /// in the vocabulary while some do.
    title_users: Vec<u32>,
    years: BTreeMap<i32, RoaringBitmap>,
    /// Resources of each year and every year before it, and of each year
    /// and every year after it: a year range is two lookups and an `&`.
    up_to_year: BTreeMap<i32, RoaringBitmap>,
    from_year: BTreeMap<i32, RoaringBitmap>,
    topics: Labels<TopicRow>,
    types: Labels<LabelRow>,
    tags: Labels<LabelRow>,
    /// Resources in ascending (key, id) order, for each single-key order.
    by_title: Vec<u32>,
    by_year: Vec<u32>,
    by_published_at: Vec<u32>,
    /// In id order: a patch walks them beside the database's rows.
    by_id: Vec<Held>,
    resource_text: TextIndex,
    module_ids: Vec<Uuid>,
    module_text: TextIndex,
    /// Published titles' and label names' words, for "did you mean".
    pub vocabulary: Vocabulary,
    /// Answers worked out for recent requests; gone with the picture.
    kept: Kept,
}

/// What a picture keeps of its recent answers. A new picture starts with
/// none, which is what keeps them exact.
struct Kept {
    /// The best hits of recent searches (a search's pages, totals and
    /// repeats cost a lookup).
    searches: Mutex<LruCache<(String, bool, bool), Arc<Ranked>>>,
    /// Facet counts of recent filters.
    facets: Mutex<LruCache<FacetKey, Arc<Vec<FacetCount>>>>,
    /// Highlighted snippets of recent searches' hits, by the text searched
    /// and the hit: PostgreSQL's `ts_headline` for a page of 20 hits costs
    /// more than the rest of the search. A snippet depends only on the
    /// text and the hit's published title and summary.
    snippets: Mutex<LruCache<(String, Uuid), String>>,
    /// Published rows read for recent pages, each at the version this
    /// picture holds: a page the picture orders needs no statement when
    /// its rows are here.
    rows: Mutex<KeptRows>,
}

impl Kept {
    fn new() -> Kept {
        Kept {
            searches: kept_at_most(SEARCHES_KEPT),
            facets: kept_at_most(FACETS_KEPT),
            snippets: kept_at_most(SNIPPETS_KEPT),
            rows: Mutex::new(KeptRows {
                rows: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }
}

/// Rows kept, least recently used first out, bounded in bytes rather than
/// in rows: a summary may be a few words or a few pages.
struct KeptRows {
    rows: LruCache<Uuid, Arc<ResourceRow>>,
    bytes: usize,
}

/// What rows may hold at most: every row of a catalogue of a few thousand,
/// the pages in use of a larger one.
const ROW_BYTES_KEPT: usize = 8 << 20;

impl KeptRows {
    fn keep(&mut self, row: Arc<ResourceRow>) {
        self.bytes += row_bytes(&row);
        if let Some(replaced) = self.rows.put(row.id, row) {
            self.bytes -= row_bytes(&replaced);
        }
        while self.bytes > ROW_BYTES_KEPT {
            let Some((_, oldest)) = self.rows.pop_lru() else {
                break;
            };
            self.bytes -= row_bytes(&oldest);
        }
    }
}

/// A row's size in memory, near enough to bound what rows hold.
fn row_bytes(row: &ResourceRow) -> usize {
    let text = |text: &Option<String>| text.as_ref().map_or(0, String::capacity);
    std::mem::size_of::<ResourceRow>()
        + 64
        + row.slug.capacity()
        + row.title.capacity()
        + text(&row.url)
        + text(&row.publisher)
        + text(&row.summary)
        + (row.topic_ids.capacity() + row.type_ids.capacity() + row.tag_ids.capacity())
            * std::mem::size_of::<Option<Uuid>>()
}

/// What a facet's counts depend on: the filter without the dimension's own
/// field (its text query as typed: the same text parses the same).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FacetKey {
    scope: Scope,
    owner: Uuid,
    filter: ResourceFilter,
    dimension: Dimension,
}

/// Facet counts kept, over every filter and dimension.
const FACETS_KEPT: usize = 512;

/// How many of a search's best hits are kept, and for how many searches.
const HITS_KEPT: usize = 1000;
const SEARCHES_KEPT: usize = 256;

/// Snippets kept: 500 pages of 20 hits, a few megabytes at most.
const SNIPPETS_KEPT: usize = 10_000;

/// A search's best hits, in order, and how many match in all.
struct Ranked {
    best: Vec<SearchEntry>,
    /// `best` holds every hit.
    complete: bool,
    total: i64,
}

impl Ranked {
    /// The page `from`/`limit` asks for, when the kept hits hold it.
    fn page(&self, from: &PageFrom, limit: usize) -> Option<Vec<SearchEntry>> {
        let best = &self.best;
        let forward = |start: usize| {
            (self.complete || best.len() - start >= limit)
                .then(|| best[start..best.len().min(start + limit)].to_vec())
        };
        // Backward pages come worst first, as the database's do.
        let backward = |end: usize| {
            Some(
                best[end.saturating_sub(limit)..end]
                    .iter()
                    .rev()
                    .cloned()
                    .collect(),
            )
        };
        match from {
            PageFrom::Start => forward(0),
            PageFrom::After(position) => forward(
                best.partition_point(|hit| against_position(hit, position) != Ordering::Greater),
            ),
            PageFrom::End if self.complete => backward(best.len()),
            PageFrom::End => None,
            PageFrom::Before(position) => {
                let end =
                    best.partition_point(|hit| against_position(hit, position) == Ordering::Less);
                (self.complete || end < best.len()).then(|| backward(end))?
            }
        }
    }
}

/// A resource on a page, with the sort key its cursor carries.
#[derive(Debug, Clone)]
pub struct PageEntry {
    pub id: Uuid,
    pub sort_key: serde_json::Value,
}

/// A search hit: kind (`resource`/`module`), id and rank.
#[derive(Debug, Clone)]
pub struct SearchEntry {
    pub kind: &'static str,
    pub id: Uuid,
    pub rank: f64,
}

/// What a build could not read.
#[derive(Debug, thiserror::Error)]
#[error("a search vector could not be read")]
pub struct Unreadable;

/// A picture against the published stage's row versions.
#[derive(Debug, Default, PartialEq)]
pub struct Comparison {
    /// Resources no longer published as the picture holds them.
    pub gone: Vec<u32>,
    /// Resources published since, or changed: to read.
    pub changed: Vec<Uuid>,
}

/// What changed in the published stage since a picture was read.
pub struct Patch {
    /// The published generation the changes were read under.
    pub generation: u64,
    /// Resources no longer published as the picture holds them (taken
    /// away, or changed: the changed ones are in `resources` again).
    pub gone: Vec<u32>,
    /// Resources published since, or as they are now.
    pub resources: Vec<IndexedResourceRow>,
    /// Titles of `resources` the picture does not know, in the database's
    /// order, each with how many of the picture's titles sort before it.
    pub new_titles: Vec<(usize, String)>,
    /// Every published module.
    pub modules: Vec<IndexedModuleRow>,
}

impl Resource {
    fn read(row: &IndexedResourceRow, title_rank: u32) -> Result<Resource, Unreadable> {
        Ok(Resource {
            id: row.id,
            xmin: u32::try_from(row.xmin).map_err(|_| Unreadable)?,
            title_rank,
            year: row.year,
            published_at: row.published_at.map_or(0, |at| at.timestamp_micros()),
        })
    }

    /// Where the resource sorts by `field`, ties by id.
    fn order_key(&self, field: OrderField) -> (i64, Uuid) {
        let key = match field {
            OrderField::Title => i64::from(self.title_rank),
            OrderField::Year => i64::from(self.year.unwrap_or(0)),
            OrderField::PublishedAt => self.published_at,
            OrderField::Relevance => 0,
        };
        (key, self.id)
    }
}

/// A resource's id and row version beside its number, in the id order a
/// patch compares with the database's without reaching into `resources`.
#[derive(Clone, Copy, PartialEq)]
struct Held {
    id: Uuid,
    xmin: u32,
    doc: u32,
}

impl Held {
    fn of(resources: &[Resource], doc: u32) -> Held {
        let resource = &resources[doc as usize];
        Held {
            id: resource.id,
            xmin: resource.xmin,
            doc,
        }
    }
}

/// `previous` (in ascending `key` order) without `gone` and with `added`,
/// in the same order: each found by binary search and the runs between
/// copied whole, so the many that stay cost a copy, not a key each.
/// `None` when one of `gone` is not where its key says.
fn reordered<T: Copy + PartialEq, K: Ord>(
    previous: &[T],
    key: impl Fn(&T) -> K,
    gone: &[T],
    added: &[T],
) -> Option<Vec<T>> {
    // Where each goes: inserted before `previous[at]`, or taking it out.
    let mut cuts: Vec<(usize, bool, T)> = Vec::with_capacity(gone.len() + added.len());
    for item in gone {
        let wanted = key(item);
        let at = previous.partition_point(|other| key(other) < wanted);
        if previous.get(at) != Some(item) {
            return None;
        }
        cuts.push((at, true, *item));
    }
    let mut added = added.to_vec();
    added.sort_by_key(|item| key(item));
    for item in added {
        let wanted = key(&item);
        let at = previous.partition_point(|other| key(other) < wanted);
        cuts.push((at, false, item));
    }
    // Stable: insertions before a removal at the same place, in key order.
    cuts.sort_by_key(|(at, removal, _)| (*at, *removal));
    let mut out = Vec::with_capacity(previous.len() + cuts.len());
    let mut from = 0;
    for (at, removal, item) in cuts {
        out.extend_from_slice(&previous[from..at]);
        if removal {
            from = at + 1;
        } else {
            from = at;
            out.push(item);
        }
    }
    out.extend_from_slice(&previous[from..]);
    Some(out)
}

/// Every resource in ascending `key` order.
fn sorted(resources: &[Resource], key: fn(&Resource) -> (i64, Uuid)) -> Vec<u32> {
    let mut docs: Vec<u32> = (0..resources.len() as u32).collect();
    docs.sort_unstable_by_key(|doc| key(&resources[*doc as usize]));
    docs
}

/// The resources of each year and every year before it, and of each year
/// and every year after it.
type YearRuns = BTreeMap<i32, RoaringBitmap>;

fn cumulative(years: &BTreeMap<i32, RoaringBitmap>) -> (YearRuns, YearRuns) {
    let mut up_to_year = BTreeMap::new();
    let mut running = RoaringBitmap::new();
    for (year, docs) in years {
        running |= docs;
        up_to_year.insert(*year, running.clone());
    }
    let mut from_year = BTreeMap::new();
    let mut running = RoaringBitmap::new();
    for (year, docs) in years.iter().rev() {
        running |= docs;
        from_year.insert(*year, running.clone());
    }
    (up_to_year, from_year)
}

/// Each title's rank: its place in `titles`.
fn ranks_of(titles: &[String]) -> HashMap<String, u32> {
    titles
        .iter()
        .enumerate()
        .map(|(rank, title)| (title.clone(), rank as u32))
        .collect()
}

/// `titles` with `new` (each with how many of `titles` sort before it) in
/// their places, and where each old title moved (`None`: nowhere).
fn with_titles(
    titles: &Arc<Vec<String>>,
    new: Vec<(usize, String)>,
) -> (Arc<Vec<String>>, Option<Vec<u32>>) {
    if new.is_empty() {
        return (titles.clone(), None);
    }
    let mut out = Vec::with_capacity(titles.len() + new.len());
    let mut moved = Vec::with_capacity(titles.len());
    let mut new = new.into_iter().peekable();
    for (rank, title) in titles.iter().enumerate() {
        while let Some((_, title)) = new.next_if(|(before, _)| *before <= rank) {
            out.push(title);
        }
        moved.push(out.len() as u32);
        out.push(title.clone());
    }
    out.extend(new.map(|(_, title)| title));
    (Arc::new(out), Some(moved))
}

impl Snapshot {
    /// Builds the picture from what `source` sends (see
    /// `db::index_source::published`), as it arrives; `None` when nothing
    /// came (the reading failed at once).
    pub fn build(
        generation: u64,
        mut source: Receiver<SourceItem>,
    ) -> Result<Option<Snapshot>, Unreadable> {
        let Some(SourceItem::Labels(PublishedLabels {
            topics,
            types,
            tags,
        })) = source.blocking_recv()
        else {
            return Ok(None);
        };
        let mut topics = Labels::new(topics, |row| (row.id, row.slug.clone()));
        let mut types = Labels::new(types, |row| (row.id, row.slug.clone()));
        let mut tags = Labels::new(tags, |row| (row.id, row.slug.clone()));
        let mut resources = Vec::new();
        let mut years: BTreeMap<i32, RoaringBitmap> = BTreeMap::new();
        let mut titles: Vec<String> = Vec::new();
        let mut title_users: Vec<u32> = Vec::new();
        let mut text = TextIndexBuilder::default();
        let mut modules = TextIndexBuilder::default();
        let mut module_ids = Vec::new();
        // Resources arrive in title order: a resource's number is its place.
        while let Some(item) = source.blocking_recv() {
            match item {
                SourceItem::Resource(row) => {
                    let doc = resources.len() as u32;
                    let title_rank = row.title_rank.ok_or(Unreadable)? - 1;
                    let title_rank = u32::try_from(title_rank).map_err(|_| Unreadable)?;
                    let resource = Resource::read(&row, title_rank)?;
                    if titles.len() <= title_rank as usize {
                        titles.push(row.title);
                        title_users.push(0);
                    }
                    title_users[title_rank as usize] += 1;
                    topics.link(&row.topic_ids, doc);
                    types.link(&row.type_ids, doc);
                    tags.link(&row.tag_ids, doc);
                    if let Some(year) = row.year {
                        years.entry(year).or_default().insert(doc);
                    }
                    text.add(&row.search_vector).map_err(|_| Unreadable)?;
                    resources.push(resource);
                }
                SourceItem::Module(row) => {
                    modules.add(&row.search_vector).map_err(|_| Unreadable)?;
                    module_ids.push(row.id);
                }
                SourceItem::Labels(_) => return Err(Unreadable),
            }
        }
        let vocabulary = Vocabulary::build(
            titles
                .iter()
                .map(String::as_str)
                .chain(topics.rows.iter().map(|row| row.name.as_str()))
                .chain(types.rows.iter().map(|row| row.name.as_str()))
                .chain(tags.rows.iter().map(|row| row.name.as_str())),
        );
        let mut all = RoaringBitmap::new();
        all.insert_range(0..resources.len() as u32);
        let title_ranks = Arc::new(ranks_of(&titles));
        let titles = Arc::new(titles);
        let order = |key: fn(&Resource) -> (i64, Uuid)| sorted(&resources, key);
        let by_title = order(|resource| resource.order_key(OrderField::Title));
        let by_year = order(|resource| resource.order_key(OrderField::Year));
        let by_published_at = order(|resource| resource.order_key(OrderField::PublishedAt));
        let mut by_id: Vec<Held> = (0..resources.len() as u32)
            .map(|doc| Held::of(&resources, doc))
            .collect();
        by_id.sort_unstable_by_key(|held| held.id);
        let (up_to_year, from_year) = cumulative(&years);
        Ok(Some(Snapshot {
            generation,
            up_to_year,
            from_year,
            by_title,
            by_year,
            by_published_at,
            by_id,
            resources,
            all,
            titles,
            title_ranks,
            title_users,
            years,
            topics,
            types,
            tags,
            resource_text: text.finish(),
            module_ids,
            module_text: modules.finish(),
            vocabulary,
            kept: Kept::new(),
        }))
    }

    /// How many resources are published in this picture.
    pub fn resource_count(&self) -> usize {
        self.all.len() as usize
    }

    /// Whether the labels are the ones this picture was read with.
    pub fn same_labels(&self, labels: &PublishedLabels) -> bool {
        fn same<Row: PartialEq>(held: &[Arc<Row>], read: &[Row]) -> bool {
            held.iter().map(|row| &**row).eq(read)
        }
        same(&self.topics.rows, &labels.topics)
            && same(&self.types.rows, &labels.types)
            && same(&self.tags.rows, &labels.tags)
    }

    /// This picture against `now`, every published resource's id and row
    /// version in id order (PostgreSQL's `uuid` order is its bytes', as
    /// ours): one walk of both, side by side.
    pub fn compare(&self, now: &[(Uuid, i64)]) -> Comparison {
        let mut comparison = Comparison::default();
        let mut held = self.by_id.iter().peekable();
        for (id, xmin) in now {
            while let Some(gone) = held.next_if(|held| held.id < *id) {
                comparison.gone.push(gone.doc);
            }
            match held.next_if(|held| held.id == *id) {
                Some(same) if i64::from(same.xmin) == *xmin => {}
                Some(changed) => {
                    comparison.gone.push(changed.doc);
                    comparison.changed.push(*id);
                }
                None => comparison.changed.push(*id),
            }
        }
        comparison.gone.extend(held.map(|gone| gone.doc));
        comparison
    }

    /// Every title this picture orders by, in the database's order.
    pub fn titles(&self) -> &[String] {
        &self.titles
    }

    /// The titles of `rows` this picture does not know, each once.
    pub fn unknown_titles(&self, rows: &[IndexedResourceRow]) -> Vec<String> {
        let mut unknown: Vec<String> = rows
            .iter()
            .filter(|row| !self.title_ranks.contains_key(&row.title))
            .map(|row| row.title.clone())
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        unknown
    }

    /// Whether patches have left enough replaced resources behind (in the
    /// text index and the tables by number, never read) that a build from
    /// scratch is due, to give their memory back.
    pub fn worn(&self) -> bool {
        let replaced = self.resources.len() - self.all.len() as usize;
        replaced * 8 > self.resources.len()
    }

    /// This picture with `patch` applied: what `build` would make from the
    /// database the patch was read from, but for the numbering of
    /// resources (which no answer shows).
    pub fn patched(&self, patch: Patch) -> Result<Snapshot, Unreadable> {
        let (titles, moved) = with_titles(&self.titles, patch.new_titles);
        let rank_of = |old: u32| moved.as_ref().map_or(old, |moved| moved[old as usize]);
        let mut resources: Vec<Resource> = self
            .resources
            .iter()
            .map(|resource| Resource {
                title_rank: rank_of(resource.title_rank),
                ..*resource
            })
            .collect();
        let mut title_users = vec![0u32; titles.len()];
        for (old, users) in self.title_users.iter().enumerate() {
            title_users[rank_of(old as u32) as usize] = *users;
        }
        let title_ranks = match moved {
            None => self.title_ranks.clone(),
            Some(_) => Arc::new(ranks_of(&titles)),
        };
        let mut all = self.all.clone();
        let mut years = self.years.clone();
        let mut topics = self.topics.clone();
        let mut types = self.types.clone();
        let mut tags = self.tags.clone();
        let mut vocabulary = self.vocabulary.clone();
        let mut gone = Vec::with_capacity(patch.gone.len());
        for doc in patch.gone {
            if !all.remove(doc) {
                continue;
            }
            gone.push(doc);
            topics.unlink(doc);
            types.unlink(doc);
            tags.unlink(doc);
            let resource = &resources[doc as usize];
            if let Some(year) = resource.year
                && let Some(docs) = years.get_mut(&year)
            {
                docs.remove(doc);
                if docs.is_empty() {
                    years.remove(&year);
                }
            }
            let rank = resource.title_rank as usize;
            title_users[rank] -= 1;
            if title_users[rank] == 0 {
                vocabulary.remove(&titles[rank]);
            }
        }
        let first_new = resources.len() as u32;
        for row in &patch.resources {
            let doc = resources.len() as u32;
            let rank = *title_ranks.get(&row.title).ok_or(Unreadable)?;
            topics.link(&row.topic_ids, doc);
            types.link(&row.type_ids, doc);
            tags.link(&row.tag_ids, doc);
            if let Some(year) = row.year {
                years.entry(year).or_default().insert(doc);
            }
            title_users[rank as usize] += 1;
            if title_users[rank as usize] == 1 {
                vocabulary.add(&row.title);
            }
            resources.push(Resource::read(row, rank)?);
            all.insert(doc);
        }
        let resource_text = self
            .resource_text
            .extended(patch.resources.iter().map(|row| row.search_vector.as_str()))
            .map_err(|_| Unreadable)?;
        let mut modules = TextIndexBuilder::default();
        for row in &patch.modules {
            modules.add(&row.search_vector).map_err(|_| Unreadable)?;
        }
        let added: Vec<u32> = (first_new..resources.len() as u32).collect();
        let order = |previous: &[u32], order_key: fn(&Resource) -> (i64, Uuid)| {
            let key = |doc: &u32| order_key(&resources[*doc as usize]);
            reordered(previous, key, &gone, &added).ok_or(Unreadable)
        };
        let by_title = order(&self.by_title, |resource| {
            resource.order_key(OrderField::Title)
        })?;
        let by_year = order(&self.by_year, |resource| {
            resource.order_key(OrderField::Year)
        })?;
        let by_published_at = order(&self.by_published_at, |resource| {
            resource.order_key(OrderField::PublishedAt)
        })?;
        let held = |docs: &[u32]| -> Vec<Held> {
            docs.iter().map(|doc| Held::of(&resources, *doc)).collect()
        };
        let by_id = reordered(&self.by_id, |held| held.id, &held(&gone), &held(&added))
            .ok_or(Unreadable)?;
        let (up_to_year, from_year) = cumulative(&years);
        Ok(Snapshot {
            generation: patch.generation,
            resources,
            all,
            titles,
            title_ranks,
            title_users,
            years,
            up_to_year,
            from_year,
            topics,
            types,
            tags,
            by_title,
            by_year,
            by_published_at,
            by_id,
            resource_text,
            module_ids: patch.modules.iter().map(|row| row.id).collect(),
            module_text: modules.finish(),
            vocabulary,
            kept: Kept::new(),
        })
    }

    /// Approximate heap bytes held (for the metrics and the docs).
    pub fn heap_bytes(&self) -> usize {
        let bitmaps: usize = [
            &self.topics.resources,
            &self.types.resources,
            &self.tags.resources,
        ]
        .into_iter()
        .flatten()
        .chain(self.years.values())
        .chain(self.up_to_year.values())
        .chain(self.from_year.values())
        .map(|bitmap| bitmap.serialized_size())
        .sum();
        self.resources.len() * (std::mem::size_of::<Resource>() + 48)
            + self
                .titles
                .iter()
                .map(|title| title.len() * 2 + 64)
                .sum::<usize>()
            + bitmaps
            + (self.by_title.len() + self.by_year.len() + self.by_published_at.len()) * 4
            + self.resource_text.heap_bytes()
            + self.module_text.heap_bytes()
            + self.vocabulary.heap_bytes()
    }

    /// The resources a text query matches.
    fn text_matches(&self, text: Option<&TsQuery>) -> Option<RoaringBitmap> {
        text.map(|query| self.resource_matches(query))
    }

    /// The published resources a text query matches (the text index also
    /// holds resources a patch replaced).
    fn resource_matches(&self, query: &TsQuery) -> RoaringBitmap {
        self.resource_text
            .resolve(query)
            .matches(self.resource_text.documents())
            & &self.all
    }

    /// The resources a filter lets through for one owner, leaving out the
    /// dimension being counted (`text`: what its text query matches).
    fn matching(
        &self,
        count: &CountQuery,
        owner: Uuid,
        without: Option<Dimension>,
        text: Option<&RoaringBitmap>,
    ) -> RoaringBitmap {
        use std::borrow::Cow;
        let filter: &ResourceFilter = &count.filter;
        // Every condition as a set; intersected smallest first, so the
        // work is the size of the most selective one, not of them all.
        let mut parts: Vec<Cow<RoaringBitmap>> = Vec::new();
        match count.scope {
            Scope::All => {}
            Scope::Topic => parts.push(Cow::Owned(self.topics.of(owner))),
            Scope::ResourceType => parts.push(Cow::Owned(self.types.of(owner))),
            Scope::Tag => parts.push(Cow::Owned(self.tags.of(owner))),
        }
        let mut by_slugs =
            |dimension,
             slugs: &Option<Vec<String>>,
             labels: &dyn Fn(&[String]) -> RoaringBitmap| {
                if without != Some(dimension)
                    && let Some(slugs) = slugs
                {
                    parts.push(Cow::Owned(labels(slugs)));
                }
            };
        by_slugs(Dimension::Topics, &filter.topics, &|slugs| {
            self.topics.any_of(slugs)
        });
        by_slugs(Dimension::Types, &filter.types, &|slugs| {
            self.types.any_of(slugs)
        });
        by_slugs(Dimension::Tags, &filter.tags, &|slugs| {
            self.tags.any_of(slugs)
        });
        let mut without_a_year = false;
        if without != Some(Dimension::Years) {
            let from = [filter.year, filter.year_from].into_iter().flatten().max();
            let to = [filter.year, filter.year_to].into_iter().flatten().min();
            let bounded = filter.year.is_some()
                || filter.year_from.is_some()
                || filter.year_to.is_some()
                || filter.has_year == Some(true);
            if bounded {
                // The first year at or after `from`, the last at or before `to`.
                let low = match from {
                    Some(from) => self.from_year.range(from..).next().map(|(_, docs)| docs),
                    None => self.from_year.values().next(),
                };
                let high = match to {
                    Some(to) => self
                        .up_to_year
                        .range(..=to)
                        .next_back()
                        .map(|(_, docs)| docs),
                    None => self.up_to_year.values().next_back(),
                };
                match (low, high) {
                    (Some(low), Some(high)) => {
                        parts.push(Cow::Borrowed(low));
                        parts.push(Cow::Borrowed(high));
                    }
                    _ => return RoaringBitmap::new(),
                }
            }
            without_a_year = filter.has_year == Some(false);
        }
        if let Some(matches) = text {
            parts.push(Cow::Borrowed(matches));
        }
        parts.sort_by_key(|part| part.len());
        let mut parts = parts.into_iter();
        let mut set = match parts.next() {
            Some(smallest) => smallest.into_owned(),
            None => self.all.clone(),
        };
        for part in parts {
            if set.is_empty() {
                break;
            }
            set &= part.as_ref();
        }
        if without_a_year && let Some(with_a_year) = self.from_year.values().next() {
            set -= with_a_year;
        }
        set
    }

    pub fn totals(
        &self,
        query: &CountQuery,
        owners: &[Uuid],
        text: Option<&TsQuery>,
    ) -> HashMap<Uuid, i64> {
        let text = self.text_matches(text);
        owners
            .iter()
            .map(|owner| {
                let total = self.matching(query, *owner, None, text.as_ref()).len();
                (*owner, total as i64)
            })
            .collect()
    }

    /// Disjunctive facet counts per owner, as `db::resource_index::facets`
    /// returns them. Counts are kept per filter (without the dimension's
    /// own field): every topic's index page shares its topic facet.
    pub fn facets(
        &self,
        query: &CountQuery,
        dimension: Dimension,
        owners: &[Uuid],
        text: Option<&TsQuery>,
    ) -> HashMap<Uuid, Arc<Vec<FacetCount>>> {
        let mut filter = query.filter.clone();
        match dimension {
            Dimension::Topics => filter.topics = None,
            Dimension::Types => filter.types = None,
            Dimension::Tags => filter.tags = None,
            Dimension::Years => {
                filter.year = None;
                filter.year_from = None;
                filter.year_to = None;
                filter.has_year = None;
            }
        }
        let mut matches = None;
        owners
            .iter()
            .map(|owner| {
                let key = FacetKey {
                    scope: query.scope,
                    owner: if query.scope == Scope::All {
                        Uuid::nil()
                    } else {
                        *owner
                    },
                    filter: filter.clone(),
                    dimension,
                };
                let counts = kept(&self.kept.facets, key, || {
                    let matches = matches.get_or_insert_with(|| self.text_matches(text));
                    self.count_facet(query, dimension, *owner, matches.as_ref())
                });
                (*owner, counts)
            })
            .collect()
    }

    fn count_facet(
        &self,
        query: &CountQuery,
        dimension: Dimension,
        owner: Uuid,
        text: Option<&RoaringBitmap>,
    ) -> Vec<FacetCount> {
        let within = self.matching(query, owner, Some(dimension), text);
        match dimension {
            Dimension::Topics => self
                .topics
                .counts(&within)
                .into_iter()
                .map(|(place, count)| FacetCount {
                    value: FacetValue::Topic(self.topics.rows[place].clone()),
                    count: count as i64,
                })
                .collect(),
            Dimension::Types | Dimension::Tags => {
                let labels = if dimension == Dimension::Types {
                    &self.types
                } else {
                    &self.tags
                };
                labels
                    .counts(&within)
                    .into_iter()
                    .map(|(place, count)| FacetCount {
                        value: FacetValue::Label(labels.rows[place].clone()),
                        count: count as i64,
                    })
                    .collect()
            }
            Dimension::Years => self.year_counts(&within),
        }
    }

    /// Pages of resources per owner; `None` when the cursor names a
    /// position the index cannot place exactly.
    pub fn pages(
        &self,
        query: &PageQuery,
        owners: &[Uuid],
        text: Option<&TsQuery>,
    ) -> Option<HashMap<Uuid, Vec<PageEntry>>> {
        let keys: Vec<(OrderField, bool)> = query
            .order
            .iter()
            .map(|order| (order.field, order.descending != query.backward))
            .collect();
        let id_descending = keys.last().is_some_and(|key| key.1);
        let wants_rank = keys.iter().any(|key| key.0 == OrderField::Relevance);
        let from = match &query.from {
            Some(position) => Some(self.place(&keys, &position.keys, position.id)?),
            None => None,
        };
        let empty = TsQuery {
            text: String::new(),
            root: None,
            operands: Vec::new(),
            prefixes: Vec::new(),
        };
        let limit = query.limit.clamp(0, i64::from(u32::MAX)) as usize;
        let matches = self.text_matches(text);
        let mut out = HashMap::new();
        for owner in owners {
            let set = self.matching(&query.count, *owner, None, matches.as_ref());
            let ranks: HashMap<u32, f64> = if wants_rank {
                let ranking = self.resource_text.resolve(text.unwrap_or(&empty));
                ranking
                    .ranks(set.iter())
                    .into_iter()
                    .map(|(doc, rank)| (doc, f64::from(rank)))
                    .collect()
            } else {
                HashMap::new()
            };
            let key_of = |doc: u32| SortKey {
                doc: &self.resources[doc as usize],
                rank: ranks.get(&doc).copied().unwrap_or(0.0),
            };
            let compare = |a: &SortKey, b: &SortKey| compare_keys(&keys, id_descending, a, b);
            let after = |key: &SortKey| {
                from.as_ref()
                    .is_none_or(|from| compare(key, &from.as_key()) == Ordering::Greater)
            };
            let walk = match keys.as_slice() {
                [(field, _)] if *field != OrderField::Relevance => self.order_of(*field),
                _ => None,
            };
            // Most of the resources pass: walking them in order finds the
            // page after a few; few pass: sorting just those is cheaper.
            let dense = set.len() * 32 >= self.all.len();
            let candidates: Vec<SortKey> = match walk {
                Some(sorted) if dense => {
                    let ascending = !id_descending;
                    // Where the walk starts: just after the cursor.
                    let start = match &from {
                        None if ascending => 0,
                        None => sorted.len(),
                        Some(from) => sorted.partition_point(|doc| {
                            let order = compare(&key_of(*doc), &from.as_key());
                            if ascending {
                                order != Ordering::Greater
                            } else {
                                order == Ordering::Greater
                            }
                        }),
                    };
                    let walked: Box<dyn Iterator<Item = &u32>> = if ascending {
                        Box::new(sorted[start..].iter())
                    } else {
                        Box::new(sorted[..start].iter().rev())
                    };
                    walked
                        .filter(|doc| set.contains(**doc))
                        .take(limit)
                        .map(|doc| key_of(*doc))
                        .collect()
                }
                _ => {
                    let mut candidates: Vec<SortKey> =
                        set.iter().map(key_of).filter(|key| after(key)).collect();
                    if candidates.len() > limit && limit > 0 {
                        candidates.select_nth_unstable_by(limit - 1, compare);
                    }
                    candidates.truncate(limit);
                    candidates.sort_unstable_by(compare);
                    candidates
                }
            };
            let entries = candidates
                .into_iter()
                .map(|key| PageEntry {
                    id: key.doc.id,
                    sort_key: self.sort_key(&keys, &key),
                })
                .collect();
            out.insert(*owner, entries);
        }
        Some(out)
    }

    /// Resources per year within `within`, newest first.
    fn year_counts(&self, within: &RoaringBitmap) -> Vec<FacetCount> {
        let (Some(first), Some(last)) = (self.years.keys().next(), self.years.keys().next_back())
        else {
            return Vec::new();
        };
        let span = i64::from(*last) - i64::from(*first) + 1;
        if span > 4096 {
            // Years far apart (data entry slips): count per year instead.
            return self
                .years
                .iter()
                .rev()
                .map(|(year, docs)| (*year, docs.intersection_len(within)))
                .filter(|(_, count)| *count > 0)
                .map(|(year, count)| FacetCount {
                    value: FacetValue::Year(year),
                    count: count as i64,
                })
                .collect();
        }
        let mut tally = vec![0i64; span as usize];
        for doc in within {
            if let Some(year) = self.resources[doc as usize].year {
                tally[(year - first) as usize] += 1;
            }
        }
        tally
            .into_iter()
            .enumerate()
            .rev()
            .filter(|(_, count)| *count > 0)
            .map(|(offset, count)| FacetCount {
                value: FacetValue::Year(first + offset as i32),
                count,
            })
            .collect()
    }

    /// Resources in ascending (key, id) order.
    fn order_of(&self, field: OrderField) -> Option<&[u32]> {
        match field {
            OrderField::Title => Some(&self.by_title),
            OrderField::Year => Some(&self.by_year),
            OrderField::PublishedAt => Some(&self.by_published_at),
            OrderField::Relevance => None,
        }
    }

    /// Where a cursor stands, in the index's terms.
    fn place(&self, keys: &[(OrderField, bool)], values: &str, id: Uuid) -> Option<Place> {
        let values: Vec<serde_json::Value> = serde_json::from_str(values).ok()?;
        if values.len() != keys.len() {
            return None;
        }
        let mut place = Place {
            resource: Resource {
                id,
                xmin: 0,
                title_rank: 0,
                year: Some(0),
                published_at: 0,
            },
            rank: 0.0,
        };
        for ((field, _), value) in keys.iter().zip(values) {
            match field {
                OrderField::Title => {
                    place.resource.title_rank = *self.title_ranks.get(value.as_str()?)?;
                }
                OrderField::Year => {
                    place.resource.year = Some(i32::try_from(value.as_i64()?).ok()?);
                }
                OrderField::PublishedAt => {
                    place.resource.published_at = DateTime::parse_from_rfc3339(value.as_str()?)
                        .ok()?
                        .timestamp_micros();
                }
                OrderField::Relevance => place.rank = value.as_f64()?,
            }
        }
        Some(place)
    }

    /// The cursor's sort key, as the database's `jsonb_build_array` of the
    /// same expressions reads back.
    fn sort_key(&self, keys: &[(OrderField, bool)], key: &SortKey) -> serde_json::Value {
        serde_json::Value::Array(
            keys.iter()
                .map(|(field, _)| match field {
                    OrderField::Title => {
                        serde_json::Value::String(self.titles[key.doc.title_rank as usize].clone())
                    }
                    OrderField::Year => serde_json::Value::from(key.doc.year.unwrap_or(0)),
                    OrderField::PublishedAt => {
                        serde_json::Value::String(timestamp_key(key.doc.published_at))
                    }
                    // JSON from the database writes a whole number without
                    // a fraction, and the cursor must read the same.
                    OrderField::Relevance if key.rank.fract() == 0.0 && key.rank.abs() < 1e15 => {
                        serde_json::Value::from(key.rank as i64)
                    }
                    OrderField::Relevance => serde_json::Value::from(key.rank),
                })
                .collect(),
        )
    }

    /// A page of search hits over resources and/or modules, best first
    /// (ties by kind, then id), as `db::search::hits` returns it: from the
    /// search's kept best hits when they hold the page.
    pub fn search(
        &self,
        query: &TsQuery,
        resources: bool,
        modules: bool,
        from: &PageFrom,
        limit: usize,
    ) -> Vec<SearchEntry> {
        self.ranked(query, resources, modules)
            .page(from, limit)
            .unwrap_or_else(|| self.rank_page(query, resources, modules, from, limit))
    }

    pub fn search_total(&self, query: &TsQuery, resources: bool, modules: bool) -> i64 {
        self.ranked(query, resources, modules).total
    }

    fn ranked(&self, query: &TsQuery, resources: bool, modules: bool) -> Arc<Ranked> {
        let key = (query.text.clone(), resources, modules);
        kept(&self.kept.searches, key, || {
            let best = self.rank_page(query, resources, modules, &PageFrom::Start, HITS_KEPT);
            let total = self.count_matches(query, resources, modules);
            Ranked {
                complete: best.len() as i64 == total,
                best,
                total,
            }
        })
    }

    /// A page of hits, ranked now. Going
    /// forward, a match whose rank bound cannot reach the page is not
    /// ranked at all: a broad query ranks a few of its matches, not all.
    fn rank_page(
        &self,
        query: &TsQuery,
        resources: bool,
        modules: bool,
        from: &PageFrom,
        limit: usize,
    ) -> Vec<SearchEntry> {
        let backward = matches!(from, PageFrom::End | PageFrom::Before(_));
        let order = |a: &SearchEntry, b: &SearchEntry| {
            let order = search_order(a, b);
            if backward { order.reverse() } else { order }
        };
        let wanted = |hit: &SearchEntry| match from {
            PageFrom::After(position) => against_position(hit, position) == Ordering::Greater,
            PageFrom::Before(position) => against_position(hit, position) == Ordering::Less,
            PageFrom::Start | PageFrom::End => true,
        };
        // The page so far, in order; its last is the one to beat.
        let mut kept: Vec<SearchEntry> = Vec::with_capacity(limit + 1);
        let consider = |kept: &mut Vec<SearchEntry>, hit: SearchEntry| {
            if limit == 0 || !wanted(&hit) {
                return;
            }
            if kept.len() == limit {
                if order(&hit, kept.last().expect("full")) != Ordering::Less {
                    return;
                }
                kept.pop();
            }
            let at = kept.partition_point(|other| order(other, &hit) == Ordering::Less);
            kept.insert(at, hit);
        };
        let add = |kept: &mut Vec<SearchEntry>,
                   text: &TextIndex,
                   live: Option<&RoaringBitmap>,
                   kind: &'static str,
                   id: &dyn Fn(u32) -> Uuid| {
            let resolved = text.resolve(query);
            let mut matches = resolved.matches(text.documents());
            if let Some(live) = live {
                matches &= live;
            }
            // Shared between the two closures below, which never run at
            // the same time.
            let kept = std::cell::RefCell::new(kept);
            resolved.rank_each(
                matches.iter(),
                |_, bound| {
                    let kept = kept.borrow();
                    backward
                        || kept.len() < limit
                        || kept.last().is_some_and(|worst| bound >= worst.rank)
                },
                |doc, rank| {
                    let hit = SearchEntry {
                        kind,
                        id: id(doc),
                        rank: f64::from(rank),
                    };
                    consider(&mut kept.borrow_mut(), hit);
                },
            );
        };
        if modules {
            add(&mut kept, &self.module_text, None, MODULE, &|doc| {
                self.module_ids[doc as usize]
            });
        }
        if resources {
            add(
                &mut kept,
                &self.resource_text,
                Some(&self.all),
                RESOURCE,
                &|doc| self.resources[doc as usize].id,
            );
        }
        kept
    }

    fn count_matches(&self, query: &TsQuery, resources: bool, modules: bool) -> i64 {
        let mut total = 0;
        if resources {
            total += self.resource_matches(query).len();
        }
        if modules {
            total += self
                .module_text
                .resolve(query)
                .matches(self.module_text.documents())
                .len();
        }
        total as i64
    }
}

impl Snapshot {
    /// The snippets kept for hits `ids` of a search for `text`, in order.
    pub fn kept_snippets(&self, text: &str, ids: &[Uuid]) -> Vec<Option<String>> {
        let mut kept = self.kept.snippets.lock().expect("not poisoned");
        ids.iter()
            .map(|id| kept.get(&(text.to_string(), *id)).cloned())
            .collect()
    }

    /// Keeps snippets read for a search for `text`.
    pub fn keep_snippets(&self, text: &str, snippets: &[(Uuid, String)]) {
        let mut kept = self.kept.snippets.lock().expect("not poisoned");
        for (id, snippet) in snippets {
            kept.put((text.to_string(), *id), snippet.clone());
        }
    }
}

impl Snapshot {
    /// The rows kept for `ids`, in order.
    pub fn kept_rows(&self, ids: &[Uuid]) -> Vec<Option<Arc<ResourceRow>>> {
        let mut kept = self.kept.rows.lock().expect("not poisoned");
        ids.iter().map(|id| kept.rows.get(id).cloned()).collect()
    }

    /// Keeps published rows read from the database, each with its row
    /// version (`xmin`): only those at the version this picture holds.
    /// A row read after a write this picture has not seen yet is newer
    /// than the picture, and the picture may stay current a moment longer
    /// (until the write is announced): such a row is used once, not kept.
    pub fn keep_rows(&self, rows: &[(Arc<ResourceRow>, i64)]) {
        let mut kept = self.kept.rows.lock().expect("not poisoned");
        for (row, xmin) in rows {
            if self.version_of(row.id).map(i64::from) == Some(*xmin) {
                kept.keep(row.clone());
            }
        }
    }

    /// The row version this picture holds of a published resource.
    fn version_of(&self, id: Uuid) -> Option<u32> {
        let place = self.by_id.binary_search_by(|held| held.id.cmp(&id)).ok()?;
        Some(self.by_id[place].xmin)
    }

    /// A published topic, type or tag as this picture holds it (the
    /// picture is rebuilt whenever a label changes).
    pub fn label(&self, key: LabelById) -> Option<Label> {
        match key {
            LabelById::Topic(id) => self.topics.row(id).map(Label::Topic),
            LabelById::Type(id) => self.types.row(id).map(Label::Type),
            LabelById::Tag(id) => self.tags.row(id).map(Label::Tag),
        }
    }
}

/// An empty cache of `entries` at most.
fn kept_at_most<K: std::hash::Hash + Eq, V>(entries: usize) -> Mutex<LruCache<K, V>> {
    Mutex::new(LruCache::new(NonZeroUsize::new(entries).expect("not zero")))
}

/// What `cache` keeps for `key`, computed (and kept) when it holds nothing.
fn kept<K: std::hash::Hash + Eq, V>(
    cache: &Mutex<LruCache<K, Arc<V>>>,
    key: K,
    compute: impl FnOnce() -> V,
) -> Arc<V> {
    if let Some(value) = cache.lock().expect("not poisoned").get(&key) {
        return value.clone();
    }
    // Computed unlocked: two requests may both compute it, never wait.
    let value = Arc::new(compute());
    cache.lock().expect("not poisoned").put(key, value.clone());
    value
}

/// Best first, then kind, then id: `ORDER BY rank DESC, kind, id`.
fn search_order(a: &SearchEntry, b: &SearchEntry) -> Ordering {
    tsquery::by_rank_descending(a.rank, b.rank)
        .then_with(|| a.kind.cmp(b.kind))
        .then_with(|| a.id.cmp(&b.id))
}

/// Where a hit stands against a cursor's position, in the same order.
fn against_position(hit: &SearchEntry, position: &Position) -> Ordering {
    tsquery::by_rank_descending(hit.rank, position.rank)
        .then_with(|| hit.kind.cmp(position.kind.as_str()))
        .then_with(|| hit.id.cmp(&position.id))
}

struct SortKey<'a> {
    doc: &'a Resource,
    rank: f64,
}

struct Place {
    resource: Resource,
    rank: f64,
}

impl Place {
    fn as_key(&self) -> SortKey<'_> {
        SortKey {
            doc: &self.resource,
            rank: self.rank,
        }
    }
}

fn compare_keys(
    keys: &[(OrderField, bool)],
    id_descending: bool,
    a: &SortKey,
    b: &SortKey,
) -> Ordering {
    for (field, descending) in keys {
        let order = match field {
            OrderField::Title => a.doc.title_rank.cmp(&b.doc.title_rank),
            OrderField::Year => a.doc.year.unwrap_or(0).cmp(&b.doc.year.unwrap_or(0)),
            OrderField::PublishedAt => a.doc.published_at.cmp(&b.doc.published_at),
            OrderField::Relevance => a.rank.partial_cmp(&b.rank).unwrap_or(Ordering::Equal),
        };
        let order = if *descending { order.reverse() } else { order };
        if order != Ordering::Equal {
            return order;
        }
    }
    let order = a.doc.id.cmp(&b.doc.id);
    if id_descending {
        order.reverse()
    } else {
        order
    }
}

/// A timestamp as PostgreSQL's JSON writes a `timestamptz` in a UTC
/// session: `2024-01-02T03:04:05.12+00:00`, trailing zeros dropped.
fn timestamp_key(micros: i64) -> String {
    let at = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
    let text = at.to_rfc3339_opts(SecondsFormat::Micros, false);
    // `…05.120000+00:00` → `…05.12+00:00`; `…05.000000+00:00` → `…05+00:00`.
    let (clock, zone) = text.split_at(text.len() - "+00:00".len());
    let clock = clock.trim_end_matches('0').trim_end_matches('.');
    format!("{clock}{zone}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::resource_index::Order;
    use crate::domain::Stage;
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    const WORDS: [&str; 8] = [
        "communiti",
        "crisi",
        "drug",
        "partner",
        "polic",
        "trust",
        "war",
        "youth",
    ];
    const TITLES: [&str; 12] = [
        "Community policing in practice",
        "Crisis response teams",
        "Trust and partnerships",
        "Youth diversion",
        "Drug markets",
        "After the war on drugs",
        "Police and youth",
        "community trust",
        "Partnerships that last",
        "Crisis lines",
        "Building trust",
        "Policing protests",
    ];

    fn labels(kind: &str, count: u128) -> Vec<LabelRow> {
        let mut rows: Vec<LabelRow> = (0..count)
            .map(|i| LabelRow {
                id: Uuid::from_u128((kind.len() as u128) << 64 | i),
                slug: format!("{kind}-{i}"),
                name: format!("{kind} {}", i % 4),
            })
            .collect();
        rows.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        rows
    }

    struct Corpus {
        topics: Vec<TopicRow>,
        types: Vec<LabelRow>,
        tags: Vec<LabelRow>,
        resources: Vec<IndexedResourceRow>,
        modules: Vec<IndexedModuleRow>,
    }

    /// Words only changed rows hold: lexemes the first picture lacks.
    const LATER_WORDS: [&str; 3] = ["aardvark", "mmm", "zebra"];

    fn vector(rng: &mut StdRng, later: bool) -> String {
        let count = rng.gen_range(1..4);
        let mut words: Vec<&str> = WORDS.choose_multiple(rng, count).copied().collect();
        if later && rng.gen_bool(0.3) {
            words.push(LATER_WORDS[rng.gen_range(0..LATER_WORDS.len())]);
        }
        words.sort_unstable();
        let mut position = 0;
        let entries: Vec<String> = words
            .iter()
            .map(|word| {
                position += rng.gen_range(1..4);
                let weight = ["A", "B", "C", ""][rng.gen_range(0..4)];
                format!("'{word}':{position}{weight}")
            })
            .collect();
        entries.join(" ")
    }

    fn resource(
        rng: &mut StdRng,
        corpus: &Corpus,
        id: Uuid,
        title: &str,
        later: bool,
    ) -> IndexedResourceRow {
        let some = |rng: &mut StdRng, ids: Vec<Uuid>| -> Vec<Option<Uuid>> {
            let count = rng.gen_range(0..3);
            ids.choose_multiple(rng, count)
                .map(|id| Some(*id))
                .collect()
        };
        IndexedResourceRow {
            id,
            title: title.to_string(),
            title_rank: None,
            xmin: rng.gen_range(0..u32::MAX.into()),
            year: rng.gen_bool(0.9).then(|| rng.gen_range(1990..2030)),
            published_at: DateTime::from_timestamp_micros(rng.gen_range(0..2_000_000_000_000_000)),
            topic_ids: some(rng, corpus.topics.iter().map(|row| row.id).collect()),
            type_ids: some(rng, corpus.types.iter().map(|row| row.id).collect()),
            tag_ids: some(rng, corpus.tags.iter().map(|row| row.id).collect()),
            search_vector: vector(rng, later),
        }
    }

    /// A build of `corpus`, with byte order standing in for the database's
    /// collation.
    fn built(corpus: &Corpus) -> Snapshot {
        let mut rows: Vec<&IndexedResourceRow> = corpus.resources.iter().collect();
        rows.sort_by(|a, b| a.title.cmp(&b.title));
        let (send, receive) = tokio::sync::mpsc::channel(rows.len() + corpus.modules.len() + 1);
        let labels = PublishedLabels {
            topics: corpus.topics.clone(),
            types: corpus.types.clone(),
            tags: corpus.tags.clone(),
        };
        send.try_send(SourceItem::Labels(labels)).unwrap();
        let mut rank = 0;
        for (place, row) in rows.iter().enumerate() {
            if place == 0 || rows[place - 1].title != row.title {
                rank += 1;
            }
            let row = IndexedResourceRow {
                title_rank: Some(rank),
                title: row.title.clone(),
                topic_ids: row.topic_ids.clone(),
                type_ids: row.type_ids.clone(),
                tag_ids: row.tag_ids.clone(),
                search_vector: row.search_vector.clone(),
                ..**row
            };
            send.try_send(SourceItem::Resource(row)).unwrap();
        }
        for row in &corpus.modules {
            let row = IndexedModuleRow {
                id: row.id,
                search_vector: row.search_vector.clone(),
            };
            send.try_send(SourceItem::Module(row)).unwrap();
        }
        drop(send);
        Snapshot::build(1, receive).unwrap().unwrap()
    }

    /// `last` patched to `corpus` as `SearchIndex::patch` does it.
    fn patched(last: &Snapshot, corpus: &Corpus) -> Snapshot {
        let mut now: Vec<(Uuid, i64)> = corpus
            .resources
            .iter()
            .map(|row| (row.id, row.xmin))
            .collect();
        now.sort_unstable();
        let comparison = last.compare(&now);
        let rows: Vec<IndexedResourceRow> = corpus
            .resources
            .iter()
            .filter(|row| comparison.changed.contains(&row.id))
            .map(|row| IndexedResourceRow {
                title: row.title.clone(),
                topic_ids: row.topic_ids.clone(),
                type_ids: row.type_ids.clone(),
                tag_ids: row.tag_ids.clone(),
                search_vector: row.search_vector.clone(),
                ..*row
            })
            .collect();
        let new_titles = last
            .unknown_titles(&rows)
            .into_iter()
            .map(|title| (last.titles().partition_point(|known| *known < title), title))
            .collect();
        let patch = Patch {
            generation: 2,
            gone: comparison.gone,
            resources: rows,
            new_titles,
            modules: corpus
                .modules
                .iter()
                .map(|row| IndexedModuleRow {
                    id: row.id,
                    search_vector: row.search_vector.clone(),
                })
                .collect(),
        };
        last.patched(patch).unwrap()
    }

    /// Everything a picture answers, as text to compare.
    fn answers(snapshot: &Snapshot, corpus: &Corpus) -> Vec<String> {
        let queries: Vec<TsQuery> = [
            "'zebra' | 'aardvark' & 'polic'",
            "'polic' & 'trust'",
            "'communiti' & 'youth' & 'zebra'",
            "'m':*",
            "'communiti' & 'polic'",
            "'trust' | 'youth'",
            "!'war'",
            "'pol':* & !'drug'",
        ]
        .into_iter()
        .map(|text| TsQuery::parse(text).unwrap())
        .collect();
        let filters = [
            ResourceFilter::default(),
            ResourceFilter {
                topics: Some(vec![corpus.topics[0].slug.clone()]),
                year_from: Some(2000),
                ..ResourceFilter::default()
            },
            ResourceFilter {
                types: Some(vec![
                    corpus.types[1].slug.clone(),
                    corpus.types[2].slug.clone(),
                ]),
                tags: Some(vec![corpus.tags[0].slug.clone()]),
                ..ResourceFilter::default()
            },
            ResourceFilter {
                has_year: Some(false),
                ..ResourceFilter::default()
            },
            ResourceFilter {
                year_to: Some(2005),
                ..ResourceFilter::default()
            },
        ];
        let orders = [
            vec![(OrderField::Title, false)],
            vec![(OrderField::Year, true)],
            vec![(OrderField::PublishedAt, true)],
            vec![(OrderField::Year, false), (OrderField::Title, true)],
            vec![(OrderField::Relevance, true), (OrderField::Title, false)],
        ];
        let topic_ids: Vec<Uuid> = corpus.topics.iter().map(|row| row.id).collect();
        let mut out = Vec::new();
        for filter in &filters {
            for text in std::iter::once(None).chain(queries.iter().map(Some)) {
                for (scope, owners) in [
                    (Scope::All, vec![Uuid::nil()]),
                    (Scope::Topic, topic_ids.clone()),
                ] {
                    let count = CountQuery {
                        stage: Stage::Published,
                        scope,
                        filter: filter.clone(),
                    };
                    out.push(format!(
                        "{:?}",
                        sorted(snapshot.totals(&count, &owners, text))
                    ));
                    for dimension in [
                        Dimension::Topics,
                        Dimension::Types,
                        Dimension::Tags,
                        Dimension::Years,
                    ] {
                        let facets = snapshot.facets(&count, dimension, &owners, text);
                        out.push(format!("{:?}", sorted(facets)));
                    }
                    for order in &orders {
                        if text.is_none() && order[0].0 == OrderField::Relevance {
                            continue;
                        }
                        for limit in [7, 10_000] {
                            let page = PageQuery {
                                count: count.clone(),
                                order: order
                                    .iter()
                                    .map(|(field, descending)| Order {
                                        field: *field,
                                        descending: *descending,
                                    })
                                    .collect(),
                                from: None,
                                backward: false,
                                limit,
                            };
                            let pages = snapshot.pages(&page, &owners, text).unwrap();
                            out.push(format!("{:?}", sorted(pages)));
                        }
                    }
                }
            }
        }
        for query in &queries {
            for (resources, modules) in [(true, true), (true, false)] {
                // Ranked whole, and a top few (pruned by the rank bound).
                for limit in [10_000, 5] {
                    let hits =
                        snapshot.rank_page(query, resources, modules, &PageFrom::Start, limit);
                    out.push(format!("{hits:?}"));
                }
                let hits = snapshot.search(query, resources, modules, &PageFrom::Start, 10_000);
                out.push(format!(
                    "{hits:?} {}",
                    snapshot.search_total(query, resources, modules)
                ));
            }
        }
        for typo in ["comunity", "policng", "partnrships", "crisiss", "dawnn"] {
            out.push(format!("{:?}", snapshot.vocabulary.suggest(typo)));
        }
        out.push(format!("{}", snapshot.resource_count()));
        out
    }

    fn sorted<T: std::fmt::Debug>(map: HashMap<Uuid, T>) -> Vec<(Uuid, T)> {
        let mut entries: Vec<_> = map.into_iter().collect();
        entries.sort_by_key(|(owner, _)| *owner);
        entries
    }

    /// Labels of every kind, `resources` resources and five modules.
    fn corpus(rng: &mut StdRng, resources: u128) -> Corpus {
        let mut corpus = Corpus {
            topics: labels("topic", 6)
                .into_iter()
                .map(|row| TopicRow {
                    id: row.id,
                    slug: row.slug,
                    name: row.name,
                    description: String::new(),
                    aliases: Vec::new(),
                })
                .collect(),
            types: labels("type", 4),
            tags: labels("tag", 8),
            resources: Vec::new(),
            modules: Vec::new(),
        };
        for i in 0..resources {
            let title = TITLES[rng.gen_range(0..TITLES.len())];
            let row = resource(rng, &corpus, Uuid::from_u128(i * 7919), title, false);
            corpus.resources.push(row);
        }
        for i in 0..5u128 {
            let search_vector = vector(rng, false);
            corpus.modules.push(IndexedModuleRow {
                id: Uuid::from_u128(u128::MAX - i),
                search_vector,
            });
        }
        corpus
    }

    #[test]
    fn a_patched_picture_answers_as_a_built_one() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut corpus = corpus(&mut rng, 400);
        let mut picture = built(&corpus);
        // Several patches in a row, each a mix: changed rows (some to
        // titles nobody had, some to another's), rows taken away (every
        // holder of one title among them), rows added, a module changed.
        for round in 0..4u128 {
            for _ in 0..25 {
                let at = rng.gen_range(0..corpus.resources.len());
                let id = corpus.resources[at].id;
                let title = if rng.gen_bool(0.3) {
                    format!(
                        "{} dawn patrol {}",
                        ["a", "Z", "m", "Ä"][rng.gen_range(0..4)],
                        rng.gen_range(0..5)
                    )
                } else {
                    TITLES[rng.gen_range(0..TITLES.len())].to_string()
                };
                corpus.resources[at] = resource(&mut rng, &corpus, id, &title, true);
            }
            let taken = TITLES[round as usize];
            corpus.resources.retain(|row| row.title != taken);
            corpus.resources.retain(|_| rng.gen_bool(0.97));
            for i in 0..20u128 {
                let title = TITLES[rng.gen_range(0..TITLES.len())];
                let id = Uuid::from_u128((round + 1) << 100 | i);
                let row = resource(&mut rng, &corpus, id, title, true);
                corpus.resources.push(row);
            }
            corpus.modules[0].search_vector = vector(&mut rng, true);
            picture = patched(&picture, &corpus);
            let expected = built(&corpus);
            let (got, want) = (answers(&picture, &corpus), answers(&expected, &corpus));
            assert_eq!(got.len(), want.len());
            for (got, want) in got.iter().zip(&want) {
                assert_eq!(got, want, "round {round}");
            }
        }
        // A quarter of the rows replaced over the rounds: a build is due.
        assert!(picture.worn());
    }

    #[test]
    fn a_reordering_takes_out_and_puts_in_by_key() {
        let previous = [10, 20, 30, 40, 50];
        let key = |item: &i32| *item;
        // 25 and 26 go where 30 comes out; 5 and 60 at either end.
        let got = reordered(&previous, key, &[30, 50], &[26, 5, 25, 60]);
        assert_eq!(got, Some(vec![5, 10, 20, 25, 26, 40, 60]));
        assert_eq!(
            reordered(&previous, key, &[35], &[]),
            None,
            "35 is not there"
        );
        assert_eq!(reordered(&[], key, &[], &[3, 1]), Some(vec![1, 3]));
    }

    #[test]
    fn timestamps_read_as_the_database_writes_them() {
        assert_eq!(timestamp_key(0), "1970-01-01T00:00:00+00:00");
        let at = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.12+00:00").unwrap();
        assert_eq!(
            timestamp_key(at.timestamp_micros()),
            "2024-01-02T03:04:05.12+00:00"
        );
        let at = DateTime::parse_from_rfc3339("2024-01-02T03:04:10+00:00").unwrap();
        assert_eq!(
            timestamp_key(at.timestamp_micros()),
            "2024-01-02T03:04:10+00:00"
        );
    }

    fn row_of(indexed: &IndexedResourceRow, summary: &str) -> Arc<ResourceRow> {
        Arc::new(ResourceRow {
            id: indexed.id,
            slug: indexed.id.to_string(),
            title: indexed.title.clone(),
            year: indexed.year,
            url: None,
            publisher: None,
            summary: Some(summary.to_string()),
            published_at: indexed.published_at,
            type_ids: indexed.type_ids.clone(),
            topic_ids: indexed.topic_ids.clone(),
            tag_ids: indexed.tag_ids.clone(),
        })
    }

    #[test]
    fn a_picture_keeps_rows_only_at_the_versions_it_holds() {
        let mut rng = StdRng::seed_from_u64(11);
        let corpus = corpus(&mut rng, 40);
        let picture = built(&corpus);
        let held = &corpus.resources[0];
        let newer = &corpus.resources[1];
        let unpublished = Uuid::from_u128(u128::MAX / 3);
        picture.keep_rows(&[
            (row_of(held, "as held"), held.xmin),
            // Read after a write the picture has not seen yet.
            (row_of(newer, "newer"), newer.xmin + 1),
            (
                ResourceRow {
                    id: unpublished,
                    ..(*row_of(held, "not in the picture")).clone()
                }
                .into(),
                held.xmin,
            ),
        ]);
        let kept = picture.kept_rows(&[held.id, newer.id, unpublished]);
        assert_eq!(
            kept[0].as_ref().unwrap().summary.as_deref(),
            Some("as held")
        );
        assert!(kept[1].is_none(), "a newer row was kept");
        assert!(
            kept[2].is_none(),
            "a row the picture does not hold was kept"
        );

        // The next picture starts with none.
        let next = patched(&picture, &corpus);
        assert!(next.kept_rows(&[held.id])[0].is_none());
    }

    #[test]
    fn kept_rows_are_bounded_in_bytes() {
        let mut rng = StdRng::seed_from_u64(12);
        let corpus = corpus(&mut rng, 400);
        let picture = built(&corpus);
        // 400 rows of 64 KiB each: three times what may be kept.
        let long = "x".repeat(64 << 10);
        for indexed in &corpus.resources {
            picture.keep_rows(&[(row_of(indexed, &long), indexed.xmin)]);
            let bytes = picture.kept.rows.lock().unwrap().bytes;
            assert!(bytes <= ROW_BYTES_KEPT, "{bytes} bytes kept");
        }
        let ids: Vec<Uuid> = corpus.resources.iter().map(|row| row.id).collect();
        let kept = picture.kept_rows(&ids);
        assert!(kept[0].is_none(), "the least recently used is still kept");
        assert!(kept[399].is_some(), "the last one kept is gone");
        let count = kept.iter().flatten().count();
        assert!((100..=128).contains(&count), "{count} rows kept");
    }
}
