//! Answers list their fields in the order the query asked for them.
//!
//! async-graphql 7 resolves a selection set's fields concurrently and keeps
//! them in the order they *finish*, so two identical requests could get
//! the same data in different orders: different bytes, different ETags, and
//! no revalidation. The GraphQL specification asks for the order of the
//! query (CollectFields); this puts every object of an answer in that order.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use std::cell::OnceCell;

use async_graphql::{Name, Value};

/// Fragments spreading fragments are followed at most this deep (the
/// limits refuse deeper chains before execution anyway).
const MAX_SPREAD_DEPTH: usize = 64;

/// Reorders `data`, the answer to `operation` (or the only operation) of
/// `document`, into the order of the query.
pub fn order_as_asked(data: &mut Value, document: &ExecutableDocument, operation: Option<&str>) {
    let set = match (&document.operations, operation) {
        (DocumentOperations::Single(single), _) => &single.node.selection_set.node,
        (DocumentOperations::Multiple(operations), Some(wanted)) => {
            match operations.iter().find(|(name, _)| name.as_str() == wanted) {
                Some((_, found)) => &found.node.selection_set.node,
                None => return,
            }
        }
        (DocumentOperations::Multiple(operations), None) => match operations.values().next() {
            Some(only) if operations.len() == 1 => &only.node.selection_set.node,
            _ => return,
        },
    };
    let fields = collect_all(document, &[set]);
    order_by(data, document, &fields);
}

/// A field asked for, under its response key, with the selection sets
/// asked of it; the fields those select are collected the first time an
/// answer needs them and kept for every other item of the same list (a
/// facet list has hundreds, each with a label object inside).
struct Asked<'a> {
    key: &'a str,
    sets: Vec<&'a SelectionSet>,
    fields: OnceCell<Vec<Asked<'a>>>,
}

/// The fields `sets` select, by response key in the order they are first
/// asked for.
fn collect_all<'a>(document: &'a ExecutableDocument, sets: &[&'a SelectionSet]) -> Vec<Asked<'a>> {
    let mut out = Vec::new();
    for set in sets {
        collect(document, set, 0, &mut out);
    }
    out
}

fn collect<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    depth: usize,
    out: &mut Vec<Asked<'a>>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                let key = field.response_key().node.as_str();
                let child = &field.selection_set.node;
                match out.iter_mut().find(|asked| asked.key == key) {
                    Some(asked) => asked.sets.push(child),
                    None => out.push(Asked {
                        key,
                        sets: vec![child],
                        fields: OnceCell::new(),
                    }),
                }
            }
            Selection::InlineFragment(inline) => {
                collect(document, &inline.node.selection_set.node, depth, out);
            }
            Selection::FragmentSpread(spread) => {
                if depth >= MAX_SPREAD_DEPTH {
                    continue;
                }
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect(document, &fragment.node.selection_set.node, depth + 1, out);
                }
            }
        }
    }
}

fn order_by<'a>(value: &mut Value, document: &'a ExecutableDocument, fields: &[Asked<'a>]) {
    match value {
        Value::List(items) => {
            for item in items {
                order_by(item, document, fields);
            }
        }
        Value::Object(map) => {
            let position = |key: &Name| {
                fields
                    .iter()
                    .position(|asked| asked.key == key.as_str())
                    .unwrap_or(usize::MAX)
            };
            let in_order = map
                .keys()
                .map(position)
                .try_fold(0, |before, at| (at >= before).then_some(at))
                .is_some();
            if !in_order {
                map.sort_by(|a, _, b, _| position(a).cmp(&position(b)));
            }
            for (key, child) in map.iter_mut() {
                if let Some(asked) = fields.iter().find(|asked| asked.key == key.as_str())
                    && asked.sets.iter().any(|set| !set.items.is_empty())
                {
                    let nested = asked
                        .fields
                        .get_or_init(|| collect_all(document, &asked.sets));
                    order_by(child, document, nested);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of `value`, an object, in the order it holds them.
    fn keys(value: &Value) -> Vec<&str> {
        let Value::Object(object) = value else {
            panic!("not an object: {value}")
        };
        object.keys().map(Name::as_str).collect()
    }

    /// The member `key` of `value`, an object.
    fn member<'v>(value: &'v Value, key: &str) -> &'v Value {
        let Value::Object(object) = value else {
            panic!("not an object: {value}")
        };
        &object[key]
    }

    /// The items of `value`, a list.
    fn items(value: &Value) -> &[Value] {
        let Value::List(items) = value else {
            panic!("not a list: {value}")
        };
        items
    }

    #[test]
    fn fields_come_in_the_order_asked_through_aliases_and_fragments() {
        let query = "{ b: topics { name slug } a { ...F } } fragment F on A { y ... on A { x } }";
        let data = serde_json::json!({
            "a": { "x": 1, "y": 2 },
            "b": [{ "slug": "s", "name": "n" }, { "name": "m", "slug": "t" }],
        });
        // serde_json sorts these keys: "a" first, "slug" before "name".
        let document = async_graphql::parser::parse_query(query).unwrap();
        let mut value = Value::from_json(data).unwrap();
        order_as_asked(&mut value, &document, None);
        assert_eq!(keys(&value), ["b", "a"]);
        assert_eq!(keys(member(&value, "a")), ["y", "x"]);
        for item in items(member(&value, "b")) {
            assert_eq!(keys(item), ["name", "slug"]);
        }
    }

    #[test]
    fn every_item_of_a_list_orders_its_nested_objects_as_asked() {
        // The nested selection is collected for the first item and kept
        // for the others: each must still come out in the order asked,
        // whatever order it arrived in, merged across fragments.
        let query = "{ facets { count label { slug } ...More } } \
                     fragment More on Facet { label { name id } }";
        let data = serde_json::json!({
            "facets": [
                { "label": { "id": 1, "slug": "a", "name": "A" }, "count": 3 },
                { "count": 2, "label": { "name": "B", "slug": "b", "id": 2 } },
                { "label": { "slug": "c", "id": 3, "name": "C" }, "count": 1 },
            ],
        });
        let document = async_graphql::parser::parse_query(query).unwrap();
        let mut value = Value::from_json(data).unwrap();
        order_as_asked(&mut value, &document, None);
        let facets = items(member(&value, "facets"));
        assert_eq!(facets.len(), 3);
        for facet in facets {
            assert_eq!(keys(facet), ["count", "label"]);
            assert_eq!(keys(member(facet, "label")), ["slug", "name", "id"]);
        }
    }
}
