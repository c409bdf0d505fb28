//! What one request may ask of the server, checked before any of it runs.
//!
//! async-graphql's own checks run after parsing, and some of them (the
//! recursion check, complexity) expand fragment spreads as they go, so a
//! document whose fragments spread each other twice per level costs them
//! time exponential in its size. Beacon therefore looks at the text first
//! (nesting, in one pass, before the recursive-descent parser sees it),
//! then at the parsed document with every fragment's cost computed once,
//! and only hands a document that fits to async-graphql. Complexity comes
//! from the schema's shape ([`SchemaShape`]): a field costs 1 plus, for a
//! list, its page size (or an estimate) times what each item asks for.

use crate::graphql::error::ErrorCode;
use crate::graphql::shared_lru::SharedLru;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::Positioned;
use async_graphql::parser::types::{
    BaseType, Directive, ExecutableDocument, Field, OperationType, Selection, SelectionSet,
    TypeKind, TypeSystemDefinition,
};
use serde_json::Map;

/// Bounds on a request's document. Defaults suit a public API; every one
/// is a `beacon serve` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of fields (fragments count as the fields they hold).
    pub max_depth: usize,
    /// Largest complexity: each field costs 1, a list field its page size
    /// (or an estimate) times what each item asks for.
    pub max_complexity: usize,
    /// Most aliased fields.
    pub max_aliases: usize,
    /// Most selections once every fragment spread is counted as the
    /// selections it stands for.
    pub max_selections: usize,
    /// Most directives on one field, fragment spread or operation.
    pub max_directives: usize,
    /// Deepest nesting of list and object literals in arguments.
    pub max_input_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 12,
            max_complexity: 50_000,
            max_aliases: 50,
            max_selections: 500,
            max_directives: 5,
            max_input_depth: 10,
        }
    }
}

/// Selection sets nest at most this deep in the text: the parser refuses
/// more itself, and must never be handed unbounded nesting.
const MAX_TEXT_NESTING: usize = 64;
/// `ofType` selections nested in one another: enough to unwrap any type a
/// schema can write (`[[Foo!]!]!` takes 5; graphql-js asks for 9).
const MAX_TYPE_CHAIN: usize = 12;
/// Fragments spreading fragments: a chain longer than this is refused
/// rather than followed.
const MAX_FRAGMENT_CHAIN: usize = 64;

/// Why a document is refused, with the stable code clients see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    pub code: ErrorCode,
    pub message: String,
}

impl LimitError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        LimitError {
            code,
            message: message.into(),
        }
    }
}

/// What one HTTP request may still spend. A batch shares one budget, so
/// batching never buys more than a single request may do.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    shape: Arc<SchemaShape>,
    selections_left: AtomicUsize,
    aliases_left: AtomicUsize,
    complexity_left: AtomicUsize,
}

impl Budget {
    pub fn new(limits: &Limits, shape: &Arc<SchemaShape>) -> Arc<Budget> {
        Arc::new(Budget {
            limits: limits.clone(),
            shape: shape.clone(),
            selections_left: AtomicUsize::new(limits.max_selections),
            aliases_left: AtomicUsize::new(limits.max_aliases),
            complexity_left: AtomicUsize::new(limits.max_complexity),
        })
    }

    /// Parses `query` and charges what it asks for, or says which limit it
    /// breaks. Linear in the length of the text whatever its shape.
    /// `variables` give page sizes passed as variables.
    pub fn admit(
        &self,
        query: &str,
        variables: Option<&Map<String, serde_json::Value>>,
    ) -> Result<ExecutableDocument, LimitError> {
        scan_nesting(query, self.limits.max_input_depth)?;
        let document = self.shape.documents.parse(query)?;
        let cost = Costing {
            document: &document,
            shape: &self.shape,
            variables,
            states: HashMap::new(),
            limits: &self.limits,
        }
        .document()?;
        if cost.type_chain > MAX_TYPE_CHAIN {
            return Err(LimitError::new(
                ErrorCode::QueryTooDeep,
                format!(
                    "the query nests `ofType` {} deep; at most {MAX_TYPE_CHAIN} are allowed",
                    cost.type_chain
                ),
            ));
        }
        if cost.depth > self.limits.max_depth {
            return Err(LimitError::new(
                ErrorCode::QueryTooDeep,
                format!(
                    "the query nests fields {} deep; at most {} are allowed",
                    cost.depth, self.limits.max_depth
                ),
            ));
        }
        // The more telling limit first: a thousand aliases are also a
        // thousand selections.
        charge(
            &self.aliases_left,
            cost.aliases,
            ErrorCode::TooManyAliases,
            || {
                format!(
                    "the request uses {} aliases; at most {} are allowed",
                    cost.aliases, self.limits.max_aliases
                )
            },
        )?;
        charge(
            &self.selections_left,
            cost.selections,
            ErrorCode::TooManySelections,
            || too_many_selections(cost.selections, &self.limits).message,
        )?;
        charge(
            &self.complexity_left,
            cost.complexity,
            ErrorCode::QueryTooComplex,
            || {
                format!(
                    "the request's complexity is {}; at most {} is allowed (a list costs its \
                     page size times what each item asks for)",
                    cost.complexity, self.limits.max_complexity
                )
            },
        )?;
        Ok(document)
    }
}

fn too_many_selections(selections: usize, limits: &Limits) -> LimitError {
    LimitError::new(
        ErrorCode::TooManySelections,
        format!(
            "the request makes {selections} selections (a fragment counts as often as it is \
             spread); at most {} are allowed",
            limits.max_selections
        ),
    )
}

fn charge(
    left: &AtomicUsize,
    amount: usize,
    code: ErrorCode,
    message: impl FnOnce() -> String,
) -> Result<(), LimitError> {
    left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
        left.checked_sub(amount)
    })
    .map(drop)
    .map_err(|_| LimitError::new(code, message()))
}

/// One pass over the text: how deep list and object literals nest inside
/// arguments, and how deep brackets nest at all. Strings and comments are
/// skipped, so brackets inside them do not count.
fn scan_nesting(query: &str, max_input_depth: usize) -> Result<(), LimitError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Open {
        Arguments,
        Value,
        Selection,
    }
    let mut open: Vec<Open> = Vec::new();
    let mut value_depth = 0usize;
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' => open.push(Open::Arguments),
            b'[' | b'{' => {
                let in_arguments = open
                    .last()
                    .is_some_and(|kind| matches!(kind, Open::Arguments | Open::Value));
                if in_arguments {
                    value_depth += 1;
                    if value_depth > max_input_depth {
                        return Err(LimitError::new(
                            ErrorCode::InputTooDeep,
                            format!(
                                "argument values nest more than {max_input_depth} lists or \
                                 objects deep"
                            ),
                        ));
                    }
                    open.push(Open::Value);
                } else {
                    open.push(Open::Selection);
                }
                if open.len() > MAX_TEXT_NESTING {
                    return Err(LimitError::new(
                        ErrorCode::QueryTooDeep,
                        format!("brackets nest more than {MAX_TEXT_NESTING} deep"),
                    ));
                }
            }
            // Unbalanced text is the parser's to report.
            b')' | b']' | b'}' if open.pop() == Some(Open::Value) => value_depth -= 1,
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// What a selection set asks for, fragments expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    selections: usize,
    aliases: usize,
    depth: usize,
    /// Longest chain of `__Type.ofType` selections, counted apart from
    /// `depth`: introspection clients unwrap `[Foo!]!` with a fixed chain
    /// of them (graphql-js asks for 9), which is no sign of abuse.
    type_chain: usize,
    complexity: usize,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.selections = self.selections.saturating_add(other.selections);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.depth = self.depth.max(other.depth);
        self.type_chain = self.type_chain.max(other.type_chain);
        self.complexity = self.complexity.saturating_add(other.complexity);
    }
}

enum FragmentState {
    Visiting,
    Done(Cost),
}

/// Costs of a document, each fragment computed once however often it is
/// spread.
struct Costing<'a> {
    document: &'a ExecutableDocument,
    shape: &'a SchemaShape,
    variables: Option<&'a Map<String, serde_json::Value>>,
    states: HashMap<&'a str, FragmentState>,
    limits: &'a Limits,
}

impl<'a> Costing<'a> {
    /// Every operation's cost, summed. Every fragment is costed too, spread
    /// or not, since validation walks them all.
    fn document(mut self) -> Result<Cost, LimitError> {
        let document = self.document;
        for name in document.fragments.keys() {
            let cost = self.fragment(name, 0)?;
            self.within_selections(cost)?;
        }
        let mut total = Cost::default();
        for (_, operation) in document.operations.iter() {
            self.directives(&operation.node.directives)?;
            let root = self.shape.root(operation.node.ty);
            total.add(self.selection_set(&operation.node.selection_set.node, root, 0)?);
        }
        Ok(total)
    }

    fn within_selections(&self, cost: Cost) -> Result<(), LimitError> {
        if cost.selections > self.limits.max_selections {
            return Err(too_many_selections(cost.selections, self.limits));
        }
        Ok(())
    }

    fn directives(&self, directives: &[Positioned<Directive>]) -> Result<(), LimitError> {
        if directives.len() > self.limits.max_directives {
            return Err(LimitError::new(
                ErrorCode::TooManyDirectives,
                format!(
                    "{} directives on one selection; at most {} are allowed",
                    directives.len(),
                    self.limits.max_directives
                ),
            ));
        }
        Ok(())
    }

    fn fragment(&mut self, name: &'a str, chain: usize) -> Result<Cost, LimitError> {
        match self.states.get(name) {
            Some(FragmentState::Done(cost)) => return Ok(*cost),
            Some(FragmentState::Visiting) => {
                return Err(LimitError::new(
                    ErrorCode::FragmentCycle,
                    format!("fragment `{name}` spreads itself"),
                ));
            }
            None => {}
        }
        if chain > MAX_FRAGMENT_CHAIN {
            return Err(LimitError::new(
                ErrorCode::QueryTooDeep,
                format!("fragments spread each other more than {MAX_FRAGMENT_CHAIN} deep"),
            ));
        }
        // An unknown fragment costs nothing here; validation names it.
        let Some((key, definition)) = self.document.fragments.get_key_value(name) else {
            return Ok(Cost::default());
        };
        self.states.insert(key.as_str(), FragmentState::Visiting);
        self.directives(&definition.node.directives)?;
        let on = definition.node.type_condition.node.on.node.as_str();
        let cost = self.selection_set(&definition.node.selection_set.node, on, chain)?;
        self.states.insert(key.as_str(), FragmentState::Done(cost));
        Ok(cost)
    }

    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        on: &str,
        chain: usize,
    ) -> Result<Cost, LimitError> {
        let mut cost = Cost::default();
        for selection in &set.items {
            self.directives(selection.node.directives())?;
            let mut item = match &selection.node {
                Selection::Field(field) => self.field(&field.node, on, chain)?,
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), chain + 1)?
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    let on = inline
                        .type_condition
                        .as_ref()
                        .map_or(on, |condition| condition.node.on.node.as_str());
                    self.selection_set(&inline.selection_set.node, on, chain)?
                }
            };
            item.selections = item.selections.saturating_add(1);
            cost.add(item);
        }
        Ok(cost)
    }

    fn field(&mut self, field: &'a Field, on: &str, chain: usize) -> Result<Cost, LimitError> {
        let shape = self.shape.field(on, field.name.node.as_str());
        let returns = shape.map_or("", |shape| shape.returns.as_str());
        let mut cost = self.selection_set(&field.selection_set.node, returns, chain)?;
        // Only introspection's `__Type` has an `ofType` field.
        if field.name.node.as_str() == "ofType" {
            cost.type_chain += 1;
        } else {
            cost.depth += 1;
        }
        if field.alias.is_some() {
            cost.aliases = cost.aliases.saturating_add(1);
        }
        let items = shape.map_or(1, |shape| self.items(on, shape, field));
        cost.complexity = items.saturating_mul(cost.complexity).saturating_add(1);
        Ok(cost)
    }

    /// How many items a field returns, for complexity: its page size, the
    /// number of ids asked for, or an estimate for a list without either.
    fn items(&self, on: &str, shape: &FieldShape, field: &Field) -> usize {
        let argument = |name: &str| {
            field
                .arguments
                .iter()
                .find(|(argument, _)| argument.node == name)
                .map(|(_, value)| self.resolve(&value.node))
        };
        if shape.paged {
            // Whichever of `first` and `last` asks for more, however it is
            // given (literal, variable, null): a null `first` beside a
            // `last` must not pass for the default page.
            let sizes: Vec<u64> = ["first", "last"]
                .into_iter()
                .filter_map(|name| argument(name).flatten())
                .filter_map(|value| value.as_u64())
                .collect();
            let size = sizes.into_iter().max().unwrap_or(DEFAULT_PAGE as u64);
            return size.min(MAX_PAGE as u64) as usize;
        }
        if !shape.list {
            return 1;
        }
        if shape.by_ids {
            return argument("ids")
                .flatten()
                .and_then(|value| value.as_array().map(Vec::len))
                .unwrap_or(LIST_ESTIMATE);
        }
        let name = field.name.node.as_str();
        self.shape
            .list_lengths
            .get(on, name)
            .unwrap_or(shape.estimate)
    }

    /// An argument's value, looking variables up.
    fn resolve(&self, value: &async_graphql_value::Value) -> Option<serde_json::Value> {
        match value {
            async_graphql_value::Value::Variable(name) => {
                self.variables?.get(name.as_str()).cloned()
            }
            other => other.clone().into_json().ok(),
        }
    }
}

/// Whether any operation of `document` reads `__schema` or `__type` (which
/// exist only on the query root).
pub fn asks_for_introspection(document: &ExecutableDocument) -> bool {
    fn in_set(document: &ExecutableDocument, set: &SelectionSet, seen: &mut Vec<String>) -> bool {
        set.items.iter().any(|selection| match &selection.node {
            Selection::Field(field) => {
                matches!(field.node.name.node.as_str(), "__schema" | "__type")
            }
            Selection::InlineFragment(inline) => {
                in_set(document, &inline.node.selection_set.node, seen)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if seen.iter().any(|seen| seen == name) {
                    return false;
                }
                seen.push(name.to_string());
                document.fragments.get(name).is_some_and(|fragment| {
                    in_set(document, &fragment.node.selection_set.node, seen)
                })
            }
        })
    }
    document.operations.iter().any(|(_, operation)| {
        in_set(
            document,
            &operation.node.selection_set.node,
            &mut Vec::new(),
        )
    })
}

/// Page size a paged field is taken to have when the query gives none.
const DEFAULT_PAGE: usize = super::paging::DEFAULT_PAGE_SIZE as usize;
/// The largest page any field accepts (larger sizes are refused by the
/// field itself).
const MAX_PAGE: usize = super::paging::MAX_PAGE_SIZE as usize;
/// How long a list without a page size is taken to be.
const LIST_ESTIMATE: usize = 10;

/// Lists known to run longer than [`LIST_ESTIMATE`]: a module lists its
/// resources in full, about a hundred in the knowledge lab.
const LONG_LISTS: &[(&str, &str, usize)] = &[("Module", "resources", 100)];

/// What complexity needs to know of a field.
#[derive(Debug, Clone)]
struct FieldShape {
    /// The named type it returns, lists and non-null stripped.
    returns: String,
    list: bool,
    /// Takes `first` (or `last`): each item of it counts once per page entry.
    paged: bool,
    /// Takes a list of `ids`: one item per id.
    by_ids: bool,
    estimate: usize,
}

/// The schema's object and interface fields, read from its SDL once.
#[derive(Debug, Default)]
pub struct SchemaShape {
    fields: HashMap<String, HashMap<String, FieldShape>>,
    query: String,
    mutation: String,
    documents: ParsedDocuments,
    /// How long the unpaged lists are in the content now.
    pub list_lengths: ListLengths,
}

/// The unpaged lists whose length grows with the content, by the type and
/// field that return them. Their cost is their measured length, not a
/// guess: with modules of 100 resources, a page of modules with their
/// resources costs what it returns.
pub const MEASURED_LISTS: [(&str, &str); 11] = [
    ("Module", "resources"),
    ("Module", "tags"),
    ("Resource", "topics"),
    ("Resource", "types"),
    ("Resource", "tags"),
    ("Resource", "modules"),
    ("Tag", "modules"),
    ("ResourceFacets", "topics"),
    ("ResourceFacets", "types"),
    ("ResourceFacets", "tags"),
    ("ResourceFacets", "years"),
];

/// The longest each of [`MEASURED_LISTS`] is in the content, as last
/// measured (see `db::content::list_lengths`); until a first measurement,
/// the estimates apply.
#[derive(Debug)]
pub struct ListLengths {
    lengths: [AtomicUsize; MEASURED_LISTS.len()],
}

/// Not measured yet.
const UNMEASURED: usize = usize::MAX;

/// Measures how long the content's lists are now into `shape`.
pub async fn measure_lists(
    conn: &mut diesel_async::AsyncPgConnection,
    shape: &SchemaShape,
) -> crate::db::DbResult<()> {
    for (on, field, length) in crate::db::content::list_lengths(conn).await? {
        shape
            .list_lengths
            .set(on, field, usize::try_from(length).unwrap_or(0));
    }
    Ok(())
}

/// Measures the lists every `interval` for as long as the process lives:
/// content grows while the server runs.
pub fn spawn_list_measurement(
    pool: crate::db::PgPool,
    shape: Arc<SchemaShape>,
    interval: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    crate::db::spawn_every(pool, interval, "list measurement", move |conn| {
        let shape = shape.clone();
        Box::pin(async move {
            if let Err(error) = measure_lists(conn, &shape).await {
                tracing::warn!(%error, "measuring list lengths for query costs failed");
            }
        })
    })
}

impl Default for ListLengths {
    fn default() -> Self {
        ListLengths {
            lengths: std::array::from_fn(|_| AtomicUsize::new(UNMEASURED)),
        }
    }
}

impl ListLengths {
    fn index(on: &str, field: &str) -> Option<usize> {
        MEASURED_LISTS
            .iter()
            .position(|(list_on, list_field)| *list_on == on && *list_field == field)
    }

    /// The measured length of a list, if it is one of those measured.
    pub fn get(&self, on: &str, field: &str) -> Option<usize> {
        let length = self.lengths[Self::index(on, field)?].load(Ordering::Relaxed);
        (length != UNMEASURED).then_some(length)
    }

    /// Records a measurement; lists not in [`MEASURED_LISTS`] are ignored.
    pub fn set(&self, on: &str, field: &str, length: usize) {
        if let Some(index) = Self::index(on, field) {
            self.lengths[index].store(length.min(UNMEASURED - 1), Ordering::Relaxed);
        }
    }
}

/// Documents already parsed, by their text. Partners send the same few
/// queries again and again, and parsing one was about a tenth of the
/// server's instructions for a page of 20 resources with their labels
/// (callgrind); cloning the parsed document costs a fraction of that.
/// Bounded in count and in text length, so it cannot grow with what
/// clients send.
pub struct ParsedDocuments {
    cache: SharedLru<String, Arc<ExecutableDocument>>,
}

impl ParsedDocuments {
    const CAPACITY: usize = 256;
    /// Longer texts are parsed every time: few partners send such queries,
    /// and they would crowd the cache's memory.
    const MAX_TEXT: usize = 8 * 1024;

    fn parse(&self, query: &str) -> Result<ExecutableDocument, LimitError> {
        if let Some(document) = self.cache.get(query) {
            return Ok(ExecutableDocument::clone(&document));
        }
        let document = async_graphql::parser::parse_query(query).map_err(|error| {
            LimitError::new(
                ErrorCode::GraphqlParseFailed,
                format!("syntax error: {error}"),
            )
        })?;
        if query.len() <= Self::MAX_TEXT {
            self.cache
                .put(query.to_string(), Arc::new(document.clone()));
        }
        Ok(document)
    }
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        ParsedDocuments {
            cache: SharedLru::new(Self::CAPACITY),
        }
    }
}

impl std::fmt::Debug for ParsedDocuments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedDocuments")
            .field("len", &self.cache.len())
            .finish()
    }
}

impl SchemaShape {
    pub fn from_sdl(sdl: &str) -> SchemaShape {
        let mut shape = SchemaShape {
            query: "Query".into(),
            mutation: "Mutation".into(),
            ..SchemaShape::default()
        };
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            tracing::error!("the schema's SDL does not parse; complexity counts every field as 1");
            return shape;
        };
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    if let Some(query) = schema.node.query {
                        shape.query = query.node.to_string();
                    }
                    if let Some(mutation) = schema.node.mutation {
                        shape.mutation = mutation.node.to_string();
                    }
                }
                TypeSystemDefinition::Type(definition) => {
                    let definition = definition.node;
                    let fields = match definition.kind {
                        TypeKind::Object(object) => object.fields,
                        TypeKind::Interface(interface) => interface.fields,
                        _ => continue,
                    };
                    let type_name = definition.name.node.to_string();
                    let fields = fields
                        .into_iter()
                        .map(|field| {
                            let field = field.node;
                            let name = field.name.node.to_string();
                            let takes = |argument: &str| {
                                field
                                    .arguments
                                    .iter()
                                    .any(|input| input.node.name.node == argument)
                            };
                            let mut ty = &field.ty.node;
                            let list = matches!(ty.base, BaseType::List(_));
                            while let BaseType::List(inner) = &ty.base {
                                ty = inner;
                            }
                            // A connection's page size is counted on the
                            // field that returns the connection.
                            let in_connection = type_name.ends_with("Connection");
                            let estimate = LONG_LISTS
                                .iter()
                                .find(|(on, field, _)| *on == type_name && *field == name)
                                .map_or(LIST_ESTIMATE, |(_, _, length)| *length);
                            let estimate = if in_connection { 1 } else { estimate };
                            let shape = FieldShape {
                                returns: ty.base.to_string(),
                                list,
                                paged: takes("first") || takes("last"),
                                by_ids: takes("ids"),
                                estimate,
                            };
                            (name, shape)
                        })
                        .collect();
                    shape.fields.insert(type_name, fields);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        shape
    }

    fn root(&self, operation: OperationType) -> &str {
        match operation {
            OperationType::Query => &self.query,
            OperationType::Mutation => &self.mutation,
            OperationType::Subscription => "Subscription",
        }
    }

    fn field(&self, on: &str, name: &str) -> Option<&FieldShape> {
        self.fields.get(on)?.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SDL: &str = "
        type Query { resources(first: Int, last: Int): ResourceConnection! topics: [Topic!]!
                     nodes(ids: [ID!]!): [Node]! module: Module }
        type ResourceConnection { nodes: [Resource!]! totalCount: Int! }
        type Resource { title: String! topics: [Topic!]! }
        type Topic { name: String! resources(first: Int): ResourceConnection! }
        type Module { resources: [Resource!]! }
        interface Node { id: ID! }
    ";

    fn budget(limits: Limits) -> Arc<Budget> {
        Budget::new(&limits, &Arc::new(SchemaShape::from_sdl(SDL)))
    }

    fn code(limits: Limits, query: &str) -> Result<(), ErrorCode> {
        budget(limits)
            .admit(query, None)
            .map(drop)
            .map_err(|error| error.code)
    }

    fn complexity(query: &str, variables: serde_json::Value) -> usize {
        let budget = budget(Limits::default());
        budget
            .admit(query, variables.as_object())
            .expect("within the limits");
        Limits::default().max_complexity - budget.complexity_left.load(Ordering::Relaxed)
    }

    #[test]
    fn a_parsed_document_is_reused_and_still_charged_each_time() {
        let shape = Arc::new(SchemaShape::from_sdl(SDL));
        let query = "{ resources(first: 5) { nodes { title } } }";
        let first = Budget::new(&Limits::default(), &shape)
            .admit(query, None)
            .expect("admitted");
        let again = Budget::new(&Limits::default(), &shape);
        let second = again.admit(query, None).expect("admitted from the cache");
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
        assert_eq!(shape.documents.cache.len(), 1);
        // The cache spares the parse, not the charge: a budget too small
        // for the document refuses it though its text is cached.
        let small = Limits {
            max_selections: 2,
            ..Limits::default()
        };
        assert_eq!(
            Budget::new(&small, &shape)
                .admit(query, None)
                .map(drop)
                .map_err(|error| error.code),
            Err(ErrorCode::TooManySelections)
        );
        // Neither texts that fail to parse nor very long ones are kept.
        assert!(
            Budget::new(&Limits::default(), &shape)
                .admit("{ resources {", None)
                .is_err()
        );
        let long = format!(
            "{{ topics {{ name }} }}{}",
            " ".repeat(ParsedDocuments::MAX_TEXT)
        );
        Budget::new(&Limits::default(), &shape)
            .admit(&long, None)
            .expect("admitted");
        assert_eq!(shape.documents.cache.len(), 1);
    }

    #[test]
    fn lists_cost_their_page_size_times_each_item() {
        // resources(1 + 20 × (nodes(1 + 1 × title 1))), page size defaulting to 20.
        assert_eq!(
            complexity("{ resources { nodes { title } } }", serde_json::json!({})),
            41
        );
        assert_eq!(
            complexity(
                "{ resources(first: 5) { totalCount } }",
                serde_json::json!({})
            ),
            6
        );
        assert_eq!(
            complexity(
                "query($n: Int) { resources(first: $n) { nodes { title } } }",
                serde_json::json!({ "n": 3 })
            ),
            7
        );
        // Unpaged lists: an estimate; a module's resources run longer.
        assert_eq!(complexity("{ topics { name } }", serde_json::json!({})), 11);
        assert_eq!(
            complexity("{ module { resources { title } } }", serde_json::json!({})),
            102
        );
        assert_eq!(
            complexity(
                "{ nodes(ids: [\"a\", \"b\"]) { id } }",
                serde_json::json!({})
            ),
            3
        );
        // Fragments cost what they hold, on their own type.
        assert_eq!(
            complexity(
                "{ resources(first: 2) { nodes { ...R } } } fragment R on Resource { topics { name } }",
                serde_json::json!({})
            ),
            1 + 2 * (1 + (1 + 10))
        );
        assert_eq!(
            code(
                Limits::default(),
                "{ resources(first: 100) { nodes { topics { resources(first: 100) { nodes { title } } } } } }"
            ),
            Err(ErrorCode::QueryTooComplex)
        );
    }

    #[test]
    fn a_null_first_does_not_hide_a_large_last() {
        assert_eq!(
            code(
                Limits::default(),
                "{ resources(first: null, last: 100) { nodes { topics { resources(first: null, last: 100) { nodes { title } } } } } }"
            ),
            Err(ErrorCode::QueryTooComplex)
        );
        let by_variables = |variables| {
            complexity(
                "query($f: Int, $l: Int) { resources(first: $f, last: $l) { nodes { title } } }",
                variables,
            )
        };
        let hundred = complexity("{ resources(last: 100) { nodes { title } } }", json!({}));
        assert_eq!(by_variables(json!({ "f": null, "l": 100 })), hundred);
        assert_eq!(by_variables(json!({ "f": 3, "l": 100 })), hundred);
        assert_eq!(
            complexity(
                "{ resources(first: null, last: 7) { nodes { title } } }",
                json!({})
            ),
            complexity("{ resources(first: 7) { nodes { title } } }", json!({}))
        );
    }

    #[test]
    fn each_limit_has_its_code() {
        let limits = Limits::default();
        assert_eq!(code(limits.clone(), "{ topics { name } }"), Ok(()));
        assert_eq!(
            code(limits.clone(), "{ topics { name }"),
            Err(ErrorCode::GraphqlParseFailed)
        );
        let deep = format!(
            "{{ {} title {} }}",
            "topics { resources { nodes { ".repeat(5),
            "} } } ".repeat(5)
        );
        assert_eq!(code(limits.clone(), &deep), Err(ErrorCode::QueryTooDeep));
        let aliases: String = (0..51).map(|i| format!("a{i}: __typename ")).collect();
        assert_eq!(
            code(limits.clone(), &format!("{{ {aliases} }}")),
            Err(ErrorCode::TooManyAliases)
        );
        let fields = "__typename ".repeat(501);
        assert_eq!(
            code(limits.clone(), &format!("{{ {fields} }}")),
            Err(ErrorCode::TooManySelections)
        );
        let directives = "@skip(if: false) ".repeat(6);
        assert_eq!(
            code(limits.clone(), &format!("{{ __typename {directives} }}")),
            Err(ErrorCode::TooManyDirectives)
        );
        let nested = format!("{}1{}", "[".repeat(11), "]".repeat(11));
        assert_eq!(
            code(
                limits.clone(),
                &format!("{{ nodes(ids: {nested}) {{ id }} }}")
            ),
            Err(ErrorCode::InputTooDeep)
        );
        assert_eq!(
            code(
                limits.clone(),
                "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
            ),
            Err(ErrorCode::FragmentCycle)
        );
        // Brackets inside strings and comments are not nesting.
        let quoted = format!(
            "{{ nodes(ids: [\"{}\"]) {{ id }} }} # {}",
            "[".repeat(50),
            "{".repeat(80)
        );
        assert_eq!(code(limits, &quoted), Ok(()));
    }

    #[test]
    fn fragment_fan_out_is_refused_without_expanding_it() {
        // Each fragment spreads the next twice: 2^40 selections once
        // expanded, costed here in 40 steps.
        let mut query = String::from("{ ...F0 }\n");
        for level in 0..40 {
            query.push_str(&format!(
                "fragment F{level} on Query {{ ...F{next} ...F{next} }}\n",
                next = level + 1
            ));
        }
        query.push_str("fragment F40 on Query { __typename }\n");
        assert_eq!(
            code(Limits::default(), &query),
            Err(ErrorCode::TooManySelections)
        );
        // Unused, the bomb is refused all the same.
        let unused = query.replacen("{ ...F0 }", "{ __typename }", 1);
        assert_eq!(
            code(Limits::default(), &unused),
            Err(ErrorCode::TooManySelections)
        );
    }

    #[test]
    fn a_batch_shares_one_budget() {
        let budget = budget(Limits {
            max_aliases: 3,
            ..Limits::default()
        });
        assert!(
            budget
                .admit("{ a: __typename b: __typename }", None)
                .is_ok()
        );
        let refused = budget
            .admit("{ c: __typename d: __typename }", None)
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::TooManyAliases);
    }
}
