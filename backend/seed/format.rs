//! Beacon's structured content format (JSON or TOML), read by `beacon seed`
//! and written by `beacon export`.
//!
//! Everything in the model can be expressed: topics with descriptions and
//! aliases, resource types, tags, resources and modules. Relations name their
//! targets by slug (or, for topics, types and tags, by name or alias). `id` and
//! `slug` are optional when writing by hand; an export carries both, so loading
//! it into an empty database reproduces the content exactly.
//!
//! Assets (images and files) name their bytes by a path relative to the file
//! that lists them; an export written to a folder puts the files beside it.

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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<AssetRecord>,
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

impl LabelRecord {
    /// A label written by name only: its slug is made from the name.
    pub fn named(name: String) -> LabelRecord {
        LabelRecord {
            id: None,
            slug: None,
            name,
        }
    }
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
    /// An image asset, by slug. Left out, the resource keeps the one it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    /// Asset slugs (the guidebook's PDF, the video). Left out, the resource
    /// keeps the ones it has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
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
    /// An image asset, by slug. Left out, the module keeps the one it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hero_image: Option<String>,
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

/// An image or file and what is said about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    pub title: String,
    /// The file, relative to the file this record is in. An export to
    /// standard output leaves it out (it has nowhere to put the bytes):
    /// such a record only updates an asset that already has `sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Where to fetch the file instead (http or https), read once by the
    /// seed job within the upload size limit; checked as any file is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The SHA-256 of the bytes Beacon stored, as an export writes it. A
    /// file with exactly this hash was taken in by Beacon before (decoded,
    /// metadata already stripped): it is checked again and kept byte for
    /// byte, so an export loads back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Alternative text; an image is published only with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<String>,
    /// The point crops keep in view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focal_point: Option<FocalPointRecord>,
}

/// Fractions of the width and height from the top left (0.5, 0.5 is the
/// centre), as in the API.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FocalPointRecord {
    pub x: f64,
    pub y: f64,
}

/// Reads a structured file; the error names the line where one is known.
pub fn parse_json(text: &str) -> Result<(ContentFile, RecordLines), (usize, String)> {
    match serde_json::from_str(text) {
        Ok(file) => Ok((file, RecordLines::of_json(text))),
        // serde_json's message ends with its own " at line L column C"; the
        // caller puts the line in front, as for TOML.
        Err(error) => {
            let message = error.to_string();
            let message = match message.rfind(" at line ") {
                Some(at) => message[..at].to_string(),
                None => message,
            };
            Err((error.line(), plain_words(&message)))
        }
    }
}

pub fn parse_toml(text: &str) -> Result<(ContentFile, RecordLines), (usize, String)> {
    match toml::from_str(text) {
        Ok(file) => Ok((file, RecordLines::of_toml(text))),
        Err(error) => {
            let line = error
                .span()
                .map(|span| line_at(text, span.start))
                .unwrap_or(1);
            Err((line, plain_words(error.message())))
        }
    }
}

/// serde names the Rust types it expected ("expected i32"); people writing
/// a seed file know numbers and text.
fn plain_words(message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected u32", "expected a whole number of 0 or more"),
        ("expected a string", "expected text in quotes"),
        ("expected a sequence", "expected a list"),
        ("expected struct ContentFile", "expected a table of content"),
        ("expected struct TopicRecord", "expected a topic"),
        (
            "expected struct LabelRecord",
            "expected a resource type or tag",
        ),
        ("expected struct ResourceRecord", "expected a resource"),
        ("expected struct ModuleRecord", "expected a module"),
        ("expected struct AssetRecord", "expected an asset"),
        (
            "expected struct FocalPointRecord",
            "expected a focal point (x and y, fractions from 0 to 1)",
        ),
        ("expected f64", "expected a number"),
        (
            "expected struct SourceFile",
            "expected a source (file and checksum)",
        ),
        ("expected a formatted UUID string", "expected a UUID"),
    ];
    let mut message = message.trim().to_string();
    for (rust, plain) in WORDS {
        message = message.replace(rust, plain);
    }
    message
}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where each record of a structured file starts, so an error in
/// a record names its line rather than its position in a list.
#[derive(Debug, Default)]
pub struct RecordLines(std::collections::HashMap<(&'static str, usize), usize>);

/// The lists of a content file, as they are spelled in it.
const SECTIONS: [&str; 6] = [
    "topics",
    "resourceTypes",
    "tags",
    "resources",
    "modules",
    "assets",
];

impl RecordLines {
    /// The line of `section[index]`, when known.
    pub fn line(&self, section: &str, index: usize) -> Option<usize> {
        SECTIONS
            .iter()
            .find(|known| **known == section)
            .and_then(|section| self.0.get(&(*section, index)).copied())
    }

    fn of_toml(text: &str) -> RecordLines {
        use serde::de::IgnoredAny;
        use toml::Spanned;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Spans {
            #[serde(default)]
            topics: Vec<Spanned<IgnoredAny>>,
            #[serde(default)]
            resource_types: Vec<Spanned<IgnoredAny>>,
            #[serde(default)]
            tags: Vec<Spanned<IgnoredAny>>,
            #[serde(default)]
            resources: Vec<Spanned<IgnoredAny>>,
            #[serde(default)]
            modules: Vec<Spanned<IgnoredAny>>,
            #[serde(default)]
            assets: Vec<Spanned<IgnoredAny>>,
        }
        let mut lines = RecordLines::default();
        let Ok(spans) = toml::from_str::<Spans>(text) else {
            return lines;
        };
        let lists = [
            spans.topics,
            spans.resource_types,
            spans.tags,
            spans.resources,
            spans.modules,
            spans.assets,
        ];
        for (section, records) in SECTIONS.into_iter().zip(lists) {
            for (index, record) in records.iter().enumerate() {
                lines
                    .0
                    .insert((section, index), line_at(text, record.span().start));
            }
        }
        lines
    }

    /// A scan of the JSON text (already known to parse): the elements of
    /// the top-level object's lists, one level down.
    fn of_json(text: &str) -> RecordLines {
        let mut lines = RecordLines::default();
        let (mut depth, mut line) = (0usize, 1usize);
        let mut string_start = None;
        let mut escaped = false;
        let (mut last_string, mut last_key) = (None::<&str>, None::<&str>);
        let mut section = None::<&'static str>;
        let (mut index, mut expecting_record) = (0usize, false);
        for (offset, byte) in text.bytes().enumerate() {
            if byte == b'\n' {
                line += 1;
            }
            if let Some(start) = string_start {
                match byte {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => {
                        string_start = None;
                        if depth == 1 {
                            last_string = Some(&text[start + 1..offset]);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            let starts_record = matches!(byte, b'{' | b'[' | b'"') || byte.is_ascii_alphanumeric();
            if depth == 2 && expecting_record && starts_record {
                if let Some(section) = section {
                    lines.0.insert((section, index), line);
                }
                index += 1;
                expecting_record = false;
            }
            match byte {
                b'"' => string_start = Some(offset),
                b':' if depth == 1 => last_key = last_string.take(),
                b'{' | b'[' => {
                    if byte == b'[' && depth == 1 {
                        section = SECTIONS.into_iter().find(|known| Some(*known) == last_key);
                        index = 0;
                        expecting_record = true;
                    }
                    depth += 1;
                }
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 1 {
                        section = None;
                    }
                }
                b',' if depth == 2 => expecting_record = true,
                _ => {}
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_records_are_found_on_their_lines_past_strings_and_nesting() {
        let text = r#"{
  "format": "beacon-content/1",
  "tags": [{"name": "a [tricky] {name}, \"quoted\""},
           {"name": "b"}],
  "resources": [
    {"title": "One", "types": ["video", "report"], "topics": []},

    {"title": "Two\\", "types": ["video"]}
  ]
}"#;
        let (file, lines) = parse_json(text).unwrap();
        assert_eq!(file.resources.len(), 2);
        assert_eq!(lines.line("tags", 0), Some(3));
        assert_eq!(lines.line("tags", 1), Some(4));
        assert_eq!(lines.line("resources", 0), Some(6));
        assert_eq!(lines.line("resources", 1), Some(8));
        assert_eq!(lines.line("resources", 2), None);
        assert_eq!(lines.line("modules", 0), None);
    }

    #[test]
    fn toml_records_are_found_on_their_lines() {
        let text = "[[topics]]\nname = \"A\"\n\n[[resources]]\ntitle = \"One\"\ntypes = [\"video\"]\n\n[[resources]]\ntitle = \"Two\"\ntypes = [\"video\"]\n";
        let (_, lines) = parse_toml(text).unwrap();
        assert_eq!(lines.line("topics", 0), Some(1));
        assert_eq!(lines.line("resources", 0), Some(4));
        assert_eq!(lines.line("resources", 1), Some(8));
    }
}
