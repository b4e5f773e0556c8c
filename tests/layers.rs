//! The crate's top-level modules import one another without a circle, the storage contract at
//! the bottom: read from the sources (`crate::<module>` paths, and the crate root's re-exports
//! resolved to the module that defines them; comments and unit tests left out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The modules every other may stand on, and what each of them may import.
const FLOORS: [(&str, &[&str]); 5] = [
    ("error", &[]),
    ("schedule", &[]),
    ("fault", &[]),
    ("storage", &["error"]),
    ("backend", &["error", "fault", "schedule", "storage"]),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("a source directory")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A source without its comments and its `#[cfg(test)] mod tests`.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("a source file");
    let text = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Words of `text` that name a module or, through the root's re-exports, its items.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = code(&src.join("lib.rs"));
    // `pub use module::{A, B}` at the root: A and B belong to `module`.
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for statement in lib.split(';') {
        if let Some(rest) = statement.trim().strip_prefix("pub use ") {
            let mut parts = words(rest);
            if let Some(module) = parts.next() {
                for item in parts {
                    owner.insert(item.to_owned(), module.to_owned());
                }
            }
        }
    }
    let mut graph = Graph::new();
    for entry in std::fs::read_dir(&src).expect("src").flatten() {
        let path = entry.path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if name == "lib" || name == "main" {
            continue;
        }
        graph.entry(name.to_owned()).or_default();
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for module in &modules {
        let mut files = Vec::new();
        let dir = src.join(module);
        if dir.is_dir() {
            sources(&dir, &mut files);
        }
        let file = src.join(format!("{module}.rs"));
        if file.is_file() {
            files.push(file);
        }
        for file in files {
            let text = code(&file);
            for (at, _) in text.match_indices("crate::") {
                let rest = &text[at + "crate::".len()..];
                // `crate::x`, or `crate::{a, b::c}`: the first word of each path.
                let named: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                    let group = group.split('}').next().unwrap_or_default();
                    group.split(',').filter_map(|p| words(p).next()).collect()
                } else {
                    words(rest).take(1).collect()
                };
                for name in named {
                    let target = if modules.contains(name) {
                        Some(name.to_owned())
                    } else {
                        owner.get(name).cloned()
                    };
                    if let Some(target) = target.filter(|t| t != module && modules.contains(t)) {
                        graph.entry(module.clone()).or_default().insert(target);
                    }
                }
            }
        }
    }
    graph
}

/// A circle of `graph`, if it has one.
fn circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(graph, next, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_import_one_another_without_a_circle() {
    let graph = graph();
    let listed: Vec<String> = graph
        .iter()
        .map(|(m, uses)| format!("{m} -> {uses:?}"))
        .collect();
    assert!(graph.len() > 8, "the modules were not found: {listed:#?}");
    assert_eq!(circle(&graph), None, "{listed:#?}");
}

#[test]
fn the_storage_contract_and_the_backends_stand_on_nothing_above_them() {
    let graph = graph();
    for (module, allowed) in FLOORS {
        let uses = graph.get(module).cloned().unwrap_or_default();
        let above: Vec<&String> = uses
            .iter()
            .filter(|u| !allowed.contains(&u.as_str()))
            .collect();
        assert!(above.is_empty(), "{module} imports {above:?}");
    }
}
