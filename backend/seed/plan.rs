//! Reading seed files into one [`SeedSet`]: what the files say, with names not
//! yet resolved to documents, and where each item came from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::SeedError;
use super::format::{
    self, AssetRecord, ContentFile, LabelRecord, ModuleRecord, RecordLines, ResourceRecord,
    TopicRecord,
};
use super::page;
use crate::domain::content::SourceFile;
use crate::domain::slug::{normalize_name, slugify};
use crate::media::intake::{self, Intake, IntakeLimits};

pub use crate::domain::seed_run::SeedFile;

/// Where an item was written, for error messages: "seeds/x.txt:12".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(pub String);

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A module's reference to one of its resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceRef {
    /// A resource of this run, by its position in [`SeedSet::resources`].
    InRun(usize),
    /// A resource by slug, in this run or already in the database.
    Slug(String),
}

#[derive(Debug, Clone)]
pub struct Planned<T> {
    pub record: T,
    pub origin: Origin,
    /// Read from a module page (`.txt`), whose labels are names to create
    /// when new; a structured file's references must name what exists or
    /// what it declares.
    pub from_page: bool,
}

#[derive(Debug, Clone)]
pub struct PlannedModule {
    pub record: ModuleRecord,
    /// The page has no title line: the module is named after its topic.
    pub titled_by_topic: bool,
    pub resources: Vec<ResourceRef>,
    pub origin: Origin,
    /// See [`Planned::from_page`].
    pub from_page: bool,
}

/// An asset a seed file declares, and its file once read and checked.
#[derive(Debug)]
pub struct PlannedAsset {
    pub record: AssetRecord,
    pub origin: Origin,
    /// Where the record's `file` is on this machine.
    pub path: Option<PathBuf>,
    /// The bytes fetched from the record's `url` (see
    /// [`SeedSet::fetch_urls`]).
    pub fetched: Option<Vec<u8>>,
    /// The file taken in (see [`SeedSet::take_in_files`]).
    pub intake: Option<Intake>,
}

/// Longest a seed job waits for one file it fetches.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Image files a module page may have beside it (`page.txt`, `page.jpg`):
/// its hero image, described by the page's alt text line.
const PAGE_IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "webp", "gif"];

/// Everything a seed job's files say, resources already merged by identity.
#[derive(Debug, Default)]
pub struct SeedSet {
    pub files: Vec<SeedFile>,
    pub assets: Vec<PlannedAsset>,
    pub topics: Vec<Planned<TopicRecord>>,
    pub resource_types: Vec<Planned<LabelRecord>>,
    pub tags: Vec<Planned<LabelRecord>>,
    pub resources: Vec<Planned<ResourceRecord>>,
    pub modules: Vec<PlannedModule>,
    pub warnings: Vec<String>,
    resource_index: HashMap<String, usize>,
}

/// The identity a seed job knows a resource by: its normalized title and
/// year. The same resource listed on two pages is one resource.
pub fn resource_key(title: &str, year: Option<i32>) -> String {
    match year {
        Some(year) => format!("{}|{year}", normalize_name(title)),
        None => format!("{}|", normalize_name(title)),
    }
}

/// Files to load from `paths`: files as given, folders' .txt/.json/.toml
/// files in name order (not recursing into hidden folders).
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, SeedError> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|error| SeedError::at(path, 0, error))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            if !is_seed_file(path) {
                return Err(SeedError::at(
                    path,
                    0,
                    "not a seed file: expected .txt (a module page), .json or .toml",
                ));
            }
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), SeedError> {
    let entries = std::fs::read_dir(dir).map_err(|error| SeedError::at(dir, 0, error))?;
    for entry in entries {
        let entry = entry.map_err(|error| SeedError::at(dir, 0, error))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, found)?;
        } else if is_seed_file(&path) {
            found.push(path);
        }
    }
    Ok(())
}

fn is_seed_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|extension| extension.to_str()),
        Some("txt" | "json" | "toml")
    )
}

impl SeedSet {
    /// Reads and parses every file. Any unreadable or unparseable file
    /// fails the whole set, and every such file is named, not only the
    /// first.
    pub fn read(files: &[PathBuf]) -> Result<SeedSet, SeedError> {
        let mut set = SeedSet::default();
        let mut errors = Vec::new();
        for path in files {
            if let Err(error) = set.read_file(path) {
                errors.push(error);
            }
        }
        SeedError::all(errors)?;
        Ok(set)
    }

    /// Reads every asset's file and checks it as an upload is checked
    /// (type by its bytes, pixel limits, images encoded again): a seed
    /// directory is no more trusted than an editor's upload. Every bad
    /// file is named. The files are recorded with the run.
    pub fn take_in_files(&mut self, limits: &IntakeLimits) -> Result<(), SeedError> {
        let mut errors = Vec::new();
        for asset in &mut self.assets {
            let (bytes, source, filename) = match (&asset.path, asset.fetched.take()) {
                (_, Some(bytes)) => {
                    let url = asset.record.url.clone().unwrap_or_default();
                    let name = url_file_name(&url);
                    (bytes, url, name)
                }
                (Some(path), None) => match std::fs::read(path) {
                    Ok(bytes) => (
                        bytes,
                        path.display().to_string(),
                        path.file_name()
                            .map(|name| name.to_string_lossy().into_owned()),
                    ),
                    Err(error) => {
                        errors.push(SeedError::invalid(
                            &asset.origin,
                            format!("file {}: {error}", path.display()),
                        ));
                        continue;
                    }
                },
                (None, None) => continue,
            };
            let taken = match &asset.record.sha256 {
                Some(stored) => intake::take_in_again(&bytes, filename.as_deref(), limits, stored),
                None => intake::take_in(&bytes, filename.as_deref(), limits),
            };
            match taken {
                Ok(taken) => {
                    self.files.push(SeedFile {
                        path: source,
                        sha256: hex(&Sha256::digest(&bytes)),
                    });
                    asset.intake = Some(taken);
                }
                Err(error) => errors.push(SeedError::invalid(
                    &asset.origin,
                    format!("file {source}: {error}"),
                )),
            }
        }
        SeedError::all(errors)
    }

    /// Fetches the files assets name by URL, each within `limits.max_bytes`
    /// (read as it comes; a larger one is cut off and refused) and
    /// [`FETCH_TIMEOUT`]. Every failure is named.
    pub async fn fetch_urls(&mut self, limits: &IntakeLimits) -> Result<(), SeedError> {
        if self.assets.iter().all(|asset| asset.record.url.is_none()) {
            return Ok(());
        }
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|error| SeedError::Other(error.to_string()))?;
        let mut errors = Vec::new();
        for asset in &mut self.assets {
            let Some(url) = asset.record.url.clone() else {
                continue;
            };
            if asset.record.file.is_some() {
                errors.push(SeedError::invalid(
                    &asset.origin,
                    "give the asset a `file` or a `url`, not both",
                ));
                continue;
            }
            match fetch(&client, &url, limits.max_bytes).await {
                Ok(bytes) => asset.fetched = Some(bytes),
                Err(message) => errors.push(SeedError::invalid(
                    &asset.origin,
                    format!("url {url}: {message}"),
                )),
            }
        }
        SeedError::all(errors)
    }

    fn read_file(&mut self, path: &Path) -> Result<(), SeedError> {
        let bytes = std::fs::read(path).map_err(|error| SeedError::at(path, 0, error))?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| SeedError::at(path, 0, "not UTF-8 text"))?;
        let checksum = hex(&Sha256::digest(&bytes));
        let display = path.display().to_string();
        match path.extension().and_then(|extension| extension.to_str()) {
            Some("txt") => {
                let page = page::parse(&text)
                    .map_err(|error| SeedError::at(path, error.line, error.message))?;
                self.add_page(&display, &checksum, page);
                if let Some(image) = page_image(path) {
                    self.add_page_image(image);
                }
            }
            Some("json") => {
                let (file, lines) = format::parse_json(&text)
                    .map_err(|(line, message)| SeedError::at(path, line, message))?;
                self.add_content_file(path, file, &lines);
            }
            _ => {
                let (file, lines) = format::parse_toml(&text)
                    .map_err(|(line, message)| SeedError::at(path, line, message))?;
                self.add_content_file(path, file, &lines);
            }
        }
        self.files.push(SeedFile {
            path: display,
            sha256: checksum,
        });
        Ok(())
    }

    fn add_page(&mut self, file: &str, checksum: &str, page: page::Page) {
        for warning in &page.warnings {
            self.warnings
                .push(format!("{file}:{}: {}", warning.line, warning.message));
        }
        let mut resources = Vec::new();
        for entry in &page.entries {
            let record = ResourceRecord {
                id: None,
                slug: None,
                title: entry.title.clone(),
                types: entry.types.clone(),
                year: entry.year,
                url: None,
                publisher: None,
                summary: None,
                topics: entry.topics.clone(),
                tags: Vec::new(),
                thumbnail: None,
                files: Vec::new(),
            };
            let index = self.add_resource(record, Origin(format!("{file}:{}", entry.line)), true);
            if !resources.contains(&ResourceRef::InRun(index)) {
                resources.push(ResourceRef::InRun(index));
            }
        }
        let file_name = Path::new(file)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string());
        self.modules.push(PlannedModule {
            record: ModuleRecord {
                id: None,
                slug: None,
                title: page.module_title().to_string(),
                topic: Some(page.topic_name.clone()),
                intro: page.intro.clone(),
                hero_image_alt: page.hero_image_alt.clone(),
                hero_image: None,
                resources_heading: Some(page.heading.clone()),
                resources: Vec::new(),
                tags: Vec::new(),
                disclaimer: page.disclaimer.clone(),
                source: Some(SourceFile {
                    file: file_name,
                    checksum: checksum.to_string(),
                }),
            },
            resources,
            titled_by_topic: page.title.is_none(),
            origin: Origin(format!("{file}:{}", page.heading_line)),
            from_page: true,
        });
    }

    /// The page just added gets the image beside it as its hero image, an
    /// asset named after the image file, its alt text the page's.
    fn add_page_image(&mut self, image: PathBuf) {
        let module = self
            .modules
            .last_mut()
            .expect("the page's module was added");
        let stem = image
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        let slug = slugify(&stem);
        module.record.hero_image = Some(slug.clone());
        let record = AssetRecord {
            id: None,
            slug: Some(slug),
            title: module.record.title.clone(),
            file: None,
            url: None,
            sha256: None,
            alt: module.record.hero_image_alt.clone(),
            caption: None,
            credit: None,
            focal_point: None,
        };
        let origin = Origin(image.display().to_string());
        self.assets.push(PlannedAsset {
            record,
            origin,
            path: Some(image),
            fetched: None,
            intake: None,
        });
    }

    fn add_content_file(&mut self, path: &Path, content: ContentFile, lines: &RecordLines) {
        let file = &path.display().to_string();
        let folder = path.parent().unwrap_or(Path::new(""));
        let at = |section: &str, index: usize| match lines.line(section, index) {
            Some(line) => Origin(format!("{file}:{line}")),
            None => Origin(format!("{file}: {section}[{index}]")),
        };
        for (index, topic) in content.topics.into_iter().enumerate() {
            self.topics.push(Planned {
                record: topic,
                origin: at("topics", index),
                from_page: false,
            });
        }
        for (index, label) in content.resource_types.into_iter().enumerate() {
            self.resource_types.push(Planned {
                record: label,
                origin: at("resourceTypes", index),
                from_page: false,
            });
        }
        for (index, label) in content.tags.into_iter().enumerate() {
            self.tags.push(Planned {
                record: label,
                origin: at("tags", index),
                from_page: false,
            });
        }
        for (index, resource) in content.resources.into_iter().enumerate() {
            self.add_resource(resource, at("resources", index), false);
        }
        for (index, module) in content.modules.into_iter().enumerate() {
            let resources = module
                .resources
                .iter()
                .map(|slug| ResourceRef::Slug(slug.clone()))
                .collect();
            self.modules.push(PlannedModule {
                record: module,
                titled_by_topic: false,
                resources,
                origin: at("modules", index),
                from_page: false,
            });
        }
        for (index, record) in content.assets.into_iter().enumerate() {
            let path = record.file.as_ref().map(|name| folder.join(name));
            self.assets.push(PlannedAsset {
                record,
                origin: at("assets", index),
                path,
                fetched: None,
                intake: None,
            });
        }
    }

    /// Adds a resource, merging it into an earlier one with the same
    /// identity: types, topics and tags are united, and fields the earlier
    /// listing left empty are filled in.
    fn add_resource(&mut self, record: ResourceRecord, origin: Origin, from_page: bool) -> usize {
        let key = resource_key(&record.title, record.year);
        if let Some(&index) = self.resource_index.get(&key) {
            let existing = &mut self.resources[index].record;
            merge_names(&mut existing.types, &record.types);
            merge_names(&mut existing.topics, &record.topics);
            merge_names(&mut existing.tags, &record.tags);
            existing.id = existing.id.or(record.id);
            existing.slug = existing.slug.take().or(record.slug);
            existing.url = existing.url.take().or(record.url);
            existing.publisher = existing.publisher.take().or(record.publisher);
            existing.summary = existing.summary.take().or(record.summary);
            existing.thumbnail = existing.thumbnail.take().or(record.thumbnail);
            for file in record.files {
                if !existing.files.contains(&file) {
                    existing.files.push(file);
                }
            }
            return index;
        }
        self.resources.push(Planned {
            record,
            origin,
            from_page,
        });
        self.resource_index.insert(key, self.resources.len() - 1);
        self.resources.len() - 1
    }
}

async fn fetch(client: &reqwest::Client, url: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
    let parsed = reqwest::Url::parse(url).map_err(|error| format!("not a URL ({error})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("only http and https URLs are fetched".into());
    }
    let too_large = || format!("larger than the {max_bytes} bytes a file may have");
    let mut response = client
        .get(parsed)
        .send()
        .await
        .map_err(|error| error.to_string())?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
        if bytes.len() as u64 + chunk.len() as u64 > max_bytes {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The last segment of a URL's path, as the file's name.
fn url_file_name(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let name = parsed.path_segments()?.next_back()?.to_string();
    (!name.is_empty()).then_some(name)
}

/// The image beside a module page, by the page's name: `page.jpg` for
/// `page.txt`.
fn page_image(page: &Path) -> Option<PathBuf> {
    PAGE_IMAGE_EXTENSIONS
        .iter()
        .map(|extension| page.with_extension(extension))
        .find(|image| image.is_file())
}

/// Appends the names of `more` that `names` lacks (ignoring case and
/// typography), keeping the first spelling and order.
pub fn merge_names(names: &mut Vec<String>, more: &[String]) {
    for name in more {
        let normalized = normalize_name(name);
        if !names
            .iter()
            .any(|known| normalize_name(known) == normalized)
        {
            names.push(name.clone());
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
