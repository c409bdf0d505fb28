//! The published-answer cache: public reads answered from memory.
//!
//! Partners send the same few operations again and again, and published
//! content changes rarely. An answer to a public read (no credentials, or a
//! `PARTNER` token; previews need more and are never kept) is kept, keyed
//! by everything that shapes it: who may see what (the audience), the
//! operation's text and name, its variables and the media type.
//!
//! Exactness comes from the [`Hub`]'s count of published changes, which
//! the projections' triggers announce to every server when a transaction
//! commits: an answer is stored with the count read *before* it was
//! computed and served only while the count is unchanged, so an answer that
//! raced a publish is never served. While the LISTEN connection is down the
//! count cannot be trusted, and nothing is read from or written to memory.
//!
//! Memory is bounded in bytes (keys and bodies); the least recently used
//! answers go first.

use std::sync::Mutex;

use axum::body::Bytes;
use lru::LruCache;
use serde_json::{Map, Value};

use super::protocol::MediaType;
use crate::domain::access::{Actor, Role};
use crate::events::listener::Hub;
use crate::metrics::Metrics;

/// Who an answer may be shown to. Every viewer in one audience gets the
/// same answer to the same request.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
enum Audience {
    Anonymous,
    Partner,
}

impl Audience {
    fn of(actor: &Actor) -> Option<Self> {
        match actor {
            Actor::Anonymous => Some(Audience::Anonymous),
            Actor::User {
                role: Role::Partner,
                ..
            }
            | Actor::ApiToken {
                role: Role::Partner,
                ..
            } => Some(Audience::Partner),
            // Their answers may hold drafts (previews) or depend on who
            // they are.
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct Key {
    audience: Audience,
    media: MediaType,
    query: String,
    operation_name: Option<String>,
    /// The variables as JSON text (`serde_json` keeps their order, and
    /// the same client sends them the same way).
    variables: String,
}

impl Key {
    /// The key of a request, or `None` when its answer is not for memory.
    pub fn of(
        actor: &Actor,
        media: MediaType,
        query: &str,
        operation_name: Option<&str>,
        variables: Option<&Map<String, Value>>,
    ) -> Option<Self> {
        Some(Key {
            audience: Audience::of(actor)?,
            media,
            query: query.to_string(),
            operation_name: operation_name.map(str::to_string),
            variables: variables
                .filter(|variables| !variables.is_empty())
                .map(|variables| Value::Object(variables.clone()).to_string())
                .unwrap_or_default(),
        })
    }

    fn weight(&self) -> usize {
        self.query.len()
            + self.variables.len()
            + self.operation_name.as_ref().map_or(0, String::len)
            + std::mem::size_of::<Key>()
    }
}

/// A kept answer.
#[derive(Clone)]
pub struct Answer {
    pub body: Bytes,
    /// The operation's name, for the metrics.
    pub name: Option<String>,
}

struct Entry {
    generation: u64,
    answer: Answer,
    weight: usize,
}

/// An answer about to be computed, and the count it was computed under.
pub struct Pending {
    key: Key,
    generation: u64,
}

pub struct AnswerCache {
    entries: Mutex<Entries>,
    capacity: usize,
    hub: Hub,
    metrics: Metrics,
}

struct Entries {
    lru: LruCache<Key, Entry>,
    bytes: usize,
}

impl AnswerCache {
    /// A cache of at most `capacity` bytes.
    pub fn new(capacity: usize, hub: Hub, metrics: Metrics) -> Self {
        AnswerCache {
            entries: Mutex::new(Entries {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
            capacity,
            hub,
            metrics,
        }
    }

    /// The kept answer to `key`, or what to store once it is computed.
    /// Neither while published changes cannot be heard.
    pub fn lookup(&self, key: Key) -> Lookup {
        let Some(generation) = self.hub.published_generation() else {
            return Lookup::Bypass;
        };
        let mut entries = self.lock();
        match entries.lru.get(&key) {
            Some(entry) if entry.generation == generation => {
                let answer = entry.answer.clone();
                drop(entries);
                self.metrics.answer_cache_hit();
                Lookup::Hit(answer)
            }
            stale => {
                if stale.is_some()
                    && let Some(entry) = entries.lru.pop(&key)
                {
                    entries.bytes -= entry.weight;
                    self.metrics.answer_cache_bytes(entries.bytes);
                }
                drop(entries);
                self.metrics.answer_cache_miss();
                Lookup::Miss(Pending { key, generation })
            }
        }
    }

    /// Keeps `answer`, unless published content changed while it was
    /// computed (it may show the content from before).
    pub fn store(&self, pending: Pending, answer: Answer) {
        let weight = pending.key.weight() + answer.body.len() + std::mem::size_of::<Entry>();
        // One huge answer must not push out hundreds of common ones.
        if weight > self.capacity / 16 {
            return;
        }
        let mut entries = self.lock();
        // Read under the lock that `lookup` reads entries under: an answer
        // older than the count is not stored.
        if self.hub.published_generation() != Some(pending.generation) {
            return;
        }
        let entry = Entry {
            generation: pending.generation,
            answer,
            weight,
        };
        if let Some(replaced) = entries.lru.put(pending.key, entry) {
            entries.bytes -= replaced.weight;
        }
        entries.bytes += weight;
        let mut evicted = 0;
        while entries.bytes > self.capacity {
            let Some((_, oldest)) = entries.lru.pop_lru() else {
                break;
            };
            entries.bytes -= oldest.weight;
            evicted += 1;
        }
        self.metrics.answer_cache_evictions(evicted);
        self.metrics.answer_cache_bytes(entries.bytes);
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Answers held now.
    pub fn len(&self) -> usize {
        self.lock().lru.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves consistent figures behind
        // (each update is a few plain assignments).
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub enum Lookup {
    Hit(Answer),
    Miss(Pending),
    Bypass,
}

/// The default bound: room for tens of thousands of typical answers, well
/// inside the server's memory target.
pub const DEFAULT_CAPACITY: usize = 32 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(query: &str, variables: Option<Value>) -> Key {
        let variables = variables.and_then(|value| value.as_object().cloned());
        Key::of(
            &Actor::Anonymous,
            MediaType::Json,
            query,
            None,
            variables.as_ref(),
        )
        .expect("anonymous reads are kept")
    }

    fn answer(body: &str) -> Answer {
        Answer {
            body: Bytes::from(body.to_string()),
            name: None,
        }
    }

    async fn listening_hub() -> Hub {
        let hub = Hub::default();
        hub.set_listening(true);
        hub
    }

    #[tokio::test]
    async fn an_answer_is_served_until_published_content_changes() {
        let hub = listening_hub().await;
        let cache = AnswerCache::new(1 << 20, hub.clone(), Metrics::default());
        let Lookup::Miss(pending) = cache.lookup(key("{ a }", None)) else {
            panic!("an empty cache holds nothing");
        };
        cache.store(pending, answer("one"));
        assert!(matches!(cache.lookup(key("{ a }", None)), Lookup::Hit(a) if a.body == "one"));
        // Other variables are another request.
        let other = key("{ a }", Some(serde_json::json!({"x": 1})));
        assert!(matches!(cache.lookup(other), Lookup::Miss(_)));
        hub.published_changed();
        assert!(matches!(cache.lookup(key("{ a }", None)), Lookup::Miss(_)));
    }

    #[tokio::test]
    async fn an_answer_computed_across_a_publish_is_not_kept() {
        let hub = listening_hub().await;
        let cache = AnswerCache::new(1 << 20, hub.clone(), Metrics::default());
        let Lookup::Miss(pending) = cache.lookup(key("{ a }", None)) else {
            panic!("an empty cache holds nothing");
        };
        hub.published_changed();
        cache.store(pending, answer("from before"));
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn nothing_is_kept_while_changes_cannot_be_heard() {
        let cache = AnswerCache::new(1 << 20, Hub::default(), Metrics::default());
        assert!(matches!(cache.lookup(key("{ a }", None)), Lookup::Bypass));
    }

    #[tokio::test]
    async fn memory_stays_within_its_bound_under_100_000_distinct_operations() {
        let hub = listening_hub().await;
        let capacity = 1 << 20;
        let cache = AnswerCache::new(capacity, hub, Metrics::default());
        for n in 0..100_000 {
            let query = format!("{{ resource(slug: \"r{n}\") {{ title }} }}");
            if let Lookup::Miss(pending) = cache.lookup(key(&query, None)) {
                cache.store(pending, answer(&"x".repeat(200)));
            }
            assert!(cache.bytes() <= capacity);
        }
        // The most recent answers are the ones kept.
        let last = "{ resource(slug: \"r99999\") { title } }";
        assert!(matches!(cache.lookup(key(last, None)), Lookup::Hit(_)));
        assert!(matches!(
            cache.lookup(key("{ resource(slug: \"r0\") { title } }", None)),
            Lookup::Miss(_)
        ));
    }

    #[test]
    fn only_public_audiences_are_kept() {
        let editor = Actor::User {
            id: uuid::Uuid::nil(),
            role: Role::Editor,
        };
        assert!(Key::of(&editor, MediaType::Json, "{ a }", None, None).is_none());
        let partner = Actor::ApiToken {
            id: uuid::Uuid::nil(),
            role: Role::Partner,
            creator: None,
        };
        let as_partner = Key::of(&partner, MediaType::Json, "{ a }", None, None);
        let as_anyone = Key::of(&Actor::Anonymous, MediaType::Json, "{ a }", None, None);
        assert!(as_partner.is_some());
        assert_ne!(as_partner, as_anyone);
    }
}
