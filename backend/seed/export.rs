//! `beacon export`: all published content in the structured format.

use std::collections::HashMap;

use uuid::Uuid;

use super::format::{
    AssetRecord, ContentFile, FORMAT_VERSION, FocalPointRecord, LabelRecord, ModuleRecord,
    ResourceRecord, TopicRecord,
};
use crate::domain::Content;
use crate::domain::content::AssetFile;

/// An asset's file the export names: to be copied from the media store to
/// `path` (relative to the export's folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    pub path: String,
    pub sha256: String,
}

/// Builds the export from published snapshots. Relations are written as
/// slugs, items carry their ids, and every list is in slug order, so two
/// exports of the same content are byte-identical. With `with_files`,
/// assets name their files under `media/` (listed in the second value);
/// without, they carry only the files' hashes.
pub fn build(
    documents: Vec<(Uuid, Content)>,
    with_files: bool,
) -> (ContentFile, Vec<ExportedFile>) {
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
    let mut files = Vec::new();
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
                thumbnail: resource.thumbnail.and_then(|id| slugs.get(&id).cloned()),
                files: names(&resource.files),
            }),
            Content::Module(module) => file.modules.push(ModuleRecord {
                id,
                slug: Some(module.slug.clone()),
                title: module.title.clone(),
                topic: module.topic.and_then(|topic| slugs.get(&topic).cloned()),
                intro: module.intro.clone(),
                hero_image_alt: module.hero_image_alt.clone(),
                hero_image: module.hero_image.and_then(|id| slugs.get(&id).cloned()),
                resources_heading: module.resources_heading.clone(),
                resources: names(&module.resources),
                tags: names(&module.tags),
                disclaimer: module.disclaimer.clone(),
                source: module.source.clone(),
            }),
            Content::Asset(asset) => {
                let path = with_files.then(|| file_path(&asset.slug, &asset.file));
                if let Some(path) = &path {
                    files.push(ExportedFile {
                        path: path.clone(),
                        sha256: asset.file.sha256.clone(),
                    });
                }
                file.assets.push(AssetRecord {
                    id,
                    slug: Some(asset.slug.clone()),
                    title: asset.title.clone(),
                    file: path,
                    url: None,
                    sha256: Some(asset.file.sha256.clone()),
                    alt: asset.alt.clone(),
                    caption: asset.caption.clone(),
                    credit: asset.credit.clone(),
                    focal_point: asset.focal_point.map(|point| {
                        let (x, y) = point.fractions();
                        FocalPointRecord { x, y }
                    }),
                });
            }
        }
    }
    file.topics.sort_by(|a, b| a.slug.cmp(&b.slug));
    file.resource_types.sort_by(|a, b| a.slug.cmp(&b.slug));
    file.tags.sort_by(|a, b| a.slug.cmp(&b.slug));
    file.resources.sort_by(|a, b| a.slug.cmp(&b.slug));
    file.modules.sort_by(|a, b| a.slug.cmp(&b.slug));
    file.assets.sort_by(|a, b| a.slug.cmp(&b.slug));
    files.sort_by(|a, b| a.path.cmp(&b.path));
    (file, files)
}

/// `media/<asset slug>/<the name it was uploaded under>`: the slug keeps
/// two assets' files apart, the name keeps what a download is called. A
/// name that is no plain file name (it was cleaned at upload, but "..",
/// say) is replaced by the slug and the type's extension.
fn file_path(slug: &str, file: &AssetFile) -> String {
    let plain = |name: &&String| {
        !name.is_empty()
            && !name.starts_with('.')
            && !name.contains(['/', '\\'])
            && !name.chars().any(char::is_control)
    };
    let name = match file.filename.as_ref().filter(plain) {
        Some(name) => name.clone(),
        None => format!("{slug}.{}", extension(&file.mime_type)),
    };
    format!("media/{slug}/{name}")
}

fn extension(mime_type: &str) -> &'static str {
    match mime_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        _ => "bin",
    }
}
