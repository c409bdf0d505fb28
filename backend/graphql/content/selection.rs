//! Reading a list's selection ahead, so that lists whose items ask only
//! for what their rows hold are written into the answer directly.
//!
//! async-graphql resolves every field of every item as its own boxed
//! future, with a map per object: on a page of 20 resources or a facet of
//! 200 topics that work outweighs everything else the request does. The
//! lists that allow it (facets, resource pages) read their selection here
//! once; a selection this module cannot read in full (a directive other
//! than `@skip` and `@include`, which async-graphql applies before
//! execution; a fragment on another type; a field needing its resolver)
//! leaves the list to async-graphql, so both paths give the same answer.

use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::{ContextSelectionSet, Name, Positioned, Value};
use uuid::Uuid;

use crate::graphql::ids::{NodeType, encode};

/// The three `OutputType` functions that make a list written directly
/// appear in the schema exactly as the list type `$shown` it stands for.
macro_rules! shown_as {
    ($shown:ty) => {
        fn type_name() -> std::borrow::Cow<'static, str> {
            <$shown as async_graphql::OutputType>::type_name()
        }

        fn qualified_type_name() -> String {
            <$shown as async_graphql::OutputType>::qualified_type_name()
        }

        fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
            <$shown as async_graphql::OutputType>::create_type_info(registry)
        }
    };
}
pub(crate) use shown_as;

/// Fragments spreading fragments are followed at most this deep before the
/// list is left to async-graphql (the limits refuse deep chains anyway).
const MAX_SPREAD_DEPTH: usize = 16;

/// A field of a topic, resource type or tag that its row holds.
#[derive(PartialEq)]
pub enum LabelField {
    Id,
    Slug,
    Name,
    Typename,
}

/// The fields asked of a label, by response key in the order asked, or
/// `None` when any of them needs its resolver (relations, workflow state,
/// arguments).
pub fn label_fields(
    ctx: &ContextSelectionSet<'_>,
    set: &SelectionSet,
    label: NodeType,
) -> Option<Vec<(Name, LabelField)>> {
    let mut fields = Vec::new();
    let mut add = |field: &Positioned<Field>| -> Option<()> {
        if !field.node.arguments.is_empty() {
            return None;
        }
        let wanted = match field.node.name.node.as_str() {
            "__typename" => LabelField::Typename,
            "id" => LabelField::Id,
            "slug" => LabelField::Slug,
            "name" => LabelField::Name,
            _ => return None,
        };
        merge(&mut fields, field.node.response_key().node.clone(), wanted)
    };
    // Labels are nodes: `... on Node { id }` selects from them too.
    walk(ctx, set, &[label.name(), "Node"], &mut add)?;
    Some(fields)
}

/// A label's answer: `fields` of the label `id`, `slug`, `name`.
pub fn label_object(
    fields: &[(Name, LabelField)],
    label: NodeType,
    id: Uuid,
    slug: &str,
    name: &str,
) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(key, field)| {
                let value = match field {
                    LabelField::Id => Value::from(encode(label, id).0),
                    LabelField::Slug => Value::from(slug),
                    LabelField::Name => Value::from(name),
                    LabelField::Typename => Value::from(label.name()),
                };
                (key.clone(), value)
            })
            .collect(),
    )
}

/// Adds `wanted` under `key`, merging an object's selections asked twice;
/// `None` when one key would answer two different things.
pub fn merge<F: Mergeable>(fields: &mut Vec<(Name, F)>, key: Name, wanted: F) -> Option<()> {
    match fields.iter_mut().find(|(seen, _)| *seen == key) {
        None => fields.push((key, wanted)),
        Some((_, held)) => held.merge(wanted)?,
    }
    Some(())
}

/// A field asked for under one response key, which may be asked again.
pub trait Mergeable: Sized + PartialEq {
    /// Takes in `other`, asked under the same key; `None` when they differ
    /// in what they answer.
    fn merge(&mut self, other: Self) -> Option<()>;
}

impl Mergeable for LabelField {
    fn merge(&mut self, other: Self) -> Option<()> {
        (*self == other).then_some(())
    }
}

/// Visits every field `set` selects on an object of one of the `types`,
/// through inline fragments and spreads; `None` at a directive, a fragment
/// on another type or a chain of spreads too deep.
pub fn walk<'a>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    types: &[&str],
    visit: &mut impl FnMut(&'a Positioned<Field>) -> Option<()>,
) -> Option<()> {
    walk_within(ctx, set, types, 0, visit)
}

fn walk_within<'a>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    types: &[&str],
    depth: usize,
    visit: &mut impl FnMut(&'a Positioned<Field>) -> Option<()>,
) -> Option<()> {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                if !field.node.directives.is_empty() {
                    return None;
                }
                visit(field)?;
            }
            Selection::InlineFragment(inline) => {
                let inline = &inline.node;
                let applies = inline
                    .type_condition
                    .as_ref()
                    .is_none_or(|condition| types.contains(&condition.node.on.node.as_str()));
                if !inline.directives.is_empty() || !applies {
                    return None;
                }
                walk_within(ctx, &inline.selection_set.node, types, depth, visit)?;
            }
            Selection::FragmentSpread(spread) => {
                if !spread.node.directives.is_empty() || depth >= MAX_SPREAD_DEPTH {
                    return None;
                }
                let fragment = &ctx
                    .query_env
                    .fragments
                    .get(&spread.node.fragment_name.node)?
                    .node;
                let on = fragment.type_condition.node.on.node.as_str();
                if !fragment.directives.is_empty() || !types.contains(&on) {
                    return None;
                }
                walk_within(ctx, &fragment.selection_set.node, types, depth + 1, visit)?;
            }
        }
    }
    Some(())
}
