//! What editors send: content inputs and the audit log filter.

use async_graphql::{ID, InputObject, MaybeUndefined};

use crate::domain::patch::{AssetPatch, LabelPatch, ModulePatch, Patch, ResourcePatch, TopicPatch};

pub(super) fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

/// A resource's fields; on update, those left out keep their values and
/// nullable ones set to null are cleared.
#[derive(InputObject)]
pub struct ResourceInput {
    /// Title; required when creating.
    title: Option<String>,
    /// URL-safe name; made from the title when creating without one.
    slug: Option<String>,
    /// Resource types by slug, in display order; at least one.
    types: Option<Vec<String>>,
    /// Year of publication.
    year: MaybeUndefined<i32>,
    /// Where to read or watch it (http or https).
    url: MaybeUndefined<String>,
    /// Who published it.
    publisher: MaybeUndefined<String>,
    /// A short summary.
    summary: MaybeUndefined<String>,
    /// Topics by slug, in display order.
    topics: Option<Vec<String>>,
    /// Tags by slug, in display order.
    tags: Option<Vec<String>>,
    /// An image asset shown beside it in lists, by slug.
    thumbnail: MaybeUndefined<String>,
    /// Asset slugs of the files that hold it, in display order (at most 20).
    files: Option<Vec<String>>,
}

impl From<ResourceInput> for Patch {
    fn from(input: ResourceInput) -> Self {
        Patch::Resource(ResourcePatch {
            title: input.title,
            slug: input.slug,
            types: input.types,
            year: maybe(input.year),
            url: maybe(input.url),
            publisher: maybe(input.publisher),
            summary: maybe(input.summary),
            topics: input.topics,
            tags: input.tags,
            thumbnail: maybe(input.thumbnail),
            files: input.files,
        })
    }
}

/// A module's fields; on update, those left out keep their values.
#[derive(InputObject)]
pub struct ModuleInput {
    /// Page title; required when creating.
    title: Option<String>,
    /// URL-safe name; made from the title when creating without one.
    slug: Option<String>,
    /// The practice area, by topic slug.
    topic: MaybeUndefined<String>,
    /// Introduction, in Markdown.
    intro: Option<String>,
    /// Alternative text of the hero image.
    hero_image_alt: MaybeUndefined<String>,
    /// The image at the top of the page, by asset slug.
    hero_image: MaybeUndefined<String>,
    /// Heading above the resource list.
    resources_heading: MaybeUndefined<String>,
    /// Resources by slug, in page order.
    resources: Option<Vec<String>>,
    /// Tags by slug, in display order.
    tags: Option<Vec<String>>,
    /// Closing disclaimer.
    disclaimer: MaybeUndefined<String>,
}

impl From<ModuleInput> for Patch {
    fn from(input: ModuleInput) -> Self {
        Patch::Module(ModulePatch {
            title: input.title,
            slug: input.slug,
            topic: maybe(input.topic),
            intro: input.intro,
            hero_image_alt: maybe(input.hero_image_alt),
            hero_image: maybe(input.hero_image),
            resources_heading: maybe(input.resources_heading),
            resources: input.resources,
            tags: input.tags,
            disclaimer: maybe(input.disclaimer),
            resource_edit: None,
        })
    }
}

/// A topic's fields; on update, those left out keep their values.
#[derive(InputObject)]
pub struct TopicInput {
    /// Display name; required when creating.
    name: Option<String>,
    /// URL-safe name; made from the name when creating without one.
    slug: Option<String>,
    /// What the practice area covers.
    description: Option<String>,
    /// Other names that resolve to this topic.
    aliases: Option<Vec<String>>,
}

impl From<TopicInput> for Patch {
    fn from(input: TopicInput) -> Self {
        Patch::Topic(TopicPatch {
            name: input.name,
            slug: input.slug,
            description: input.description,
            aliases: input.aliases,
        })
    }
}

/// A tag's fields; on update, those left out keep their values.
#[derive(InputObject)]
pub struct TagInput {
    /// Display name; required when creating.
    name: Option<String>,
    /// URL-safe name; made from the name when creating without one.
    slug: Option<String>,
}

impl From<TagInput> for Patch {
    fn from(input: TagInput) -> Self {
        Patch::Tag(LabelPatch {
            name: input.name,
            slug: input.slug,
        })
    }
}

/// Which content items to list; fields left out do not filter.
#[derive(InputObject, Default)]
pub struct ItemFilter {
    /// Items of any of these kinds.
    pub(super) kinds: Option<Vec<crate::graphql::events::ContentKind>>,
    /// Items in any of these workflow states.
    pub(super) statuses: Option<Vec<super::ContentStatus>>,
    /// Only the items you created (an API token created none).
    #[graphql(default)]
    pub(super) mine: bool,
    /// Only items with (true) or without (false) a publish or unpublish
    /// scheduled.
    pub(super) scheduled: Option<bool>,
    /// Words that must each be part of the item's slug (made from its
    /// title or name when created); letters and digits only count, at
    /// most 8 words.
    pub(super) query: Option<String>,
}

/// The order of an editor's list.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum ItemOrder {
    /// Most recently changed first.
    #[default]
    RecentlyChanged,
    /// By slug, A to Z.
    Alphabetical,
}

/// Which audit entries to list.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Entries about this item (global id).
    pub(super) item_id: Option<ID>,
    /// Entries by this actor (`user:<id>`, `token:<id>`, `scheduler`).
    pub(super) actor: Option<String>,
    /// Entries of this action (`publish`, `update`, …).
    pub(super) action: Option<String>,
}

/// Where a crop keeps the image in view.
#[derive(InputObject, Clone, Copy)]
pub struct FocalPointInput {
    /// From the left edge: 0 to 1.
    x: f64,
    /// From the top edge: 0 to 1.
    y: f64,
}

/// An asset's description; on update, fields left out keep their values.
#[derive(InputObject, Default)]
pub struct AssetInput {
    /// What it is; the file's name when creating without one.
    pub title: Option<String>,
    /// URL-safe name; made from the title when creating without one.
    slug: Option<String>,
    /// Alternative text; an image cannot be published without it.
    alt: MaybeUndefined<String>,
    /// A caption to show with it.
    caption: MaybeUndefined<String>,
    /// Who made it.
    credit: MaybeUndefined<String>,
    /// The point crops keep in view (images only).
    focal_point: MaybeUndefined<FocalPointInput>,
}

impl AssetInput {
    /// The patch, with the file the intake took in (if any).
    pub fn into_patch(self, file: Option<crate::domain::content::AssetFile>) -> Patch {
        let focal_point = maybe(self.focal_point).map(|point| {
            point.map(|point| crate::domain::content::FocalPoint::from_fractions(point.x, point.y))
        });
        Patch::Asset(AssetPatch {
            title: self.title,
            slug: self.slug,
            alt: maybe(self.alt),
            caption: maybe(self.caption),
            credit: maybe(self.credit),
            focal_point,
            file,
        })
    }
}
