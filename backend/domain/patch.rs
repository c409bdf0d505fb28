//! Edits as editors send them: the fields they set, relations named by
//! slug. Applying one to the current snapshot (or to nothing, for a new
//! item) gives the next snapshot.

use uuid::Uuid;

use super::content::{
    AssetContent, AssetFile, Content, FocalPoint, Kind, LabelContent, ModuleContent,
    ResourceContent, TopicContent,
};
use super::slug::slugify;
use super::validation::FieldError;

/// A field left out keeps its value; for optional fields, `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourcePatch {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub types: Option<Vec<String>>,
    pub year: Option<Option<i32>>,
    pub url: Option<Option<String>>,
    pub publisher: Option<Option<String>>,
    pub summary: Option<Option<String>>,
    pub topics: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    /// An asset's slug.
    pub thumbnail: Option<Option<String>>,
    /// Asset slugs, in display order.
    pub files: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModulePatch {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub topic: Option<Option<String>>,
    pub intro: Option<String>,
    pub hero_image_alt: Option<Option<String>>,
    /// An asset's slug.
    pub hero_image: Option<Option<String>>,
    pub resources_heading: Option<Option<String>>,
    /// In page order.
    pub resources: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub disclaimer: Option<Option<String>>,
    /// One change to the resource list, made on the list as it stands, so
    /// an editor need not resend the rest.
    pub resource_edit: Option<ResourceEdit>,
}

/// One resource added to, removed from or moved in a module's ordered list
/// (by slug; positions count from 0).
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceEdit {
    /// At `position`, or at the end.
    Add {
        slug: String,
        position: Option<usize>,
    },
    Remove {
        slug: String,
    },
    Move {
        slug: String,
        position: usize,
    },
}

impl ResourceEdit {
    fn slug(&self) -> &str {
        match self {
            ResourceEdit::Add { slug, .. }
            | ResourceEdit::Remove { slug }
            | ResourceEdit::Move { slug, .. } => slug,
        }
    }

    /// The list after the edit, or what is wrong with it.
    pub fn apply(&self, list: &[Uuid], resource: Uuid) -> Result<Vec<Uuid>, FieldError> {
        let mut list = list.to_vec();
        let listed = list.iter().position(|id| *id == resource);
        let out_of_range = |last: usize| FieldError {
            field: "position",
            message: format!("must be between 0 and {last}"),
        };
        let not_listed = || FieldError {
            field: "resource",
            message: format!("{:?} is not in the module's list", self.slug()),
        };
        match (self, listed) {
            (ResourceEdit::Add { .. }, Some(_)) => {
                return Err(FieldError {
                    field: "resource",
                    message: format!("{:?} is already in the module's list", self.slug()),
                });
            }
            (ResourceEdit::Add { position, .. }, None) => {
                let position = position.unwrap_or(list.len());
                if position > list.len() {
                    return Err(out_of_range(list.len()));
                }
                list.insert(position, resource);
            }
            (ResourceEdit::Remove { .. }, Some(at)) => {
                list.remove(at);
            }
            (ResourceEdit::Move { position, .. }, Some(at)) => {
                if *position >= list.len() {
                    return Err(out_of_range(list.len() - 1));
                }
                let id = list.remove(at);
                list.insert(*position, id);
            }
            (ResourceEdit::Remove { .. } | ResourceEdit::Move { .. }, None) => {
                return Err(not_listed());
            }
        }
        Ok(list)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub aliases: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
}

/// An asset's description. Its file is not an editor's field: only the
/// media intake, having checked and stored the bytes, sets one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssetPatch {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub alt: Option<Option<String>>,
    pub caption: Option<Option<String>>,
    pub credit: Option<Option<String>>,
    pub focal_point: Option<Option<FocalPoint>>,
    pub file: Option<AssetFile>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Patch {
    Resource(ResourcePatch),
    Module(ModulePatch),
    Topic(TopicPatch),
    Tag(LabelPatch),
    Asset(AssetPatch),
}

/// A relation field and the slugs it names.
pub struct Reference<'a> {
    pub field: &'static str,
    pub kind: Kind,
    pub slugs: Vec<&'a str>,
}

fn reference<'a>(
    field: &'static str,
    kind: Kind,
    slugs: &'a Option<Vec<String>>,
) -> Option<Reference<'a>> {
    slugs.as_ref().map(|slugs| Reference {
        field,
        kind,
        slugs: slugs.iter().map(String::as_str).collect(),
    })
}

/// A single link that may be set, cleared or left alone.
fn single_reference<'a>(
    field: &'static str,
    kind: Kind,
    slug: &'a Option<Option<String>>,
) -> Option<Reference<'a>> {
    slug.as_ref()
        .and_then(|slug| slug.as_ref())
        .map(|slug| Reference {
            field,
            kind,
            slugs: vec![slug.as_str()],
        })
}

impl Patch {
    pub fn kind(&self) -> Kind {
        match self {
            Patch::Resource(_) => Kind::Resource,
            Patch::Module(_) => Kind::Module,
            Patch::Topic(_) => Kind::Topic,
            Patch::Tag(_) => Kind::Tag,
            Patch::Asset(_) => Kind::Asset,
        }
    }

    /// The slugs the patch names, to be looked up before [`Patch::apply`].
    pub fn references(&self) -> Vec<Reference<'_>> {
        match self {
            Patch::Resource(p) => [
                reference("types", Kind::ResourceType, &p.types),
                reference("topics", Kind::Topic, &p.topics),
                reference("tags", Kind::Tag, &p.tags),
                single_reference("thumbnail", Kind::Asset, &p.thumbnail),
                reference("files", Kind::Asset, &p.files),
            ]
            .into_iter()
            .flatten()
            .collect(),
            Patch::Module(p) => {
                let topic = single_reference("topic", Kind::Topic, &p.topic);
                let hero_image = single_reference("heroImage", Kind::Asset, &p.hero_image);
                let edited = p.resource_edit.as_ref().map(|edit| Reference {
                    field: "resource",
                    kind: Kind::Resource,
                    slugs: vec![edit.slug()],
                });
                [
                    topic,
                    reference("resources", Kind::Resource, &p.resources),
                    edited,
                    reference("tags", Kind::Tag, &p.tags),
                    hero_image,
                ]
                .into_iter()
                .flatten()
                .collect()
            }
            Patch::Topic(_) | Patch::Tag(_) | Patch::Asset(_) => Vec::new(),
        }
    }

    /// The next snapshot. `current` is None for a new item; `lookup` finds
    /// a document by kind and slug. Unknown slugs and missing required
    /// fields are reported together.
    pub fn apply(
        &self,
        current: Option<&Content>,
        lookup: impl Fn(Kind, &str) -> Option<Uuid>,
    ) -> Result<Content, Vec<FieldError>> {
        let mut errors = Vec::new();
        // Found while `ids` holds `errors`; reported after it.
        let mut edit_error = None;
        let mut ids = |field: &'static str, kind: Kind, slugs: &[String]| -> Vec<Uuid> {
            let mut found = Vec::new();
            for slug in slugs {
                match lookup(kind, slug) {
                    Some(id) if !found.contains(&id) => found.push(id),
                    Some(_) => {}
                    None => errors.push(FieldError {
                        field,
                        message: format!("there is no {} with slug {slug:?}", kind_name(kind)),
                    }),
                }
            }
            found
        };
        let content = match (self, current) {
            (Patch::Resource(p), current) => {
                let base = match current {
                    Some(Content::Resource(resource)) => resource.clone(),
                    _ => ResourceContent {
                        title: String::new(),
                        slug: String::new(),
                        types: Vec::new(),
                        year: None,
                        url: None,
                        publisher: None,
                        summary: None,
                        topics: Vec::new(),
                        tags: Vec::new(),
                        thumbnail: None,
                        files: Vec::new(),
                    },
                };
                let title = p.title.clone().unwrap_or(base.title);
                let thumbnail = match &p.thumbnail {
                    None => base.thumbnail,
                    Some(None) => None,
                    Some(Some(slug)) => ids("thumbnail", Kind::Asset, std::slice::from_ref(slug))
                        .first()
                        .copied(),
                };
                Content::Resource(ResourceContent {
                    slug: p
                        .slug
                        .clone()
                        .unwrap_or_else(|| default_slug(base.slug, &title)),
                    title,
                    types: p
                        .types
                        .as_ref()
                        .map_or(base.types, |s| ids("types", Kind::ResourceType, s)),
                    year: p.year.unwrap_or(base.year),
                    url: p.url.clone().unwrap_or(base.url),
                    publisher: p.publisher.clone().unwrap_or(base.publisher),
                    summary: p.summary.clone().unwrap_or(base.summary),
                    topics: p
                        .topics
                        .as_ref()
                        .map_or(base.topics, |s| ids("topics", Kind::Topic, s)),
                    tags: p
                        .tags
                        .as_ref()
                        .map_or(base.tags, |s| ids("tags", Kind::Tag, s)),
                    thumbnail,
                    files: p
                        .files
                        .as_ref()
                        .map_or(base.files, |s| ids("files", Kind::Asset, s)),
                })
            }
            (Patch::Module(p), current) => {
                let base = match current {
                    Some(Content::Module(module)) => module.clone(),
                    _ => ModuleContent {
                        title: String::new(),
                        slug: String::new(),
                        topic: None,
                        intro: String::new(),
                        hero_image_alt: None,
                        hero_image: None,
                        resources_heading: None,
                        resources: Vec::new(),
                        tags: Vec::new(),
                        disclaimer: None,
                        source: None,
                    },
                };
                let title = p.title.clone().unwrap_or(base.title);
                let topic = match &p.topic {
                    None => base.topic,
                    Some(None) => None,
                    Some(Some(slug)) => ids("topic", Kind::Topic, std::slice::from_ref(slug))
                        .first()
                        .copied(),
                };
                let hero_image = match &p.hero_image {
                    None => base.hero_image,
                    Some(None) => None,
                    Some(Some(slug)) => ids("heroImage", Kind::Asset, std::slice::from_ref(slug))
                        .first()
                        .copied(),
                };
                Content::Module(ModuleContent {
                    slug: p
                        .slug
                        .clone()
                        .unwrap_or_else(|| default_slug(base.slug, &title)),
                    title,
                    topic,
                    intro: p.intro.clone().unwrap_or(base.intro),
                    hero_image_alt: p.hero_image_alt.clone().unwrap_or(base.hero_image_alt),
                    hero_image,
                    resources_heading: p
                        .resources_heading
                        .clone()
                        .unwrap_or(base.resources_heading),
                    resources: {
                        let resources = p
                            .resources
                            .as_ref()
                            .map_or(base.resources, |s| ids("resources", Kind::Resource, s));
                        match &p.resource_edit {
                            None => resources,
                            Some(edit) => {
                                let slug = [edit.slug().to_string()];
                                match ids("resource", Kind::Resource, &slug).first() {
                                    Some(resource) => match edit.apply(&resources, *resource) {
                                        Ok(edited) => edited,
                                        Err(error) => {
                                            edit_error = Some(error);
                                            resources
                                        }
                                    },
                                    None => resources,
                                }
                            }
                        }
                    },
                    tags: p
                        .tags
                        .as_ref()
                        .map_or(base.tags, |s| ids("tags", Kind::Tag, s)),
                    disclaimer: p.disclaimer.clone().unwrap_or(base.disclaimer),
                    source: base.source,
                })
            }
            (Patch::Topic(p), current) => {
                let base = match current {
                    Some(Content::Topic(topic)) => topic.clone(),
                    _ => TopicContent {
                        name: String::new(),
                        slug: String::new(),
                        description: String::new(),
                        aliases: Vec::new(),
                    },
                };
                let name = p.name.clone().unwrap_or(base.name);
                Content::Topic(TopicContent {
                    slug: p
                        .slug
                        .clone()
                        .unwrap_or_else(|| default_slug(base.slug, &name)),
                    name,
                    description: p.description.clone().unwrap_or(base.description),
                    aliases: p.aliases.clone().unwrap_or(base.aliases),
                })
            }
            (Patch::Tag(p), current) => {
                let base = match current {
                    Some(Content::Tag(label)) => label.clone(),
                    _ => LabelContent {
                        name: String::new(),
                        slug: String::new(),
                    },
                };
                let name = p.name.clone().unwrap_or(base.name);
                Content::Tag(LabelContent {
                    slug: p
                        .slug
                        .clone()
                        .unwrap_or_else(|| default_slug(base.slug, &name)),
                    name,
                })
            }
            (Patch::Asset(p), current) => {
                let base = match current {
                    Some(Content::Asset(asset)) => Some(asset.clone()),
                    _ => None,
                };
                let file = match (&p.file, &base) {
                    (Some(file), _) => file.clone(),
                    (None, Some(base)) => base.file.clone(),
                    (None, None) => {
                        return Err(vec![FieldError {
                            field: "file",
                            message: "a new asset needs a file".into(),
                        }]);
                    }
                };
                let base = base.unwrap_or(AssetContent {
                    title: String::new(),
                    slug: String::new(),
                    alt: None,
                    caption: None,
                    credit: None,
                    focal_point: None,
                    file: file.clone(),
                });
                let title = p.title.clone().unwrap_or(base.title);
                Content::Asset(AssetContent {
                    slug: p
                        .slug
                        .clone()
                        .unwrap_or_else(|| default_slug(base.slug, &title)),
                    title,
                    alt: p.alt.clone().unwrap_or(base.alt),
                    caption: p.caption.clone().unwrap_or(base.caption),
                    credit: p.credit.clone().unwrap_or(base.credit),
                    focal_point: p.focal_point.unwrap_or(base.focal_point),
                    file,
                })
            }
        };
        errors.extend(edit_error);
        if errors.is_empty() {
            return Ok(content);
        }
        // The rest of the rules too, so one answer names every field to
        // mend; a field already reported keeps its first problem.
        for problem in super::validation::validate(&content) {
            if !errors.iter().any(|error| error.field == problem.field) {
                errors.push(problem);
            }
        }
        Err(errors)
    }
}

/// A new item without a slug gets one from its title; an existing one
/// keeps its slug (links to it keep working) unless the edit sets one.
fn default_slug(current: String, title: &str) -> String {
    if current.is_empty() {
        slugify(title)
    } else {
        current
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Topic => "topic",
        Kind::ResourceType => "resource type",
        Kind::Tag => "tag",
        Kind::Resource => "resource",
        Kind::Module => "module",
        Kind::Asset => "asset",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_resource_takes_its_slug_from_the_title_and_resolves_relations() {
        let topic = Uuid::now_v7();
        let kind_type = Uuid::now_v7();
        let patch = Patch::Resource(ResourcePatch {
            title: Some("Building Trust: A Guide".into()),
            types: Some(vec!["report".into()]),
            topics: Some(vec!["trust".into(), "trust".into()]),
            year: Some(Some(2021)),
            ..Default::default()
        });
        let lookup = |kind: Kind, slug: &str| match (kind, slug) {
            (Kind::Topic, "trust") => Some(topic),
            (Kind::ResourceType, "report") => Some(kind_type),
            _ => None,
        };
        let Content::Resource(resource) = patch.apply(None, lookup).unwrap() else {
            panic!("a resource")
        };
        assert_eq!(resource.slug, "building-trust-a-guide");
        assert_eq!(resource.topics, [topic], "named twice, linked once");
        assert_eq!(resource.types, [kind_type]);
    }

    #[test]
    fn an_edit_keeps_what_it_does_not_name_and_clears_what_it_nulls() {
        let current = Content::Resource(ResourceContent {
            title: "Old".into(),
            slug: "old".into(),
            types: vec![Uuid::nil()],
            year: Some(2020),
            url: Some("https://example.org".into()),
            publisher: None,
            summary: Some("Summary".into()),
            topics: vec![],
            tags: vec![],
            thumbnail: None,
            files: vec![],
        });
        let patch = Patch::Resource(ResourcePatch {
            title: Some("New".into()),
            summary: Some(None),
            ..Default::default()
        });
        let Content::Resource(next) = patch.apply(Some(&current), |_, _| None).unwrap() else {
            panic!()
        };
        assert_eq!((next.title.as_str(), next.slug.as_str()), ("New", "old"));
        assert_eq!(next.summary, None);
        assert_eq!(next.year, Some(2020));
    }

    #[test]
    fn one_resource_is_added_removed_or_moved_in_place() {
        let [a, b, c, d] = [1, 2, 3, 4].map(Uuid::from_u128);
        let list = [a, b, c];
        let add = |position| ResourceEdit::Add {
            slug: "d".into(),
            position,
        };
        assert_eq!(add(None).apply(&list, d).unwrap(), [a, b, c, d]);
        assert_eq!(add(Some(0)).apply(&list, d).unwrap(), [d, a, b, c]);
        assert_eq!(add(Some(4)).unwrap_err_field(&list, d), "position");
        assert_eq!(add(None).unwrap_err_field(&list, b), "resource");
        let remove = ResourceEdit::Remove { slug: "b".into() };
        assert_eq!(remove.apply(&list, b).unwrap(), [a, c]);
        assert_eq!(remove.unwrap_err_field(&list, d), "resource");
        let to = |position| ResourceEdit::Move {
            slug: "c".into(),
            position,
        };
        assert_eq!(to(0).apply(&list, c).unwrap(), [c, a, b]);
        assert_eq!(to(2).apply(&list, a).unwrap(), [b, c, a]);
        assert_eq!(to(3).unwrap_err_field(&list, c), "position");
    }

    impl ResourceEdit {
        fn unwrap_err_field(&self, list: &[Uuid], resource: Uuid) -> &'static str {
            self.apply(list, resource).unwrap_err().field
        }
    }

    #[test]
    fn unknown_slugs_are_reported_with_their_field() {
        let patch = Patch::Module(ModulePatch {
            title: Some("Module".into()),
            topic: Some(Some("nope".into())),
            resources: Some(vec!["missing".into()]),
            ..Default::default()
        });
        let errors = patch.apply(None, |_, _| None).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["topic", "resources"]);
        assert!(errors[0].message.contains("no topic with slug \"nope\""));
    }
}
