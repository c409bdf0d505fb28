//! Synthetic content at scale, in the structured format, for load tests and
//! benchmarks. Deterministic: the same sizes always give the same content.

use super::format::{ContentFile, LabelRecord, ModuleRecord, ResourceRecord, TopicRecord};

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub resources: usize,
    pub topics: usize,
    pub types: usize,
    pub tags: usize,
    pub modules: usize,
    pub resources_per_module: usize,
}

/// A small, fast, reproducible pseudo-random sequence (SplitMix64): synthetic
/// data needs repeatability, not unpredictability.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    /// `count` distinct values below `bound`.
    fn distinct(&mut self, count: usize, bound: usize) -> Vec<usize> {
        let mut picked = Vec::with_capacity(count);
        while picked.len() < count.min(bound) {
            let value = self.below(bound);
            if !picked.contains(&value) {
                picked.push(value);
            }
        }
        picked
    }
}

const WORDS: [&str; 32] = [
    "community",
    "trust",
    "crisis",
    "response",
    "policing",
    "data",
    "strategy",
    "violence",
    "reduction",
    "training",
    "oversight",
    "accountability",
    "youth",
    "mental",
    "health",
    "dispatch",
    "diversion",
    "force",
    "review",
    "partnership",
    "safety",
    "equity",
    "victims",
    "services",
    "evaluation",
    "program",
    "practice",
    "leadership",
    "recruitment",
    "wellness",
    "technology",
    "transparency",
];

fn phrase(sequence: &mut Sequence, words: usize) -> String {
    let mut out: Vec<String> = Vec::with_capacity(words);
    for _ in 0..words {
        let word = WORDS[sequence.below(WORDS.len())];
        let mut chars = word.chars();
        let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or('X');
        out.push(std::iter::once(first).chain(chars).collect());
    }
    out.join(" ")
}

pub fn generate(sizes: Sizes) -> ContentFile {
    let mut sequence = Sequence(0x00be_ac0e);
    let topic_names: Vec<String> = (0..sizes.topics)
        .map(|i| format!("{} {i}", phrase(&mut sequence, 2)))
        .collect();
    let type_names: Vec<String> = (0..sizes.types).map(|i| format!("Type {i}")).collect();
    let tag_names: Vec<String> = (0..sizes.tags).map(|i| format!("tag {i}")).collect();
    let resources: Vec<ResourceRecord> = (0..sizes.resources)
        .map(|i| {
            let types = 1 + sequence.below(2);
            let topics = 1 + sequence.below(4);
            let tags = sequence.below(4);
            ResourceRecord {
                id: None,
                slug: None,
                title: format!("{} {i}", phrase(&mut sequence, 5)),
                types: sequence
                    .distinct(types, sizes.types)
                    .into_iter()
                    .map(|t| type_names[t].clone())
                    .collect(),
                year: (sequence.below(10) > 0).then(|| 1995 + sequence.below(31) as i32),
                url: Some(format!("https://example.org/resources/{i}")),
                publisher: Some(format!("Publisher {}", sequence.below(300))),
                summary: Some(phrase(&mut sequence, 24)),
                topics: sequence
                    .distinct(topics, sizes.topics)
                    .into_iter()
                    .map(|t| topic_names[t].clone())
                    .collect(),
                tags: sequence
                    .distinct(tags, sizes.tags)
                    .into_iter()
                    .map(|t| tag_names[t].clone())
                    .collect(),
                thumbnail: None,
                files: Vec::new(),
            }
        })
        .collect();
    let slugs: Vec<String> = resources
        .iter()
        .map(|resource| crate::domain::slug::slugify(&resource.title))
        .collect();
    let modules = (0..sizes.modules)
        .map(|i| ModuleRecord {
            id: None,
            slug: None,
            title: format!("Module {i}: {}", phrase(&mut sequence, 3)),
            topic: (!topic_names.is_empty()).then(|| topic_names[i % topic_names.len()].clone()),
            intro: phrase(&mut sequence, 60),
            hero_image_alt: Some(phrase(&mut sequence, 6).to_lowercase()),
            hero_image: None,
            resources_heading: Some("Resources".into()),
            resources: sequence
                .distinct(sizes.resources_per_module, resources.len())
                .into_iter()
                .map(|r| slugs[r].clone())
                .collect(),
            tags: Vec::new(),
            disclaimer: None,
            source: None,
        })
        .collect();
    ContentFile {
        format: Some(super::format::FORMAT_VERSION.into()),
        topics: topic_names
            .into_iter()
            .map(|name| TopicRecord {
                id: None,
                slug: None,
                name,
                description: String::new(),
                aliases: Vec::new(),
            })
            .collect(),
        resource_types: type_names.into_iter().map(LabelRecord::named).collect(),
        tags: tag_names.into_iter().map(LabelRecord::named).collect(),
        resources,
        modules,
        assets: Vec::new(),
    }
}
