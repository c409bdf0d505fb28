//! The layers docs/contributors.md draws, checked on the source:
//! every `crate::…` path points to the same layer or one below it, and no
//! two folders reach each other round a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules by layer, lowest first. A module may use its own
/// layer's and lower layers' modules, never a higher one's.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "domain and leaf utilities",
        &["domain", "metrics", "cluster"],
    ),
    ("database access", &["db"]),
    (
        "services",
        &["editorial", "identity", "events", "seed", "search", "media"],
    ),
    ("GraphQL", &["graphql"]),
    ("HTTP", &["http"]),
    (
        "command line and configuration",
        &["cli", "config", "bench", "telemetry", "main", "lib"],
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// Each top-level module and the top-level modules its code names.
fn imports() -> BTreeMap<String, BTreeSet<(String, String)>> {
    let backend = crate::support::repo_path("backend");
    let mut graph: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut stack = vec![backend.clone()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let relative = path.strip_prefix(&backend).unwrap();
        let module = top_module(relative);
        let text = std::fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let target: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !target.is_empty() && target != module {
                    let place = format!("{}:{}", relative.display(), number + 1);
                    graph
                        .entry(module.clone())
                        .or_default()
                        .insert((target, place));
                }
            }
        }
    }
    graph
}

fn top_module(relative: &Path) -> String {
    let first = relative.components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

#[test]
fn imports_point_only_down_the_layers() {
    let mut upward = Vec::new();
    let mut unknown = BTreeSet::new();
    for (module, targets) in imports() {
        let Some(from) = layer_of(&module) else {
            unknown.insert(module.clone());
            continue;
        };
        for (target, place) in targets {
            match layer_of(&target) {
                Some(to) if to > from => upward.push(format!(
                    "{place}: {module} ({}) uses {target} ({})",
                    LAYERS[from].0, LAYERS[to].0
                )),
                Some(_) => {}
                None => {
                    unknown.insert(target);
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules in no layer (add them to LAYERS): {unknown:?}"
    );
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn no_folders_import_each_other_round_a_circle() {
    let graph: BTreeMap<String, BTreeSet<String>> = imports()
        .into_iter()
        .map(|(module, targets)| {
            (
                module,
                targets.into_iter().map(|(target, _)| target).collect(),
            )
        })
        .collect();
    // Depth-first search for a back edge; the path found is the circle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut circle = path[start..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(circle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("a circle of imports: {}", circle.join(" → "));
        }
    }
}
