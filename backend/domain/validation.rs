//! Rules every version must satisfy, whoever writes it (seed job or editor).

use super::content::{
    AssetContent, Content, LabelContent, ModuleContent, ResourceContent, TopicContent,
};
use super::slug::is_valid_slug;

pub const MIN_YEAR: i32 = 1800;
pub const MAX_YEAR: i32 = 2200;
/// Most resources one module lists: a guidance page, not a catalogue (the
/// catalogue is `resources`, which pages). Keeps `Module.resources` a list
/// whose cost is known.
pub const MAX_MODULE_RESOURCES: usize = 200;
/// Most topics, types or tags one item carries.
pub const MAX_LABELS: usize = 50;
/// Most files one resource carries.
pub const MAX_RESOURCE_FILES: usize = 20;
/// Focal points are given in thousandths of the width and height.
pub const FOCAL_SCALE: u16 = 1000;

/// One broken rule: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Checks a snapshot; returns every broken rule, not only the first.
pub fn validate(content: &Content) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut check = |ok: bool, field: &'static str, message: &str| {
        if !ok {
            errors.push(FieldError {
                field,
                message: message.to_string(),
            });
        }
    };
    match content {
        Content::Topic(TopicContent { name, .. })
        | Content::ResourceType(LabelContent { name, .. })
        | Content::Tag(LabelContent { name, .. }) => {
            check(!name.trim().is_empty(), "name", "must not be empty");
        }
        Content::Resource(ResourceContent {
            title,
            year,
            url,
            types,
            topics,
            tags,
            files,
            ..
        }) => {
            check(!title.trim().is_empty(), "title", "must not be empty");
            check(
                year.is_none_or(|year| (MIN_YEAR..=MAX_YEAR).contains(&year)),
                "year",
                &format!("must be between {MIN_YEAR} and {MAX_YEAR}"),
            );
            check(
                url.as_deref().is_none_or(is_http_url),
                "url",
                "must be an http:// or https:// address",
            );
            check(
                !types.is_empty(),
                "types",
                "a resource needs at least one type",
            );
            let too_many = format!("at most {MAX_LABELS}");
            check(types.len() <= MAX_LABELS, "types", &too_many);
            check(topics.len() <= MAX_LABELS, "topics", &too_many);
            check(tags.len() <= MAX_LABELS, "tags", &too_many);
            check(
                files.len() <= MAX_RESOURCE_FILES,
                "files",
                &format!("at most {MAX_RESOURCE_FILES}"),
            );
        }
        Content::Asset(AssetContent {
            title,
            focal_point,
            file,
            ..
        }) => {
            check(!title.trim().is_empty(), "title", "must not be empty");
            check(
                focal_point.is_none_or(|point| point.x <= FOCAL_SCALE && point.y <= FOCAL_SCALE),
                "focalPoint",
                "x and y must be between 0 and 1",
            );
            check(
                focal_point.is_none() || file.is_image(),
                "focalPoint",
                "only images have one",
            );
        }
        Content::Module(ModuleContent {
            title,
            resources,
            tags,
            ..
        }) => {
            check(!title.trim().is_empty(), "title", "must not be empty");
            check(
                resources.len() <= MAX_MODULE_RESOURCES,
                "resources",
                &format!("a module lists at most {MAX_MODULE_RESOURCES} resources"),
            );
            check(
                tags.len() <= MAX_LABELS,
                "tags",
                &format!("at most {MAX_LABELS}"),
            );
        }
    }
    // After the name: a missing title also makes an empty slug, and the
    // title is what the editor has to fix.
    check(
        is_valid_slug(content.slug()),
        "slug",
        "must be lowercase letters and digits separated by single hyphens",
    );
    errors
}

/// Rules a version must satisfy to be published, beyond those every draft
/// satisfies: a draft may be saved unfinished, the public page may not be.
pub fn publish_problems(content: &Content) -> Vec<FieldError> {
    match content {
        // Screen-reader users get nothing from an image without it.
        Content::Asset(asset)
            if asset.file.is_image()
                && asset.alt.as_deref().is_none_or(|alt| alt.trim().is_empty()) =>
        {
            vec![FieldError {
                field: "alt",
                message: "an image needs alternative text before it is published".into(),
            }]
        }
        _ => Vec::new(),
    }
}

fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !rest.contains(char::is_whitespace)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn resource(year: Option<i32>, url: Option<&str>) -> Content {
        Content::Resource(ResourceContent {
            title: "A title".into(),
            slug: "a-title".into(),
            types: vec![Uuid::nil()],
            year,
            url: url.map(str::to_string),
            publisher: None,
            summary: None,
            topics: vec![],
            tags: vec![],
            thumbnail: None,
            files: vec![],
        })
    }

    #[test]
    fn lists_on_an_item_are_bounded() {
        let Content::Resource(mut resource) = resource(None, None) else {
            unreachable!()
        };
        resource.tags = vec![Uuid::nil(); MAX_LABELS + 1];
        let errors = validate(&Content::Resource(resource));
        assert_eq!(errors.iter().map(|e| e.field).collect::<Vec<_>>(), ["tags"]);
        let module = Content::Module(ModuleContent {
            title: "A module".into(),
            slug: "a-module".into(),
            topic: None,
            intro: String::new(),
            hero_image_alt: None,
            hero_image: None,
            resources_heading: None,
            resources: vec![Uuid::nil(); MAX_MODULE_RESOURCES + 1],
            tags: vec![],
            disclaimer: None,
            source: None,
        });
        let errors = validate(&module);
        assert_eq!(
            errors.iter().map(|e| e.field).collect::<Vec<_>>(),
            ["resources"]
        );
    }

    #[test]
    fn accepts_a_valid_resource() {
        assert!(validate(&resource(Some(2021), Some("https://example.org/x"))).is_empty());
        assert!(validate(&resource(None, None)).is_empty());
    }

    #[test]
    fn reports_every_broken_rule() {
        let errors = validate(&resource(Some(1700), Some("ftp://example.org")));
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["year", "url"]);
        assert_eq!(validate(&resource(None, Some("https:// x"))).len(), 1);
    }

    #[test]
    fn an_image_is_published_only_with_alternative_text() {
        use crate::domain::content::{AssetContent, AssetFile};
        let asset = |mime: &str, alt: Option<&str>| {
            Content::Asset(AssetContent {
                title: "Hero".into(),
                slug: "hero".into(),
                alt: alt.map(str::to_string),
                caption: None,
                credit: None,
                focal_point: None,
                file: AssetFile {
                    sha256: "0".repeat(64),
                    mime_type: mime.into(),
                    size: 1,
                    width: None,
                    height: None,
                    blurhash: None,
                    filename: None,
                },
            })
        };
        // A draft may wait for its alt text; publishing may not.
        assert!(validate(&asset("image/png", None)).is_empty());
        let fields = |content: &Content| -> Vec<&str> {
            publish_problems(content).iter().map(|e| e.field).collect()
        };
        assert_eq!(fields(&asset("image/png", None)), ["alt"]);
        assert_eq!(fields(&asset("image/png", Some("  "))), ["alt"]);
        assert!(fields(&asset("image/png", Some("An officer listening"))).is_empty());
        assert!(fields(&asset("application/pdf", None)).is_empty());
    }

    #[test]
    fn labels_need_names_and_slugs() {
        let label = Content::Tag(LabelContent {
            name: " ".into(),
            slug: "Bad Slug".into(),
        });
        let fields: Vec<_> = validate(&label).iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "slug"]);
    }
}
