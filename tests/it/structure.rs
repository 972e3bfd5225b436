//! The shape of the source tree: data flows one way through the modules of
//! `src/`, so no module reaches itself through the modules it names, over a
//! circle of any length (lib.rs's module map).
//!
//! A module is a Rust module: a file, or a folder's `mod.rs`. It names
//! another through a `crate::`, `super::` or `self::` path (in a `use`, with
//! `{}` groups expanded, or inline). A module's own ancestors do not count
//! (a folder's `mod.rs` declares and re-exports its children), nor do unit
//! tests (`#[cfg(test)] mod ...`), which may build a whole config to test a
//! part of it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_module_reaches_itself_through_the_modules_it_names() {
    let graph = source_graph(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
    assert!(graph.len() > 50, "the walk found only {} modules", graph.len());
    assert!(
        graph["run::plan"].contains("config"),
        "the import scan misses `use crate::config::...`: {:?}",
        graph["run::plan"]
    );
    let circles = circles(&graph);
    assert!(circles.is_empty(), "modules that import each other, directly or around a circle: {circles:#?}");
}

/// The settings of a section sit below the whole document: `config` names
/// them, so they must not name `config` back (lib.rs).
#[test]
fn settings_never_name_the_whole_config() {
    let graph = source_graph(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
    let settings: Vec<&String> = graph.keys().filter(|m| m.ends_with("::settings")).collect();
    assert!(settings.len() >= 7, "expected the sections' settings modules, found {settings:?}");
    for module in settings {
        assert!(!graph[module].contains("config"), "{module} names `config` (the whole document): {:?}", graph[module]);
    }
}

#[test]
fn a_circle_of_three_is_found() {
    let mut graph = Graph::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")] {
        graph.entry(from.into()).or_default().insert(to.into());
    }
    assert_eq!(circles(&graph), vec![vec!["a".to_string(), "b".into(), "c".into()]]);
    graph.get_mut("c").unwrap().remove("a");
    assert!(circles(&graph).is_empty());
}

#[test]
fn paths_in_use_groups_and_super_resolve_to_modules() {
    let modules: BTreeSet<String> =
        ["run", "run::plan", "run::store", "config", "config::sweep", "maths::stats", "maths"].map(String::from).into();
    let text = "use crate::{config::{self, sweep::show}, maths::stats::mean};\nuse super::store::Store;\n\
                // use crate::nothing::here;\nfn f() { crate::maths::stats::sd(); }\n\
                #[cfg(test)]\nmod tests {\n    use crate::run::store;\n    fn g() { let _ = \"{\"; }\n}\n";
    let names = named_modules("run::plan", text, &modules);
    let want: BTreeSet<String> = ["config", "config::sweep", "maths::stats", "run::store"].map(String::from).into();
    assert_eq!(names, want);
}

/// Every module of `src` with the modules it names.
fn source_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    walk(src, src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|(name, _)| name.clone()).collect();
    files.iter().map(|(name, text)| (name.clone(), named_modules(name, text, &modules))).collect()
}

/// `(module path, text)` of every `.rs` file below `dir`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(root, &path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap().with_extension("");
        let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts == ["lib"] || parts == ["main"] || parts.is_empty() {
            continue;
        }
        out.push((parts.join("::"), std::fs::read_to_string(&path).unwrap()));
    }
}

/// The modules that `module`'s text names, its ancestors and itself left out.
fn named_modules(module: &str, text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = without_tests(&without_comments(text));
    let own: Vec<&str> = module.split("::").collect();
    let mut found = BTreeSet::new();
    for path in paths(&code) {
        let mut segments: Vec<&str> = path.split("::").collect();
        let mut absolute: Vec<String> = match segments[0] {
            "crate" => {
                segments.remove(0);
                Vec::new()
            }
            "self" | "super" => {
                // `self` is the module itself, `super` its parent (a folder's
                // `mod.rs` is the folder's module, so the same holds there).
                let mut base: Vec<String> = own.iter().map(|s| s.to_string()).collect();
                while let Some(&first) = segments.first() {
                    match first {
                        "self" => {}
                        "super" => {
                            base.pop();
                        }
                        _ => break,
                    }
                    segments.remove(0);
                }
                base
            }
            _ => continue,
        };
        absolute.extend(segments.iter().map(|s| s.to_string()));
        let target = (1..=absolute.len()).rev().map(|n| absolute[..n].join("::")).find(|m| modules.contains(m));
        if let Some(target) = target {
            let is_ancestor = module == target || module.starts_with(&format!("{target}::"));
            if !is_ancestor {
                found.insert(target);
            }
        }
    }
    found
}

/// The text with `//` comments removed (doc comments included); strings kept.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut in_string = false;
            let bytes = line.as_bytes();
            for i in 0..bytes.len() {
                match bytes[i] {
                    b'"' if i == 0 || bytes[i - 1] != b'\\' => in_string = !in_string,
                    b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
                    _ => {}
                }
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text without `#[cfg(test)] mod name { ... }` blocks.
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        if !trimmed.starts_with("mod ") {
            out.push_str("#[cfg(test)]");
            rest = after;
            continue;
        }
        let Some(open) = trimmed.find(['{', ';']) else { break };
        if trimmed.as_bytes()[open] == b';' {
            rest = &trimmed[open + 1..];
            continue;
        }
        let end = matching_brace(&trimmed[open..]).map_or(trimmed.len(), |e| open + e + 1);
        rest = &trimmed[end..];
    }
    out.push_str(rest);
    out
}

/// The index of the brace that closes the one `text` starts with, skipping
/// string and character literals.
fn matching_brace(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Every `crate::`/`super::`/`self::` path in the code, `use` groups expanded.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let starts = ["crate::", "super::", "self::"].iter().find(|p| bytes[i..].starts_with(p.as_bytes()));
        let boundary = i == 0 || !ident(bytes[i - 1]) && bytes[i - 1] != b':';
        let Some(prefix) = starts.filter(|_| boundary) else {
            i += 1;
            continue;
        };
        let mut end = i + prefix.len();
        while end < bytes.len() && (ident(bytes[end]) || bytes[end..].starts_with(b"::")) {
            end += if bytes[end] == b':' { 2 } else { 1 };
        }
        if bytes.get(end) == Some(&b'{') {
            let close = matching_brace(&code[end..]).map_or(code.len(), |c| end + c);
            let head = code[i..end].to_string();
            for item in split_top_level(&code[end + 1..close]) {
                let item = item.trim();
                if !item.is_empty() {
                    out.extend(paths(&format!("{head}{item}")).into_iter().chain(
                        // `{self}` names the head itself.
                        (item == "self").then(|| head.trim_end_matches("::").to_string()),
                    ));
                }
            }
            i = close;
        } else {
            out.push(code[i..end].trim_end_matches("::").to_string());
            i = end;
        }
    }
    out
}

/// The items of a `use` group, split at its top-level commas.
fn split_top_level(group: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

/// The strongly connected groups of more than one module (Tarjan), each sorted.
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w.as_str()]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w.as_str()) {
                    let low = self.low[v].min(self.index[w.as_str()]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().rposition(|s| *s == v).unwrap();
                let mut group: Vec<String> = self.stack.drain(at..).map(String::from).collect();
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut t = Tarjan { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.found.sort();
    t.found
}
