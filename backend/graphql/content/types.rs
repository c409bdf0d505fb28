//! The content types partners query. Each wraps a projection row; relations
//! go through the request's loaders.

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ContextBase, ID, Interface, Result};

use super::asset::{FocalPoint, ImageFit, ImageFormat};
use super::connection::{
    ConnectionArgs, ResourceConnection, ResourceFilter, ResourceOrder, connection,
};
use super::resource_list::ResourceList;
use crate::db::content::AssetRow;
use crate::db::content::{Label, LabelById, LabelRow, ModuleRow, ResourceRow, TopicRow};
use crate::db::resource_index::Scope;
use crate::domain::Stage;
use crate::domain::media::Rendition;
use crate::graphql::access::loaders;
use crate::graphql::editorial::editor_fields;
use crate::graphql::error::internal;
use crate::graphql::error::{ErrorCode, client_error};
use crate::graphql::ids::{NodeType, encode};
use crate::graphql::loaders::{
    ContentLoader, FilesOf, HeroImageOf, ModulesOfResource, ModulesOfTag, ModulesOfTopic,
    ResourcesOfModule, TagsOfModule, ThumbnailOf, TopicById,
};
use crate::media::Media;
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
    Asset(Asset),
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
    Asset(Asset),
}

/// An item's GraphQL type: its row, shared rather than copied, and the
/// stage it was read from, which everything reached through it is read from
/// too.
macro_rules! read_from_a_stage {
    ($(#[$doc:meta])* $name:ident($row:ty)) => {
        $(#[$doc])*
        pub struct $name {
            pub row: Arc<$row>,
            pub stage: Stage,
        }

        impl $name {
            pub fn at(stage: Stage) -> impl Fn($row) -> $name {
                move |row| $name {
                    row: Arc::new(row),
                    stage,
                }
            }

            /// One from a row other items share (a page's labels).
            pub fn shared(stage: Stage) -> impl Fn(Arc<$row>) -> $name {
                move |row| $name { row, stage }
            }
        }
    };
}

/// An item as its own type (`createTag` answers a `Tag`).
macro_rules! item_as_its_type {
    ($($variant:ident),+) => {$(
        impl TryFrom<ContentItem> for $variant {
            type Error = ContentItem;
            fn try_from(item: ContentItem) -> std::result::Result<Self, ContentItem> {
                match item {
                    ContentItem::$variant(inner) => Ok(inner),
                    other => Err(other),
                }
            }
        }
    )+};
}
item_as_its_type!(Module, Resource, Topic, ResourceType, Tag, Asset);

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

read_from_a_stage! {
    /// A practice area, such as "Community Trust and Partnerships".
    Topic(TopicRow)
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

read_from_a_stage! {
    /// A kind of resource, such as "Guidebook/Tool", "Video" or "Report".
    ResourceType(LabelRow)
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

read_from_a_stage! {
    /// A free-form editorial label on resources and modules.
    Tag(LabelRow)
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
    pub row: Arc<ResourceRow>,
    /// The stage it was read from; everything reached through it is read
    /// from the same stage.
    pub stage: Stage,
    /// The labels of the page it was listed on, when it was.
    page_labels: Option<Arc<PageLabels>>,
}

impl Resource {
    pub fn at(stage: Stage) -> impl Fn(ResourceRow) -> Resource {
        move |row| Resource {
            row: Arc::new(row),
            stage,
            page_labels: None,
        }
    }

    /// The resources of one page (a connection's, a module's), sharing one
    /// lookup of the topics, types and tags `wanted` names.
    pub fn page(stage: Stage, rows: Vec<Arc<ResourceRow>>, wanted: LabelKinds) -> Vec<Resource> {
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
        let found = page.load(ctx, self.stage).await?;
        Ok(ids
            .iter()
            .flatten()
            .filter_map(|id| found.get(&key(*id)).cloned())
            .collect())
    }

    /// The labels of the page all of `resources` were listed on, when they
    /// share one that read every kind `needed` names and its lookup
    /// succeeded (a failed one is left to each resource's fields, which
    /// report it where it belongs).
    pub async fn shared_page_labels<'a, T>(
        resources: &'a [Resource],
        ctx: &ContextBase<'_, T>,
        needed: LabelKinds,
    ) -> Option<&'a HashMap<LabelById, Label>> {
        let first = resources.first()?;
        let page = first.page_labels.as_ref()?;
        let shared = resources.iter().all(|resource| {
            resource
                .page_labels
                .as_ref()
                .is_some_and(|other| Arc::ptr_eq(page, other))
        });
        if !shared || !page.wanted.covers(needed) {
            return None;
        }
        page.load(ctx, first.stage).await.ok()
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
    /// The page's labels, looked up by whichever of its resources asks
    /// first. Straight to the loader's statement: the keys are already
    /// known and distinct, and the request-wide cache and batching cost more
    /// per key (four hash maps each) than the lookup itself. The outcome is
    /// kept either way: a failed lookup is tried once per page, not once
    /// more by each of its resources.
    async fn load<T>(
        &self,
        ctx: &ContextBase<'_, T>,
        stage: Stage,
    ) -> Result<&HashMap<LabelById, Label>> {
        self.loaded
            .get_or_init(|| async {
                let loader = loaders(ctx, stage)?.loader();
                Loader::<LabelById>::load(loader, &self.keys)
                    .await
                    .map_err(internal)
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    fn of(rows: &[Arc<ResourceRow>], wanted: LabelKinds) -> Self {
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
    pub topics: bool,
    pub types: bool,
    pub tags: bool,
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

    /// Whether every kind `other` names is one of these.
    fn covers(self, other: LabelKinds) -> bool {
        (self.topics || !other.topics) && (self.types || !other.types) && (self.tags || !other.tags)
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
        /// An image shown beside it in lists; null when it has none (or
        /// its image is not published).
        async fn thumbnail(&self, ctx: &Context<'_>) -> Result<Option<Asset>> {
            let rows = load_many(ctx, self.stage, ThumbnailOf(self.row.id)).await?;
            Ok(rows.into_iter().next().map(Asset::at(self.stage)))
        }
        /// The files that hold it (a PDF, a video…), in display order (at
        /// most 20).
        async fn files(&self, ctx: &Context<'_>) -> Result<Vec<Asset>> {
            let rows = load_many(ctx, self.stage, FilesOf(self.row.id)).await?;
            Ok(rows.into_iter().map(Asset::at(self.stage)).collect())
        }
    }
}

read_from_a_stage! {
    /// One guidance page per practice area: an introduction and its resources.
    Module(ModuleRow)
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
        /// Alternative text of the page's hero image, as the page it was
        /// loaded from gives it; `heroImage.alt` is the image's own.
        async fn hero_image_alt(&self) -> Option<&str> {
            self.row.hero_image_alt.as_deref()
        }
        /// The image at the top of the page; null when it has none (or its
        /// image is not published).
        async fn hero_image(&self, ctx: &Context<'_>) -> Result<Option<Asset>> {
            let rows = load_many(ctx, self.stage, HeroImageOf(self.row.id)).await?;
            Ok(rows.into_iter().next().map(Asset::at(self.stage)))
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
        async fn resources(&self, ctx: &Context<'_>) -> Result<ResourceList> {
            let rows = load_many(ctx, self.stage, ResourcesOfModule(self.row.id)).await?;
            Ok(ResourceList(Resource::page(
                self.stage,
                rows.into_iter().map(Arc::new).collect(),
                LabelKinds::selected(ctx.look_ahead()),
            )))
        }
        /// Editorial labels, in display order (at most 50).
        async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
            let rows = load_many(ctx, self.stage, TagsOfModule(self.row.id)).await?;
            Ok(rows.into_iter().map(Tag::at(self.stage)).collect())
        }
    }
}

read_from_a_stage! {
    /// A file editors uploaded: an image, a PDF, a video.
    /// Read from the draft stage, its URLs are preview URLs, which expire.
    Asset(AssetRow)
}

impl Asset {
    /// The URL of its file or of a rendition (`segment`).
    fn signed_url(&self, ctx: &Context<'_>, segment: &str) -> Result<String> {
        let media = ctx
            .data::<Media>()
            .map_err(|_| internal("no media service"))?;
        Ok(media.url(
            self.row.id,
            &self.row.file_sha256,
            segment,
            self.stage == Stage::Draft,
        ))
    }
}

editor_fields! {
    /// A file editors uploaded: an image, a PDF, a video.
    Asset {
        /// Opaque global id.
        async fn id(&self) -> ID {
            encode(NodeType::Asset, self.row.id)
        }
        /// URL-safe name, unique among assets.
        async fn slug(&self) -> &str {
            &self.row.slug
        }
        /// What it is, for editors and captions.
        async fn title(&self) -> &str {
            &self.row.title
        }
        /// Alternative text for readers who cannot see the image; every
        /// published image has one.
        async fn alt(&self) -> Option<&str> {
            self.row.alt.as_deref()
        }
        /// A caption to show with it.
        async fn caption(&self) -> Option<&str> {
            self.row.caption.as_deref()
        }
        /// Who made it (photographer, agency, licence).
        async fn credit(&self) -> Option<&str> {
            self.row.credit.as_deref()
        }
        /// The point crops keep in view; null for the centre.
        async fn focal_point(&self) -> Option<FocalPoint> {
            let (x, y) = self.row.focal_x.zip(self.row.focal_y)?;
            Some(FocalPoint {
                x: f64::from(x) / 1000.0,
                y: f64::from(y) / 1000.0,
            })
        }
        /// The file's type, as its bytes show it (e.g. `image/png`,
        /// `application/pdf`).
        async fn mime_type(&self) -> &str {
            &self.row.mime_type
        }
        /// The file's size in bytes.
        async fn size(&self) -> i32 {
            // Uploads are limited to well under 2 GiB.
            i32::try_from(self.row.size).unwrap_or(i32::MAX)
        }
        /// Width in pixels, for images.
        async fn width(&self) -> Option<i32> {
            self.row.width
        }
        /// Height in pixels, for images.
        async fn height(&self) -> Option<i32> {
            self.row.height
        }
        /// A BlurHash (blurha.sh) of an image: a placeholder to paint
        /// while it loads.
        async fn blurhash(&self) -> Option<&str> {
            self.row.blurhash.as_deref()
        }
        /// The name it was uploaded under.
        async fn filename(&self) -> Option<&str> {
            self.row.filename.as_deref()
        }
        /// The file as stored. Images are stored re-encoded, without their
        /// metadata. The URL changes when the file does, so it may be
        /// cached for ever; a preview's expires within two hours.
        async fn url(&self, ctx: &Context<'_>) -> Result<String> {
            self.signed_url(ctx, "original")
        }
        /// A signed URL of a rendition of an image; null for other files.
        /// Sizes are rounded up to one of a fixed set of steps (16 to
        /// 3840 pixels) and never exceed the original's.
        async fn image(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Width of the box, in pixels; with only a height, it follows the image's proportions. With neither, the image's own size.")]
            width: Option<i32>,
            #[graphql(desc = "Height of the box, in pixels; with only a width, it follows the image's proportions.")]
            height: Option<i32>,
            #[graphql(default_with = "ImageFit::Cover", desc = "How the image fills the box.")]
            fit: ImageFit,
            #[graphql(default_with = "ImageFormat::Webp", desc = "The encoding.")]
            format: ImageFormat,
        ) -> Result<Option<String>> {
            if !self.row.mime_type.starts_with("image/") {
                return Ok(None);
            }
            // No size asked: the image at its own size, in the format asked.
            let width = match (width, height) {
                (None, None) => self.row.width,
                _ => width,
            };
            let rendition = Rendition::new(
                width.map(i64::from),
                height.map(i64::from),
                fit.into(),
                format.into(),
            )
                .map_err(|error| client_error(ErrorCode::BadUserInput, error.to_string()))?;
            self.signed_url(ctx, &rendition.segment()).map(Some)
        }
    }
}
