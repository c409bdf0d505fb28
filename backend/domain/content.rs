//! The content model: what a version of each kind of document holds.
//!
//! A version's snapshot is one of these structs, stored as JSON. Relations
//! hold document ids, never version numbers, so a link survives any order of
//! publishing.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kinds of document Beacon manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Topic,
    ResourceType,
    Tag,
    Resource,
    Module,
    Asset,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Topic,
        Kind::ResourceType,
        Kind::Tag,
        // Before the kinds that link to them, so a bulk load or publish
        // writes what is linked first.
        Kind::Asset,
        Kind::Resource,
        Kind::Module,
    ];

    /// The name stored in `documents.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Topic => "topic",
            Kind::ResourceType => "resource_type",
            Kind::Tag => "tag",
            Kind::Resource => "resource",
            Kind::Module => "module",
            Kind::Asset => "asset",
        }
    }

    pub fn parse(value: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

/// Which state of the content a read sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Published versions only: what anonymous and partner clients see.
    Published,
    /// The current draft of every live document (preview).
    Draft,
}

impl Stage {
    /// The name stored in the projections' `stage` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Published => "published",
            Stage::Draft => "draft",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicContent {
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub description: String,
    /// Other names that resolve to this topic.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A resource type or a tag: a named label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelContent {
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceContent {
    pub title: String,
    pub slug: String,
    /// Resource type documents, in display order.
    pub types: Vec<Uuid>,
    pub year: Option<i32>,
    pub url: Option<String>,
    pub publisher: Option<String>,
    pub summary: Option<String>,
    /// Topic documents, in display order.
    pub topics: Vec<Uuid>,
    /// Tag documents, in display order.
    pub tags: Vec<Uuid>,
    /// An image asset shown beside it in lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<Uuid>,
    /// Asset documents holding the resource itself (a PDF, a video…), in
    /// display order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModuleContent {
    pub title: String,
    pub slug: String,
    pub topic: Option<Uuid>,
    /// Markdown.
    pub intro: String,
    pub hero_image_alt: Option<String>,
    /// The image asset at the top of the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hero_image: Option<Uuid>,
    pub resources_heading: Option<String>,
    /// Resource documents in page order.
    pub resources: Vec<Uuid>,
    pub tags: Vec<Uuid>,
    pub disclaimer: Option<String>,
    pub source: Option<SourceFile>,
}

/// A file editors uploaded (an image, a PDF, a video), with what readers
/// and screen readers need to know of it. The bytes live in the media
/// store under their SHA-256; the snapshot holds what was learnt of them
/// when they were taken in, so a version always names the exact bytes it
/// was written with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetContent {
    pub title: String,
    pub slug: String,
    /// Alternative text; an image cannot be published without it.
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
    /// The point a crop keeps in view, in thousandths of the width and
    /// height from the top left (500, 500 is the centre).
    pub focal_point: Option<FocalPoint>,
    pub file: AssetFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FocalPoint {
    pub x: u16,
    pub y: u16,
}

impl FocalPoint {
    /// From fractions of the width and height (0 to 1), as the API and
    /// content files give it. A fraction out of range becomes a value
    /// validation reports against the field, rather than one clamped
    /// into range unseen.
    pub fn from_fractions(x: f64, y: f64) -> FocalPoint {
        let thousandths = |value: f64| {
            if (0.0..=1.0).contains(&value) {
                (value * 1000.0).round() as u16
            } else {
                u16::MAX
            }
        };
        FocalPoint {
            x: thousandths(x),
            y: thousandths(y),
        }
    }

    /// As fractions of the width and height.
    pub fn fractions(self) -> (f64, f64) {
        (f64::from(self.x) / 1000.0, f64::from(self.y) / 1000.0)
    }
}

/// The stored bytes behind an asset version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetFile {
    /// SHA-256 of the stored bytes, hex: the file's name in the store.
    pub sha256: String,
    /// Told by the bytes, never by the name the file was uploaded under.
    pub mime_type: String,
    pub size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// A BlurHash of an image, for a placeholder while it loads.
    pub blurhash: Option<String>,
    /// The name it was uploaded under, for downloads.
    pub filename: Option<String>,
}

impl AssetFile {
    pub fn is_image(&self) -> bool {
        self.mime_type.starts_with("image/")
    }
}

/// The file a module was loaded from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceFile {
    pub file: String,
    /// SHA-256 of the file's bytes, hex.
    pub checksum: String,
}

/// The fields (as a version's JSON names them) whose values differ
/// between two snapshots of one item, in name order.
pub fn changed_fields(old: &Content, new: &Content) -> Vec<String> {
    let as_map = |content: &Content| match content.to_json() {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    differing_fields(&as_map(old), &as_map(new))
}

/// The keys whose values differ between two JSON objects (present in one
/// only counts), in name order.
pub fn differing_fields(
    old: &serde_json::Map<String, serde_json::Value>,
    new: &serde_json::Map<String, serde_json::Value>,
) -> Vec<String> {
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|field| old.get(*field) != new.get(*field))
        .cloned()
        .collect()
}

/// One version's snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Topic(TopicContent),
    ResourceType(LabelContent),
    Tag(LabelContent),
    Resource(ResourceContent),
    Module(ModuleContent),
    Asset(AssetContent),
}

impl Content {
    /// The topics and types whose names go into this item's search text
    /// (weighted below its title): a resource's topics and types, a
    /// module's topic.
    pub fn search_related(&self) -> Vec<Uuid> {
        match self {
            Content::Resource(resource) => resource
                .topics
                .iter()
                .chain(&resource.types)
                .copied()
                .collect(),
            Content::Module(module) => module.topic.into_iter().collect(),
            _ => Vec::new(),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Content::Topic(_) => Kind::Topic,
            Content::ResourceType(_) => Kind::ResourceType,
            Content::Tag(_) => Kind::Tag,
            Content::Resource(_) => Kind::Resource,
            Content::Module(_) => Kind::Module,
            Content::Asset(_) => Kind::Asset,
        }
    }

    pub fn slug(&self) -> &str {
        match self {
            Content::Topic(topic) => &topic.slug,
            Content::ResourceType(label) | Content::Tag(label) => &label.slug,
            Content::Resource(resource) => &resource.slug,
            Content::Module(module) => &module.slug,
            Content::Asset(asset) => &asset.slug,
        }
    }

    /// Every document the snapshot links to.
    pub fn linked_ids(&self) -> Vec<Uuid> {
        match self {
            Content::Topic(_) | Content::ResourceType(_) | Content::Tag(_) | Content::Asset(_) => {
                Vec::new()
            }
            Content::Resource(resource) => resource
                .types
                .iter()
                .chain(&resource.topics)
                .chain(&resource.tags)
                .chain(&resource.thumbnail)
                .chain(&resource.files)
                .copied()
                .collect(),
            Content::Module(module) => module
                .topic
                .iter()
                .chain(&module.resources)
                .chain(&module.tags)
                .chain(&module.hero_image)
                .copied()
                .collect(),
        }
    }

    /// The snapshot without its links to documents `visible` rejects: what
    /// the public sees of it, as reads join links against the stage.
    pub fn retain_links(&mut self, visible: impl Fn(&Uuid) -> bool) {
        match self {
            Content::Topic(_) | Content::ResourceType(_) | Content::Tag(_) | Content::Asset(_) => {}
            Content::Resource(resource) => {
                resource.types.retain(&visible);
                resource.topics.retain(&visible);
                resource.tags.retain(&visible);
                resource.thumbnail = resource.thumbnail.filter(&visible);
                resource.files.retain(&visible);
            }
            Content::Module(module) => {
                module.topic = module.topic.filter(&visible);
                module.hero_image = module.hero_image.filter(&visible);
                module.resources.retain(&visible);
                module.tags.retain(&visible);
            }
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Content::Topic(topic) => serde_json::to_value(topic),
            Content::ResourceType(label) | Content::Tag(label) => serde_json::to_value(label),
            Content::Resource(resource) => serde_json::to_value(resource),
            Content::Module(module) => serde_json::to_value(module),
            Content::Asset(asset) => serde_json::to_value(asset),
        };
        value.expect("content snapshots always serialize")
    }

    pub fn from_json(kind: Kind, value: serde_json::Value) -> serde_json::Result<Content> {
        Ok(match kind {
            Kind::Topic => Content::Topic(serde_json::from_value(value)?),
            Kind::ResourceType => Content::ResourceType(serde_json::from_value(value)?),
            Kind::Tag => Content::Tag(serde_json::from_value(value)?),
            Kind::Resource => Content::Resource(serde_json::from_value(value)?),
            Kind::Module => Content::Module(serde_json::from_value(value)?),
            Kind::Asset => Content::Asset(serde_json::from_value(value)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_through_json() {
        let resource = Content::Resource(ResourceContent {
            title: "Title".into(),
            slug: "title".into(),
            types: vec![Uuid::now_v7()],
            year: None,
            url: Some("https://example.org".into()),
            publisher: None,
            summary: Some("Summary".into()),
            topics: vec![Uuid::now_v7(), Uuid::now_v7()],
            tags: vec![],
            thumbnail: None,
            files: vec![],
        });
        let json = resource.to_json();
        assert_eq!(Content::from_json(Kind::Resource, json).unwrap(), resource);
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
