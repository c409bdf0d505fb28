//! A list of resources (a connection's page, a module's resources).
//!
//! Partners ask for pages of resources more than anything else, mostly for
//! what the rows hold: titles, years, links and label names. When a page's
//! selection asks only for that, the page is written into the answer
//! directly (see `selection`); async-graphql resolved those fields one
//! boxed future each, which cost more than the rest of such a request's
//! work together. Any other selection (modules, files, workflow state) is
//! resolved by async-graphql as before; a test asks every shape both ways.

use std::collections::HashMap;

use async_graphql::parser::types::Field;
use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ScalarType, ServerResult, Value,
};

use super::selection::{LabelField, Mergeable, label_fields, label_object, merge, shown_as, walk};
use super::types::{LabelKinds, Resource};
use crate::db::content::Label;
use crate::db::content::LabelById;
use crate::graphql::ids::{NodeType, encode};
use crate::graphql::scalars::Timestamp;

/// Resources in display order. In the schema it is `[Resource!]!`,
/// exactly as a `Vec<Resource>`.
pub struct ResourceList(pub Vec<Resource>);

impl OutputType for ResourceList {
    shown_as!(Vec<Resource>);

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if let Some(plan) = ResourcePlan::of(ctx) {
            let labels = if plan.needs.topics || plan.needs.types || plan.needs.tags {
                let labels = Resource::shared_page_labels(&self.0, ctx, plan.needs).await;
                if labels.is_none() {
                    return OutputType::resolve(&self.0, ctx, field).await;
                }
                labels
            } else {
                None
            };
            return Ok(Value::List(
                self.0
                    .iter()
                    .map(|resource| plan.write(resource, labels))
                    .collect(),
            ));
        }
        OutputType::resolve(&self.0, ctx, field).await
    }
}

/// What a resource's answer holds, by response key in the order asked.
struct ResourcePlan {
    fields: Vec<(Name, ResourceField)>,
    needs: LabelKinds,
}

#[derive(PartialEq)]
enum ResourceField {
    Typename,
    Id,
    Slug,
    Title,
    Year,
    Url,
    Publisher,
    Summary,
    PublishedAt,
    Labels(LabelList, Vec<(Name, LabelField)>),
}

/// One of a resource's label relations.
#[derive(Clone, Copy, PartialEq)]
enum LabelList {
    Topics,
    Types,
    Tags,
}

impl LabelList {
    fn node_type(self) -> NodeType {
        match self {
            LabelList::Topics => NodeType::Topic,
            LabelList::Types => NodeType::ResourceType,
            LabelList::Tags => NodeType::Tag,
        }
    }
}

impl ResourcePlan {
    /// The plan for the list's selection, or `None` when it asks for
    /// anything a resource's row and its labels do not hold.
    fn of(ctx: &ContextSelectionSet<'_>) -> Option<ResourcePlan> {
        let mut fields = Vec::new();
        let mut needs = LabelKinds {
            topics: false,
            types: false,
            tags: false,
        };
        let mut add = |field: &Positioned<Field>| -> Option<()> {
            if !field.node.arguments.is_empty() {
                return None;
            }
            let set = &field.node.selection_set.node;
            let wanted = match field.node.name.node.as_str() {
                "__typename" => ResourceField::Typename,
                "id" => ResourceField::Id,
                "slug" => ResourceField::Slug,
                "title" => ResourceField::Title,
                "year" => ResourceField::Year,
                "url" => ResourceField::Url,
                "publisher" => ResourceField::Publisher,
                "summary" => ResourceField::Summary,
                "publishedAt" => ResourceField::PublishedAt,
                "topics" => {
                    needs.topics = true;
                    ResourceField::Labels(
                        LabelList::Topics,
                        label_fields(ctx, set, NodeType::Topic)?,
                    )
                }
                "types" => {
                    needs.types = true;
                    let fields = label_fields(ctx, set, NodeType::ResourceType)?;
                    ResourceField::Labels(LabelList::Types, fields)
                }
                "tags" => {
                    needs.tags = true;
                    ResourceField::Labels(LabelList::Tags, label_fields(ctx, set, NodeType::Tag)?)
                }
                _ => return None,
            };
            merge(&mut fields, field.node.response_key().node.clone(), wanted)
        };
        // Resources are nodes and content: fragments on either select from
        // them too (their other fields need resolvers and end the plan).
        walk(
            ctx,
            &ctx.item.node,
            &["Resource", "Node", "Content"],
            &mut add,
        )?;
        Some(ResourcePlan { fields, needs })
    }

    fn write(&self, resource: &Resource, labels: Option<&HashMap<LabelById, Label>>) -> Value {
        let row = &resource.row;
        let text = |text: &Option<String>| text.as_deref().map_or(Value::Null, Value::from);
        let object = self
            .fields
            .iter()
            .map(|(key, field)| {
                let value = match field {
                    ResourceField::Typename => Value::from("Resource"),
                    ResourceField::Id => Value::from(encode(NodeType::Resource, row.id).0),
                    ResourceField::Slug => Value::from(row.slug.as_str()),
                    ResourceField::Title => Value::from(row.title.as_str()),
                    ResourceField::Year => row.year.map_or(Value::Null, Value::from),
                    ResourceField::Url => text(&row.url),
                    ResourceField::Publisher => text(&row.publisher),
                    ResourceField::Summary => text(&row.summary),
                    ResourceField::PublishedAt => row
                        .published_at
                        .map_or(Value::Null, |at| Timestamp(at).to_value()),
                    ResourceField::Labels(list, wanted) => {
                        let (ids, key): (_, fn(_) -> LabelById) = match list {
                            LabelList::Topics => (&row.topic_ids, LabelById::Topic),
                            LabelList::Types => (&row.type_ids, LabelById::Type),
                            LabelList::Tags => (&row.tag_ids, LabelById::Tag),
                        };
                        let node_type = list.node_type();
                        Value::List(
                            ids.iter()
                                .flatten()
                                .filter_map(|id| labels?.get(&key(*id)))
                                .filter_map(|label| {
                                    let (id, slug, name) = match (label, list) {
                                        (Label::Topic(row), LabelList::Topics) => {
                                            (row.id, &row.slug, &row.name)
                                        }
                                        (Label::Type(row), LabelList::Types)
                                        | (Label::Tag(row), LabelList::Tags) => {
                                            (row.id, &row.slug, &row.name)
                                        }
                                        _ => return None,
                                    };
                                    Some(label_object(wanted, node_type, id, slug, name))
                                })
                                .collect(),
                        )
                    }
                };
                (key.clone(), value)
            })
            .collect();
        Value::Object(object)
    }
}

impl Mergeable for ResourceField {
    fn merge(&mut self, other: Self) -> Option<()> {
        match (self, other) {
            (ResourceField::Labels(list, held), ResourceField::Labels(other_list, more))
                if *list == other_list =>
            {
                for (key, field) in more {
                    merge(held, key, field)?;
                }
                Some(())
            }
            (held, other) => (*held == other).then_some(()),
        }
    }
}
