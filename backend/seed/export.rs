//! `beacon export`: all published content in the structured format.

use std::collections::HashMap;

use uuid::Uuid;

use super::format::{
    ContentFile, FORMAT_VERSION, LabelRecord, ModuleRecord, ResourceRecord, TopicRecord,
};
use crate::domain::Content;

/// Builds the export from published snapshots. Relations are written as
/// slugs, items carry their ids, and every list is in slug order, so two
/// exports of the same content are byte-identical.
pub fn build(documents: Vec<(Uuid, Content)>) -> ContentFile {
    let slugs: HashMap<Uuid, String> = documents
        .iter()
        .map(|(id, content)| (*id, content.slug().to_string()))
        .collect();
    // A link to a document that is not published is not part of the export.
    let names = |ids: &[Uuid]| -> Vec<String> {
        ids.iter().filter_map(|id| slugs.get(id).cloned()).collect()
    };
    let mut file = ContentFile {
        format: Some(FORMAT_VERSION.to_string()),
        ..ContentFile::default()
    };
    for (id, content) in &documents {
        let id = Some(*id);
        match content {
            Content::Topic(topic) => file.topics.push(TopicRecord {
                id,
                slug: Some(topic.slug.clone()),
                name: topic.name.clone(),
                description: topic.description.clone(),
                aliases: topic.aliases.clone(),
            }),
            Content::ResourceType(label) => file.resource_types.push(LabelRecord {
                id,
                slug: Some(label.slug.clone()),
                name: label.name.clone(),
            }),
            Content::Tag(label) => file.tags.push(LabelRecord {
                id,
                slug: Some(label.slug.clone()),
                name: label.name.clone(),
            }),
            Content::Resource(resource) => file.resources.push(ResourceRecord {
                id,
                slug: Some(resource.slug.clone()),
                title: resource.title.clone(),
                types: names(&resource.types),
                year: resource.year,
                url: resource.url.clone(),
                publisher: resource.publisher.clone(),
                summary: resource.summary.clone(),
                topics: names(&resource.topics),
                tags: names(&resource.tags),
            }),
            Content::Module(module) => file.modules.push(ModuleRecord {
                id,
                slug: Some(module.slug.clone()),
                title: module.title.clone(),
                topic: module.topic.and_then(|topic| slugs.get(&topic).cloned()),
                intro: module.intro.clone(),
                hero_image_alt: module.hero_image_alt.clone(),
                resources_heading: module.resources_heading.clone(),
                resources: names(&module.resources),
                tags: names(&module.tags),
                disclaimer: module.disclaimer.clone(),
                source: module.source.clone(),
            }),
            // Not in the structured format yet: an asset's bytes need a
            // place beside the file, which the format does not have.
            Content::Asset(_) => {}
        }
    }
    file.topics.sort_by(|a, b| a.slug.cmp(&b.slug));
    file.resource_types.sort_by(|a, b| a.slug.cmp(&b.slug));
    file.tags.sort_by(|a, b| a.slug.cmp(&b.slug));
    file.resources.sort_by(|a, b| a.slug.cmp(&b.slug));
    file.modules.sort_by(|a, b| a.slug.cmp(&b.slug));
    file
}
