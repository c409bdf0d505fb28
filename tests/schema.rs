//! `schema.graphql` is the contract with partners: it must match the schema
//! the server runs, and document everything in it.

#[test]
fn schema_graphql_matches_the_running_schema() {
    let committed =
        std::fs::read_to_string(crate::support::repo_path("schema.graphql")).unwrap_or_default();
    let running = beacon::graphql::sdl();
    assert!(
        committed == running,
        "schema.graphql is out of date with the code. Regenerate it with:\n\n    cargo run -- schema > schema.graphql\n\nand review the difference: partners depend on it."
    );
}

#[test]
fn every_type_and_field_is_documented() {
    let sdl = beacon::graphql::sdl();
    let document = async_graphql::parser::parse_schema(&sdl).expect("the SDL parses");
    let mut undocumented = Vec::new();
    for definition in document.definitions {
        let async_graphql::parser::types::TypeSystemDefinition::Type(definition) = definition
        else {
            continue;
        };
        let definition = definition.node;
        let name = definition.name.node.to_string();
        if definition.description.is_none() {
            undocumented.push(name.clone());
        }
        use async_graphql::parser::types::TypeKind;
        let fields = match &definition.kind {
            TypeKind::Object(object) => &object.fields,
            TypeKind::Interface(interface) => &interface.fields,
            TypeKind::InputObject(input) => {
                for field in &input.fields {
                    if field.node.description.is_none() {
                        undocumented.push(format!("{name}.{}", field.node.name.node));
                    }
                }
                continue;
            }
            TypeKind::Enum(enumeration) => {
                for value in &enumeration.values {
                    if value.node.description.is_none() {
                        undocumented.push(format!("{name}.{}", value.node.value.node));
                    }
                }
                continue;
            }
            _ => continue,
        };
        for field in fields {
            let field = &field.node;
            if field.description.is_none() {
                undocumented.push(format!("{name}.{}", field.name.node));
            }
            for argument in &field.arguments {
                if argument.node.description.is_none() {
                    undocumented.push(format!(
                        "{name}.{}({})",
                        field.name.node, argument.node.name.node
                    ));
                }
            }
        }
    }
    assert!(undocumented.is_empty(), "undocumented: {undocumented:?}");
}

/// Lists of objects that are not connections: each is bounded by a
/// documented rule (validation on write, one entry per webhook, the lists'
/// lengths measured for the cost limit). A new list field must be a
/// connection or be added here with its bound.
const BOUNDED_LISTS: &[(&str, &str, &str)] = &[
    ("Module", "resources", "at most 200 per module (validation)"),
    ("Module", "tags", "at most 50 per item (validation)"),
    ("Resource", "topics", "at most 50 per item (validation)"),
    ("Resource", "types", "at most 50 per item (validation)"),
    ("Resource", "tags", "at most 50 per item (validation)"),
    ("Resource", "files", "at most 20 per resource (validation)"),
    (
        "Resource",
        "modules",
        "one per module listing it; costed by measured length",
    ),
    (
        "Tag",
        "modules",
        "one per module with the tag; costed by measured length",
    ),
    (
        "ResourceFacets",
        "topics",
        "one count per topic; costed by measured length",
    ),
    (
        "ResourceFacets",
        "types",
        "one count per type; costed by measured length",
    ),
    (
        "ResourceFacets",
        "tags",
        "one count per tag; costed by measured length",
    ),
    (
        "ResourceFacets",
        "years",
        "one count per year between 1800 and 2200",
    ),
    ("Query", "nodes", "at most 100 ids"),
    ("Event", "deliveries", "one per webhook the event was for"),
    ("SeedRun", "counts", "one per content kind"),
    (
        "SeedRun",
        "files",
        "one per file an operator gave the job; admins only",
    ),
    (
        "WebhookDelivery",
        "attempts",
        "bounded by the retry schedule",
    ),
];

/// The checks of graphql-schema-linter's Relay rules
/// (`relay-connection-types-spec`, `relay-connection-arguments-spec`,
/// `relay-page-info-spec`), plus ours: paging arguments only on
/// connections, and no list that grows without bound.
#[test]
fn lists_that_grow_are_relay_connections() {
    use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
    let sdl = beacon::graphql::sdl();
    let document = async_graphql::parser::parse_schema(&sdl).expect("the SDL parses");
    let mut objects = std::collections::HashMap::new();
    let mut kinds = std::collections::HashMap::new();
    for definition in document.definitions {
        if let TypeSystemDefinition::Type(definition) = definition {
            let definition = definition.node;
            let name = definition.name.node.to_string();
            kinds.insert(name.clone(), definition.kind.clone());
            if let TypeKind::Object(object) = definition.kind {
                let fields: Vec<_> = object.fields.into_iter().map(|f| f.node).collect();
                objects.insert(name, fields);
            }
        }
    }
    let named = |ty: &Type| -> String {
        let mut ty = ty;
        while let BaseType::List(inner) = &ty.base {
            ty = inner;
        }
        ty.base.to_string()
    };
    let field_type = |on: &str, field: &str| -> Option<String> {
        objects.get(on).and_then(|fields| {
            fields
                .iter()
                .find(|f| f.name.node == field)
                .map(|f| f.ty.node.to_string())
        })
    };
    let mut problems = Vec::new();

    assert_eq!(
        field_type("PageInfo", "hasPreviousPage").as_deref(),
        Some("Boolean!")
    );
    assert_eq!(
        field_type("PageInfo", "hasNextPage").as_deref(),
        Some("Boolean!")
    );
    assert_eq!(
        field_type("PageInfo", "startCursor").as_deref(),
        Some("String")
    );
    assert_eq!(
        field_type("PageInfo", "endCursor").as_deref(),
        Some("String")
    );

    for (name, fields) in &objects {
        if name.ends_with("Connection") {
            if field_type(name, "pageInfo").as_deref() != Some("PageInfo!") {
                problems.push(format!("{name}.pageInfo must be PageInfo!"));
            }
            match fields.iter().find(|f| f.name.node == "edges") {
                Some(edges) if matches!(edges.ty.node.base, BaseType::List(_)) => {
                    let edge = named(&edges.ty.node);
                    if field_type(&edge, "cursor").as_deref() != Some("String!")
                        || field_type(&edge, "node").is_none()
                    {
                        problems.push(format!("{edge} needs `cursor: String!` and `node`"));
                    }
                }
                _ => problems.push(format!("{name}.edges must be a list of edges")),
            }
        }
        if name.ends_with("Connection") || name.ends_with("Edge") || name == "PageInfo" {
            continue;
        }
        for field in fields {
            let field_name = field.name.node.as_str();
            let returns = named(&field.ty.node);
            let argument = |argument: &str| {
                field
                    .arguments
                    .iter()
                    .find(|a| a.node.name.node == argument)
                    .map(|a| a.node.ty.node.to_string())
            };
            let forward = argument("first").as_deref() == Some("Int")
                && argument("after").as_deref() == Some("String");
            let backward = argument("last").as_deref() == Some("Int")
                && argument("before").as_deref() == Some("String");
            if returns.ends_with("Connection") {
                if !forward && !backward {
                    problems.push(format!(
                        "{name}.{field_name} returns a connection without first/after or last/before"
                    ));
                }
            } else if argument("first").is_some() || argument("after").is_some() {
                problems.push(format!("{name}.{field_name} pages but is not a connection"));
            }
            let is_list = matches!(field.ty.node.base, BaseType::List(_));
            let of_objects = matches!(
                kinds.get(&returns),
                Some(TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_))
            );
            // A content item's diff has one entry per field of its kind.
            let bounded = field_name == "diff"
                || BOUNDED_LISTS
                    .iter()
                    .any(|(on, list, _)| on == name && *list == field_name);
            if is_list && of_objects && !bounded {
                problems.push(format!(
                    "{name}.{field_name} is a list of {returns} with no bound: make it a connection"
                ));
            }
        }
    }
    // The allowlist holds only lists that exist.
    for (on, list, _) in BOUNDED_LISTS {
        if field_type(on, list).is_none() {
            problems.push(format!(
                "BOUNDED_LISTS names {on}.{list}, which does not exist"
            ));
        }
    }
    problems.sort();
    assert!(problems.is_empty(), "{problems:#?}");
}
