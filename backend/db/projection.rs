//! Writing documents, versions and the relational projections of snapshots.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Int4, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::DbResult;
use super::schema::{
    document_versions, documents, modules, resource_types, resources, tags, topics,
};
use crate::domain::{Content, Kind, Stage};

/// PostgreSQL takes at most 65,535 bind parameters per statement.
const MAX_PARAMETERS: usize = 65_535;

fn chunk_size(columns: usize) -> usize {
    MAX_PARAMETERS / columns
}

#[derive(Debug, Insertable)]
#[diesel(table_name = documents)]
pub struct NewDocument<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub slug: &'a str,
    pub seed_key: Option<&'a str>,
    pub status: &'a str,
    pub draft_version: i32,
    pub published_version: Option<i32>,
    pub first_published_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = document_versions)]
pub struct NewVersion<'a> {
    pub document_id: Uuid,
    pub version: i32,
    pub content: serde_json::Value,
    pub author: &'a str,
    pub seed_run_id: Option<Uuid>,
    pub message: &'a str,
}

pub async fn insert_documents(
    conn: &mut AsyncPgConnection,
    rows: &[NewDocument<'_>],
) -> DbResult<()> {
    for chunk in rows.chunks(chunk_size(9)) {
        diesel::insert_into(documents::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

pub async fn insert_versions(
    conn: &mut AsyncPgConnection,
    rows: &[NewVersion<'_>],
) -> DbResult<()> {
    for chunk in rows.chunks(chunk_size(6)) {
        diesel::insert_into(document_versions::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Points existing documents at a new version and publishes it.
pub async fn publish_existing(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    versions: &[i32],
    slugs: &[String],
    seed_keys: &[Option<String>],
) -> DbResult<()> {
    diesel::sql_query(
        "UPDATE documents AS d
            SET draft_version = v.version,
                published_version = v.version,
                status = 'published',
                slug = v.slug,
                seed_key = v.seed_key,
                published_at = now(),
                first_published_at = coalesce(d.first_published_at, now()),
                updated_at = now()
           FROM unnest($1, $2, $3, $4) AS v(id, version, slug, seed_key)
          WHERE d.id = v.id",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Int4>, _>(versions)
    .bind::<Array<Text>, _>(slugs)
    .bind::<Array<Nullable<Text>>, _>(seed_keys)
    .execute(conn)
    .await?;
    Ok(())
}

/// One document's snapshot to project into a stage.
pub struct ProjectedItem<'a> {
    pub id: Uuid,
    pub version: i32,
    pub content: &'a Content,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Insertable)]
#[diesel(table_name = topics)]
struct TopicRow<'a> {
    stage: &'a str,
    id: Uuid,
    version: i32,
    slug: &'a str,
    name: &'a str,
    description: &'a str,
    aliases: Vec<Option<&'a str>>,
}

#[derive(Insertable)]
#[diesel(table_name = resource_types)]
struct ResourceTypeRow<'a> {
    stage: &'a str,
    id: Uuid,
    version: i32,
    slug: &'a str,
    name: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = tags)]
struct TagRow<'a> {
    stage: &'a str,
    id: Uuid,
    version: i32,
    slug: &'a str,
    name: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = resources)]
struct ResourceRow<'a> {
    stage: &'a str,
    id: Uuid,
    version: i32,
    slug: &'a str,
    title: &'a str,
    year: Option<i32>,
    url: Option<&'a str>,
    publisher: Option<&'a str>,
    summary: Option<&'a str>,
    published_at: Option<DateTime<Utc>>,
}

#[derive(Insertable)]
#[diesel(table_name = modules)]
struct ModuleRow<'a> {
    stage: &'a str,
    id: Uuid,
    version: i32,
    slug: &'a str,
    title: &'a str,
    topic_id: Option<Uuid>,
    intro: &'a str,
    hero_image_alt: Option<&'a str>,
    resources_heading: Option<&'a str>,
    disclaimer: Option<&'a str>,
    source_file: Option<&'a str>,
    source_checksum: Option<&'a str>,
}

/// Replaces the `stage` projection of every given document by its snapshot.
pub async fn project(
    conn: &mut AsyncPgConnection,
    stage: Stage,
    items: &[ProjectedItem<'_>],
) -> DbResult<()> {
    let stage_name = stage.as_str();
    for kind in Kind::ALL {
        let ids: Vec<Uuid> = items
            .iter()
            .filter(|item| item.content.kind() == kind)
            .map(|item| item.id)
            .collect();
        if !ids.is_empty() {
            remove(conn, stage, kind, &ids).await?;
        }
    }

    let mut topic_rows = Vec::new();
    let mut type_rows = Vec::new();
    let mut tag_rows = Vec::new();
    let mut resource_rows = Vec::new();
    let mut module_rows = Vec::new();
    // (stage, owner, target, position) for every link table
    let mut type_links = Vec::new();
    let mut topic_links = Vec::new();
    let mut resource_tag_links = Vec::new();
    let mut module_resource_links = Vec::new();
    let mut module_tag_links = Vec::new();

    for item in items {
        let (id, version) = (item.id, item.version);
        match item.content {
            Content::Topic(topic) => topic_rows.push(TopicRow {
                stage: stage_name,
                id,
                version,
                slug: &topic.slug,
                name: &topic.name,
                description: &topic.description,
                aliases: topic.aliases.iter().map(|alias| Some(alias.as_str())).collect(),
            }),
            Content::ResourceType(label) => type_rows.push(ResourceTypeRow {
                stage: stage_name,
                id,
                version,
                slug: &label.slug,
                name: &label.name,
            }),
            Content::Tag(label) => tag_rows.push(TagRow {
                stage: stage_name,
                id,
                version,
                slug: &label.slug,
                name: &label.name,
            }),
            Content::Resource(resource) => {
                resource_rows.push(ResourceRow {
                    stage: stage_name,
                    id,
                    version,
                    slug: &resource.slug,
                    title: &resource.title,
                    year: resource.year,
                    url: resource.url.as_deref(),
                    publisher: resource.publisher.as_deref(),
                    summary: resource.summary.as_deref(),
                    published_at: item.published_at,
                });
                links(&mut type_links, id, &resource.types);
                links(&mut topic_links, id, &resource.topics);
                links(&mut resource_tag_links, id, &resource.tags);
            }
            Content::Module(module) => {
                module_rows.push(ModuleRow {
                    stage: stage_name,
                    id,
                    version,
                    slug: &module.slug,
                    title: &module.title,
                    topic_id: module.topic,
                    intro: &module.intro,
                    hero_image_alt: module.hero_image_alt.as_deref(),
                    resources_heading: module.resources_heading.as_deref(),
                    disclaimer: module.disclaimer.as_deref(),
                    source_file: module.source.as_ref().map(|source| source.file.as_str()),
                    source_checksum: module
                        .source
                        .as_ref()
                        .map(|source| source.checksum.as_str()),
                });
                links(&mut module_resource_links, id, &module.resources);
                links(&mut module_tag_links, id, &module.tags);
            }
        }
    }

    for chunk in topic_rows.chunks(chunk_size(7)) {
        diesel::insert_into(topics::table).values(chunk).execute(conn).await?;
    }
    for chunk in type_rows.chunks(chunk_size(5)) {
        diesel::insert_into(resource_types::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    for chunk in tag_rows.chunks(chunk_size(5)) {
        diesel::insert_into(tags::table).values(chunk).execute(conn).await?;
    }
    for chunk in resource_rows.chunks(chunk_size(10)) {
        diesel::insert_into(resources::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    for chunk in module_rows.chunks(chunk_size(12)) {
        diesel::insert_into(modules::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    insert_links(conn, stage, LinkTable::ResourceTypes, &type_links).await?;
    insert_links(conn, stage, LinkTable::ResourceTopics, &topic_links).await?;
    insert_links(conn, stage, LinkTable::ResourceTags, &resource_tag_links).await?;
    insert_links(conn, stage, LinkTable::ModuleResources, &module_resource_links).await?;
    insert_links(conn, stage, LinkTable::ModuleTags, &module_tag_links).await?;
    Ok(())
}

fn links(out: &mut Vec<(Uuid, Uuid, i32)>, owner: Uuid, targets: &[Uuid]) {
    out.extend(
        targets
            .iter()
            .enumerate()
            .map(|(position, target)| (owner, *target, position as i32)),
    );
}

#[derive(Clone, Copy)]
enum LinkTable {
    ResourceTypes,
    ResourceTopics,
    ResourceTags,
    ModuleResources,
    ModuleTags,
}

/// Link rows go in as three parallel arrays: one statement per table however
/// many links there are.
async fn insert_links(
    conn: &mut AsyncPgConnection,
    stage: Stage,
    table: LinkTable,
    rows: &[(Uuid, Uuid, i32)],
) -> DbResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let statement = match table {
        LinkTable::ResourceTypes => {
            "INSERT INTO resource_type_links (stage, resource_id, resource_type_id, position)
             SELECT $1, * FROM unnest($2, $3, $4)"
        }
        LinkTable::ResourceTopics => {
            "INSERT INTO resource_topics (stage, resource_id, topic_id, position)
             SELECT $1, * FROM unnest($2, $3, $4)"
        }
        LinkTable::ResourceTags => {
            "INSERT INTO resource_tags (stage, resource_id, tag_id, position)
             SELECT $1, * FROM unnest($2, $3, $4)"
        }
        LinkTable::ModuleResources => {
            "INSERT INTO module_resources (stage, module_id, resource_id, position)
             SELECT $1, * FROM unnest($2, $3, $4)"
        }
        LinkTable::ModuleTags => {
            "INSERT INTO module_tags (stage, module_id, tag_id, position)
             SELECT $1, * FROM unnest($2, $3, $4)"
        }
    };
    let owners: Vec<Uuid> = rows.iter().map(|row| row.0).collect();
    let targets: Vec<Uuid> = rows.iter().map(|row| row.1).collect();
    let positions: Vec<i32> = rows.iter().map(|row| row.2).collect();
    diesel::sql_query(statement)
        .bind::<Text, _>(stage.as_str())
        .bind::<Array<SqlUuid>, _>(owners)
        .bind::<Array<SqlUuid>, _>(targets)
        .bind::<Array<Int4>, _>(positions)
        .execute(conn)
        .await?;
    Ok(())
}

/// Drops documents' projection rows in a stage; link rows go with them.
async fn remove(
    conn: &mut AsyncPgConnection,
    stage: Stage,
    kind: Kind,
    ids: &[Uuid],
) -> DbResult<()> {
    let stage = stage.as_str();
    match kind {
        Kind::Topic => {
            diesel::delete(topics::table.filter(topics::stage.eq(stage).and(topics::id.eq_any(ids))))
                .execute(conn)
                .await?
        }
        Kind::ResourceType => {
            diesel::delete(
                resource_types::table
                    .filter(resource_types::stage.eq(stage).and(resource_types::id.eq_any(ids))),
            )
            .execute(conn)
            .await?
        }
        Kind::Tag => {
            diesel::delete(tags::table.filter(tags::stage.eq(stage).and(tags::id.eq_any(ids))))
                .execute(conn)
                .await?
        }
        Kind::Resource => {
            diesel::delete(
                resources::table.filter(resources::stage.eq(stage).and(resources::id.eq_any(ids))),
            )
            .execute(conn)
            .await?
        }
        Kind::Module => {
            diesel::delete(modules::table.filter(modules::stage.eq(stage).and(modules::id.eq_any(ids))))
                .execute(conn)
                .await?
        }
    };
    Ok(())
}
