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
