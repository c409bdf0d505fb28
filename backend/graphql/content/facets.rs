//! Facet counts of a resource result.
//!
//! A resource index asks for hundreds of facet entries (every topic with
//! its count): a facet list whose selection asks only for what an entry
//! holds (its count, its year, its label's id, slug and name, `__typename`)
//! is written into the answer directly (see `selection`); any other
//! selection is resolved by async-graphql as before. Both give the same
//! answer: a test asks every shape both ways.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::parser::types::Field;
use async_graphql::{
    Context, ContextSelectionSet, Name, Object, OutputType, Positioned, Result, ServerResult,
    SimpleObject, Value,
};
use uuid::Uuid;

use super::types::{ResourceType, Tag, Topic};
use crate::db::resource_index::{CountQuery, Dimension, FacetCount, FacetValue};
use crate::domain::Stage;
use crate::graphql::access::loaders;
use crate::graphql::error::internal;
use crate::graphql::ids::NodeType;
use crate::graphql::loaders::FacetKey;

use super::selection::{LabelField, Mergeable, label_fields, label_object, merge, shown_as, walk};

/// Facet counts of a resource result.
pub struct ResourceFacets {
    count: Arc<CountQuery>,
    owner: Uuid,
}

impl ResourceFacets {
    pub fn new(count: Arc<CountQuery>, owner: Uuid) -> Self {
        ResourceFacets { count, owner }
    }

    async fn list<T: FacetEntry>(
        &self,
        ctx: &Context<'_>,
        dimension: Dimension,
    ) -> Result<FacetList<T>> {
        let counts = loaders(ctx, self.count.stage)?
            .load_one(FacetKey {
                query: self.count.clone(),
                dimension,
                owner: self.owner,
            })
            .await
            .map_err(internal)?
            .unwrap_or_default();
        Ok(FacetList {
            counts,
            stage: self.count.stage,
            entry: PhantomData,
        })
    }
}

/// Facet counts of a resource result, most frequent first.
#[Object]
impl ResourceFacets {
    /// Resources per topic.
    async fn topics(&self, ctx: &Context<'_>) -> Result<FacetList<TopicFacet>> {
        self.list(ctx, Dimension::Topics).await
    }

    /// Resources per resource type.
    async fn types(&self, ctx: &Context<'_>) -> Result<FacetList<ResourceTypeFacet>> {
        self.list(ctx, Dimension::Types).await
    }

    /// Resources per year of publication, newest first (resources without a
    /// year are not counted).
    async fn years(&self, ctx: &Context<'_>) -> Result<FacetList<YearFacet>> {
        self.list(ctx, Dimension::Years).await
    }

    /// Resources per tag.
    async fn tags(&self, ctx: &Context<'_>) -> Result<FacetList<TagFacet>> {
        self.list(ctx, Dimension::Tags).await
    }
}

/// A topic and how many resources of the result it has.
#[derive(SimpleObject)]
pub struct TopicFacet {
    /// The topic.
    pub topic: Topic,
    /// Matching resources in it.
    pub count: i64,
}

/// A resource type and how many resources of the result have it.
#[derive(SimpleObject)]
pub struct ResourceTypeFacet {
    /// The resource type.
    #[graphql(name = "type")]
    pub resource_type: ResourceType,
    /// Matching resources of this type.
    pub count: i64,
}

/// A year and how many resources of the result were published in it.
#[derive(SimpleObject)]
pub struct YearFacet {
    /// The year.
    pub year: i32,
    /// Matching resources from it.
    pub count: i64,
}

/// A tag and how many resources of the result carry it.
#[derive(SimpleObject)]
pub struct TagFacet {
    /// The tag.
    pub tag: Tag,
    /// Matching resources with it.
    pub count: i64,
}

/// What a facet entry type is made of: the field that holds its value and
/// the label type behind it (none for years).
pub trait FacetEntry: OutputType + Sized + 'static {
    /// The entry's field holding the counted value.
    const VALUE_FIELD: &'static str;
    /// The value's node type, when the value is a label.
    const LABEL: Option<NodeType>;

    /// The entry for `count`; `None` when it counts another kind of value.
    fn entry(count: &FacetCount, stage: Stage) -> Option<Self>;
}

impl FacetEntry for TopicFacet {
    const VALUE_FIELD: &'static str = "topic";
    const LABEL: Option<NodeType> = Some(NodeType::Topic);

    fn entry(count: &FacetCount, stage: Stage) -> Option<Self> {
        match &count.value {
            FacetValue::Topic(row) => Some(TopicFacet {
                topic: Topic::shared(stage)(row.clone()),
                count: count.count,
            }),
            _ => None,
        }
    }
}

impl FacetEntry for ResourceTypeFacet {
    const VALUE_FIELD: &'static str = "type";
    const LABEL: Option<NodeType> = Some(NodeType::ResourceType);

    fn entry(count: &FacetCount, stage: Stage) -> Option<Self> {
        match &count.value {
            FacetValue::Label(row) => Some(ResourceTypeFacet {
                resource_type: ResourceType::shared(stage)(row.clone()),
                count: count.count,
            }),
            _ => None,
        }
    }
}

impl FacetEntry for TagFacet {
    const VALUE_FIELD: &'static str = "tag";
    const LABEL: Option<NodeType> = Some(NodeType::Tag);

    fn entry(count: &FacetCount, stage: Stage) -> Option<Self> {
        match &count.value {
            FacetValue::Label(row) => Some(TagFacet {
                tag: Tag::shared(stage)(row.clone()),
                count: count.count,
            }),
            _ => None,
        }
    }
}

impl FacetEntry for YearFacet {
    const VALUE_FIELD: &'static str = "year";
    const LABEL: Option<NodeType> = None;

    fn entry(count: &FacetCount, _stage: Stage) -> Option<Self> {
        match count.value {
            FacetValue::Year(year) => Some(YearFacet {
                year,
                count: count.count,
            }),
            _ => None,
        }
    }
}

/// A facet's entries, shared with the index's kept counts until the answer
/// is written. In the schema it is `[T!]!`, exactly as a `Vec<T>`.
pub struct FacetList<T> {
    counts: Arc<Vec<FacetCount>>,
    stage: Stage,
    entry: PhantomData<fn() -> T>,
}

impl<T: FacetEntry> OutputType for FacetList<T> {
    shown_as!(Vec<T>);

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if let Some(plan) = EntryPlan::of::<T>(ctx) {
            return Ok(Value::List(
                self.counts
                    .iter()
                    .filter_map(|count| plan.write(count, T::LABEL))
                    .collect(),
            ));
        }
        let entries: Vec<T> = self
            .counts
            .iter()
            .filter_map(|count| T::entry(count, self.stage))
            .collect();
        OutputType::resolve(&entries, ctx, field).await
    }
}

/// What an entry's answer holds, by response key in the order asked.
struct EntryPlan {
    typename: Cow<'static, str>,
    fields: Vec<(Name, EntryField)>,
}

#[derive(PartialEq)]
enum EntryField {
    Count,
    Year,
    Typename,
    Label(Vec<(Name, LabelField)>),
}

impl EntryPlan {
    /// The plan for the list's selection, or `None` when it asks for
    /// anything an entry does not hold or uses a directive.
    fn of<T: FacetEntry>(ctx: &ContextSelectionSet<'_>) -> Option<EntryPlan> {
        let entry_type = T::type_name();
        let mut fields = Vec::new();
        let mut add = |field: &Positioned<Field>| -> Option<()> {
            let key = field.node.response_key().node.clone();
            let name = field.node.name.node.as_str();
            if !field.node.arguments.is_empty() {
                return None;
            }
            let wanted = if name == "__typename" {
                EntryField::Typename
            } else if name == "count" {
                EntryField::Count
            } else if name == T::VALUE_FIELD {
                match T::LABEL {
                    None => EntryField::Year,
                    Some(label) => {
                        EntryField::Label(label_fields(ctx, &field.node.selection_set.node, label)?)
                    }
                }
            } else {
                return None;
            };
            merge(&mut fields, key, wanted)
        };
        walk(ctx, &ctx.item.node, &[entry_type.as_ref()], &mut add)?;
        Some(EntryPlan {
            typename: entry_type,
            fields,
        })
    }

    fn write(&self, count: &FacetCount, label: Option<NodeType>) -> Option<Value> {
        let label_row = match (&count.value, label) {
            (FacetValue::Topic(row), Some(NodeType::Topic)) => Some((row.id, &row.slug, &row.name)),
            (FacetValue::Label(row), Some(NodeType::ResourceType | NodeType::Tag)) => {
                Some((row.id, &row.slug, &row.name))
            }
            (FacetValue::Year(_), None) => None,
            _ => return None,
        };
        let object = self
            .fields
            .iter()
            .map(|(key, field)| {
                let value = match field {
                    EntryField::Count => Value::from(count.count),
                    EntryField::Year => match count.value {
                        FacetValue::Year(year) => Value::from(year),
                        _ => Value::Null,
                    },
                    EntryField::Typename => Value::from(self.typename.as_ref()),
                    EntryField::Label(wanted) => match (label_row, label) {
                        (Some((id, slug, name)), Some(node_type)) => {
                            label_object(wanted, node_type, id, slug, name)
                        }
                        _ => Value::Null,
                    },
                };
                (key.clone(), value)
            })
            .collect();
        Some(Value::Object(object))
    }
}

impl Mergeable for EntryField {
    fn merge(&mut self, other: Self) -> Option<()> {
        match (self, other) {
            (EntryField::Label(held), EntryField::Label(more)) => {
                for (key, field) in more {
                    merge(held, key, field)?;
                }
                Some(())
            }
            (held, other) => (*held == other).then_some(()),
        }
    }
}
