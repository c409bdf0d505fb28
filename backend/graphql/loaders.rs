//! Batched relation loading: every relation of a page of items is read in
//! one statement, however many items the page holds (no N+1).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use uuid::Uuid;

use super::batch::BatchQueue;
use crate::db::PgPool;
use crate::db::content::{
    AssetRow, ContentReader, Label, LabelById, LabelRow, ModuleRow, ResourceRow, TopicRow,
};
use crate::db::index_source;
use crate::db::resource_index::{self, CountQuery, Dimension, FacetCount, PageQuery, PageRow};
use crate::domain::Stage;
use crate::search::{PageEntry, SearchIndex, Snapshot, TsQuery};

/// Loads relations from one stage for one request.
pub struct ContentLoader {
    pool: PgPool,
    reader: ContentReader,
    /// The published index, for the published stage's loaders.
    index: Option<SearchIndex>,
}

pub type Loaders = DataLoader<ContentLoader, HashMapCache>;

/// Per request: the cache lets a connection's edges, nodes and pageInfo share
/// one read; loads run when the request's resolvers stall (see `batch`), so
/// no delay is needed.
pub fn loaders(
    pool: PgPool,
    stage: Stage,
    queue: &BatchQueue,
    index: Option<SearchIndex>,
) -> Loaders {
    DataLoader::with_cache(
        ContentLoader {
            pool,
            reader: ContentReader::new(stage),
            index: index.filter(|_| stage == Stage::Published),
        },
        queue.spawner(),
        HashMapCache::default(),
    )
    .delay(std::time::Duration::ZERO)
}

/// Loader errors must be cloneable; the text is logged, never sent.
pub type LoadError = Arc<String>;

fn group<K, V>(keys: &[K], rows: Vec<(Uuid, V)>, key: impl Fn(Uuid) -> K) -> HashMap<K, Vec<V>>
where
    K: std::hash::Hash + Eq + Copy,
{
    let mut grouped: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (owner, value) in rows {
        grouped.entry(key(owner)).or_default().push(value);
    }
    grouped
}

impl ContentLoader {
    async fn connection(&self) -> Result<crate::db::PooledConnection, LoadError> {
        self.pool
            .get()
            .await
            .map_err(|error| Arc::new(error.to_string()))
    }

    /// A connection taken when a statement first needs it: what the
    /// published index answers on its own takes none.
    fn lazy_connection(&self) -> LazyConnection<'_> {
        LazyConnection {
            loader: self,
            conn: None,
        }
    }
}

struct LazyConnection<'a> {
    loader: &'a ContentLoader,
    conn: Option<crate::db::PooledConnection>,
}

impl LazyConnection<'_> {
    async fn get(&mut self) -> Result<&mut diesel_async::AsyncPgConnection, LoadError> {
        if self.conn.is_none() {
            self.conn = Some(self.loader.connection().await?);
        }
        Ok(&mut **self.conn.as_mut().expect("taken above"))
    }
}

fn db_error(error: diesel::result::Error) -> LoadError {
    Arc::new(error.to_string())
}

/// The published index's current picture and the filter's text query as it
/// evaluates it — or `None`, when the database must answer (a preview, an
/// index being rebuilt, a text query shape it does not evaluate).
type Indexed = Option<(Arc<Snapshot>, Option<Arc<TsQuery>>)>;

impl ContentLoader {
    async fn indexed(
        &self,
        conn: &mut LazyConnection<'_>,
        query: &CountQuery,
    ) -> Result<Indexed, LoadError> {
        let Some(snapshot) = self.index.as_ref().and_then(SearchIndex::current) else {
            return Ok(None);
        };
        let text = match &query.filter.query {
            None => None,
            Some(text) => {
                let index = self.index.as_ref().expect("current implies an index");
                match index
                    .parse(conn.get().await?, text)
                    .await
                    .map_err(db_error)?
                {
                    Some(parsed) => Some(parsed),
                    None => return Ok(None),
                }
            }
        };
        Ok(Some((snapshot, text)))
    }

    /// Pages from the index: its order, the rows it keeps, the rest read by
    /// id (and kept).
    async fn indexed_pages(
        &self,
        conn: &mut LazyConnection<'_>,
        query: &PageQuery,
        owners: &[Uuid],
    ) -> Result<Option<HashMap<Uuid, Vec<PageRow>>>, LoadError> {
        let Some((snapshot, text)) = self.indexed(conn, &query.count).await? else {
            return Ok(None);
        };
        let Some(pages) = snapshot.pages(query, owners, text.as_deref()) else {
            return Ok(None);
        };
        let pages: Vec<(Uuid, Vec<PageEntry>)> = pages.into_iter().collect();
        let ids: Vec<Uuid> = pages
            .iter()
            .flat_map(|(_, entries)| entries.iter().map(|entry| entry.id))
            .collect();
        let mut rows = snapshot.kept_rows(&ids);
        let missing: Vec<Uuid> = ids
            .iter()
            .zip(&rows)
            .filter(|(_, row)| row.is_none())
            .map(|(id, _)| *id)
            .collect();
        if !missing.is_empty() {
            let read: Vec<(Arc<ResourceRow>, i64)> =
                index_source::published_rows(conn.get().await?, &missing)
                    .await
                    .map_err(db_error)?
                    .into_iter()
                    .map(|(row, version)| (Arc::new(row), version))
                    .collect();
            snapshot.keep_rows(&read);
            let read: HashMap<Uuid, Arc<ResourceRow>> =
                read.into_iter().map(|(row, _)| (row.id, row)).collect();
            for (id, row) in ids.iter().zip(&mut rows) {
                if row.is_none() {
                    *row = read.get(id).cloned();
                }
            }
        }
        let mut rows = rows.into_iter();
        Ok(Some(
            pages
                .into_iter()
                .map(|(owner, entries)| {
                    let rows = entries
                        .into_iter()
                        .zip(rows.by_ref())
                        // A resource unpublished since the picture was
                        // checked is left out, as a later read would.
                        .filter_map(|(entry, resource)| {
                            Some(PageRow {
                                owner,
                                resource: resource?,
                                sort_key: entry.sort_key,
                            })
                        })
                        .collect();
                    (owner, rows)
                })
                .collect(),
        ))
    }
}

/// Declares the key `$key` (an owner's id) and loads, for each owner, the
/// rows `$query` relates to it, in the order it returns them.
macro_rules! relation_loader {
    ($(#[$doc:meta])* $key:ident, $value:ty, $query:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl Loader<$key> for ContentLoader {
            type Value = Vec<$value>;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
                let mut conn = self.connection().await?;
                let rows = self
                    .reader
                    .$query(&mut conn, &ids)
                    .await
                    .map_err(db_error)?;
                Ok(group(keys, rows, $key))
            }
        }
    };
}

relation_loader!(ResourcesOfModule, ResourceRow, resources_of_modules);
relation_loader!(TagsOfModule, LabelRow, tags_of_modules);
relation_loader!(
    /// A module's hero image (none or one).
    HeroImageOf, AssetRow, hero_images_of_modules
);
relation_loader!(
    /// A resource's thumbnail (none or one).
    ThumbnailOf, AssetRow, thumbnails_of_resources
);
relation_loader!(
    /// A resource's files, in order.
    FilesOf, AssetRow, files_of_resources
);

impl Loader<LabelById> for ContentLoader {
    type Value = Label;
    type Error = LoadError;

    async fn load(&self, keys: &[LabelById]) -> Result<HashMap<LabelById, Label>, LoadError> {
        // The picture holds every published label, and is rebuilt whenever
        // one changes: one it does not hold is not published.
        if let Some(snapshot) = self.index.as_ref().and_then(SearchIndex::current) {
            return Ok(keys
                .iter()
                .filter_map(|key| Some((*key, snapshot.label(*key)?)))
                .collect());
        }
        let (mut topics, mut types, mut tags) = (Vec::new(), Vec::new(), Vec::new());
        for key in keys {
            match *key {
                LabelById::Topic(id) => topics.push(id),
                LabelById::Type(id) => types.push(id),
                LabelById::Tag(id) => tags.push(id),
            }
        }
        let mut conn = self.connection().await?;
        let rows = self
            .reader
            .labels_by_id(&mut conn, &topics, &types, &tags)
            .await
            .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|label| {
                let key = match &label {
                    Label::Topic(row) => LabelById::Topic(row.id),
                    Label::Type(row) => LabelById::Type(row.id),
                    Label::Tag(row) => LabelById::Tag(row.id),
                };
                (key, label)
            })
            .collect())
    }
}

/// Declares the key `$key` (an item's id) and loads the items `$query`
/// finds by id; an id it does not find has no value.
macro_rules! by_id_loader {
    ($key:ident, $value:ty, $query:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl Loader<$key> for ContentLoader {
            type Value = $value;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, LoadError> {
                let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
                let mut conn = self.connection().await?;
                let rows = self
                    .reader
                    .$query(&mut conn, &ids)
                    .await
                    .map_err(db_error)?;
                Ok(rows.into_iter().map(|row| ($key(row.id), row)).collect())
            }
        }
    };
}

by_id_loader!(TopicById, TopicRow, topics_by_id);
by_id_loader!(ResourceById, ResourceRow, resources_by_id);
by_id_loader!(ModuleById, ModuleRow, modules_by_id);
by_id_loader!(ResourceTypeById, LabelRow, resource_types_by_id);
by_id_loader!(TagById, LabelRow, tags_by_id);
by_id_loader!(AssetById, AssetRow, assets_by_id);

relation_loader!(ModulesOfResource, ModuleRow, modules_listing_resources);
relation_loader!(ModulesOfTag, ModuleRow, modules_tagged);
relation_loader!(ModulesOfTopic, ModuleRow, modules_of_topics);

/// One owner's page of a resource connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub query: Arc<PageQuery>,
    pub owner: Uuid,
}

/// One owner's total under a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TotalKey {
    pub query: Arc<CountQuery>,
    pub owner: Uuid,
}

/// One owner's counts for one facet dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FacetKey {
    pub query: Arc<CountQuery>,
    pub dimension: Dimension,
    pub owner: Uuid,
}

/// Groups keys by the query they share: one statement per distinct query.
fn by_query<Q: Clone + Eq + std::hash::Hash, K>(
    keys: &[K],
    split: impl Fn(&K) -> (Q, Uuid),
) -> HashMap<Q, Vec<Uuid>> {
    let mut grouped: HashMap<Q, Vec<Uuid>> = HashMap::new();
    for key in keys {
        let (query, owner) = split(key);
        grouped.entry(query).or_default().push(owner);
    }
    grouped
}

impl Loader<PageKey> for ContentLoader {
    type Value = Vec<PageRow>;
    type Error = LoadError;

    async fn load(&self, keys: &[PageKey]) -> Result<HashMap<PageKey, Vec<PageRow>>, LoadError> {
        let mut conn = self.lazy_connection();
        let mut out = HashMap::new();
        for (query, owners) in by_query(keys, |key| (key.query.clone(), key.owner)) {
            let pages = match self.indexed_pages(&mut conn, &query, &owners).await? {
                Some(pages) => pages,
                None => resource_index::pages(conn.get().await?, &query, &owners)
                    .await
                    .map_err(db_error)?,
            };
            for (owner, rows) in pages {
                out.insert(
                    PageKey {
                        query: query.clone(),
                        owner,
                    },
                    rows,
                );
            }
        }
        Ok(out)
    }
}

impl Loader<TotalKey> for ContentLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(&self, keys: &[TotalKey]) -> Result<HashMap<TotalKey, i64>, LoadError> {
        let mut conn = self.lazy_connection();
        let mut out = HashMap::new();
        for (query, owners) in by_query(keys, |key| (key.query.clone(), key.owner)) {
            let totals = match self.indexed(&mut conn, &query).await? {
                Some((snapshot, text)) => snapshot.totals(&query, &owners, text.as_deref()),
                None => resource_index::totals(conn.get().await?, &query, &owners)
                    .await
                    .map_err(db_error)?,
            };
            for (owner, total) in totals {
                out.insert(
                    TotalKey {
                        query: query.clone(),
                        owner,
                    },
                    total,
                );
            }
        }
        Ok(out)
    }
}

impl Loader<FacetKey> for ContentLoader {
    // Shared: the index keeps the same counts for every page of a filter.
    type Value = Arc<Vec<FacetCount>>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[FacetKey],
    ) -> Result<HashMap<FacetKey, Arc<Vec<FacetCount>>>, LoadError> {
        let mut conn = self.lazy_connection();
        let mut out = HashMap::new();
        let grouped = by_query(keys, |key| ((key.query.clone(), key.dimension), key.owner));
        for ((query, dimension), owners) in grouped {
            let facets = match self.indexed(&mut conn, &query).await? {
                Some((snapshot, text)) => {
                    snapshot.facets(&query, dimension, &owners, text.as_deref())
                }
                None => resource_index::facets(conn.get().await?, &query, dimension, &owners)
                    .await
                    .map_err(db_error)?,
            };
            for (owner, counts) in facets {
                out.insert(
                    FacetKey {
                        query: query.clone(),
                        dimension,
                        owner,
                    },
                    counts,
                );
            }
        }
        Ok(out)
    }
}

/// A document's workflow state (the same in every stage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MetaById(pub Uuid);

impl Loader<MetaById> for ContentLoader {
    type Value = crate::db::editorial::DocumentMeta;
    type Error = LoadError;

    async fn load(&self, keys: &[MetaById]) -> Result<HashMap<MetaById, Self::Value>, LoadError> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let mut conn = self.connection().await?;
        let rows = crate::db::editorial::metas(&mut conn, &ids)
            .await
            .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|row| (MetaById(row.id), row))
            .collect())
    }
}

/// A person or program named in the audit log, by its stored reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorRef {
    User(Uuid),
    ApiToken(Uuid),
}

/// What the audit log's reader may learn about an actor.
#[derive(Debug, Clone)]
pub struct ActorName {
    pub name: String,
    /// A user's sign-in email; none for tokens.
    pub email: Option<String>,
}

impl Loader<ActorRef> for ContentLoader {
    type Value = ActorName;
    type Error = LoadError;

    /// One statement for the users and one for the tokens of a round.
    async fn load(&self, keys: &[ActorRef]) -> Result<HashMap<ActorRef, ActorName>, LoadError> {
        let (mut user_ids, mut token_ids) = (Vec::new(), Vec::new());
        for key in keys {
            match key {
                ActorRef::User(id) => user_ids.push(*id),
                ActorRef::ApiToken(id) => token_ids.push(*id),
            }
        }
        let mut conn = self.connection().await?;
        let mut names = HashMap::new();
        if !user_ids.is_empty() {
            for user in crate::db::identity::users_by_id(&mut conn, &user_ids)
                .await
                .map_err(db_error)?
            {
                let name = ActorName {
                    name: user.display_name,
                    email: Some(user.email),
                };
                names.insert(ActorRef::User(user.id), name);
            }
        }
        if !token_ids.is_empty() {
            for token in crate::db::identity::api_tokens_by_id(&mut conn, &token_ids)
                .await
                .map_err(db_error)?
            {
                let name = ActorName {
                    name: token.name,
                    email: None,
                };
                names.insert(ActorRef::ApiToken(token.id), name);
            }
        }
        Ok(names)
    }
}

/// Loads rows that belong to documents, grouped by owner, in one statement.
/// A loader for a page of rows per document, read for many documents in
/// one statement per distinct page shape (usually there is one).
macro_rules! paged_rows_loader {
    (
        $(#[$meta:meta])* $key:ident, after: $after:ty, $value:ty,
        |$conn:ident, $ids:ident, $after_value:ident, $limit:ident| $load:expr,
        |$row:ident| $owner:expr
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key {
            pub id: Uuid,
            pub limit: i64,
            pub after: Option<$after>,
        }

        impl Loader<$key> for ContentLoader {
            type Value = Vec<$value>;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, LoadError> {
                let mut connection = self.connection().await?;
                let mut out = HashMap::new();
                for (($limit, $after_value), $ids) in
                    by_query(keys, |key| ((key.limit, key.after), key.id))
                {
                    let $conn = &mut connection;
                    let rows: Vec<$value> = $load.await.map_err(db_error)?;
                    let owned = rows.into_iter().map(|$row| ($owner, $row)).collect();
                    for (id, rows) in group(&$ids, owned, |id| id) {
                        out.insert($key { id, limit: $limit, after: $after_value }, rows);
                    }
                }
                Ok(out)
            }
        }
    };
}

paged_rows_loader!(
    /// A page of one document's comments, oldest first.
    CommentsOf,
    after: (chrono::DateTime<chrono::Utc>, Uuid),
    crate::db::editorial::CommentWithAuthor,
    |conn, ids, after, limit| crate::db::editorial::comments_of(conn, &ids, after, limit),
    |row| row.comment.document_id
);
paged_rows_loader!(
    /// A page of one document's audit entries, newest first.
    HistoryOf,
    after: i64,
    crate::db::editorial::AuditRow,
    |conn, ids, after, limit| crate::db::editorial::audit_of(conn, &ids, after, limit),
    |row| row.document_id.unwrap_or_default()
);
paged_rows_loader!(
    /// A page of one document's versions, newest first.
    VersionsOf,
    after: i32,
    crate::db::editorial::VersionRow,
    |conn, ids, after, limit| crate::db::editorial::versions_of(conn, &ids, after, limit),
    |row| row.document_id
);
