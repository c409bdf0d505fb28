//! Reading content. Every read takes a [`Stage`] and only ever sees that
//! stage's projection: this is where visibility is decided, once.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{
    assets, document_versions, documents, modules, resource_types, resources, tags, topics,
};
use super::{DbResult, Prepared};
use crate::domain::{Content, Kind, Stage};
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = topics)]
pub struct TopicRow {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub aliases: Vec<Option<String>>,
}

/// A topic, resource type or tag by id: one key type, so that a round's
/// lookups of all three kinds share one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LabelById {
    Topic(Uuid),
    Type(Uuid),
    Tag(Uuid),
}

/// A topic, a resource type or a tag.
#[derive(Debug, Clone, PartialEq)]
pub enum Label {
    Topic(Arc<TopicRow>),
    Type(Arc<LabelRow>),
    Tag(Arc<LabelRow>),
}

impl Label {
    pub fn into_topic(self) -> Option<Arc<TopicRow>> {
        match self {
            Label::Topic(row) => Some(row),
            _ => None,
        }
    }

    pub fn into_type(self) -> Option<Arc<LabelRow>> {
        match self {
            Label::Type(row) => Some(row),
            _ => None,
        }
    }

    pub fn into_tag(self) -> Option<Arc<LabelRow>> {
        match self {
            Label::Tag(row) => Some(row),
            _ => None,
        }
    }
}

#[derive(QueryableByName)]
struct AnyLabel {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Array<diesel::sql_types::Nullable<Text>>)]
    aliases: Vec<Option<String>>,
}

impl AnyLabel {
    fn into_label(self) -> Label {
        let AnyLabel {
            kind,
            id,
            slug,
            name,
            description,
            aliases,
        } = self;
        match kind.as_str() {
            "topic" => Label::Topic(Arc::new(TopicRow {
                id,
                slug,
                name,
                description,
                aliases,
            })),
            "type" => Label::Type(Arc::new(LabelRow { id, slug, name })),
            _ => Label::Tag(Arc::new(LabelRow { id, slug, name })),
        }
    }
}

/// A resource type or a tag.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName)]
pub struct LabelRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub slug: String,
    #[diesel(sql_type = Text)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = resources)]
pub struct ResourceRow {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub year: Option<i32>,
    pub url: Option<String>,
    pub publisher: Option<String>,
    pub summary: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// Its relations, in display order: resolved by id, so a page's
    /// relations cost one index lookup per kind, whatever the page size.
    pub type_ids: Vec<Option<Uuid>>,
    pub topic_ids: Vec<Option<Uuid>>,
    pub tag_ids: Vec<Option<Uuid>>,
}

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = modules)]
pub struct ModuleRow {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub topic_id: Option<Uuid>,
    pub intro: String,
    pub hero_image_alt: Option<String>,
    pub resources_heading: Option<String>,
    pub disclaimer: Option<String>,
    pub source_file: Option<String>,
    pub source_checksum: Option<String>,
}

/// An asset as one stage shows it.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = assets)]
pub struct AssetRow {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub focal_x: Option<i32>,
    pub focal_y: Option<i32>,
    pub file_sha256: String,
    pub mime_type: String,
    pub size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub blurhash: Option<String>,
    pub filename: Option<String>,
}

/// Reads of one stage.
#[derive(Debug, Clone, Copy)]
pub struct ContentReader {
    stage: &'static str,
}

/// The reads every kind of item has in a stage, written once: diesel types
/// each table apart, so a function cannot take "a table".
///
/// A page in display order by (`column`, id), after the position `after`.
macro_rules! page_by {
    ($reader:ident, $conn:ident, $table:ident, $column:ident, $after:ident, $limit:ident, $select:expr) => {{
        let mut query = $table::table
            .filter($table::stage.eq($reader.stage))
            .into_boxed();
        if let Some((value, id)) = $after {
            query = query.filter(
                $table::$column
                    .gt(value.clone())
                    .or($table::$column.eq(value.clone()).and($table::id.gt(*id))),
            );
        }
        query
            .order(($table::$column.asc(), $table::id.asc()))
            .limit($limit)
            .select($select)
            .load($conn)
            .await
    }};
}

/// The item with this slug, if the stage has it.
macro_rules! one_by_slug {
    ($reader:ident, $conn:ident, $table:ident, $slug:ident, $select:expr) => {
        $table::table
            .filter($table::stage.eq($reader.stage).and($table::slug.eq($slug)))
            .select($select)
            .first($conn)
            .await
            .optional()
    };
}

/// The items with these ids; ids naming nothing in the stage are left out.
macro_rules! all_by_id {
    ($reader:ident, $conn:ident, $table:ident, $ids:ident, $select:expr) => {
        $table::table
            .filter($table::stage.eq($reader.stage).and($table::id.eq_any($ids)))
            .select($select)
            .load($conn)
            .await
    };
}

impl ContentReader {
    pub fn new(stage: Stage) -> Self {
        ContentReader {
            stage: stage.as_str(),
        }
    }

    /// A page of topics by name, after the (name, id) position `after`.
    pub async fn topics(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&(String, Uuid)>,
        limit: i64,
    ) -> DbResult<Vec<TopicRow>> {
        page_by!(
            self,
            conn,
            topics,
            name,
            after,
            limit,
            TopicRow::as_select()
        )
    }

    pub async fn topic_by_slug(
        &self,
        conn: &mut AsyncPgConnection,
        slug: &str,
    ) -> DbResult<Option<TopicRow>> {
        one_by_slug!(self, conn, topics, slug, TopicRow::as_select())
    }

    pub async fn topics_by_id(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
    ) -> DbResult<Vec<TopicRow>> {
        all_by_id!(self, conn, topics, ids, TopicRow::as_select())
    }

    /// Topics, resource types and tags by id, all in one statement: a page's
    /// relations of every kind cost one round trip.
    pub async fn labels_by_id(
        &self,
        conn: &mut AsyncPgConnection,
        topic_ids: &[Uuid],
        type_ids: &[Uuid],
        tag_ids: &[Uuid],
    ) -> DbResult<Vec<Label>> {
        let rows: Vec<AnyLabel> = Prepared::fixed(
            diesel::sql_query(
                "SELECT 'topic' AS kind, id, slug, name, description, aliases
                   FROM topics WHERE stage = $1 AND id = ANY($2)
                 UNION ALL
                 SELECT 'type', id, slug, name, '', '{}'::text[]
                   FROM resource_types WHERE stage = $1 AND id = ANY($3)
                 UNION ALL
                 SELECT 'tag', id, slug, name, '', '{}'::text[]
                   FROM tags WHERE stage = $1 AND id = ANY($4)",
            )
            .bind::<Text, _>(self.stage)
            .bind::<Array<SqlUuid>, _>(topic_ids)
            .bind::<Array<SqlUuid>, _>(type_ids)
            .bind::<Array<SqlUuid>, _>(tag_ids),
        )
        .load(conn)
        .await?;
        Ok(rows.into_iter().map(AnyLabel::into_label).collect())
    }

    /// A page of resource types by name, after the (name, id) position
    /// `after`.
    pub async fn resource_types(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&(String, Uuid)>,
        limit: i64,
    ) -> DbResult<Vec<LabelRow>> {
        page_by!(
            self,
            conn,
            resource_types,
            name,
            after,
            limit,
            (
                resource_types::id,
                resource_types::slug,
                resource_types::name
            )
        )
    }

    /// A page of tags by name, after the (name, id) position `after`.
    pub async fn tags(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&(String, Uuid)>,
        limit: i64,
    ) -> DbResult<Vec<LabelRow>> {
        page_by!(
            self,
            conn,
            tags,
            name,
            after,
            limit,
            (tags::id, tags::slug, tags::name)
        )
    }

    /// A page of modules by title, after the (title, id) position `after`.
    pub async fn modules(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&(String, Uuid)>,
        limit: i64,
    ) -> DbResult<Vec<ModuleRow>> {
        page_by!(
            self,
            conn,
            modules,
            title,
            after,
            limit,
            ModuleRow::as_select()
        )
    }

    pub async fn module_by_slug(
        &self,
        conn: &mut AsyncPgConnection,
        slug: &str,
    ) -> DbResult<Option<ModuleRow>> {
        one_by_slug!(self, conn, modules, slug, ModuleRow::as_select())
    }

    pub async fn resources_by_id(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
    ) -> DbResult<Vec<ResourceRow>> {
        all_by_id!(self, conn, resources, ids, ResourceRow::as_select())
    }

    pub async fn resource_by_slug(
        &self,
        conn: &mut AsyncPgConnection,
        slug: &str,
    ) -> DbResult<Option<ResourceRow>> {
        one_by_slug!(self, conn, resources, slug, ResourceRow::as_select())
    }

    pub async fn modules_by_id(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
    ) -> DbResult<Vec<ModuleRow>> {
        all_by_id!(self, conn, modules, ids, ModuleRow::as_select())
    }

    pub async fn resource_types_by_id(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
    ) -> DbResult<Vec<LabelRow>> {
        all_by_id!(
            self,
            conn,
            resource_types,
            ids,
            (
                resource_types::id,
                resource_types::slug,
                resource_types::name
            )
        )
    }

    pub async fn tags_by_id(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
    ) -> DbResult<Vec<LabelRow>> {
        all_by_id!(self, conn, tags, ids, (tags::id, tags::slug, tags::name))
    }

    /// The modules of each topic (by title).
    pub async fn modules_of_topics(
        &self,
        conn: &mut AsyncPgConnection,
        topic_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, ModuleRow)>> {
        let rows: Vec<ModuleRow> = modules::table
            .filter(modules::stage.eq(self.stage))
            .filter(modules::topic_id.eq_any(topic_ids))
            .order((modules::title.asc(), modules::id.asc()))
            .select(ModuleRow::as_select())
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| row.topic_id.map(|topic| (topic, row)))
            .collect())
    }

    pub async fn modules_listing_resources(
        &self,
        conn: &mut AsyncPgConnection,
        resource_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, ModuleRow)>> {
        self.modules_containing(conn, ModuleArray::Resources, resource_ids)
            .await
    }

    pub async fn modules_tagged(
        &self,
        conn: &mut AsyncPgConnection,
        tag_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, ModuleRow)>> {
        self.modules_containing(conn, ModuleArray::Tags, tag_ids)
            .await
    }

    /// Modules listing each resource, or carrying each tag (by title).
    async fn modules_containing(
        &self,
        conn: &mut AsyncPgConnection,
        column: ModuleArray,
        target_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, ModuleRow)>> {
        let column = match column {
            ModuleArray::Resources => "resource_ids",
            ModuleArray::Tags => "tag_ids",
        };
        let rows: Vec<Owned<ModuleRow>> = Prepared::fixed(
            diesel::sql_query(format!(
                "SELECT target.id AS owner, m.id, m.slug, m.title, m.topic_id, m.intro,
                    m.hero_image_alt, m.resources_heading, m.disclaimer, m.source_file,
                    m.source_checksum
               FROM unnest($2::uuid[]) AS target(id)
               JOIN modules m ON m.stage = $1 AND m.{column} @> ARRAY[target.id]
              ORDER BY target.id, m.title, m.id"
            ))
            .bind::<Text, _>(self.stage)
            .bind::<Array<SqlUuid>, _>(target_ids),
        )
        .load(conn)
        .await?;
        Ok(Owned::into_pairs(rows))
    }

    /// Assets by id; ids naming nothing in this stage are left out.
    pub async fn assets_by_id(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
    ) -> DbResult<Vec<AssetRow>> {
        all_by_id!(self, conn, assets, ids, AssetRow::as_select())
    }

    pub async fn asset_by_slug(
        &self,
        conn: &mut AsyncPgConnection,
        slug: &str,
    ) -> DbResult<Option<AssetRow>> {
        one_by_slug!(self, conn, assets, slug, AssetRow::as_select())
    }

    pub async fn hero_images_of_modules(
        &self,
        conn: &mut AsyncPgConnection,
        module_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, AssetRow)>> {
        self.related(conn, module_ids, HERO_IMAGES).await
    }

    pub async fn thumbnails_of_resources(
        &self,
        conn: &mut AsyncPgConnection,
        resource_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, AssetRow)>> {
        self.related(conn, resource_ids, THUMBNAILS).await
    }

    pub async fn files_of_resources(
        &self,
        conn: &mut AsyncPgConnection,
        resource_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, AssetRow)>> {
        self.related(conn, resource_ids, RESOURCE_FILES).await
    }

    /// Each resource's types, in the resource's order. A link to a type not
    /// visible in this stage drops out in the join.
    pub async fn resources_of_modules(
        &self,
        conn: &mut AsyncPgConnection,
        module_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, ResourceRow)>> {
        self.related(conn, module_ids, RESOURCES_OF_MODULES).await
    }

    pub async fn tags_of_modules(
        &self,
        conn: &mut AsyncPgConnection,
        module_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, LabelRow)>> {
        self.related(conn, module_ids, TAGS_OF_MODULES).await
    }

    /// Follows an id-array relation from many owners at once, keeping each
    /// owner's order; targets are read from the same stage as the owners.
    async fn related<R>(
        &self,
        conn: &mut AsyncPgConnection,
        owner_ids: &[Uuid],
        relation: Relation,
    ) -> DbResult<Vec<(Uuid, R)>>
    where
        Owned<R>: QueryableByName<diesel::pg::Pg> + Send + 'static,
    {
        let Relation {
            owner_table,
            links,
            target_table,
            target_columns,
        } = relation;
        Prepared::fixed(
            diesel::sql_query(format!(
                "SELECT o.id AS owner, {target_columns}
               FROM {owner_table} o
              CROSS JOIN LATERAL unnest({links}) WITH ORDINALITY AS link(target, position)
               JOIN {target_table} t ON t.stage = o.stage AND t.id = link.target
              WHERE o.stage = $1 AND o.id = ANY($2)
              ORDER BY o.id, link.position"
            ))
            .bind::<Text, _>(self.stage)
            .bind::<Array<SqlUuid>, _>(owner_ids),
        )
        .load::<Owned<R>>(conn)
        .await
        .map(Owned::into_pairs)
    }
}

/// An id array on the owner (`o`) and the projection its ids are read from.
#[derive(Clone, Copy)]
struct Relation {
    owner_table: &'static str,
    links: &'static str,
    target_table: &'static str,
    target_columns: &'static str,
}

const LABEL_COLUMNS: &str = "t.id, t.slug, t.name";
const RESOURCE_COLUMNS: &str = "t.id, t.slug, t.title, t.year, t.url, t.publisher, t.summary, \
     t.published_at, t.type_ids, t.topic_ids, t.tag_ids";

const RESOURCES_OF_MODULES: Relation = Relation {
    owner_table: "modules",
    links: "o.resource_ids",
    target_table: "resources",
    target_columns: RESOURCE_COLUMNS,
};
const TAGS_OF_MODULES: Relation = Relation {
    owner_table: "modules",
    links: "o.tag_ids",
    target_table: "tags",
    target_columns: LABEL_COLUMNS,
};

const ASSET_COLUMNS: &str = "t.id, t.slug, t.title, t.alt, t.caption, t.credit, t.focal_x, \
     t.focal_y, t.file_sha256, t.mime_type, t.size, t.width, t.height, t.blurhash, t.filename";

const HERO_IMAGES: Relation = Relation {
    owner_table: "modules",
    links: "ARRAY[o.hero_image_id]",
    target_table: "assets",
    target_columns: ASSET_COLUMNS,
};
const THUMBNAILS: Relation = Relation {
    owner_table: "resources",
    links: "ARRAY[o.thumbnail_id]",
    target_table: "assets",
    target_columns: ASSET_COLUMNS,
};
const RESOURCE_FILES: Relation = Relation {
    owner_table: "resources",
    links: "o.file_ids",
    target_table: "assets",
    target_columns: ASSET_COLUMNS,
};

/// A row and the id of the document whose relation led to it.
#[derive(QueryableByName)]
struct Owned<R> {
    #[diesel(sql_type = SqlUuid)]
    owner: Uuid,
    #[diesel(embed)]
    row: R,
}

impl<R> Owned<R> {
    fn into_pairs(rows: Vec<Self>) -> Vec<(Uuid, R)> {
        rows.into_iter()
            .map(|owned| (owned.owner, owned.row))
            .collect()
    }
}

/// The id arrays on modules that point at other documents.
#[derive(Debug, Clone, Copy)]
enum ModuleArray {
    Resources,
    Tags,
}

/// A document with its current draft snapshot, and who wrote that draft.
#[derive(Debug, Clone)]
pub struct CurrentDocument {
    pub id: Uuid,
    pub kind: Kind,
    pub slug: String,
    pub seed_key: Option<String>,
    pub version: i32,
    pub content: Content,
    /// Its workflow status (`draft`, `published`, …).
    pub status: String,
    /// The author of the current draft version.
    pub author: String,
}

/// Every document with its current draft snapshot, oldest first.
pub async fn load_current_documents(
    conn: &mut AsyncPgConnection,
) -> DbResult<Vec<CurrentDocument>> {
    type Row = (
        Uuid,
        String,
        String,
        Option<String>,
        i32,
        serde_json::Value,
        String,
        String,
    );
    let rows: Vec<Row> = documents::table
        .inner_join(
            document_versions::table.on(document_versions::document_id
                .eq(documents::id)
                .and(document_versions::version.eq(documents::draft_version))),
        )
        .select((
            documents::id,
            documents::kind,
            documents::slug,
            documents::seed_key,
            documents::draft_version,
            document_versions::content,
            documents::status,
            document_versions::author,
        ))
        .order(documents::created_at.asc())
        .load(conn)
        .await?;
    rows.into_iter()
        .map(
            |(id, kind, slug, seed_key, version, json, status, author)| {
                let kind = Kind::parse(&kind).ok_or_else(|| corrupt(id, "unknown kind"))?;
                let content = Content::from_json(kind, json)
                    .map_err(|error| corrupt(id, &error.to_string()))?;
                Ok(CurrentDocument {
                    id,
                    kind,
                    slug,
                    seed_key,
                    version,
                    content,
                    status,
                    author,
                })
            },
        )
        .collect()
}

/// Every published document with its published snapshot, for export.
pub async fn load_published_documents(
    conn: &mut AsyncPgConnection,
) -> DbResult<Vec<(Uuid, Content)>> {
    let rows: Vec<(Uuid, String, serde_json::Value)> = documents::table
        .inner_join(
            document_versions::table.on(document_versions::document_id
                .eq(documents::id)
                .and(documents::published_version.eq(document_versions::version.nullable()))),
        )
        .filter(documents::status.ne("archived"))
        .select((documents::id, documents::kind, document_versions::content))
        .load(conn)
        .await?;
    decode_documents(rows)
}

/// The current draft of every item that is not archived, published or not.
pub async fn load_draft_documents(conn: &mut AsyncPgConnection) -> DbResult<Vec<(Uuid, Content)>> {
    let rows: Vec<(Uuid, String, serde_json::Value)> = documents::table
        .inner_join(
            document_versions::table.on(document_versions::document_id
                .eq(documents::id)
                .and(document_versions::version.eq(documents::draft_version))),
        )
        .filter(documents::status.ne("archived"))
        .select((documents::id, documents::kind, document_versions::content))
        .load(conn)
        .await?;
    decode_documents(rows)
}

fn decode_documents(
    rows: Vec<(Uuid, String, serde_json::Value)>,
) -> DbResult<Vec<(Uuid, Content)>> {
    rows.into_iter()
        .map(|(id, kind, json)| {
            let kind = Kind::parse(&kind).ok_or_else(|| corrupt(id, "unknown kind"))?;
            let content =
                Content::from_json(kind, json).map_err(|error| corrupt(id, &error.to_string()))?;
            Ok((id, content))
        })
        .collect()
}

/// When each document was first published (now, for those never published).
pub async fn first_published_at(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> DbResult<HashMap<Uuid, DateTime<Utc>>> {
    let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = documents::table
        .filter(documents::id.eq_any(ids))
        .select((documents::id, documents::first_published_at))
        .load(conn)
        .await?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|(id, at)| (id, at.unwrap_or(now)))
        .collect())
}

/// Whether any content exists yet (first start seeds an empty database).
pub async fn is_empty(conn: &mut AsyncPgConnection) -> DbResult<bool> {
    let any: bool = diesel::select(diesel::dsl::exists(documents::table.select(documents::id)))
        .get_result(conn)
        .await?;
    Ok(!any)
}

fn corrupt(id: Uuid, what: &str) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("document {id}: {what}").into())
}

/// How long the lists that grow with the content are at most, in either
/// stage: (type, field, length), for costing queries by what they return.
pub async fn list_lengths(
    conn: &mut AsyncPgConnection,
) -> DbResult<Vec<(&'static str, &'static str, i64)>> {
    #[derive(QueryableByName)]
    struct Lengths {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tag_modules: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        topics: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        resource_types: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tags: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        module_resources: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        module_tags: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        resource_topics: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        resource_types_each: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        resource_tags: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        resource_modules: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        years: i64,
    }
    let row: Lengths = Prepared::fixed(diesel::sql_query(
        "SELECT
           (SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM modules, unnest(tag_ids) AS l(id)
                                             GROUP BY stage, l.id) x) AS tag_modules,
           (SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM topics GROUP BY stage) x) AS topics,
           (SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM resource_types GROUP BY stage) x)
               AS resource_types,
           (SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM tags GROUP BY stage) x) AS tags,
           (SELECT coalesce(max(cardinality(resource_ids)), 0)::int8 FROM modules) AS module_resources,
           (SELECT coalesce(max(cardinality(tag_ids)), 0)::int8 FROM modules) AS module_tags,
           r.topics AS resource_topics, r.types AS resource_types_each, r.tags AS resource_tags,
           (SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM modules, unnest(resource_ids) AS l(id)
                                             GROUP BY stage, l.id) x) AS resource_modules,
           (SELECT coalesce(max(n), 0) FROM (SELECT count(DISTINCT year) n FROM resources GROUP BY stage) x)
               AS years
         FROM (SELECT coalesce(max(cardinality(topic_ids)), 0)::int8 AS topics,
                      coalesce(max(cardinality(type_ids)), 0)::int8 AS types,
                      coalesce(max(cardinality(tag_ids)), 0)::int8 AS tags
                 FROM resources) AS r",
    ))
    .get_result(conn)
    .await?;
    Ok(vec![
        ("Module", "resources", row.module_resources),
        ("Module", "tags", row.module_tags),
        ("Resource", "topics", row.resource_topics),
        ("Resource", "types", row.resource_types_each),
        ("Resource", "tags", row.resource_tags),
        ("Resource", "modules", row.resource_modules),
        ("Tag", "modules", row.tag_modules),
        ("ResourceFacets", "topics", row.topics),
        ("ResourceFacets", "types", row.resource_types),
        ("ResourceFacets", "tags", row.tags),
        ("ResourceFacets", "years", row.years),
    ])
}
