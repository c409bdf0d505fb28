//! Turning a [`SeedSet`] into changes against the documents that exist:
//! names resolved to documents, new items created, existing ones merged.

use std::collections::HashMap;

use uuid::Uuid;

use super::SeedError;
use super::plan::{
    Origin, Planned, PlannedAsset, PlannedModule, ResourceRef, SeedSet, resource_key,
};
use crate::domain::content::{
    AssetContent, Content, FocalPoint, Kind, LabelContent, ModuleContent, ResourceContent,
    TopicContent,
};
use crate::domain::slug::{normalize_name, slugify};
use crate::domain::validation::{publish_problems, validate};

/// A document as the resolver sees it.
#[derive(Debug, Clone)]
pub struct WorkingDocument {
    pub id: Uuid,
    pub kind: Kind,
    pub slug: String,
    pub seed_key: Option<String>,
    /// The current draft version; 0 for a document this run creates.
    pub version: i32,
    /// The current draft snapshot; `None` for a new document.
    pub original: Option<Content>,
    pub content: Content,
    /// Editors have taken it over since a seed job last wrote it (edited,
    /// unpublished or archived it): seed jobs leave it as it is.
    pub held_by_editors: bool,
    /// Where this run mentioned it first.
    pub origin: Option<Origin>,
}

impl WorkingDocument {
    /// A document as the database holds it now. Editors have taken it over
    /// unless it is published as a seed job last wrote it.
    pub fn current(document: crate::db::content::CurrentDocument) -> Self {
        let held_by_editors = document.status != "published"
            || !document.author.starts_with(super::SEED_AUTHOR_PREFIX);
        WorkingDocument {
            id: document.id,
            kind: document.kind,
            slug: document.slug,
            seed_key: document.seed_key,
            version: document.version,
            original: Some(document.content.clone()),
            content: document.content,
            held_by_editors,
            origin: None,
        }
    }

    pub fn is_new(&self) -> bool {
        self.original.is_none()
    }

    pub fn is_changed(&self) -> bool {
        self.original.as_ref() != Some(&self.content)
    }
}

/// All documents, indexed the ways a seed file can name them.
pub struct Resolver {
    pub documents: Vec<WorkingDocument>,
    by_id: HashMap<Uuid, usize>,
    by_slug: HashMap<(Kind, String), usize>,
    by_seed_key: HashMap<(Kind, String), usize>,
    /// Normalized names (and topic aliases) → document.
    by_name: HashMap<(Kind, String), usize>,
    /// Structured files may name labels that neither the database nor the
    /// run has (`--create-missing`): they are created like a page's.
    create_missing: bool,
    /// (record, field) pairs with a reference that did not resolve: that
    /// field's other complaints ("needs at least one type") would only
    /// repeat the error already reported.
    unresolved: std::collections::HashSet<(String, &'static str)>,
}

impl Resolver {
    pub fn new(existing: Vec<WorkingDocument>) -> Self {
        let mut resolver = Resolver {
            documents: Vec::with_capacity(existing.len()),
            by_id: HashMap::new(),
            by_slug: HashMap::new(),
            by_seed_key: HashMap::new(),
            by_name: HashMap::new(),
            create_missing: false,
            unresolved: Default::default(),
        };
        for document in existing {
            resolver.push(document);
        }
        resolver
    }

    fn push(&mut self, document: WorkingDocument) -> usize {
        let index = self.documents.len();
        self.by_id.insert(document.id, index);
        self.by_slug
            .insert((document.kind, document.slug.clone()), index);
        if let Some(key) = &document.seed_key {
            self.by_seed_key.insert((document.kind, key.clone()), index);
        }
        self.documents.push(document);
        self.index_names(index);
        index
    }

    fn index_names(&mut self, index: usize) {
        let document = &self.documents[index];
        let kind = document.kind;
        let names: Vec<String> = match &document.content {
            Content::Topic(topic) => std::iter::once(&topic.name)
                .chain(&topic.aliases)
                .map(|name| normalize_name(name))
                .collect(),
            Content::ResourceType(label) | Content::Tag(label) => vec![normalize_name(&label.name)],
            _ => Vec::new(),
        };
        for name in names {
            self.by_name.entry((kind, name)).or_insert(index);
        }
    }

    fn find(
        &self,
        kind: Kind,
        id: Option<Uuid>,
        slug: Option<&str>,
        key: Option<&str>,
    ) -> Option<usize> {
        id.and_then(|id| self.by_id.get(&id).copied())
            .filter(|&index| self.documents[index].kind == kind)
            .or_else(|| slug.and_then(|slug| self.by_slug.get(&(kind, slug.to_string())).copied()))
            .or_else(|| key.and_then(|key| self.by_seed_key.get(&(kind, key.to_string())).copied()))
    }

    /// A slug no other document of `kind` has: `base`, else `base-<year>`,
    /// else `base-2`, `base-3`, …
    fn free_slug(&self, kind: Kind, base: &str, year: Option<i32>) -> String {
        let taken = |slug: &str| self.by_slug.contains_key(&(kind, slug.to_string()));
        if !taken(base) {
            return base.to_string();
        }
        if let Some(year) = year {
            let with_year = format!("{base}-{year}");
            if !taken(&with_year) {
                return with_year;
            }
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|slug| !taken(slug))
            .expect("some suffix is free")
    }

    fn create(
        &mut self,
        id: Option<Uuid>,
        seed_key: Option<String>,
        content: Content,
        origin: &Origin,
    ) -> Result<usize, SeedError> {
        let kind = content.kind();
        let id = id.unwrap_or_else(Uuid::now_v7);
        if self.by_id.contains_key(&id) {
            return Err(SeedError::invalid(
                origin,
                format!("id {id} belongs to another item"),
            ));
        }
        if self
            .by_slug
            .contains_key(&(kind, content.slug().to_string()))
        {
            return Err(SeedError::invalid(
                origin,
                format!(
                    "slug {:?} is already used by another {}",
                    content.slug(),
                    kind.as_str().replace('_', " ")
                ),
            ));
        }
        Ok(self.push(WorkingDocument {
            id,
            kind,
            slug: content.slug().to_string(),
            seed_key,
            version: 0,
            original: None,
            content,
            held_by_editors: false,
            origin: Some(origin.clone()),
        }))
    }

    fn update(&mut self, index: usize, content: Content, origin: &Origin) {
        let document = &mut self.documents[index];
        document.content = content;
        document.origin.get_or_insert_with(|| origin.clone());
        self.index_names(index);
    }

    /// A topic by slug, name or alias; created when nothing matches.
    fn topic(&mut self, reference: &str, at: Place<'_>) -> Result<Uuid, SeedError> {
        self.label(Kind::Topic, reference, at)
    }

    /// The slugs of `kind` closest to `slug`, nearest first: what a typo
    /// most likely meant.
    fn nearest_slugs(&self, kind: Kind, slug: &str) -> Vec<String> {
        let mut scored: Vec<(usize, &str)> = self
            .by_slug
            .keys()
            .filter(|(of, _)| *of == kind)
            .map(|(_, known)| (strsim::levenshtein(slug, known), known.as_str()))
            .filter(|(distance, known)| *distance <= (known.len().max(slug.len()) / 3).max(2))
            .collect();
        scored.sort();
        scored
            .into_iter()
            .take(3)
            .map(|(_, known)| known.to_string())
            .collect()
    }

    /// A topic, resource type or tag by slug or name; created when unknown
    /// and named by a page (or with `--create-missing`), an error naming
    /// the nearest slugs when a structured file names it.
    fn label(&mut self, kind: Kind, reference: &str, at: Place<'_>) -> Result<Uuid, SeedError> {
        let origin = at.origin;
        let name = reference.trim();
        let slug = slugify(name);
        let found = self
            .by_name
            .get(&(kind, normalize_name(name)))
            .or_else(|| self.by_slug.get(&(kind, slug.clone())))
            .copied();
        let index = match found {
            Some(index) => index,
            None => {
                if !at.from_page && !self.create_missing {
                    let what = kind.as_str().replace('_', " ");
                    let nearest = self.nearest_slugs(kind, &slug);
                    let hint = match nearest.as_slice() {
                        [] => String::new(),
                        [only] => format!("; did you mean `{only}`?"),
                        several => format!(
                            "; did you mean one of {}?",
                            several
                                .iter()
                                .map(|slug| format!("`{slug}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    self.unresolved.insert((origin.0.clone(), at.field));
                    return Err(SeedError::invalid(
                        origin,
                        format!(
                            "{field}: there is no {what} {name:?}{hint} (declare it in the file, or pass --create-missing to create it)",
                            field = at.field,
                        ),
                    ));
                }
                if slug.is_empty() {
                    return Err(SeedError::invalid(
                        origin,
                        format!(
                            "{:?} has no letters or digits to name a {}",
                            name,
                            kind.as_str().replace('_', " ")
                        ),
                    ));
                }
                let content = match kind {
                    Kind::Topic => Content::Topic(TopicContent {
                        name: name.to_string(),
                        slug,
                        description: String::new(),
                        aliases: Vec::new(),
                    }),
                    Kind::ResourceType => Content::ResourceType(LabelContent {
                        name: name.to_string(),
                        slug,
                    }),
                    Kind::Tag => Content::Tag(LabelContent {
                        name: name.to_string(),
                        slug,
                    }),
                    Kind::Resource | Kind::Module | Kind::Asset => {
                        unreachable!("only labels are created by name")
                    }
                };
                self.create(None, None, content, origin)?
            }
        };
        Ok(self.documents[index].id)
    }

    fn labels(
        &mut self,
        kind: Kind,
        references: &[String],
        at: Place<'_>,
    ) -> Result<Vec<Uuid>, SeedError> {
        let (ids, errors) = self.labels_found(kind, references, at);
        SeedError::all(errors)?;
        Ok(ids)
    }

    /// The labels that resolve, and an error for each that does not.
    fn labels_found(
        &mut self,
        kind: Kind,
        references: &[String],
        at: Place<'_>,
    ) -> (Vec<Uuid>, Vec<SeedError>) {
        let mut ids = Vec::new();
        let mut errors = Vec::new();
        for reference in references {
            match self.label(kind, reference, at) {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(error) => errors.push(error),
            }
        }
        (ids, errors)
    }

    fn declared_topic(
        &mut self,
        planned: &Planned<crate::seed::format::TopicRecord>,
    ) -> Result<(), SeedError> {
        let record = &planned.record;
        let slug = record.slug.clone().unwrap_or_else(|| slugify(&record.name));
        let existing = self
            .find(Kind::Topic, record.id, Some(&slug), None)
            .or_else(|| {
                self.by_name
                    .get(&(Kind::Topic, normalize_name(&record.name)))
                    .copied()
            });
        let mut content = TopicContent {
            name: record.name.trim().to_string(),
            slug,
            description: record.description.trim().to_string(),
            aliases: record
                .aliases
                .iter()
                .map(|alias| alias.trim().to_string())
                .collect(),
        };
        match existing {
            Some(index) => {
                content.slug = self.documents[index].slug.clone();
                self.update(index, Content::Topic(content), &planned.origin);
            }
            None => {
                self.create(record.id, None, Content::Topic(content), &planned.origin)?;
            }
        }
        Ok(())
    }

    fn declared_label(
        &mut self,
        kind: Kind,
        planned: &Planned<crate::seed::format::LabelRecord>,
    ) -> Result<(), SeedError> {
        let record = &planned.record;
        let slug = record.slug.clone().unwrap_or_else(|| slugify(&record.name));
        let existing = self.find(kind, record.id, Some(&slug), None);
        let mut label = LabelContent {
            name: record.name.trim().to_string(),
            slug,
        };
        let wrap = |label| {
            if kind == Kind::Tag {
                Content::Tag(label)
            } else {
                Content::ResourceType(label)
            }
        };
        match existing {
            Some(index) => {
                label.slug = self.documents[index].slug.clone();
                self.update(index, wrap(label), &planned.origin);
            }
            None => {
                self.create(record.id, None, wrap(label), &planned.origin)?;
            }
        }
        Ok(())
    }

    fn resource(
        &mut self,
        planned: &Planned<crate::seed::format::ResourceRecord>,
    ) -> Result<usize, SeedError> {
        let record = &planned.record;
        let origin = &planned.origin;
        let key = resource_key(&record.title, record.year);
        let at = |field| Place {
            origin,
            field,
            from_page: planned.from_page,
        };
        // A reference that does not resolve is reported, and the resource
        // is still built from the rest, so its own fields are checked too.
        let (types, mut unresolved) =
            self.labels_found(Kind::ResourceType, &record.types, at("types"));
        let (topics, errors) = self.labels_found(Kind::Topic, &record.topics, at("topics"));
        unresolved.extend(errors);
        let (tags, errors) = self.labels_found(Kind::Tag, &record.tags, at("tags"));
        unresolved.extend(errors);
        let thumbnail = match &record.thumbnail {
            Some(slug) => match self.asset(slug, at("thumbnail")) {
                Ok(id) => Some(id),
                Err(error) => {
                    unresolved.push(error);
                    None
                }
            },
            None => None,
        };
        let mut files = Vec::new();
        for slug in &record.files {
            match self.asset(slug, at("files")) {
                Ok(id) if !files.contains(&id) => files.push(id),
                Ok(_) => {}
                Err(error) => unresolved.push(error),
            }
        }
        let links = Links {
            types,
            topics,
            tags,
            thumbnail,
            files,
        };
        let index = self.resource_from(planned, key, links)?;
        SeedError::all(unresolved)?;
        Ok(index)
    }

    /// An asset by slug, of this run or the database; an error naming the
    /// nearest slugs when there is none.
    fn asset(&mut self, slug: &str, at: Place<'_>) -> Result<Uuid, SeedError> {
        if let Some(&index) = self.by_slug.get(&(Kind::Asset, slug.to_string())) {
            return Ok(self.documents[index].id);
        }
        self.unresolved.insert((at.origin.0.clone(), at.field));
        let hint = match self.nearest_slugs(Kind::Asset, slug).first() {
            Some(nearest) => format!("; did you mean `{nearest}`?"),
            None => String::new(),
        };
        Err(SeedError::invalid(
            at.origin,
            format!(
                "{field}: there is no asset {slug:?}{hint} (declare it under `assets`)",
                field = at.field
            ),
        ))
    }

    /// An asset a file declares, with the file it names (already taken in)
    /// or, without one, the file the asset already has when the record
    /// names its hash.
    fn declared_asset(&mut self, planned: &PlannedAsset) -> Result<(), SeedError> {
        let record = &planned.record;
        let origin = &planned.origin;
        let slug = match &record.slug {
            Some(slug) => slug.clone(),
            None => slugify(&record.title),
        };
        if slug.is_empty() {
            return Err(SeedError::invalid(
                origin,
                "the title has no letters or digits to make a slug",
            ));
        }
        let existing = self.find(Kind::Asset, record.id, Some(&slug), None);
        let current = existing.and_then(|index| match &self.documents[index].content {
            Content::Asset(asset) => Some(asset.file.clone()),
            _ => None,
        });
        let file = match (&planned.intake, current) {
            // The same bytes again keep what was measured of them when
            // they were first taken in.
            (Some(intake), Some(current)) if current.sha256 == intake.file.sha256 => current,
            (Some(intake), _) => intake.file.clone(),
            (None, Some(current)) if record.sha256.as_ref() == Some(&current.sha256) => current,
            (None, _) => {
                return Err(SeedError::invalid(
                    origin,
                    "the asset names no `file` (an export written with --out puts the files beside it)",
                ));
            }
        };
        let trim = |text: &Option<String>| {
            text.as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_string)
        };
        let mut content = AssetContent {
            title: record.title.trim().to_string(),
            slug,
            alt: trim(&record.alt),
            caption: trim(&record.caption),
            credit: trim(&record.credit),
            focal_point: record
                .focal_point
                .map(|point| FocalPoint::from_fractions(point.x, point.y)),
            file,
        };
        match existing {
            Some(index) => {
                content.slug = self.documents[index].slug.clone();
                self.update(index, Content::Asset(content), origin);
            }
            None => {
                self.create(record.id, None, Content::Asset(content), origin)?;
            }
        }
        Ok(())
    }

    fn resource_from(
        &mut self,
        planned: &Planned<crate::seed::format::ResourceRecord>,
        key: String,
        links: Links,
    ) -> Result<usize, SeedError> {
        let Links {
            types,
            topics,
            tags,
            thumbnail,
            files,
        } = links;
        let record = &planned.record;
        let origin = &planned.origin;
        let existing = self.find(
            Kind::Resource,
            record.id,
            record.slug.as_deref(),
            Some(&key),
        );
        match existing {
            Some(index) => {
                let Content::Resource(current) = &self.documents[index].content else {
                    unreachable!("indexed as a resource")
                };
                let content = ResourceContent {
                    title: record.title.trim().to_string(),
                    slug: current.slug.clone(),
                    types: union(&current.types, &types),
                    year: record.year,
                    url: record.url.clone().or_else(|| current.url.clone()),
                    publisher: record
                        .publisher
                        .clone()
                        .or_else(|| current.publisher.clone()),
                    summary: record.summary.clone().or_else(|| current.summary.clone()),
                    topics: union(&current.topics, &topics),
                    tags: union(&current.tags, &tags),
                    // A file that names none keeps the ones editors linked.
                    thumbnail: thumbnail.or(current.thumbnail),
                    files: if files.is_empty() {
                        current.files.clone()
                    } else {
                        files
                    },
                };
                self.documents[index].seed_key = Some(key);
                self.update(index, Content::Resource(content), origin);
                Ok(index)
            }
            None => {
                let slug = match &record.slug {
                    Some(slug) => slug.clone(),
                    None => {
                        let base = slugify(&record.title);
                        if base.is_empty() {
                            return Err(SeedError::invalid(
                                origin,
                                "the title has no letters or digits to make a slug",
                            ));
                        }
                        self.free_slug(Kind::Resource, &base, record.year)
                    }
                };
                let content = ResourceContent {
                    title: record.title.trim().to_string(),
                    slug,
                    types,
                    year: record.year,
                    url: record.url.clone(),
                    publisher: record.publisher.clone(),
                    summary: record.summary.clone(),
                    topics,
                    tags,
                    thumbnail,
                    files,
                };
                self.create(record.id, Some(key), Content::Resource(content), origin)
            }
        }
    }

    /// `resources_in_run` has `None` for resources that failed (their error
    /// is already reported); a module leaves them out.
    fn module(
        &mut self,
        planned: &PlannedModule,
        resources_in_run: &[Option<usize>],
    ) -> Result<(), SeedError> {
        let record = &planned.record;
        let origin = &planned.origin;
        let mut resources = Vec::new();
        for reference in &planned.resources {
            let index = match reference {
                ResourceRef::InRun(position) => match resources_in_run[*position] {
                    Some(index) => index,
                    None => continue,
                },
                ResourceRef::Slug(slug) => *self
                    .by_slug
                    .get(&(Kind::Resource, slug.clone()))
                    .ok_or_else(|| {
                        SeedError::invalid(origin, format!("no resource has the slug {slug:?}"))
                    })?,
            };
            let id = self.documents[index].id;
            if !resources.contains(&id) {
                resources.push(id);
            }
        }
        let topic = match &record.topic {
            Some(topic) => Some(self.topic(
                topic,
                Place {
                    origin,
                    field: "topic",
                    from_page: planned.from_page,
                },
            )?),
            None => None,
        };
        let tags = self.labels(
            Kind::Tag,
            &record.tags,
            Place {
                origin,
                field: "tags",
                from_page: planned.from_page,
            },
        )?;
        let hero_image = match &record.hero_image {
            Some(slug) => Some(self.asset(
                slug,
                Place {
                    origin,
                    field: "heroImage",
                    from_page: planned.from_page,
                },
            )?),
            None => None,
        };
        // "Resources Related to <alias>" names the topic by its canonical name.
        let title = match (planned.titled_by_topic, topic) {
            (true, Some(topic)) => match &self.documents[self.by_id[&topic]].content {
                Content::Topic(topic) => topic.name.clone(),
                _ => record.title.trim().to_string(),
            },
            _ => record.title.trim().to_string(),
        };
        let slug = record.slug.clone().unwrap_or_else(|| slugify(&title));
        let existing = self.find(Kind::Module, record.id, Some(&slug), None);
        let mut content = ModuleContent {
            title,
            slug,
            topic,
            intro: record.intro.clone(),
            hero_image_alt: record.hero_image_alt.clone(),
            hero_image,
            resources_heading: record.resources_heading.clone(),
            resources,
            tags,
            disclaimer: record.disclaimer.clone(),
            source: record.source.clone(),
        };
        match existing {
            Some(index) => {
                let Content::Module(current) = &self.documents[index].content else {
                    unreachable!("indexed as a module")
                };
                content.slug = current.slug.clone();
                content.tags = union(&current.tags, &content.tags);
                // A file that names none keeps the one editors linked.
                content.hero_image = content.hero_image.or(current.hero_image);
                self.update(index, Content::Module(content), origin);
            }
            None => {
                self.create(record.id, None, Content::Module(content), origin)?;
            }
        }
        Ok(())
    }
}

/// What a resource record's references resolved to.
struct Links {
    types: Vec<Uuid>,
    topics: Vec<Uuid>,
    tags: Vec<Uuid>,
    thumbnail: Option<Uuid>,
    files: Vec<Uuid>,
}

fn union(first: &[Uuid], second: &[Uuid]) -> Vec<Uuid> {
    let mut all = first.to_vec();
    for id in second {
        if !all.contains(id) {
            all.push(*id);
        }
    }
    all
}

/// Where a label reference was read, for its error.
#[derive(Debug, Clone, Copy)]
struct Place<'a> {
    origin: &'a Origin,
    field: &'static str,
    from_page: bool,
}

/// Applies the seed set to the existing documents. Declared topics, types and
/// tags come first so that names on pages resolve to them (aliases included).
pub fn resolve(
    set: &SeedSet,
    existing: Vec<WorkingDocument>,
    create_missing: bool,
) -> Result<Resolver, SeedError> {
    let mut resolver = Resolver::new(existing);
    resolver.create_missing = create_missing;
    // Every record is resolved even after one fails, so the run reports
    // all its mistakes at once.
    let mut errors = Vec::new();
    for topic in &set.topics {
        errors.extend(resolver.declared_topic(topic).err());
    }
    for label in &set.resource_types {
        errors.extend(resolver.declared_label(Kind::ResourceType, label).err());
    }
    for label in &set.tags {
        errors.extend(resolver.declared_label(Kind::Tag, label).err());
    }
    for asset in &set.assets {
        errors.extend(resolver.declared_asset(asset).err());
    }
    let mut resources_in_run = Vec::with_capacity(set.resources.len());
    for resource in &set.resources {
        match resolver.resource(resource) {
            Ok(index) => resources_in_run.push(Some(index)),
            Err(error) => {
                errors.push(error);
                resources_in_run.push(None);
            }
        }
    }
    for module in &set.modules {
        errors.extend(resolver.module(module, &resources_in_run).err());
    }
    for document in resolver
        .documents
        .iter()
        .filter(|document| document.is_changed())
    {
        let origin = document
            .origin
            .clone()
            .unwrap_or_else(|| Origin(document.slug.clone()));
        // A seed job publishes what it writes.
        let problems = validate(&document.content)
            .into_iter()
            .chain(publish_problems(&document.content));
        for problem in problems {
            if !resolver
                .unresolved
                .contains(&(origin.0.clone(), problem.field))
            {
                errors.push(SeedError::invalid(&origin, problem.to_string()));
            }
        }
    }
    SeedError::all(errors)?;
    Ok(resolver)
}
