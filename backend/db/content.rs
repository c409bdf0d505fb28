//! Reading content. Every read takes a [`Stage`] and only ever sees that
//! stage's projection: this is where visibility is decided, once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::DbResult;
use super::schema::{
    document_versions, documents, module_resources, module_tags, modules, resource_tags,
    resource_topics, resource_type_links, resource_types, resources, tags, topics,
};
use crate::domain::{Content, Kind, Stage};
use crate::seed::resolve::WorkingDocument;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = topics)]
pub struct TopicRow {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub aliases: Vec<Option<String>>,
}

/// A resource type or a tag.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct LabelRow {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
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
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
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

/// Reads of one stage.
#[derive(Debug, Clone, Copy)]
pub struct ContentReader {
    stage: &'static str,
}

impl ContentReader {
    pub fn new(stage: Stage) -> Self {
        ContentReader {
            stage: stage.as_str(),
        }
    }

    pub async fn topics(&self, conn: &mut AsyncPgConnection) -> DbResult<Vec<TopicRow>> {
        topics::table
            .filter(topics::stage.eq(self.stage))
            .order((topics::name.asc(), topics::id.asc()))
            .select(TopicRow::as_select())
            .load(conn)
            .await
    }

    pub async fn topic_by_slug(
        &self,
        conn: &mut AsyncPgConnection,
        slug: &str,
    ) -> DbResult<Option<TopicRow>> {
        topics::table
            .filter(topics::stage.eq(self.stage).and(topics::slug.eq(slug)))
            .select(TopicRow::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn topics_by_id(
        &self,
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
    ) -> DbResult<Vec<TopicRow>> {
        topics::table
            .filter(topics::stage.eq(self.stage).and(topics::id.eq_any(ids)))
            .select(TopicRow::as_select())
            .load(conn)
            .await
    }

    pub async fn resource_types(&self, conn: &mut AsyncPgConnection) -> DbResult<Vec<LabelRow>> {
        resource_types::table
            .filter(resource_types::stage.eq(self.stage))
            .order((resource_types::name.asc(), resource_types::id.asc()))
            .select((resource_types::id, resource_types::slug, resource_types::name))
            .load(conn)
            .await
    }

    pub async fn tags(&self, conn: &mut AsyncPgConnection) -> DbResult<Vec<LabelRow>> {
        tags::table
            .filter(tags::stage.eq(self.stage))
            .order((tags::name.asc(), tags::id.asc()))
            .select((tags::id, tags::slug, tags::name))
            .load(conn)
            .await
    }

    pub async fn modules(&self, conn: &mut AsyncPgConnection) -> DbResult<Vec<ModuleRow>> {
        modules::table
            .filter(modules::stage.eq(self.stage))
            .order((modules::title.asc(), modules::id.asc()))
            .select(ModuleRow::as_select())
            .load(conn)
            .await
    }

    pub async fn module_by_slug(
        &self,
        conn: &mut AsyncPgConnection,
        slug: &str,
    ) -> DbResult<Option<ModuleRow>> {
        modules::table
            .filter(modules::stage.eq(self.stage).and(modules::slug.eq(slug)))
            .select(ModuleRow::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// A page of resources in title order, after the (title, id) position
    /// `after`; one more than `limit` is read to tell whether more follow.
    pub async fn resources_page(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<(&str, Uuid)>,
        limit: i64,
    ) -> DbResult<Vec<ResourceRow>> {
        let mut query = resources::table
            .filter(resources::stage.eq(self.stage))
            .order((resources::title.asc(), resources::id.asc()))
            .select(ResourceRow::as_select())
            .limit(limit)
            .into_boxed();
        if let Some((title, id)) = after {
            query = query.filter(
                resources::title
                    .gt(title.to_string())
                    .or(resources::title.eq(title.to_string()).and(resources::id.gt(id))),
            );
        }
        query.load(conn).await
    }

    pub async fn resource_count(&self, conn: &mut AsyncPgConnection) -> DbResult<i64> {
        resources::table
            .filter(resources::stage.eq(self.stage))
            .count()
            .get_result(conn)
            .await
    }

    /// Each resource's types, in the resource's order. Links to a type not
    /// visible in this stage drop out in the join.
    pub async fn types_of_resources(
        &self,
        conn: &mut AsyncPgConnection,
        resource_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, LabelRow)>> {
        resource_type_links::table
            .inner_join(
                resource_types::table.on(resource_types::stage
                    .eq(resource_type_links::stage)
                    .and(resource_types::id.eq(resource_type_links::resource_type_id))),
            )
            .filter(resource_type_links::stage.eq(self.stage))
            .filter(resource_type_links::resource_id.eq_any(resource_ids))
            .order((resource_type_links::resource_id, resource_type_links::position))
            .select((
                resource_type_links::resource_id,
                (resource_types::id, resource_types::slug, resource_types::name),
            ))
            .load(conn)
            .await
    }

    pub async fn topics_of_resources(
        &self,
        conn: &mut AsyncPgConnection,
        resource_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, TopicRow)>> {
        resource_topics::table
            .inner_join(
                topics::table.on(topics::stage
                    .eq(resource_topics::stage)
                    .and(topics::id.eq(resource_topics::topic_id))),
            )
            .filter(resource_topics::stage.eq(self.stage))
            .filter(resource_topics::resource_id.eq_any(resource_ids))
            .order((resource_topics::resource_id, resource_topics::position))
            .select((resource_topics::resource_id, TopicRow::as_select()))
            .load(conn)
            .await
    }

    pub async fn tags_of_resources(
        &self,
        conn: &mut AsyncPgConnection,
        resource_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, LabelRow)>> {
        resource_tags::table
            .inner_join(
                tags::table.on(tags::stage
                    .eq(resource_tags::stage)
                    .and(tags::id.eq(resource_tags::tag_id))),
            )
            .filter(resource_tags::stage.eq(self.stage))
            .filter(resource_tags::resource_id.eq_any(resource_ids))
            .order((resource_tags::resource_id, resource_tags::position))
            .select((resource_tags::resource_id, (tags::id, tags::slug, tags::name)))
            .load(conn)
            .await
    }

    /// Each module's resources, in page order.
    pub async fn resources_of_modules(
        &self,
        conn: &mut AsyncPgConnection,
        module_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, ResourceRow)>> {
        module_resources::table
            .inner_join(
                resources::table.on(resources::stage
                    .eq(module_resources::stage)
                    .and(resources::id.eq(module_resources::resource_id))),
            )
            .filter(module_resources::stage.eq(self.stage))
            .filter(module_resources::module_id.eq_any(module_ids))
            .order((module_resources::module_id, module_resources::position))
            .select((module_resources::module_id, ResourceRow::as_select()))
            .load(conn)
            .await
    }

    pub async fn tags_of_modules(
        &self,
        conn: &mut AsyncPgConnection,
        module_ids: &[Uuid],
    ) -> DbResult<Vec<(Uuid, LabelRow)>> {
        module_tags::table
            .inner_join(
                tags::table.on(tags::stage
                    .eq(module_tags::stage)
                    .and(tags::id.eq(module_tags::tag_id))),
            )
            .filter(module_tags::stage.eq(self.stage))
            .filter(module_tags::module_id.eq_any(module_ids))
            .order((module_tags::module_id, module_tags::position))
            .select((module_tags::module_id, (tags::id, tags::slug, tags::name)))
            .load(conn)
            .await
    }
}

/// Every document with its current draft snapshot, for the seed resolver.
pub async fn load_current_documents(
    conn: &mut AsyncPgConnection,
) -> DbResult<Vec<WorkingDocument>> {
    let rows: Vec<(Uuid, String, String, Option<String>, i32, serde_json::Value)> =
        documents::table
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
            ))
            .order(documents::created_at.asc())
            .load(conn)
            .await?;
    rows.into_iter()
        .map(|(id, kind, slug, seed_key, version, json)| {
            let kind = Kind::parse(&kind).ok_or_else(|| corrupt(id, "unknown kind"))?;
            let content =
                Content::from_json(kind, json).map_err(|error| corrupt(id, &error.to_string()))?;
            Ok(WorkingDocument {
                id,
                kind,
                slug,
                seed_key,
                version,
                original: Some(content.clone()),
                content,
                origin: None,
            })
        })
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
