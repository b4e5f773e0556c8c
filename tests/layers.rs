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

/// A source without its comments and its `#[cfg(test)] mod tests` (which comes last in every
/// file of this crate; the tests' imports are not the module's).
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

/// The text from just after an opening brace to its matching close.
fn braced(text: &str) -> &str {
    let mut depth = 0;
    for (at, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return &text[..at],
            '}' => depth -= 1,
            _ => {}
        }
    }
    text
}

/// The first word of each path in a group `a::b, c::{d, e}`, split at its top-level commas.
fn group_heads(group: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let (mut depth, mut from) = (0, 0);
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.extend(words(&group[from..at]).next());
                from = at + 1;
            }
            _ => {}
        }
    }
    heads.extend(words(&group[from..]).next());
    heads
}

/// The names a path starting at `rest` (just after `crate::`, or after the `super::`s that
/// reach the crate root) takes from the root: its first word, or each head of its group.
fn named_from_root(rest: &str) -> Vec<&str> {
    match rest.strip_prefix('{') {
        Some(group) => group_heads(braced(group)),
        None => words(rest).take(1).collect(),
    }
}

/// How deep the module a file defines sits: `src/x.rs` and `src/x/mod.rs` are 1 (a child of
/// the root), `src/x/y.rs` 2, and so on.
fn depth(src: &Path, file: &Path) -> usize {
    let relative = file.strip_prefix(src).expect("a file under src");
    let parts = relative.components().count();
    if relative.file_name().is_some_and(|n| n == "mod.rs") {
        parts - 1
    } else {
        parts
    }
}

/// `pub use module::{A, B}` at the root, attributes (`#[cfg(...)]`) and all: A and B belong
/// to `module`.
fn owners(lib: &str) -> BTreeMap<String, String> {
    let mut owner = BTreeMap::new();
    for statement in lib.split(';') {
        let mut statement = statement.trim();
        while statement.starts_with("#[") {
            let close = statement.find(']').map_or(statement.len(), |at| at + 1);
            statement = statement[close..].trim_start();
        }
        if let Some(rest) = statement.strip_prefix("pub use ") {
            let mut parts = words(rest);
            if let Some(module) = parts.next() {
                for item in parts {
                    owner.insert(item.to_owned(), module.to_owned());
                }
            }
        }
    }
    owner
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let owner = owners(&code(&src.join("lib.rs")));
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
            assert!(
                !text.contains("#[path"),
                "{}: a #[path] module hides where code lives",
                file.display()
            );
            let mut named: Vec<&str> = Vec::new();
            // `crate::x`, `crate::{a, b::{c, d}}`.
            for (at, _) in text.match_indices("crate::") {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue; // `some_crate::`, not this crate
                }
                named.extend(named_from_root(&text[at + "crate::".len()..]));
            }
            // `super::super::x` from deep enough to reach the root.
            let deep = depth(&src, &file);
            let root = "super::".repeat(deep);
            for (at, _) in text.match_indices(root.as_str()) {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue; // part of a longer path
                }
                named.extend(named_from_root(&text[at + root.len()..]));
            }
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

/// The root's re-exports behind a feature count as their module's too.
#[test]
fn every_root_reexport_is_traced_to_its_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let owner = owners(&code(&src.join("lib.rs")));
    for (item, module) in [
        ("AutomergeBackend", "backend"),
        ("RedbBackend", "backend"),
        ("Refusal", "error"),
        ("Durability", "storage"),
    ] {
        assert_eq!(owner.get(item).map(String::as_str), Some(module), "{item}");
    }
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
