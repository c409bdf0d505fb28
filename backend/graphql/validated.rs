//! Requests already validated.
//!
//! async-graphql checks every document against the schema's rules before
//! running it: for a page of 20 resources that was an eighth of the
//! server's instructions, spent again on every repeat of the same few
//! requests partners send. What validation decides depends only on the
//! schema, the document, the operation chosen and the variables, so a
//! request that passed once passes again: such a request runs on a schema
//! that checks only what execution needs (complexity, depth and cache
//! hints). A request is remembered only after it was answered without any
//! error, and only by its exact text, operation name and variables.

use serde_json::{Map, Value};

use super::shared_lru::SharedLru;

/// What validated a request: the document's text, the operation and the
/// variables as JSON text (equal texts are equal variables).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct Key {
    query: String,
    operation_name: Option<String>,
    variables: String,
}

/// Longer texts are validated every time (the parse cache keeps no longer
/// ones either), and so are long variables: the memory stays bounded.
const MAX_TEXT: usize = 8 * 1024;
const MAX_VARIABLES: usize = 1024;

impl Key {
    /// The key of a request, or `None` when it is too long to remember.
    pub fn of(
        query: &str,
        operation_name: Option<&str>,
        variables: Option<&Map<String, Value>>,
    ) -> Option<Key> {
        if query.len() > MAX_TEXT {
            return None;
        }
        let variables = variables
            .filter(|variables| !variables.is_empty())
            .map(|variables| Value::Object(variables.clone()).to_string())
            .unwrap_or_default();
        (variables.len() <= MAX_VARIABLES).then(|| Key {
            query: query.to_string(),
            operation_name: operation_name.map(str::to_string),
            variables,
        })
    }
}

/// The requests answered without error lately, least recently used first
/// out.
pub struct ValidatedRequests {
    known: SharedLru<Key, ()>,
}

impl ValidatedRequests {
    const CAPACITY: usize = 512;

    pub fn contains(&self, key: &Key) -> bool {
        self.known.get(key).is_some()
    }

    /// Remembers a request that was validated and answered without error.
    pub fn remember(&self, key: Key) {
        self.known.put(key, ());
    }
}

impl Default for ValidatedRequests {
    fn default() -> Self {
        ValidatedRequests {
            known: SharedLru::new(Self::CAPACITY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn variables(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn a_request_is_known_only_by_its_text_operation_and_variables() {
        let known = ValidatedRequests::default();
        let query = "query($n: Int) { resources(first: $n) { nodes { id } } }";
        let five = variables(json!({ "n": 5 }));
        known.remember(Key::of(query, None, Some(&five)).unwrap());
        assert!(known.contains(&Key::of(query, None, Some(&five)).unwrap()));
        let text = variables(json!({ "n": "five" }));
        assert!(!known.contains(&Key::of(query, None, Some(&text)).unwrap()));
        assert!(!known.contains(&Key::of(query, None, None).unwrap()));
        assert!(!known.contains(&Key::of(query, Some("Other"), Some(&five)).unwrap()));
        let other = query.replace("first", "last");
        assert!(!known.contains(&Key::of(&other, None, Some(&five)).unwrap()));
    }

    #[test]
    fn long_requests_are_not_remembered() {
        let long = format!("{{ {} }}", "__typename ".repeat(1000));
        assert!(Key::of(&long, None, None).is_none());
        let many = variables(json!({ "text": "x".repeat(2000) }));
        assert!(Key::of("{ __typename }", None, Some(&many)).is_none());
    }
}
