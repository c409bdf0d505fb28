//! Beacon's structured content format (JSON or TOML), read by `beacon seed`
//! and written by `beacon export`.
//!
//! Everything in the model can be expressed: topics with descriptions and
//! aliases, resource types, tags, resources and modules. Relations name their
//! targets by slug (or, for topics, types and tags, by name or alias). `id` and
//! `slug` are optional when writing by hand; an export carries both, so loading
//! it into an empty database reproduces the content exactly.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::content::SourceFile;

/// Written into `format` by exports; files without it are read the same way.
pub const FORMAT_VERSION: &str = "beacon-content/1";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default)]
    pub topics: Vec<TopicRecord>,
    #[serde(default)]
    pub resource_types: Vec<LabelRecord>,
    #[serde(default)]
    pub tags: Vec<LabelRecord>,
    #[serde(default)]
    pub resources: Vec<ResourceRecord>,
    #[serde(default)]
    pub modules: Vec<ModuleRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopicRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A resource type or a tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    pub title: String,
    /// Resource types by slug or name; unknown ones are created.
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Topics by slug, name or alias; unknown ones are created.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Tags by slug or name; unknown ones are created.
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModuleRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    pub title: String,
    /// The module's practice area, by slug, name or alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Markdown.
    #[serde(default)]
    pub intro: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hero_image_alt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_heading: Option<String>,
    /// Resource slugs, in page order.
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclaimer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceFile>,
}

/// Reads a structured file; the error names the line where one is known.
pub fn parse_json(text: &str) -> Result<ContentFile, (usize, String)> {
    serde_json::from_str(text).map_err(|error| (error.line(), error.to_string()))
}

pub fn parse_toml(text: &str) -> Result<ContentFile, (usize, String)> {
    toml::from_str(text).map_err(|error| {
        let line = error
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        (line, error.message().to_string())
    })
}
