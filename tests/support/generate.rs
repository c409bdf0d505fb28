//! Queries generated from the schema itself, so a field added tomorrow is
//! covered by the suites that use them without anyone listing it.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use super::TestApp;

#[derive(Debug, Clone)]
pub struct TypeRef {
    kind: String,
    name: Option<String>,
    of_type: Option<Box<TypeRef>>,
}

impl TypeRef {
    fn parse(value: &Value) -> TypeRef {
        TypeRef {
            kind: value["kind"].as_str().unwrap().to_string(),
            name: value["name"].as_str().map(str::to_string),
            of_type: (!value["ofType"].is_null())
                .then(|| Box::new(TypeRef::parse(&value["ofType"]))),
        }
    }

    fn named(&self) -> &str {
        match &self.of_type {
            Some(inner) => inner.named(),
            None => self.name.as_deref().unwrap(),
        }
    }

    fn required(&self) -> bool {
        self.kind == "NON_NULL"
    }

    fn nullable(&self) -> &TypeRef {
        if self.required() {
            self.of_type.as_ref().unwrap()
        } else {
            self
        }
    }
}

#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    ty: TypeRef,
    has_default: bool,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub args: Vec<Input>,
    ty: TypeRef,
}

#[derive(Debug, Clone, Default)]
struct Type {
    kind: String,
    fields: Vec<Field>,
    input_fields: Vec<Input>,
    possible_types: Vec<String>,
    enum_values: Vec<String>,
}

pub struct SchemaInfo {
    types: BTreeMap<String, Type>,
    /// The input type the probe's filters are for.
    filter_type: String,
}

const INTROSPECTION: &str = r#"
fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
fragment In on __InputValue { name defaultValue type { ...Ref } }
{ __schema { types {
    kind name
    fields { name args { ...In } type { ...Ref } }
    inputFields { ...In }
    possibleTypes { name }
    enumValues { name }
} } }"#;

fn inputs(value: &Value) -> Vec<Input> {
    value
        .as_array()
        .map(|inputs| {
            inputs
                .iter()
                .map(|input| Input {
                    name: input["name"].as_str().unwrap().to_string(),
                    ty: TypeRef::parse(&input["type"]),
                    has_default: !input["defaultValue"].is_null(),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub async fn introspect(app: &TestApp) -> SchemaInfo {
    let data = app.query(INTROSPECTION, json!({})).await;
    let mut types = BTreeMap::new();
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap().to_string();
        let fields = ty["fields"]
            .as_array()
            .map(|fields| {
                fields
                    .iter()
                    .map(|field| Field {
                        name: field["name"].as_str().unwrap().to_string(),
                        args: inputs(&field["args"]),
                        ty: TypeRef::parse(&field["type"]),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let names = |key: &str| -> Vec<String> {
            ty[key]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|item| item["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        types.insert(
            name,
            Type {
                kind: ty["kind"].as_str().unwrap().to_string(),
                fields,
                input_fields: inputs(&ty["inputFields"]),
                possible_types: names("possibleTypes"),
                enum_values: names("enumValues"),
            },
        );
    }
    SchemaInfo {
        types,
        filter_type: String::new(),
    }
}

/// Values the generator puts into arguments it knows by name.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    pub slugs: Vec<String>,
    pub ids: Vec<String>,
    pub search_terms: Vec<String>,
    /// Values for every `filter` argument of type `filter_type`, one query
    /// each (plus none).
    pub filters: Vec<Value>,
    pub filter_type: String,
}

/// A GraphQL literal of a JSON value (strings quoted, JSON escapes are
/// GraphQL escapes too).
pub fn literal(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(key, value)| format!("{key}: {}", literal(value)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(literal).collect();
            format!("[{}]", items.join(", "))
        }
        // Enum values (marked with a NUL by `placeholder`) go unquoted.
        Value::String(text) if text.starts_with('\u{0}') => text[1..].to_string(),
        other => other.to_string(),
    }
}

/// How deep object fields nest below a root field.
const MAX_DEPTH: usize = 4;

/// A generated root-field query.
#[derive(Debug, Clone)]
pub struct Generated {
    pub root_field: String,
    pub preview: bool,
    pub query: String,
}

impl SchemaInfo {
    pub fn root_fields(&self, root: &str) -> Vec<Field> {
        self.types[root].fields.clone()
    }

    /// A value of an input type no probe names: the least that validates.
    fn placeholder(&self, ty: &TypeRef) -> Value {
        let ty = ty.nullable();
        if ty.kind == "LIST" {
            return json!([self.placeholder(ty.of_type.as_ref().unwrap())]);
        }
        let name = ty.named();
        match name {
            "Int" => json!(1),
            "Float" => json!(1.0),
            "Boolean" => json!(false),
            "String" | "ID" => json!("x"),
            _ => {
                let info = &self.types[name];
                match info.kind.as_str() {
                    "ENUM" => Value::String(format!("\u{0}{}", info.enum_values[0])),
                    "INPUT_OBJECT" => Value::Object(
                        info.input_fields
                            .iter()
                            .filter(|input| input.ty.required() && !input.has_default)
                            .map(|input| (input.name.clone(), self.placeholder(&input.ty)))
                            .collect(),
                    ),
                    _ => json!("x"),
                }
            }
        }
    }

    /// Arguments of a field below the root: a full page, the filter under
    /// test, and placeholders for anything required.
    /// A field's arguments: those `chosen` gives, then a full page, the
    /// filter under test and placeholders for anything else required.
    fn arguments(
        &self,
        field: &Field,
        filter: Option<&Value>,
        chosen: impl Fn(&Input) -> Option<Value>,
    ) -> String {
        let mut args = Vec::new();
        for arg in &field.args {
            let value = chosen(arg).or_else(|| match arg.name.as_str() {
                "first" => Some(json!(100)),
                "filter" if arg.ty.named() == self.filter_type => filter.cloned(),
                _ if arg.ty.required() && !arg.has_default => Some(self.placeholder(&arg.ty)),
                _ => None,
            });
            if let Some(value) = value {
                args.push(format!("{}: {}", arg.name, literal(&value)));
            }
        }
        if args.is_empty() {
            String::new()
        } else {
            format!("({})", args.join(", "))
        }
    }

    fn selection(&self, type_name: &str, depth: usize, filter: Option<&Value>) -> String {
        let info = &self.types[type_name];
        match info.kind.as_str() {
            "OBJECT" => {
                let mut parts = vec!["__typename".to_string()];
                for field in &info.fields {
                    let target = field.ty.named();
                    let target_kind = self.types[target].kind.as_str();
                    let leaf = matches!(target_kind, "SCALAR" | "ENUM");
                    let args = self.arguments(field, filter, |_| None);
                    if leaf {
                        parts.push(format!("{}{args}", field.name));
                    } else if depth < MAX_DEPTH {
                        parts.push(format!(
                            "{}{args} {}",
                            field.name,
                            self.selection(target, depth + 1, filter)
                        ));
                    } else {
                        parts.push(format!("{}{args} {{ __typename }}", field.name));
                    }
                }
                format!("{{ {} }}", parts.join(" "))
            }
            "INTERFACE" | "UNION" => {
                let fragments: Vec<String> = info
                    .possible_types
                    .iter()
                    .map(|possible| {
                        format!(
                            "... on {possible} {}",
                            self.selection(possible, depth, filter)
                        )
                    })
                    .collect();
                format!("{{ __typename {} }}", fragments.join(" "))
            }
            _ => String::new(),
        }
    }

    /// Every query over `Query`'s fields: each root argument the probe
    /// knows, one candidate at a time, crossed with each filter; and each
    /// root field once asking for preview.
    pub fn queries(&mut self, probe: &Probe) -> Vec<Generated> {
        self.filter_type = probe.filter_type.clone();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut filters: Vec<Option<&Value>> = vec![None];
        filters.extend(probe.filters.iter().map(Some));
        for field in self.root_fields("Query") {
            let mut variants: Vec<Vec<(String, Value)>> = Vec::new();
            for arg in &field.args {
                let candidates: Vec<Value> = match arg.name.as_str() {
                    "slug" => probe.slugs.iter().map(|s| json!(s)).collect(),
                    "id" => probe.ids.iter().map(|s| json!(s)).collect(),
                    "ids" => vec![json!(probe.ids)],
                    "query" if arg.ty.named() == "String" => {
                        probe.search_terms.iter().map(|s| json!(s)).collect()
                    }
                    _ => continue,
                };
                variants.extend(
                    candidates
                        .into_iter()
                        .map(|value| vec![(arg.name.clone(), value)]),
                );
            }
            if variants.is_empty() {
                variants.push(Vec::new());
            }
            let has_preview = field.args.iter().any(|arg| arg.name == "preview");
            for variant in &variants {
                for (index, filter) in filters.iter().enumerate() {
                    for preview in [false, true] {
                        if preview && (!has_preview || index > 0) {
                            continue;
                        }
                        let query = self.root_query(&field, variant, *filter, preview);
                        if seen.insert(query.clone()) {
                            out.push(Generated {
                                root_field: field.name.clone(),
                                preview,
                                query,
                            });
                        }
                    }
                }
            }
        }
        out
    }

    fn root_query(
        &self,
        field: &Field,
        probe_args: &[(String, Value)],
        filter: Option<&Value>,
        preview: bool,
    ) -> String {
        let args = self.arguments(field, filter, |arg| {
            match probe_args.iter().find(|(name, _)| *name == arg.name) {
                Some((_, value)) => Some(value.clone()),
                None => (arg.name == "preview" && preview).then_some(json!(true)),
            }
        });
        let target = field.ty.named();
        let selection = match self.types[target].kind.as_str() {
            "SCALAR" | "ENUM" => String::new(),
            _ => self.selection(target, 1, filter),
        };
        format!("{{ {}{args} {selection} }}", field.name)
    }
}
