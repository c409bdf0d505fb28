//! The content types partners query. Each wraps a projection row; relations
//! go through the request's loaders.

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Interface, Result};

use super::connection::{
    ConnectionArgs, ResourceConnection, ResourceFilter, ResourceOrder, connection,
};
use crate::db::content::{Label, LabelRow, ModuleRow, ResourceRow, TopicRow};
use crate::db::resource_index::Scope;
use crate::domain::Stage;
use crate::graphql::access::loaders;
use crate::graphql::editorial::editor_fields;
use crate::graphql::error::internal;
use crate::graphql::ids::{NodeType, encode};
use crate::graphql::loaders::{
    ContentLoader, LabelById, ModulesOfResource, ModulesOfTag, ModulesOfTopic, ResourcesOfModule,
    TagsOfModule, TopicById,
};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Relay global object identification: anything with a global id can be
/// fetched again with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
pub enum Node {
    Module(Module),
    Resource(Resource),
    Topic(Topic),
    ResourceType(ResourceType),
    Tag(Tag),
}

/// Any content item, as workflow mutations return it.
// Two fields share a type; clippy mistakes them for one attribute twice.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface)]
#[graphql(
    name = "Content",
    field(name = "id", ty = "ID", desc = "Opaque global id."),
    field(
        name = "status",
        ty = "Option<crate::graphql::editorial::ContentStatus>",
        desc = "Workflow state; null without the PREVIEW permission."
    ),
    field(
        name = "version",
        ty = "Option<i32>",
        desc = "The current draft version: pass it as `expectedVersion`. Null without the PREVIEW permission."
    ),
    field(
        name = "published_version",
        ty = "Option<i32>",
        desc = "The version the public sees; null when none is, or without the PREVIEW permission."
    ),
    field(
        name = "allowed_actions",
        ty = "Option<Vec<crate::graphql::editorial::ContentAction>>",
        desc = "The workflow actions you may take on it now: its state allows them and so does your role. Null without the PREVIEW permission."
    )
)]
pub enum ContentItem {
    Module(Module),
    Resource(Resource),
    Topic(Topic),
    ResourceType(ResourceType),
    Tag(Tag),
}

fn modules(stage: Stage, rows: Vec<ModuleRow>) -> Vec<Module> {
    rows.into_iter().map(Module::at(stage)).collect()
}

async fn load_many<K>(
    ctx: &Context<'_>,
    stage: Stage,
    key: K,
) -> Result<<ContentLoader as Loader<K>>::Value>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    ContentLoader: Loader<K, Error = crate::graphql::loaders::LoadError>,
    <ContentLoader as Loader<K>>::Value: Default,
{
    Ok(loaders(ctx, stage)?
        .load_one(key)
        .await
        .map_err(internal)?
        .unwrap_or_default())
}

/// The items `ids` name, in their order, read from `stage`: one batched
/// lookup by primary key for all the owners resolved in the same round.
/// An id naming nothing in this stage (an unpublished item, say) is left
/// out, just as the public never sees it.
async fn load_in_order<K>(
    ctx: &Context<'_>,
    stage: Stage,
    ids: &[Option<Uuid>],
    key: fn(Uuid) -> K,
) -> Result<Vec<<ContentLoader as Loader<K>>::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    ContentLoader: Loader<K, Error = crate::graphql::loaders::LoadError>,
{
    let keys: Vec<K> = ids.iter().flatten().map(|id| key(*id)).collect();
    let mut found = loaders(ctx, stage)?
        .load_many(keys.iter().cloned())
        .await
        .map_err(internal)?;
    Ok(keys.iter().filter_map(|key| found.remove(key)).collect())
}

/// A practice area, such as "Community Trust and Partnerships".
pub struct Topic {
    pub row: Arc<TopicRow>,
    /// The stage it was read from; everything reached through it is read
    /// from the same stage.
    pub stage: Stage,
}

impl Topic {
    pub fn at(stage: Stage) -> impl Fn(TopicRow) -> Topic {
        move |row| Topic {
            row: Arc::new(row),
            stage,
        }
    }

    /// A topic from a row other items share (a page's labels).
    pub fn shared(stage: Stage) -> impl Fn(Arc<TopicRow>) -> Topic {
        move |row| Topic { row, stage }
    }
}

editor_fields! {
    /// A practice area, such as "Community Trust and Partnerships".
    Topic {
        /// Opaque global id.
        async fn id(&self) -> ID {
            encode(NodeType::Topic, self.row.id)
        }
        /// URL-safe name, unique among topics and stable once published.
        async fn slug(&self) -> &str {
            &self.row.slug
        }
        /// Display name.
        async fn name(&self) -> &str {
            &self.row.name
        }
        /// What the practice area covers; empty when none was written.
        async fn description(&self) -> &str {
            &self.row.description
        }
        /// Other names that resolve to this topic (e.g. former names).
        async fn aliases(&self) -> Vec<&str> {
            self.row
                .aliases
                .iter()
                .flatten()
                .map(String::as_str)
                .collect()
        }
        /// The guidance module for this practice area, if there is one.
        async fn module(&self, ctx: &Context<'_>) -> Result<Option<Module>> {
            let rows = load_many(ctx, self.stage, ModulesOfTopic(self.row.id)).await?;
            Ok(rows.into_iter().next().map(Module::at(self.stage)))
        }
        /// Resources in this topic, a page at a time (as the root `resources`).
        #[allow(clippy::too_many_arguments)]
        async fn resources(
            &self,
            #[graphql(desc = "Narrows the result; the topic itself always applies.")] filter: Option<
                ResourceFilter,
            >,
            #[graphql(desc = "Sort keys; by title when omitted (relevance with a query).")]
            order_by: Option<Vec<ResourceOrder>>,
            #[graphql(desc = "Page size going forward: 20 when omitted, at most 100.")] first: Option<
                i32,
            >,
            #[graphql(desc = "Cursor after which the page starts.")] after: Option<String>,
            #[graphql(desc = "Page size going backward, at most 100.")] last: Option<i32>,
            #[graphql(desc = "Cursor before which the page ends.")] before: Option<String>,
        ) -> Result<ResourceConnection> {
            let args = ConnectionArgs {
                filter,
                order_by,
                first,
                after,
                last,
                before,
            };
            connection(Scope::Topic, self.row.id, self.stage, args)
        }
    }
}

/// A kind of resource, such as "Guidebook/Tool", "Video" or "Report".
pub struct ResourceType {
    pub row: Arc<LabelRow>,
    /// The stage it was read from; everything reached through it is read
    /// from the same stage.
    pub stage: Stage,
}

impl ResourceType {
    pub fn at(stage: Stage) -> impl Fn(LabelRow) -> ResourceType {
        move |row| ResourceType {
            row: Arc::new(row),
            stage,
        }
    }

    /// A label from a row other items share (a page's labels).
    pub fn shared(stage: Stage) -> impl Fn(Arc<LabelRow>) -> ResourceType {
        move |row| ResourceType { row, stage }
    }
}

editor_fields! {
    /// A kind of resource, such as "Guidebook/Tool", "Video" or "Report".
    ResourceType {
        /// Opaque global id.
        async fn id(&self) -> ID {
            encode(NodeType::ResourceType, self.row.id)
        }
        /// URL-safe name, unique among resource types.
        async fn slug(&self) -> &str {
            &self.row.slug
        }
        /// Display name.
        async fn name(&self) -> &str {
            &self.row.name
        }
        /// Resources of this type, a page at a time (as the root `resources`).
        #[allow(clippy::too_many_arguments)]
        async fn resources(
            &self,
            #[graphql(desc = "Narrows the result; the type itself always applies.")] filter: Option<
                ResourceFilter,
            >,
            #[graphql(desc = "Sort keys; by title when omitted (relevance with a query).")]
            order_by: Option<Vec<ResourceOrder>>,
            #[graphql(desc = "Page size going forward: 20 when omitted, at most 100.")] first: Option<
                i32,
            >,
            #[graphql(desc = "Cursor after which the page starts.")] after: Option<String>,
            #[graphql(desc = "Page size going backward, at most 100.")] last: Option<i32>,
            #[graphql(desc = "Cursor before which the page ends.")] before: Option<String>,
        ) -> Result<ResourceConnection> {
            let args = ConnectionArgs {
                filter,
                order_by,
                first,
                after,
                last,
                before,
            };
            connection(Scope::ResourceType, self.row.id, self.stage, args)
        }
    }
}

/// A free-form editorial label on resources and modules.
pub struct Tag {
    pub row: Arc<LabelRow>,
    /// The stage it was read from; everything reached through it is read
    /// from the same stage.
    pub stage: Stage,
}

impl Tag {
    pub fn at(stage: Stage) -> impl Fn(LabelRow) -> Tag {
        move |row| Tag {
            row: Arc::new(row),
            stage,
        }
    }

    /// A label from a row other items share (a page's labels).
    pub fn shared(stage: Stage) -> impl Fn(Arc<LabelRow>) -> Tag {
        move |row| Tag { row, stage }
    }
}

editor_fields! {
    /// A free-form editorial label on resources and modules.
    Tag {
        /// Opaque global id.
        async fn id(&self) -> ID {
            encode(NodeType::Tag, self.row.id)
        }
        /// URL-safe name, unique among tags.
        async fn slug(&self) -> &str {
            &self.row.slug
        }
        /// Display name.
        async fn name(&self) -> &str {
            &self.row.name
        }
        /// Resources with this tag, a page at a time (as the root `resources`).
        #[allow(clippy::too_many_arguments)]
        async fn resources(
            &self,
            #[graphql(desc = "Narrows the result; the tag itself always applies.")] filter: Option<
                ResourceFilter,
            >,
            #[graphql(desc = "Sort keys; by title when omitted (relevance with a query).")]
            order_by: Option<Vec<ResourceOrder>>,
            #[graphql(desc = "Page size going forward: 20 when omitted, at most 100.")] first: Option<
                i32,
            >,
            #[graphql(desc = "Cursor after which the page starts.")] after: Option<String>,
            #[graphql(desc = "Page size going backward, at most 100.")] last: Option<i32>,
            #[graphql(desc = "Cursor before which the page ends.")] before: Option<String>,
        ) -> Result<ResourceConnection> {
            let args = ConnectionArgs {
                filter,
                order_by,
                first,
                after,
                last,
                before,
            };
            connection(Scope::Tag, self.row.id, self.stage, args)
        }
        /// Modules with this tag, by title.
        async fn modules(&self, ctx: &Context<'_>) -> Result<Vec<Module>> {
            Ok(modules(
                self.stage,
                load_many(ctx, self.stage, ModulesOfTag(self.row.id)).await?,
            ))
        }
    }
}

/// A guidebook, report, video, research brief or other piece of guidance.
pub struct Resource {
    pub row: ResourceRow,
    /// The stage it was read from; everything reached through it is read
    /// from the same stage.
    pub stage: Stage,
    /// The labels of the page it was listed on, when it was.
    page_labels: Option<Arc<PageLabels>>,
}

impl Resource {
    pub fn at(stage: Stage) -> impl Fn(ResourceRow) -> Resource {
        move |row| Resource {
            row,
            stage,
            page_labels: None,
        }
    }

    /// The resources of one page (a connection's, a module's), sharing one
    /// lookup of the topics, types and tags `wanted` names.
    pub fn page(stage: Stage, rows: Vec<ResourceRow>, wanted: LabelKinds) -> Vec<Resource> {
        let page_labels = Arc::new(PageLabels::of(&rows, wanted));
        rows.into_iter()
            .map(|row| Resource {
                row,
                stage,
                page_labels: Some(page_labels.clone()),
            })
            .collect()
    }

    /// The labels `ids` name, in their order.
    async fn labels(
        &self,
        ctx: &Context<'_>,
        ids: &[Option<Uuid>],
        key: fn(Uuid) -> LabelById,
    ) -> Result<Vec<Label>> {
        let Some(page) = self
            .page_labels
            .as_ref()
            .filter(|page| page.wanted.includes(key))
        else {
            return load_in_order(ctx, self.stage, ids, key).await;
        };
        // Straight to the loader's statement: the keys are already known
        // and distinct, and the request-wide cache and batching cost more
        // per key (four hash maps each) than the lookup itself.
        // The outcome is kept either way: a failed lookup is tried once per
        // page, not once more by each of its resources.
        let found = page
            .loaded
            .get_or_init(|| async {
                let loader = loaders(ctx, self.stage)?.loader();
                Loader::<LabelById>::load(loader, &page.keys)
                    .await
                    .map_err(internal)
            })
            .await
            .as_ref()
            .map_err(Clone::clone)?;
        Ok(ids
            .iter()
            .flatten()
            .filter_map(|id| found.get(&key(*id)).cloned())
            .collect())
    }
}

/// The topics, types and tags a page of resources shows, looked up in one
/// statement for the page by whichever of its resources asks first. Going
/// through the request's loader per resource and relation (60 calls for a
/// page of 20) cost a quarter of the server's time in the profile of such a
/// page, though the loader already made it one statement.
pub struct PageLabels {
    wanted: LabelKinds,
    keys: Vec<LabelById>,
    loaded: tokio::sync::OnceCell<Result<HashMap<LabelById, Label>>>,
}

impl PageLabels {
    fn of(rows: &[ResourceRow], wanted: LabelKinds) -> Self {
        let mut keys: Vec<LabelById> = Vec::new();
        for row in rows {
            if wanted.topics {
                keys.extend(
                    row.topic_ids
                        .iter()
                        .flatten()
                        .map(|id| LabelById::Topic(*id)),
                );
            }
            if wanted.types {
                keys.extend(row.type_ids.iter().flatten().map(|id| LabelById::Type(*id)));
            }
            if wanted.tags {
                keys.extend(row.tag_ids.iter().flatten().map(|id| LabelById::Tag(*id)));
            }
        }
        keys.sort_unstable();
        keys.dedup();
        PageLabels {
            wanted,
            keys,
            loaded: tokio::sync::OnceCell::new(),
        }
    }
}

/// Which relations a page's selection asks of its resources, so that a
/// page showing only topics does not read every type and tag too (topics
/// alone on a module's 100 resources spent a fifth of the request reading
/// and hashing labels nobody asked for).
#[derive(Debug, Clone, Copy)]
pub struct LabelKinds {
    topics: bool,
    types: bool,
    tags: bool,
}

impl LabelKinds {
    /// The kinds `resource`, a look-ahead at a resource's selection, asks for.
    pub fn selected(resource: async_graphql::Lookahead<'_>) -> Self {
        LabelKinds {
            topics: resource.field("topics").exists(),
            types: resource.field("types").exists(),
            tags: resource.field("tags").exists(),
        }
    }

    /// Whether the page read the kind `key` makes (a kind the look-ahead
    /// missed is read through the request's loader instead).
    fn includes(self, key: fn(Uuid) -> LabelById) -> bool {
        match key(Uuid::nil()) {
            LabelById::Topic(_) => self.topics,
            LabelById::Type(_) => self.types,
            LabelById::Tag(_) => self.tags,
        }
    }
}

editor_fields! {
    /// A guidebook, report, video, research brief or other piece of guidance.
    Resource {
        /// Opaque global id.
        async fn id(&self) -> ID {
            encode(NodeType::Resource, self.row.id)
        }
        /// URL-safe name, unique among resources and stable once published.
        async fn slug(&self) -> &str {
            &self.row.slug
        }
        /// Title as published.
        async fn title(&self) -> &str {
            &self.row.title
        }
        /// Its types, in display order (at least one, at most 50).
        async fn types(&self, ctx: &Context<'_>) -> Result<Vec<ResourceType>> {
            let labels = self.labels(ctx, &self.row.type_ids, LabelById::Type).await?;
            let rows = labels.into_iter().filter_map(Label::into_type);
            Ok(rows.map(ResourceType::shared(self.stage)).collect())
        }
        /// Year of publication; null when the source gives none.
        async fn year(&self) -> Option<i32> {
            self.row.year
        }
        /// Where to read or watch it.
        async fn url(&self) -> Option<&str> {
            self.row.url.as_deref()
        }
        /// Who published it.
        async fn publisher(&self) -> Option<&str> {
            self.row.publisher.as_deref()
        }
        /// A short summary.
        async fn summary(&self) -> Option<&str> {
            self.row.summary.as_deref()
        }
        /// The practice areas it belongs to, in display order (at most 50).
        async fn topics(&self, ctx: &Context<'_>) -> Result<Vec<Topic>> {
            let labels = self.labels(ctx, &self.row.topic_ids, LabelById::Topic).await?;
            let rows = labels.into_iter().filter_map(Label::into_topic);
            Ok(rows.map(Topic::shared(self.stage)).collect())
        }
        /// Editorial labels, in display order (at most 50).
        async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
            let labels = self.labels(ctx, &self.row.tag_ids, LabelById::Tag).await?;
            let rows = labels.into_iter().filter_map(Label::into_tag);
            Ok(rows.map(Tag::shared(self.stage)).collect())
        }
        /// When it was first published in Beacon (ISO 8601).
        async fn published_at(&self) -> Option<crate::graphql::scalars::Timestamp> {
            self.row.published_at.map(Into::into)
        }
        /// Modules that list this resource, by title.
        async fn modules(&self, ctx: &Context<'_>) -> Result<Vec<Module>> {
            Ok(modules(
                self.stage,
                load_many(ctx, self.stage, ModulesOfResource(self.row.id)).await?,
            ))
        }
    }
}

/// One guidance page per practice area: an introduction and its resources.
pub struct Module {
    pub row: ModuleRow,
    /// The stage it was read from; everything reached through it is read
    /// from the same stage.
    pub stage: Stage,
}

impl Module {
    pub fn at(stage: Stage) -> impl Fn(ModuleRow) -> Module {
        move |row| Module { row, stage }
    }
}

editor_fields! {
    /// One guidance page per practice area: an introduction and its resources.
    Module {
        /// Opaque global id.
        async fn id(&self) -> ID {
            encode(NodeType::Module, self.row.id)
        }
        /// URL-safe name, unique among modules and stable once published.
        async fn slug(&self) -> &str {
            &self.row.slug
        }
        /// Page title.
        async fn title(&self) -> &str {
            &self.row.title
        }
        /// Introduction, in Markdown.
        async fn intro(&self) -> &str {
            &self.row.intro
        }
        /// Alternative text of the page's hero image.
        async fn hero_image_alt(&self) -> Option<&str> {
            self.row.hero_image_alt.as_deref()
        }
        /// Heading above the resource list, e.g. "Resources Related to …".
        async fn resources_heading(&self) -> Option<&str> {
            self.row.resources_heading.as_deref()
        }
        /// Closing disclaimer paragraph.
        async fn disclaimer(&self) -> Option<&str> {
            self.row.disclaimer.as_deref()
        }
        /// The practice area this module covers.
        async fn topic(&self, ctx: &Context<'_>) -> Result<Option<Topic>> {
            let Some(topic_id) = self.row.topic_id else {
                return Ok(None);
            };
            let topic = loaders(ctx, self.stage)?
                .load_one(TopicById(topic_id))
                .await
                .map_err(internal)?;
            Ok(topic.map(Topic::at(self.stage)))
        }
        /// Its resources, in page order (at most 200: a module is a
        /// guidance page; `resources` pages through the whole catalogue).
        async fn resources(&self, ctx: &Context<'_>) -> Result<Vec<Resource>> {
            let rows = load_many(ctx, self.stage, ResourcesOfModule(self.row.id)).await?;
            Ok(Resource::page(
                self.stage,
                rows,
                LabelKinds::selected(ctx.look_ahead()),
            ))
        }
        /// Editorial labels, in display order (at most 50).
        async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
            let rows = load_many(ctx, self.stage, TagsOfModule(self.row.id)).await?;
            Ok(rows.into_iter().map(Tag::at(self.stage)).collect())
        }
    }
}
